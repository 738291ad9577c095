"""How much of a sound a codec keeps: `maskvat-foley bench codec --codec DIR`.

Every take passes through the codec, so what it drops no model can give back. Three measures of
its round trip (encode, decode), all printed as JSON:

- **tones**: a struck sine (150 ms decay) at several frequencies; over the tail (50-400 ms after
  the strike), the round trip's level at the tone's own frequency (a band of +/-3 % and 20 Hz)
  against the truth's, in dB. 0 dB: the tone rings as it should. Beside it, ``tails_db``: the
  whole tail's level whatever its frequency, which a codec also keeps by ringing with noise (so
  it is not a tone's measure; the 2026-11-27 numbers were of this kind).
- **materials**: the reference-sound evaluation's pairs (core.eval.reference.plan_pairs: a
  FoleyWorld impact, strike or footstep clip and the same hits rendered as another material). In
  the onset-decay embedding (core.eval.timbre), is each round trip still nearer its own rendering
  than the other one? This is the ceiling of `eval --reference-pairs`: a take can follow a
  reference's material only as far as the codec keeps materials apart.
- **foleyworld**: test clips: mel distance, level and onset F1 of the round trip (core.eval.metrics
  codec_quality), pooled.

Plus encode and decode time of 10 s of audio on the chosen device.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

TONE_FREQS = (100, 300, 800, 2000, 5000, 10000)
TONE_DECAY_S = 0.15
TAIL_S = (0.05, 0.4)
SAMPLE_RATE = 44100


def struck_sine(freq: float, seconds: float = 1.5, onset: float = 0.5, decay: float = TONE_DECAY_S,
                sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A sine at ``freq`` starting at ``onset`` s and decaying (1/e in ``decay`` s), peak 0.3."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate - onset
    return (0.3 * np.sin(2 * np.pi * freq * t) * np.exp(-np.maximum(t, 0) / decay) * (t >= 0)).astype(np.float32)


def tail_levels_db(truth: np.ndarray, heard: np.ndarray, freq: float, sample_rate: int,
                   onset: float = 0.5) -> tuple[float, float]:
    """(at the tone, whole tail): ``heard`` minus ``truth`` over a struck sine's tail, in dB.

    At the tone: power within +/-3 % and 20 Hz of ``freq`` (Hann-windowed spectrum of the tail);
    whole tail: all of its power. Noise at the tail's level scores 0 dB on the second, not the first.
    """
    lo, hi = (round((onset + s) * sample_rate) for s in TAIL_S)
    window = np.hanning(hi - lo)
    freqs = np.fft.rfftfreq(hi - lo, 1 / sample_rate)
    band = (freqs > freq * 0.97 - 20) & (freqs < freq * 1.03 + 20)

    def power(x: np.ndarray) -> np.ndarray:
        return np.abs(np.fft.rfft(np.asarray(x[lo:hi], dtype=np.float64) * window)) ** 2

    p_heard, p_truth = power(heard), power(truth)
    ratio = lambda a, b: float(10 * np.log10((a + 1e-20) / (b + 1e-20)))  # noqa: E731
    return ratio(p_heard[band].sum(), p_truth[band].sum()), ratio(p_heard.sum(), p_truth.sum())


def tone_retention_db(tok: Any, freq: float) -> tuple[float, float]:
    """(at the tone, whole tail) of the codec's round trip of a struck sine (tail_levels_db)."""
    from maskvat_foley.core.eval.metrics import codec_roundtrip

    onset = 0.5
    y, a, sr = codec_roundtrip(tok, struck_sine(freq, onset=onset), SAMPLE_RATE)
    return tail_levels_db(a, y, freq, sr, onset)


def materials(tok: Any, n: int) -> dict[str, Any]:
    """Shares of pairs whose round trips stay nearer their own material's rendering (both the
    clip's own sound and the sound as the other material)."""
    from maskvat_foley.core.data import generate_clip, render_audio
    from maskvat_foley.core.data.rematerial import rematerial
    from maskvat_foley.core.eval import timbre
    from maskvat_foley.core.eval.metrics import codec_roundtrip
    from maskvat_foley.core.eval.reference import plan_pairs

    emb = lambda a: timbre.decay_embedding(a, SAMPLE_RATE)  # noqa: E731
    kept, per_kind, dist = [], {}, []
    for pair in plan_pairs(n):
        clip = generate_clip(pair.seed, kinds=[pair.kind], video=False)
        own = clip.audio
        other = render_audio(rematerial(clip.spec, pair.label), SAMPLE_RATE)
        e_own, e_other = emb(own), emb(other)
        rt = {k: emb(codec_roundtrip(tok, a, SAMPLE_RATE)[0]) for k, a in (("own", own), ("other", other))}
        ok = (timbre.nearer(rt["own"], e_own, e_other)[0], timbre.nearer(rt["other"], e_other, e_own)[0])
        kept.extend(ok)
        per_kind.setdefault(pair.kind, []).extend(ok)
        dist.extend([float(np.linalg.norm(rt["own"] - e_own)), float(np.linalg.norm(rt["other"] - e_other))])
    return {"pairs": n, "kept": float(np.mean(kept)),
            "kept_per_kind": {k: float(np.mean(v)) for k, v in per_kind.items()},
            "decay_distance_mean": float(np.mean(dist)),
            "embedding": timbre.NAME}


def foleyworld(tok: Any, n: int) -> dict[str, Any]:
    """Pooled round-trip quality on the first ``n`` FoleyWorld test clips."""
    from maskvat_foley.core.data import generate_clip, split_seeds
    from maskvat_foley.core.eval.levels import compare_levels, measure_level
    from maskvat_foley.core.eval.metrics import codec_roundtrip, detect_onsets, roundtrip_quality
    from maskvat_foley.core.eval.onsets import frame_tolerance, match_onsets, pool, truth_onsets

    rows, matches, levels = [], [], []
    for seed in split_seeds("test", n):
        clip = generate_clip(int(seed), video=False)
        y, a, sr = codec_roundtrip(tok, clip.audio, SAMPLE_RATE)  # the codec's rate is 44.1 kHz
        rows.append(roundtrip_quality(y, a, sr))
        matches.append(match_onsets(detect_onsets(y, sr), truth_onsets(clip)[0], frame_tolerance(clip.rate)))
        diff = compare_levels(measure_level(y, sr), measure_level(a, sr)).diff_db
        if diff is not None:
            levels.append(diff)
    mean = lambda k: float(np.mean([r[k] for r in rows if r[k] is not None]))  # noqa: E731
    return {"clips": n, "mel_distance": mean("codec_mel_distance"), "stft_distance": mean("codec_stft_distance"),
            "silence_dbfs": mean("codec_silence_dbfs"), "onset_f1": pool(matches).f1,
            "level_db_median": float(np.median(levels)) if levels else None}


def speed(tok: Any, seconds: float = 10.0) -> dict[str, float]:
    import torch

    x = torch.from_numpy(np.random.default_rng(0).standard_normal(round(seconds * tok.sample_rate))
                         .astype(np.float32) * 0.1).to(tok.device)[None, None]
    with torch.inference_mode():
        tok.decode_long(tok.encode_long(x))  # warm-up
        t0 = time.perf_counter()
        codes = tok.encode_long(x)
        t1 = time.perf_counter()
        tok.decode_long(codes)
        t2 = time.perf_counter()
    return {"seconds": seconds, "encode_s": t1 - t0, "decode_s": t2 - t1}


def tones(tok: Any) -> dict[str, dict[str, float]]:
    """``tones_db`` (at the tone) and ``tails_db`` (whole tail) per frequency (tone_retention_db)."""
    levels = {str(f): tone_retention_db(tok, f) for f in TONE_FREQS}
    return {"tones_db": {f: round(v[0], 2) for f, v in levels.items()},
            "tails_db": {f: round(v[1], 2) for f, v in levels.items()}}


def run(codec: str, *, device: str = "cpu", pairs: int = 30, clips: int = 20) -> dict[str, Any]:
    """All measures for ``codec`` (a codec folder, a model folder holding codec/, or a preset)."""
    import os

    from maskvat_foley.core.codec.tokenizer import load_tokenizer

    path = os.path.join(codec, "codec") if os.path.isdir(os.path.join(codec, "codec")) else codec
    tok = load_tokenizer(path, device=device)
    tok.eval()
    return {"codec": {"path": path, "name": tok.name, "phase": tok.config.phase},
            "device": device,
            **tones(tok),
            "materials": materials(tok, pairs) if pairs else None,
            "foleyworld": foleyworld(tok, clips) if clips else None,
            "speed": speed(tok)}
