"""What ``eval --set real`` measures of each take, and its summaries and targets (core.eval.real
runs the takes; its docstring describes each measure)."""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from maskvat_foley.core.eval.broadband import NOISY_SHARE, broadband_share
from maskvat_foley.core.eval.rattle import RATTLING_SHARE, rattle_share

SILENT_DB = -70.0
# The level a take on a moving picture is held to: within QUIET_LU of the same model's median take on
# FOLEYWORLD_LEVEL_CLIPS FoleyWorld test clips at the same settings (issue #11). A segment whose motion
# (the RMS of its motion curve, mean squared grey-level change per frame) is under STILL_MOTION, a
# 3-grey-level change or about a camera's sensor noise, is a still picture and may be quiet.
QUIET_LU = 12.0
STILL_MOTION = 9.0
# Issue #11's targets on real footage, per video: AV-Align at least this and this many times the
# reversed picture's; at most this share of cuts with an onset.
TARGET_AV_ALIGN, TARGET_AV_ALIGN_RATIO, TARGET_CUT_SHARE = 0.3, 2.0, 0.1


# -- per-take measures --------------------------------------------------------------------------------
def loudness(audio: np.ndarray, sample_rate: int) -> tuple[float, str]:
    """(level, measure): BS.1770 integrated loudness in LUFS, or RMS dBFS under one 400 ms block."""
    from maskvat_foley.core.media.loudness import BLOCK_S, integrated_loudness

    if audio.size >= BLOCK_S * sample_rate:
        return integrated_loudness(audio, sample_rate), "lufs"
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return (20 * math.log10(rms) if rms > 0 else float("-inf")), "rms_dbfs"


def near_cut(onsets: Sequence[Fraction], cut: Fraction, rate: Fraction) -> bool:
    """Whether an onset lies within one frame (inclusive, as onset matching) of ``cut``."""
    return any(abs(o - cut) <= 1 / rate for o in onsets)


def onset_coverage(onsets: Sequence[Fraction], seconds: Fraction, rate: Fraction) -> float:
    """Share of [0, seconds) within one frame of an onset: the cut share of randomly placed cuts."""
    win, covered, end = 1 / rate, Fraction(0), Fraction(0)
    for o in sorted(onsets):
        lo, hi = max(o - win, end, Fraction(0)), min(o + win, seconds)
        covered += max(hi - lo, Fraction(0))
        end = max(end, hi)
    return float(covered / seconds)


def measure_take(audio: np.ndarray, sample_rate: int, rate: Fraction, peaks: Sequence[Fraction],
                 reversed_peaks: Sequence[Fraction], cuts: Sequence[Fraction],
                 motion: np.ndarray | None = None) -> dict[str, Any]:
    """One take's measures; ``motion``: the segment's motion curve when the picture moves (the level's
    rank correlation with it, and with it played backwards), else None (a still picture has none)."""
    from maskvat_foley.core.eval.metrics import av_align_score, envelope_motion_corr, frame_levels_db
    from maskvat_foley.core.eval.onsets import detect_onsets

    onsets = detect_onsets(audio, sample_rate)
    levels = None if motion is None else frame_levels_db(audio, sample_rate, len(motion), rate)
    level, measure = loudness(audio, sample_rate)
    return {"n_onsets": len(onsets), "onsets_s": [round(float(o), 4) for o in onsets],
            "av_align": av_align_score(onsets, peaks, rate),
            "av_align_reversed": av_align_score(onsets, reversed_peaks, rate),
            "cuts_with_onset": sum(near_cut(onsets, c, rate) for c in cuts),
            "onset_coverage": onset_coverage(onsets, Fraction(audio.size, sample_rate), rate),
            "envelope_motion": None if motion is None else envelope_motion_corr(levels, motion),
            "envelope_motion_reversed": None if motion is None else envelope_motion_corr(levels, motion[::-1]),
            "rattle": rattle_share(audio, sample_rate),
            "broadband": broadband_share(audio, sample_rate),
            "loudness": level, "loudness_measure": measure, "silent": not level > SILENT_DB}


# -- summaries ----------------------------------------------------------------------------------------
def take_means(takes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The per-take measures' means that a segment reports as a video and the run do (all None for no
    takes): one place, so a new measure reaches every level of ``eval.json`` at once."""
    align, rev = mean_finite([t["av_align"] for t in takes]), mean_finite([t["av_align_reversed"] for t in takes])
    return {"av_align": align, "av_align_reversed": rev, "av_align_ratio": safe_ratio(align, rev),
            "envelope_motion": mean_finite([t["envelope_motion"] for t in takes]),
            "envelope_motion_reversed": mean_finite([t["envelope_motion_reversed"] for t in takes]),
            "rattle_share": mean_finite([t["rattle"] for t in takes]),
            "broadband_share": mean_finite([t["broadband"] for t in takes])}


def summarise(segments: Sequence[dict[str, Any]], foleyworld_lufs: float | None = None) -> dict[str, Any]:
    """Means over the takes of ``segments`` (failed segments counted, not measured); the AV-Align
    ratio and the cut share are ratios of sums, so segments with more takes or cuts weigh more.
    ``foleyworld_lufs``: the model's median FoleyWorld take, against which quiet takes on moving
    pictures are counted (None: not counted)."""
    ok = [s for s in segments if s.get("error") is None]
    takes = [t for s in ok for t in s["takes"]]
    moving = [t for s in ok if s["motion"] is not None and s["motion"] >= STILL_MOTION for t in s["takes"]]
    floor = foleyworld_lufs - QUIET_LU if foleyworld_lufs is not None else None
    cut_slots = sum(len(s["cuts"]) * len(s["takes"]) for s in ok)
    levels = [t["loudness"] for t in takes if not t["silent"]]
    seconds = sum(float(Fraction(s["seconds"])) * len(s["takes"]) for s in ok)
    return {
        "segments": len(segments), "failed_segments": len(segments) - len(ok), "takes": len(takes),
        **take_means(takes), "av_align_seed_se": seed_standard_error(takes, "av_align"),
        "cuts": sum(len(s["cuts"]) for s in ok),
        "cut_onset_share": sum(t["cuts_with_onset"] for t in takes) / cut_slots if cut_slots else None,
        "onset_coverage": mean_finite([t["onset_coverage"] for t in takes]),
        "onsets_per_second": sum(t["n_onsets"] for t in takes) / seconds if seconds else None,
        "rattling_takes": sum(t["rattle"] >= RATTLING_SHARE for t in takes),
        "noisy_takes": sum(t["broadband"] >= NOISY_SHARE for t in takes),
        "loudness_mean": mean_finite(levels), "loudness_min": min(levels, default=None),
        "loudness_max": max(levels, default=None),
        "loudness_measures": sorted({t["loudness_measure"] for t in takes}),
        "silent_takes": sum(t["silent"] for t in takes),
        "identical_seed_segments": sum(bool(s["seeds_identical"]) for s in ok),
        "seed_mel_distance": mean_finite([s["seed_mel_distance"] for s in ok]),
        "loudness_motion_spearman": _spearman([(t["loudness"], s["motion"]) for s in ok for t in s["takes"]]),
        "takes_on_motion": len(moving),
        # a silent take's loudness is -inf or None: quiet too
        "quiet_takes_on_motion": (sum(not (t["loudness"] is not None and t["loudness"] >= floor) for t in moving)
                                  if floor is not None else None),
    }


def seed_standard_error(takes: Sequence[dict[str, Any]], key: str) -> float | None:
    """How far a summary's mean of ``key`` would move with other seeds: the standard error of the
    per-seed means (each seed's mean over its takes, so over the segments), None under two seeds. A
    video short of a target by less than about two of these is within what seeds alone change."""
    per_seed: dict[int, list[float | None]] = {}
    for t in takes:
        per_seed.setdefault(t["seed"], []).append(t[key])
    means = [m for m in (mean_finite(v) for v in per_seed.values()) if m is not None]
    if len(means) < 2:
        return None
    return float(np.std(means, ddof=1) / math.sqrt(len(means)))


def targets(overall: dict[str, Any], videos: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Issue #11's must-shows on real footage, each with whether it is met: motion alignment on every
    video, sounds at cuts, seeds, and no quiet takes on moving pictures."""
    def aligned(v: dict[str, Any]) -> bool:
        a, r = v["av_align"], v["av_align_reversed"]
        return a is not None and a >= TARGET_AV_ALIGN and (not r or a >= TARGET_AV_ALIGN_RATIO * r)

    share = overall["cut_onset_share"]
    quiet = overall["quiet_takes_on_motion"]
    return {
        "av_align_every_video": {"met": all(aligned(v) for v in videos),
                                 "short": [v["video"] for v in videos if not aligned(v)],
                                 "target": f">= {TARGET_AV_ALIGN} and >= {TARGET_AV_ALIGN_RATIO}x reversed"},
        "cut_onset_share": {"met": share is None or share <= TARGET_CUT_SHARE, "value": share,
                            "target": f"<= {TARGET_CUT_SHARE}"},
        "seeds_differ": {"met": overall["identical_seed_segments"] == 0},
        "no_quiet_takes_on_motion": {"met": None if quiet is None else quiet == 0, "value": quiet,
                                     "of": overall["takes_on_motion"],
                                     "target": f"within {QUIET_LU:g} LU of the median FoleyWorld take"},
    }


def _spearman(pairs: Sequence[tuple[float, float | None]]) -> float | None:
    """Rank correlation of (take loudness, segment motion) pairs: silent takes (-inf) rank lowest;
    None with fewer than 3 pairs or no spread."""
    xy = [(a, b) for a, b in pairs if b is not None and not math.isnan(a)]
    if len(xy) < 3:
        return None
    from scipy.stats import spearmanr

    a, b = (np.array(v, dtype=np.float64) for v in zip(*xy))
    a[~np.isfinite(a)] = (a[np.isfinite(a)].min() - 1) if np.isfinite(a).any() else 0.0
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(spearmanr(a, b).statistic)


def mean_finite(xs: Sequence[float | None]) -> float | None:
    vals = [float(x) for x in xs if x is not None and math.isfinite(x)]
    return float(np.mean(vals)) if vals else None


def safe_ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None
