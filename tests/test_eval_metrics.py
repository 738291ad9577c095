"""Evaluation metrics: onset matching by hand, the detector on real FoleyWorld audio, baselines,
AV-Align, SI-SDR, spectral and Frechet distances, codec reconstruction (real DAC class), level
error, envelope correlation, a codec's level in silence, the figure's choice of clips."""
from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from maskvat_foley.core.data import generate_clip, split_seeds
from maskvat_foley.core.eval import baselines as bl, levels as lv, metrics as m, onsets as on

SR = 44100


# -- matching by hand ---------------------------------------------------------------------------
def test_match_counts_and_offsets():
    pred = [F(1, 10), F(1, 2), F(9, 10)]
    truth = [F(11, 100), F(52, 100), F(2)]
    r = on.match_onsets(pred, truth, F(1, 24))
    assert (r.tp, r.fp, r.fn) == (2, 1, 1)
    assert sorted(r.offsets) == [F(1, 100), F(2, 100)]
    assert r.offset_ms == pytest.approx(15.0)
    assert r.precision == pytest.approx(2 / 3) and r.recall == pytest.approx(2 / 3)
    assert r.f1 == pytest.approx(2 / 3)


def test_match_is_one_to_one_and_closest_first():
    # two detections near one onset: the closer one matches, the other is a false positive
    r = on.match_onsets([F(100, 100), F(103, 100)], [F(102, 100)], F(1, 25))
    assert (r.tp, r.fp, r.fn) == (1, 1, 0) and r.matched_pred == [1] and r.offsets == [F(1, 100)]
    # greedy by distance, not an optimal assignment: 0.035<->0.03 (5 ms) is taken first, which
    # leaves 0.0 with nothing within 40 ms (0.07 is 70 ms away)
    r = on.match_onsets([F(0), F(35, 1000)], [F(3, 100), F(7, 100)], F(4, 100))
    assert (r.tp, r.fp, r.fn) == (1, 1, 1) and r.offsets == [F(5, 1000)]


def test_tolerance_is_inclusive_and_exact():
    tol = on.frame_tolerance(F(30000, 1001))
    assert tol == F(1001, 30000)
    assert on.match_onsets([F(1) + tol], [F(1)], tol).tp == 1
    assert on.match_onsets([F(1) + tol + F(1, 10**9)], [F(1)], tol).tp == 0
    assert on.match_onsets([1.0 + float(tol) * 0.999], [F(1)], tol).tp == 1  # floats are welcome


def test_empty_sets():
    both = on.match_onsets([], [], F(1, 24))
    assert (both.precision, both.recall, both.f1, both.offset_ms) == (1.0, 1.0, 1.0, None)
    alarms = on.match_onsets([F(1), F(2)], [], F(1, 24))
    assert (alarms.fp, alarms.precision, alarms.recall, alarms.f1) == (2, 0.0, 0.0, 0.0)
    deaf = on.match_onsets([], [F(1), F(2), F(3)], F(1, 24))
    assert (deaf.fn, deaf.precision, deaf.recall, deaf.f1, deaf.offset_ms) == (3, 0.0, 0.0, 0.0, None)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="negative"):
        on.match_onsets([F(1)], [F(1)], F(-1, 24))
    with pytest.raises(ValueError, match="not finite"):
        on.match_onsets([float("nan")], [F(1)], F(1, 24))
    with pytest.raises(ValueError, match="positive"):
        on.frame_tolerance(0)
    with pytest.raises(ValueError, match="mono"):
        on.detect_onsets(np.zeros(0), SR)


def test_pool_merge_and_per_kind():
    a = on.match_onsets([F(1)], [F(1), F(2)], F(1, 24))
    b = on.match_onsets([F(5), F(6)], [F(5)], F(1, 24))
    p = on.pool([a, b])
    assert (p.tp, p.fp, p.fn) == (2, 1, 1) and p.f1 == pytest.approx(4 / 6)
    # frames 0, 1, 2, 3 at 30 fps: 33 ms apart merge into 0 and 2 (67 ms apart)
    t, k = on.merge_close([F(i, 30) for i in (3, 0, 2, 1)], ["d", "a", "c", "b"])
    assert t == [F(0), F(2, 30)] and k == ["a", "c"]
    r = on.match_onsets([F(1), F(9)], [F(1), F(2)], F(1, 24))
    kinds = on.per_kind_matches(r, ["impact", "tick"], ["impact", "tick"])
    assert (kinds["impact"].tp, kinds["impact"].fn, kinds["impact"].fp) == (1, 0, 1)
    assert (kinds["tick"].tp, kinds["tick"].fn, kinds["tick"].fp) == (0, 1, 1)
    assert list(on.per_kind_matches(on.match_onsets([], [], F(1, 24)), [], [])) == ["silent"]


# -- the detector and the baselines on real FoleyWorld audio -------------------------------------
@pytest.fixture(scope="module")
def audio_clips():
    return [generate_clip(s, video=False, seconds=5) for s in split_seeds("test", 12)]


@pytest.fixture(scope="module")
def scores(audio_clips):
    """Pooled onset matches and mean mel distance of every baseline over the clips."""
    out = {}
    for name in bl.BASELINES:
        matches, mel = [], []
        for c in audio_clips:
            a = bl.baseline_audio(name, c, SR)
            truth, _ = on.truth_onsets(c)
            matches.append(on.match_onsets(on.detect_onsets(a, SR), truth, on.frame_tolerance(c.rate)))
            mel.append(m.mel_distance(a, c.audio, SR))
        out[name] = (on.pool(matches), float(np.mean(mel)))
    return out


def test_detector_finds_true_onsets(audio_clips, scores):
    assert sum(len(c.events) for c in audio_clips) > 40
    r = scores["true_audio"][0]
    assert r.f1 >= 0.9 and r.precision >= 0.9 and r.recall >= 0.9, r.summary()
    assert r.offset_ms < 5.0, r.summary()  # well inside one frame (33-42 ms)


def test_shifted_audio_scores_far_worse(scores):
    true, late = scores["true_audio"][0], scores["shift_200ms"][0]
    assert late.f1 < 0.5 * true.f1, late.summary()
    assert late.offset_ms is None or late.offset_ms > true.offset_ms + 10, late.summary()


def test_noise_bursts_and_silence(scores):
    bursts, silent = scores["noise_bursts"][0], scores["silence"][0]
    assert bursts.f1 >= 0.85, bursts.summary()
    assert silent.recall == 0.0 and silent.tp == 0 and silent.fp == 0
    mel = {name: v[1] for name, v in scores.items()}
    assert mel["true_audio"] == 0.0
    # right time, wrong sound: far from the truth's spectrum, further than the late true audio
    assert mel["noise_bursts"] > 2 * mel["shift_200ms"] > 0.1, mel
    assert mel["silence"] > mel["shift_200ms"], mel


def test_silent_clip_without_detections_is_perfect():
    c = generate_clip(split_seeds("test", 1)[0], kinds=[], video=False, seconds=2)
    assert c.events == []
    r = on.match_onsets(on.detect_onsets(c.audio, SR), on.truth_onsets(c)[0], on.frame_tolerance(c.rate))
    assert (r.tp, r.fp, r.fn, r.f1) == (0, 0, 0, 1.0)


def test_baselines_keep_length_and_shift_exactly(audio_clips):
    c = audio_clips[0]
    for name in bl.BASELINES:
        assert bl.baseline_audio(name, c, SR).shape == c.audio.shape
    late = bl.shifted(c, SR)
    assert np.array_equal(late[8820:], c.audio[:-8820]) and not late[:8820].any()
    with pytest.raises(ValueError, match="unknown baseline"):
        bl.baseline_audio("oracle", c, SR)
    with pytest.raises(ValueError, match="48000 Hz"):
        bl.silence(c, 48000)


# -- AV-Align ------------------------------------------------------------------------------------
def test_video_peaks_of_synthetic_motion():
    frames = np.zeros((20, 32, 32, 3), np.uint8)
    frames[5:, 4:12, 4:12] = 255     # a square appears at frame 5
    frames[12:, 4:12, 4:12] = 0      # and vanishes at frame 12
    frames[12:, 20:28, 20:28] = 255  # while another appears
    motion = m.motion_signal(frames)
    assert [int(t * 24) for t in m.video_peaks(motion, F(24))] == [5, 12]
    assert m.av_align_score([F(5, 24), F(12, 24)], m.video_peaks(motion, F(24)), F(24)) == 1.0
    assert m.av_align_score([F(8, 24)], m.video_peaks(motion, F(24)), F(24)) == 0.0
    # one of two audio peaks matched, two video peaks: 1 / (2 + 2 - 1)
    assert m.av_align_score([F(5, 24), F(9, 24)], [F(5, 24), F(12, 24)], F(24)) == pytest.approx(1 / 3)
    assert m.av_align_score([], [], F(24)) is None  # nothing to agree on
    assert m.av_align_score([], [F(5, 24)], F(24)) == 0.0


def test_a_still_picture_has_no_video_peaks_above_the_still_line():
    """Sensor noise on a still picture makes maxima that stand out of its own median; they are not
    motion, and a silent take there must not score 0 for missing them. A moving square's peaks
    stand well above the line and stay."""
    from maskvat_foley.core.eval.real import STILL_MOTION

    rng = np.random.default_rng(0)
    still = np.clip(128 + rng.normal(0, 4, (48, 32, 32, 3)), 0, 255).astype(np.uint8)
    still[20:22] = np.clip(still[20:22].astype(int) + 2, 0, 255)  # a flicker of 2 grey levels
    motion = m.motion_signal(still)
    assert m.video_peaks(motion, F(24))  # noise maxima stand out of the noise
    assert float(np.sqrt(np.mean(np.square(motion)))) < STILL_MOTION
    assert m.video_peaks(motion, F(24), floor=STILL_MOTION) == []
    assert m.av_align_score([], m.video_peaks(motion, F(24), floor=STILL_MOTION), F(24)) is None
    assert m.av_align_score([F(1, 2)], m.video_peaks(motion, F(24), floor=STILL_MOTION), F(24)) == 0.0

    moving = still.copy()
    moving[10:, 4:12, 4:12] = 255  # a square appears at frame 10
    moving[30:, 4:12, 4:12] = 128  # and goes at frame 30
    peaks = m.video_peaks(m.motion_signal(moving), F(24), floor=STILL_MOTION)
    assert [int(t * 24) for t in peaks] == [10, 30]


def test_av_align_prefers_true_audio():
    true, late = [], []
    for s in split_seeds("test", 6):
        c = generate_clip(s, seconds=4, size=(64, 64))
        motion = m.motion_signal(c.frames)
        true.append(m.av_align(c.audio, SR, motion, c.rate))
        late.append(m.av_align(bl.shifted(c, SR), SR, motion, c.rate))
    assert np.mean(true) > np.mean(late) + 0.1, (true, late)


# -- SI-SDR, distances, Frechet, codec -----------------------------------------------------------
def test_envelope_motion_follows_a_swell_not_its_reverse():
    """A take that swells with each movement (no attack: AV-Align finds nothing) follows the motion; the
    same take against the motion played backwards does not; silence against motion is 0."""
    rate, n = F(25), 50
    frames = np.arange(n)
    motion = 1.0 + sum(40.0 * np.exp(-0.5 * ((frames - c) / 2.0) ** 2) for c in (5, 14, 27))  # three movements
    t = np.arange(n * SR // 25) / SR
    swell = np.interp(t, np.arange(n) / 25, np.sqrt(motion)) * np.random.default_rng(0).standard_normal(t.size)
    swell *= 0.2 / np.abs(swell).max()
    levels = m.frame_levels_db(swell, SR, n, rate)
    assert m.envelope_motion_corr(levels, motion) > 0.8
    assert m.envelope_motion_corr(levels, motion[::-1]) < 0.3
    assert m.envelope_motion_corr(m.frame_levels_db(np.zeros_like(swell), SR, n, rate), motion) == 0.0
    assert m.envelope_motion_corr(levels, np.full(n, 5.0)) is None  # nothing to follow
    # a sample short: the last frame still counts
    assert m.envelope_motion_corr(m.frame_levels_db(swell[:-1], SR, n, rate), motion) > 0.8
    with pytest.raises(ValueError, match="frames"):
        m.frame_levels_db(swell[: SR], SR, n, rate)
    with pytest.raises(ValueError, match="motion values"):
        m.envelope_motion_corr(levels[:-1], motion)


def test_si_sdr():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SR).astype(np.float32)
    assert m.si_sdr(x, x) > 80
    assert m.si_sdr(3 * x, x) > 80  # scale invariant
    noise = rng.standard_normal(SR) * 10 ** (-10 / 20)  # 10 dB below the signal
    assert m.si_sdr(x + noise, x) == pytest.approx(10, abs=0.3)
    assert m.si_sdr(rng.standard_normal(SR), x) < -10
    with pytest.raises(ValueError, match="samples"):
        m.si_sdr(x[:-1], x)


def test_spectral_distances():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(SR) * 0.1).astype(np.float32)
    assert m.mel_distance(x, x, SR) == 0.0 and m.stft_distance(x, x) == 0.0
    near, far = x + 0.01 * rng.standard_normal(SR), 0.3 * rng.standard_normal(SR)
    assert 0 < m.mel_distance(near, x, SR) < m.mel_distance(far, x, SR)
    assert 0 < m.stft_distance(near, x) < m.stft_distance(far, x)
    with pytest.raises(ValueError, match="NaN"):
        m.mel_distance(np.full(100, np.nan), np.zeros(100), SR)


def test_frechet_distance():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((40, 8))
    assert m.frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    assert m.frechet_distance(a, a + 0.5) == pytest.approx(8 * 0.25, rel=1e-6)  # |mean shift|^2
    assert m.frechet_distance(a, 3 * a) > m.frechet_distance(a, 1.5 * a) > 0
    with pytest.raises(ValueError, match="at least 2"):
        m.frechet_distance(a[:1], a)
    e = m.logmel_embedding(np.zeros(SR // 2, np.float32), SR)
    assert e.shape == (128,) and np.all(np.isfinite(e))


def test_codec_quality_with_real_dac():
    from maskvat_foley.core.codec.tokenizer import CODEC_PRESETS, Tokenizer

    tok = Tokenizer(CODEC_PRESETS["tiny"], seed=0).eval()
    c = generate_clip(split_seeds("test", 1)[0], seconds=1, video=False)
    q = m.codec_quality(tok, c.audio, SR)
    assert set(q) == {"codec_si_sdr", "codec_mel_distance", "codec_stft_distance", "codec_silence_dbfs"}
    assert all(isinstance(v, float) and np.isfinite(v) for v in q.values())
    assert q["codec_mel_distance"] > 0 and q["codec_stft_distance"] > 0  # an untrained codec does not reconstruct
    truth, _ = on.truth_onsets(c)
    q = m.codec_quality(tok, c.audio, SR, truth, on.frame_tolerance(c.rate))
    assert 0.0 <= q["codec_onset_f1"] <= 1.0
    assert q["codec_onset_tp"] + q["codec_onset_fn"] == len(truth)
    with pytest.raises(ValueError, match="tolerance"):
        m.codec_quality(tok, c.audio, SR, truth)


# -- level, envelope, a codec's silence ------------------------------------------------------------
def test_level_measure_picks_rms_for_short_clips():
    rng = np.random.default_rng(5)
    noise = 0.1 * rng.standard_normal(SR)
    assert lv.level_db(noise, SR)[1] == lv.LUFS  # a second holds BS.1770 gating blocks
    short, measure = lv.level_db(noise[:SR // 4], SR)  # 250 ms: shorter than one 400 ms block
    assert measure == lv.RMS_DBFS and short == pytest.approx(-20, abs=0.2)
    quiet, measure = lv.level_db(1e-4 * noise, SR)  # every block under the -70 LUFS gate
    assert measure == lv.RMS_DBFS and quiet == pytest.approx(-100, abs=0.2)
    assert lv.level_db(np.zeros(SR), SR) == (None, lv.RMS_DBFS)


def test_level_difference_of_half_scale_is_minus_6_db():
    c = generate_clip(split_seeds("test", 1)[0], seconds=2, video=False)
    for audio in (c.audio, c.audio[:SR // 5]):  # LUFS, and RMS for a 200 ms excerpt
        truth = lv.measure_level(audio, SR)
        cmp = lv.compare_levels(lv.measure_level(0.5 * audio, SR), truth)
        assert cmp.diff_db == pytest.approx(20 * np.log10(0.5), abs=1e-6) == pytest.approx(-6.02, abs=0.005)
        assert cmp.measure == (lv.LUFS if audio is c.audio else lv.RMS_DBFS)
        assert cmp.truth_db == pytest.approx(truth.best()[0])
    # one side without LUFS: both in RMS dBFS; a silent side has no level and no difference
    loud, quiet = lv.measure_level(c.audio, SR), lv.measure_level(1e-4 * c.audio, SR)
    assert lv.compare_levels(quiet, loud).measure == lv.RMS_DBFS
    assert lv.compare_levels(quiet, loud).diff_db == pytest.approx(-80, abs=1e-6)
    silent = lv.compare_levels(lv.measure_level(np.zeros(SR), SR), loud)
    assert silent.take_db is None and silent.diff_db is None and silent.truth_db is not None


def _burst(seconds: float = 2.0, at: float = 0.3, decay: float = 0.15) -> np.ndarray:
    rng = np.random.default_rng(6)
    t = np.arange(int(seconds * SR)) / SR
    env = np.where(t >= at, np.exp(-(t - at) / decay), 0.0)
    return 0.5 * env * rng.standard_normal(t.size) + 1e-3 * rng.standard_normal(t.size)  # -60 dBFS room


def test_envelope_correlation():
    x = _burst()
    assert lv.envelope_corr(x, x, SR) == pytest.approx(1.0)
    # a scale is a dB offset, which Pearson ignores (the level error reports it); above the floor, exactly
    assert lv.envelope_corr(0.3 * x, x, SR) == pytest.approx(1.0)
    assert lv.envelope_corr(x[::-1].copy(), x, SR) < 0.3  # a slow swell ending abruptly, late
    assert lv.envelope_corr(np.roll(x, SR // 50), x, SR) > 0.9  # 20 ms late: well inside the smoothing
    assert lv.envelope_corr(np.zeros_like(x), x, SR) is None  # flat: no correlation
    env = lv.envelope_db(x, SR)
    assert env.min() >= lv.ENV_FLOOR_DBFS and env.size == pytest.approx(2 * x.size / (0.023 * SR), abs=2)
    with pytest.raises(ValueError, match="lengths"):
        lv.envelope_corr(x[:-SR // 10], x, SR)


def test_codec_silence_level():
    c = generate_clip(split_seeds("test", 1)[0], seconds=3, video=False)
    a = c.audio.astype(np.float64)
    perfect = m.roundtrip_quality(a, a, SR)
    assert perfect["codec_silence_dbfs"] is None or perfect["codec_silence_dbfs"] < -60  # the truth's own
    assert perfect["codec_stft_distance"] == 0.0
    hiss = 10 ** (-40 / 20) * np.random.default_rng(7).standard_normal(a.size)  # -40 dBFS RMS
    assert lv.silence_level_dbfs(a + hiss, a, SR) == pytest.approx(-40, abs=1.0)
    assert lv.silence_level_dbfs(np.zeros(SR), np.zeros(SR), SR) == lv.SILENCE_FLOOR_DBFS
    loud = 0.1 * np.random.default_rng(8).standard_normal(SR)
    assert lv.silence_level_dbfs(loud, loud, SR) is None  # no silent stretch


def test_scorer_offset_estimate():
    """The real onset-motion scorer recovers a known delay of clicks behind visual jumps."""
    import torch

    from maskvat_foley.core.model.beam import create_scorer

    hop, n_frames = 512, 344  # about 4 s of codec frames at 44.1 kHz
    rng = np.random.default_rng(3)
    events = [40, 95, 170, 230, 300]
    vis = np.zeros((n_frames, 8), np.float32)
    for f in events:  # the picture changes abruptly at each event
        vis[f:] = rng.standard_normal(8)
    delay = 9 * hop  # about 104 ms late
    audio = np.zeros(n_frames * hop, np.float32)
    for f in events:
        s = f * hop + delay
        audio[s:s + 2000] += rng.standard_normal(2000).astype(np.float32) * np.exp(-np.arange(2000) / 300)
    scorer = create_scorer("onset-motion")
    est = m.scorer_offset_ms(scorer, audio, SR, torch.from_numpy(vis), hop)
    assert est == pytest.approx(delay * 1000 / SR, abs=2 * hop * 1000 / SR), est
    early = m.scorer_offset_ms(scorer, np.roll(audio, -2 * delay), SR, torch.from_numpy(vis), hop)
    assert early == pytest.approx(-delay * 1000 / SR, abs=2 * hop * 1000 / SR), early


def test_detector_ignores_stationary_hiss():
    rng = np.random.default_rng(4)
    hiss = (0.03 * rng.standard_normal(3 * SR)).astype(np.float32)  # -30 dBFS, like a bad codec
    assert on.detect_onsets(hiss, SR) == []
    clicks = hiss.copy()
    times = [F(1, 2), F(13, 10), F(21, 10)]
    for t in times:
        s = int(t * SR)
        clicks[s:s + 3000] += (0.5 * rng.standard_normal(3000) * np.exp(-np.arange(3000) / 400)).astype(np.float32)
    r = on.match_onsets(on.detect_onsets(clicks, SR), times, F(1, 100))
    assert (r.tp, r.fp, r.fn) == (3, 0, 0) and r.offset_ms < 5


def test_figure_picks_continuous_impulsive_and_another_kind():
    from maskvat_foley.core.eval.figure import FigureClip, FigurePicker, kind_class

    assert kind_class(["tick", "rain"]) == "continuous" and kind_class(["door"]) == "impulsive"
    assert kind_class([]) == "silent"
    z = np.zeros(10)
    picker = FigurePicker()
    for name, kinds in [("a", ["door"]), ("b", ["door"]), ("c", ["impact", "door"]), ("d", ["engine"]),
                        ("e", ["tick"]), ("f", ["rain"])]:
        picker.offer(FigureClip(name, kinds, z, z, SR, []))
    assert [c.name for c in picker.candidates] == ["a", "c", "d", "e", "f"]  # "b" brings no new kind
    assert [c.name for c in picker.pick()] == ["a", "c", "d"]  # impulsive, continuous, one more kind
    few = FigurePicker()
    for name in ("x", "y"):
        few.offer(FigureClip(name, [], z, z, SR, []))
    assert [c.name for c in few.pick()] == ["x"]  # silent clips: the first still makes a figure


def test_a_take_is_scored_on_the_hiss_it_plays_between_events():
    """score_audio's silence_dbfs: the take's level where the truth is silent, so a take that
    hisses between its hits is told from a clean one whatever its onsets."""
    from maskvat_foley.core.eval.run import ClipTruth, score_audio

    c = generate_clip(split_seeds("test", 1)[0], kinds=["impact"], size=(48, 48), seconds=3)
    truth = ClipTruth.of(c)
    clean = score_audio(c.audio, truth, c.sample_rate).values
    hiss = np.random.default_rng(0).standard_normal(c.audio.shape).astype(np.float32) * 10 ** (-45 / 20)
    hissy = score_audio(c.audio + hiss, truth, c.sample_rate).values
    assert clean["silence_dbfs"] < -60
    assert hissy["silence_dbfs"] == pytest.approx(-45, abs=1.5)
    assert hissy["onset_f1"] >= 0.5 * clean["onset_f1"]  # the same hits: only the hiss tells them apart
