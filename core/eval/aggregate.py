"""Aggregates of an evaluation run over its clips, and the JSON cleaning of the results.

- Onsets: counts pooled over clips (micro average: clips with many events weigh more).
- Spectral distances, AV-Align, envelope correlation, the level where the truth is silent: means
  over clips (None values left out).
- Level error: medians over clips (a few clips with a silent or deafening take must not decide
  it); signed (is the model too quiet or too loud?) and absolute (how far off, either way).
- Per kind: the clips that contain the kind; onset recall is exact per kind (see onsets.py), the
  other numbers are those of whole clips, so a mixture counts for each of its kinds. Mean truth
  and take levels of the clips with a level error show relative levels between kinds.
"""
from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskvat_foley.core.eval import onsets as on

AUDIO_METRICS = ("av_align", "mel_distance", "stft_distance", "envelope_corr", "silence_dbfs")


def aggregate(scores: Sequence[Any], truth_emb: np.ndarray) -> dict[str, Any]:
    """One system's metrics over clips (``scores``: core.eval.run.Scored)."""
    from maskvat_foley.core.eval.metrics import frechet_distance

    out = dict(on.pool(sc.match for sc in scores).summary())
    for k in AUDIO_METRICS:
        out[k] = mean([sc.values[k] for sc in scores])
    out["envelope_corr_continuous"] = mean([sc.values["envelope_corr"] for sc in scores
                                            if _has_continuous(sc.per_kind)])
    out.update(_level_error([sc.values for sc in scores]))
    emb = np.stack([sc.embedding for sc in scores])
    out["fad_logmel"] = frechet_distance(emb, truth_emb) if len(emb) >= 2 else None
    return out


def per_kind(scores: Sequence[Any]) -> dict[str, Any]:
    """Onset counts, level error, truth and take levels and envelope correlation per event kind."""
    from maskvat_foley.core.data.spec import CONTINUOUS_KINDS

    groups: dict[str, list[tuple[on.OnsetMatch, dict[str, Any]]]] = {}
    for sc in scores:
        for kind, mk in sc.per_kind.items():
            groups.setdefault(kind, []).append((mk, sc.values))
    out: dict[str, Any] = {}
    for kind, items in sorted(groups.items()):
        vals = [v for _, v in items]
        paired = [v for v in vals if v["level_diff_db"] is not None]
        out[kind] = {**on.pool(mk for mk, _ in items).summary(), "clips": len(items),
                     "continuous": kind in CONTINUOUS_KINDS, **_level_error(vals),
                     "truth_level_mean_db": mean([v["truth_level_db"] for v in paired]),
                     "take_level_mean_db": mean([v["take_level_db"] for v in paired]),
                     "envelope_corr": mean([v["envelope_corr"] for v in vals])}
    return out


def model_metrics(scores: Sequence[Any], clips: Sequence[dict[str, Any]], truth_emb: np.ndarray,
                  true_audio_f1: float) -> dict[str, Any]:
    """The model's metrics, with the codec's (means over clips; onset F1 pooled like the
    systems', and over the true audio's, the detector's ceiling, as ``codec_onset_f1_ratio``) and
    the synchrony scorer's offset."""
    metrics = aggregate(scores, truth_emb)
    for k in ("codec_si_sdr", "codec_mel_distance", "codec_stft_distance", "codec_silence_dbfs"):
        metrics[k] = mean([c.get(k) for c in clips])
    counted = [c for c in clips if "codec_onset_tp" in c]
    f1 = on.pool(on.OnsetMatch(c["codec_onset_tp"], c["codec_onset_fp"], c["codec_onset_fn"])
                 for c in counted).f1 if counted else None
    metrics["codec_onset_f1"] = f1
    metrics["codec_onset_f1_ratio"] = f1 / true_audio_f1 if f1 is not None and true_audio_f1 else None
    offsets = [c["sync_scorer_offset"] for c in clips if c["sync_scorer_offset"] is not None]
    metrics["sync_scorer_offset"] = mean([abs(o) for o in offsets])
    metrics["sync_scorer_offset_signed"] = mean(offsets)
    raw = [c["level_diff_uncalibrated_db"] for c in clips if c.get("level_diff_uncalibrated_db") is not None]
    if raw:  # the model's level before its calibration (core.model.level_calibration)
        metrics["level_diff_median_uncalibrated_db"] = median(raw)
        metrics["level_abs_diff_median_uncalibrated_db"] = median([abs(d) for d in raw])
    return metrics


def _has_continuous(kinds: Any) -> bool:
    from maskvat_foley.core.data.spec import CONTINUOUS_KINDS

    return any(k in CONTINUOUS_KINDS for k in kinds)


def _level_error(values: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    diffs = [v["level_diff_db"] for v in values if v["level_diff_db"] is not None]
    return {"level_diff_median_db": median(diffs), "level_abs_diff_median_db": median([abs(d) for d in diffs])}


def mean(xs: Sequence[float | None]) -> float | None:
    vals = [float(x) for x in xs if x is not None]
    return float(np.mean(vals)) if vals else None


def median(xs: Sequence[float | None]) -> float | None:
    vals = [float(x) for x in xs if x is not None]
    return float(np.median(vals)) if vals else None


def clean(x: Any) -> Any:
    """JSON-able: Fractions as exact strings, numpy scalars as Python, non-finite floats as None."""
    from maskvat_foley.core.jobs import fraction_str

    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, Fraction):
        return fraction_str(x)
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write results atomically (a reader never sees half a file); ``data`` already clean()ed."""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)
