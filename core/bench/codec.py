"""How much of a sound a codec keeps: `maskvat-foley bench codec --codec DIR`.

Every take passes through the codec, so what it drops no model can give back. Three measures of
its round trip (encode, decode), all printed as JSON:

- **tones**: a struck sine (150 ms decay) at several frequencies; the round trip's level over the
  tail (50-400 ms after the strike) against the truth's, in dB. 0 dB: the tone rings as it should.
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


def tone_retention_db(tok: Any, freq: float) -> float:
    """Round-trip level minus true level over the struck sine's tail, in dB."""
    from maskvat_foley.core.eval.metrics import codec_roundtrip

    onset = 0.5
    a = struck_sine(freq, onset=onset)
    y, a, sr = codec_roundtrip(tok, a, SAMPLE_RATE)
    lo, hi = (round((onset + s) * sr) for s in TAIL_S)
    rms = lambda x: float(np.sqrt(np.mean(np.square(x[lo:hi], dtype=np.float64))) + 1e-12)  # noqa: E731
    return 20 * np.log10(rms(y) / rms(a))


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
    from maskvat_foley.core.eval.onsets import frame_tolerance, match_onsets, truth_onsets

    rows, matches, levels = [], [], []
    for seed in split_seeds("test", n):
        clip = generate_clip(int(seed), video=False)
        y, a, sr = codec_roundtrip(tok, clip.audio, SAMPLE_RATE)  # the codec's rate is 44.1 kHz
        rows.append(roundtrip_quality(y, a, sr))
        matches.append(match_onsets(detect_onsets(y, sr), truth_onsets(clip)[0], frame_tolerance(clip.rate)))
        diff = compare_levels(measure_level(y, sr), measure_level(a, sr)).diff_db
        if diff is not None:
            levels.append(diff)
    tp, fp, fn = (sum(getattr(m, k) for m in matches) for k in ("tp", "fp", "fn"))
    mean = lambda k: float(np.mean([r[k] for r in rows if r[k] is not None]))  # noqa: E731
    return {"clips": n, "mel_distance": mean("codec_mel_distance"), "stft_distance": mean("codec_stft_distance"),
            "silence_dbfs": mean("codec_silence_dbfs"), "onset_f1": 2 * tp / max(1, 2 * tp + fp + fn),
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


def run(codec: str, *, device: str = "cpu", pairs: int = 30, clips: int = 20) -> dict[str, Any]:
    """All measures for ``codec`` (a codec folder, a model folder holding codec/, or a preset)."""
    import os

    from maskvat_foley.core.codec.tokenizer import load_tokenizer

    path = os.path.join(codec, "codec") if os.path.isdir(os.path.join(codec, "codec")) else codec
    tok = load_tokenizer(path, device=device)
    tok.eval()
    return {"codec": {"path": path, "name": tok.name, "phase": tok.config.phase},
            "device": device,
            "tones_db": {str(f): round(tone_retention_db(tok, f), 2) for f in TONE_FREQS},
            "materials": materials(tok, pairs) if pairs else None,
            "foleyworld": foleyworld(tok, clips) if clips else None,
            "speed": speed(tok)}
