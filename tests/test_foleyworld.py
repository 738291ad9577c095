"""FoleyWorld: determinism, exact lengths and times, audible and visible events, files on disk."""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from maskvat_foley.core.data import (KINDS, RATES, SPLITS, generate_clip, make_clips, onset_samples,
                                     onset_times, plan_clip, split_seeds)

SR = 44100


def _round_half_up(x: Fraction) -> int:
    return int(np.floor(x + Fraction(1, 2)))


def detect_onset(audio: np.ndarray, expected: int, sr: int = SR) -> int | None:
    """First sample near ``expected`` where the high-passed energy jumps 10x above what came just
    before (an independent check of the sound, not the generator's own bookkeeping)."""
    hp = np.diff(audio.astype(np.float64), prepend=audio[0]) ** 2
    w = 16
    c = np.concatenate([[0.0], np.cumsum(hp)])
    env = (c[w:] - c[:-w]) / w  # env[i]: mean energy of samples i .. i+w-1
    ms = sr // 1000
    before = env[max(0, expected - 12 * ms):max(1, expected - 3 * ms)]
    thr = max(10 * float(np.median(before)) if len(before) else 0.0, 1e-10)
    lo, hi = max(0, expected - 3 * ms), min(len(env), expected + 3 * ms)
    idx = np.nonzero(env[lo:hi] > thr)[0]
    return None if not len(idx) else lo + int(idx[0]) + w - 1


def local_change(frames: np.ndarray, x: float, y: float, r: int = 6) -> np.ndarray:
    """Mean absolute frame difference around (x, y) for every frame transition (index f: f-1 -> f)."""
    H, W = frames.shape[1:3]
    xi, yi = min(max(int(x), r), W - r), min(max(int(y), r), H - r)
    patch = frames[:, yi - r:yi + r, xi - r:xi + r].astype(np.int16)
    d = np.abs(np.diff(patch, axis=0)).mean(axis=(1, 2, 3))
    return np.concatenate([[0.0], d])


def test_same_seed_same_clip_other_seed_other_clip():
    a = generate_clip(1234, seconds=3)
    b = generate_clip(1234, seconds=3)
    c = generate_clip(1235, seconds=3)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio)
    assert a.spec.to_dict() == b.spec.to_dict()
    assert not np.array_equal(a.audio[:min(len(a.audio), len(c.audio))], c.audio[:min(len(a.audio), len(c.audio))])
    assert a.frames.shape != c.frames.shape or not np.array_equal(a.frames, c.frames)
    # audio alone (no picture) is the same audio
    assert np.array_equal(generate_clip(1234, seconds=3, video=False).audio, a.audio)


@pytest.mark.parametrize("rate", RATES)
def test_audio_length_is_exact_for_every_rate(rate):
    for seconds in (2, Fraction(7, 3), 5.5):
        clip = generate_clip(77, rate=rate, seconds=seconds, kinds=["tick"], video=False)
        n = _round_half_up(Fraction(seconds) * rate)
        assert clip.spec.n_frames == n and clip.spec.rate == rate
        assert clip.audio.dtype == np.float32 and clip.audio.ndim == 1
        assert len(clip.audio) == _round_half_up(Fraction(n) * SR / rate)
        for e in clip.events:
            assert e.time == Fraction(e.frame) / rate and isinstance(e.time, Fraction)
    # at 29.97 a 61-frame clip is 89,759.67 samples: rounding, not truncation
    clip = generate_clip(5, rate="30000/1001", seconds=Fraction(61 * 1001, 30000), kinds=["tick"], video=False)
    assert len(clip.audio) == 89760
    assert len(generate_clip(5, rate=25, seconds=2, sample_rate=48000, video=False).audio) == 96000


@pytest.mark.parametrize("kind", KINDS)
def test_every_event_is_heard_and_seen_on_its_frame(kind):
    n_events = 0
    for i, seed in enumerate((11, 12)):
        clip = generate_clip(seed, kinds=[kind], seconds=4, rate=RATES[(i + KINDS.index(kind)) % len(RATES)])
        assert clip.frames.shape == (clip.spec.n_frames, 96, 96, 3) and clip.frames.dtype == np.uint8
        assert {e.kind for e in clip.events} <= {kind}
        assert float(np.abs(clip.audio).max()) < 1.0  # normalised, no clipping
        for e in clip.events:
            s = e.sample(clip.rate, SR)
            assert s == _round_half_up(Fraction(e.frame) * SR / clip.rate)
            found = detect_onset(clip.audio, s)
            assert found is not None, f"{kind} seed {seed}: no onset near sample {s} (frame {e.frame})"
            assert abs(found - s) <= SR // 1000, f"{kind} seed {seed}: onset at {found}, event at {s}"
            change = local_change(clip.frames, e.params["x"], e.params["y"])
            assert change[e.frame] > max(4.0, 2.5 * float(np.median(change[1:]))), \
                f"{kind} seed {seed}: nothing visible changes at frame {e.frame} ({change[e.frame]:.1f})"
        n_events += len(clip.events)
        # before the first event the sound is only the low room noise
        first = onset_samples(clip)[0]
        assert float(np.abs(clip.audio[:max(first - 10, 1)]).max()) < 0.01
    assert n_events >= 2


def test_material_and_surface_ground_truth():
    mats = {e.params["material"] for s in range(6) for e in generate_clip(s, kinds=["impact"], seconds=3, video=False).events}
    assert mats <= {"wood", "metal", "glass", "stone"} and len(mats) >= 3
    surf = {e.params["surface"] for s in range(8) for e in plan_clip(s, kinds=["footstep"], seconds=3).events}
    assert surf == {"grass", "gravel", "wood", "tile"}


def test_silent_clips_are_silent():
    for seed in (3, 4):
        clip = generate_clip(seed, kinds=[], seconds=3)
        assert clip.events == [] and onset_times(clip) == []
        assert float(np.sqrt(np.mean(clip.audio ** 2))) < 1e-3
        assert len(clip.spec.sources) >= 1  # a scene is there; nothing happens in it
    # random clips include silent ones too
    silent = [s for s in range(300) if not plan_clip(s).events]
    assert silent
    clip = generate_clip(silent[0], video=False)
    assert float(np.sqrt(np.mean(clip.audio ** 2))) < 1e-3


def test_mixtures_and_variety():
    clip = generate_clip(21, kinds=["impact", "rain"], seconds=4)
    kinds = {e.kind for e in clip.events}
    assert kinds == {"impact", "rain"}
    a, b = (s.box for s in clip.spec.sources)
    assert a.x + a.w <= b.x or a.y + a.h <= b.y  # side by side or stacked, never overlapping
    plans = [plan_clip(s) for s in range(200)]
    assert {p.rate for p in plans} == set(RATES)
    secs = [p.seconds for p in plans]
    assert min(secs) >= 2 and max(secs) <= 12 and max(secs) - min(secs) > 6
    assert any(len(p.sources) == 2 and p.events for p in plans)
    assert {p.background["style"] for p in plans} >= {"solid", "vgradient", "noise"}
    assert len({s.kind for p in plans for s in p.sources}) == len(KINDS)
    # a source acting in part of the clip leaves silent stretches around it
    assert any(s.window[0] > 1 or s.window[1] < p.n_frames for p in plans for s in p.sources if s.events)
    assert generate_clip(8, size=(128, 96), seconds=2).frames.shape[1:] == (96, 128, 3)


def test_onset_times_are_exact_and_sorted():
    clip = generate_clip(31, kinds=["rain"], seconds=3, rate="24000/1001", video=False)
    times = onset_times(clip)
    assert times == sorted(set(Fraction(e.frame * 1001, 24000) for e in clip.events))
    assert onset_samples(clip) == [_round_half_up(t * SR) for t in times]


def test_splits_are_disjoint():
    names = list(SPLITS)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not set(SPLITS[a]) & set(SPLITS[b]) if len(SPLITS[a]) < 20000 else \
                SPLITS[a].stop <= SPLITS[b].start or SPLITS[b].stop <= SPLITS[a].start
    assert list(split_seeds("val", 3)) == [1_000_000, 1_000_001, 1_000_002]
    assert split_seeds("test", 5)[0] == 2_000_000
    with pytest.raises(ValueError, match="unknown FoleyWorld split 'dev'"):
        split_seeds("dev", 1)
    with pytest.raises(ValueError, match="holds 10000 seeds"):
        split_seeds("val", 10001)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="'splash'"):
        generate_clip(1, kinds=["splash"])
    with pytest.raises(ValueError, match="non-negative"):
        generate_clip(-1)
    with pytest.raises(ValueError, match="at least 32x32"):
        generate_clip(1, size=(16, 16))
    with pytest.raises(ValueError, match="at most two"):
        plan_clip(1, kinds=["tick", "rain", "door"])


def test_make_clips_writes_playable_video_with_audio_and_json(tmp_path):
    import av

    paths = make_clips(2, 500, tmp_path, seconds=2, rate="24000/1001", kinds=["impact"], wav=True)
    assert [p.name for p in paths] == ["foleyworld_0000500.mp4", "foleyworld_0000501.mp4"]
    for p in paths:
        meta = json.loads(p.with_suffix(".json").read_text())
        clip = generate_clip(meta["seed"], seconds=2, rate="24000/1001", kinds=["impact"])
        assert meta["rate"] == "24000/1001" and meta["n_frames"] == 48 == clip.spec.n_frames
        assert meta["num_samples"] == len(clip.audio) == 88288  # round(48 * 44100 * 1001 / 24000)
        assert meta["kinds"] == ["impact"] and set(meta["materials"]) <= {"wood", "metal", "glass", "stone"}
        for e, ev in zip(meta["events"], clip.events):
            assert Fraction(e["time"]) == Fraction(e["frame"] * 1001, 24000) == ev.time
            assert e["seconds"] == pytest.approx(float(ev.time))
        with av.open(str(p)) as c:
            v, a = c.streams.video[0], c.streams.audio[0]
            assert v.average_rate == Fraction(24000, 1001) and a.sample_rate == SR
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert len(frames) == 48 and frames[0].shape == (96, 96, 3)
        assert np.abs(np.stack(frames).astype(int) - clip.frames.astype(int)).mean() < 6  # same picture
        with av.open(str(p)) as c:
            n_audio = sum(f.samples for f in c.decode(audio=0))
        assert abs(n_audio - len(clip.audio)) < 2048  # AAC pads to whole 1024-sample frames
        import wave
        with wave.open(str(p.with_suffix(".wav"))) as w:
            assert w.getnframes() == len(clip.audio) and w.getframerate() == SR
