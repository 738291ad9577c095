"""Level and envelope of audio against a clip's true audio, and a codec's level in silence.

Level: BS.1770 integrated loudness (core.media.loudness) where it is defined, else the RMS of the
whole clip in dBFS. BS.1770 needs at least one 400 ms gating block and a block above its -70 LUFS
absolute gate; FoleyWorld clips can be shorter and a quiet take can sit under the gate, and a
level error must still be reported for them. A take and its truth are always compared in one
measure (LUFS only when both have it), so the difference is never LUFS minus dBFS.

Envelope: RMS over 23 ms frames (half overlapping), power averaged over about 80 ms (two video
frames at 24 fps: offsets within the onset tolerance barely change it, a 200 ms shift does; and
rain's separate clicks merge into a density envelope), in dB floored at -80 dBFS. dB, not linear:
loudness is heard about logarithmically, so a quiet stretch and a decaying tail weigh as much as
the loudest moment (a linear envelope's correlation is decided by its few highest peaks); the
floor sits below FoleyWorld's room noise (-63 to -75 dBFS), so silence does not add noise of its
own. Pearson correlation ignores a scale (a dB offset), which the level error reports instead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

LUFS, RMS_DBFS = "lufs", "rms_dbfs"  # the level measures, as recorded per clip

ENV_FRAME_S = 0.023
ENV_SMOOTH_S = 0.08
ENV_FLOOR_DBFS = -80.0

SILENCE_DBFS = -60.0     # a truth frame quieter than this is a silent stretch
SILENCE_FRAME_S = 0.05
SILENCE_FLOOR_DBFS = -120.0  # below 24-bit resolution: digital silence stays a number in JSON


@dataclass(frozen=True)
class Level:
    """Both level measures of one signal (-inf where a measure has no value)."""

    lufs: float      # -inf: shorter than one 400 ms block, or every block under the absolute gate
    rms_dbfs: float  # -inf: digital silence

    def best(self) -> tuple[float | None, str]:
        """The level in the measure BS.1770 prefers when it can: (value or None, measure)."""
        if math.isfinite(self.lufs):
            return self.lufs, LUFS
        return (self.rms_dbfs if math.isfinite(self.rms_dbfs) else None), RMS_DBFS


def rms_dbfs(audio: np.ndarray) -> float:
    """RMS of the whole signal in dBFS (a full-scale square wave is 0); -inf for digital silence."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    p = float(np.mean(x * x)) if x.size else 0.0
    return 10 * math.log10(p) if p > 0 else float("-inf")


def measure_level(audio: np.ndarray, sample_rate: int) -> Level:
    from maskvat_foley.core.media.loudness import integrated_loudness

    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    return Level(integrated_loudness(x, sample_rate), rms_dbfs(x))


def level_db(audio: np.ndarray, sample_rate: int) -> tuple[float | None, str]:
    """One signal's level and the measure used: LUFS, or RMS dBFS where LUFS has no value."""
    return measure_level(audio, sample_rate).best()


@dataclass(frozen=True)
class LevelComparison:
    take_db: float | None
    truth_db: float | None
    measure: str
    diff_db: float | None  # take - truth; None when either has no level

    def values(self) -> dict[str, Any]:
        return {"take_level_db": self.take_db, "truth_level_db": self.truth_db,
                "level_measure": self.measure, "level_diff_db": self.diff_db}


def compare_levels(take: Level, truth: Level) -> LevelComparison:
    """Take and truth in one measure: LUFS when both have it, else RMS dBFS for both."""
    if math.isfinite(take.lufs) and math.isfinite(truth.lufs):
        a, b, measure = take.lufs, truth.lufs, LUFS
    else:
        a, b, measure = take.rms_dbfs, truth.rms_dbfs, RMS_DBFS
    a_, b_ = (a if math.isfinite(a) else None), (b if math.isfinite(b) else None)
    return LevelComparison(a_, b_, measure, a - b if a_ is not None and b_ is not None else None)


# -- envelope -----------------------------------------------------------------------------------
def envelope_db(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Smoothed RMS envelope in dBFS, one value per half frame (see the module docstring)."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    frame = max(2, round(ENV_FRAME_S * sample_rate))
    hop = frame // 2
    if x.size < frame:
        x = np.pad(x, (0, frame - x.size))
    n = 1 + (x.size - frame) // hop
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    starts = hop * np.arange(n)
    power = (csum[starts + frame] - csum[starts]) / frame
    smooth = max(1, round(ENV_SMOOTH_S * sample_rate / hop))
    if smooth > 1 and n > 1:  # a centred moving average; the edges repeat the end values
        pad = np.pad(power, (smooth // 2, smooth - 1 - smooth // 2), mode="edge")
        power = np.convolve(pad, np.full(smooth, 1.0 / smooth), mode="valid")
    return 10 * np.log10(np.maximum(power, 10 ** (ENV_FLOOR_DBFS / 10)))


def envelope_corr(pred: np.ndarray, truth: np.ndarray, sample_rate: int) -> float | None:
    """Pearson correlation of the two envelopes; None when either is flat (e.g. digital silence,
    where a correlation is undefined)."""
    a, b = envelope_db(pred, sample_rate), envelope_db(truth, sample_rate)
    if a.size != b.size:
        raise ValueError(f"envelope correlation: {a.size} frames against {b.size}; the audio lengths differ")
    a, b = a - a.mean(), b - b.mean()
    den = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    return float(np.dot(a, b) / den) if den > 1e-9 else None


# -- a codec in silence ---------------------------------------------------------------------------
def silence_level_dbfs(roundtrip: np.ndarray, truth: np.ndarray, sample_rate: int) -> float | None:
    """RMS in dBFS of ``roundtrip`` over the truth's silent stretches (50 ms frames of the truth
    under -60 dBFS, pooled): the hiss or ringing a codec adds where nothing should sound, which
    SI-SDR hides (it is dominated by the loud parts). None when the truth has no silent frame;
    floored at -120 dBFS."""
    r = np.asarray(roundtrip, dtype=np.float64).reshape(-1)
    t = np.asarray(truth, dtype=np.float64).reshape(-1)
    if r.size != t.size:
        raise ValueError(f"silence level: round trip has {r.size} samples but the truth {t.size}")
    frame = max(1, round(SILENCE_FRAME_S * sample_rate))
    n = t.size // frame  # whole frames; a partial last frame is too short to judge
    if n == 0:
        return None
    tf, rf = t[:n * frame].reshape(n, frame), r[:n * frame].reshape(n, frame)
    silent = (tf * tf).mean(axis=1) < 10 ** (SILENCE_DBFS / 10)
    if not silent.any():
        return None
    p = float((rf[silent] ** 2).mean())
    return max(10 * math.log10(p), SILENCE_FLOOR_DBFS) if p > 0 else SILENCE_FLOOR_DBFS
