"""The level of a take: an editor's loudness target and gain, under a -1 dBTP true-peak ceiling.

The rule, in this order:

1. Neither a target nor a gain (``loudness`` None, ``gain_db`` 0): the audio is returned as it is,
   bit for bit; it is only measured. The ceiling does not apply: nobody asked for a change, and a
   take that was never touched is what the model made.
2. A target: gain = target - measured integrated loudness, then ``gain_db`` is added on top (the
   editor's trim relative to the target: -23 LUFS with +3 dB gives about -20 LUFS).
   Without a target the gain is ``gain_db`` alone.
3. A take whose loudness is -inf (silent, or shorter than one 400 ms gating block) or below
   NEAR_SILENCE_LUFS is not raised to the target: only ``gain_db`` is applied, and the result is
   flagged "near_silent". The part of the gain that comes from the target is capped at
   MAX_BOOST_DB ("boost_capped").
4. The true peak after the gain stays at or under TRUE_PEAK_CEILING_DBTP: when it would not, the
   gain is lowered to fit (a plain gain, no limiter, so the take's dynamics are kept), flagged
   "ceiling_limited". A target may then not be reached; the flag says why.

Loudness and true peak are remeasured after the gain (the -70 LUFS gate is level dependent, so
"measured + gain" is not always exact).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from maskvat_foley.core.media.loudness import integrated_loudness, true_peak

# EBU R128 / streaming deliveries ask for -1 dBTP at most (lossy encoders overshoot above it).
TRUE_PEAK_CEILING_DBTP = -1.0
# The ceiling is aimed this far under -1 dBTP so that float32 and 24-bit rounding of the written
# file cannot push the measured peak a hair above it; 0.01 dB is inaudible.
CEILING_MARGIN_DB = 0.01
# -60 LUFS is 37 LU under the -23 LUFS broadcast reference, far below anything else in a mix: a take
# that quiet is the model's near-silence (codec noise and artefacts), not a sound to be used. Raising
# it to a target would make that noise the take, so it is reported instead. It sits 10 LU above
# BS.1770's -70 LUFS absolute gate, so the measurement itself is still meaningful there.
NEAR_SILENCE_LUFS = -60.0
# The most a target may raise a take. A quiet take raised by more than 30 dB brings the codec's
# noise floor and artefacts up with it; a take that needs more is quiet on purpose or wrong, and the
# editor should hear it before it is made loud (the gain option can still add more explicitly).
MAX_BOOST_DB = 30.0

NEAR_SILENT, BOOST_CAPPED, CEILING_LIMITED = "near_silent", "boost_capped", "ceiling_limited"


@dataclass(frozen=True)
class LevelResult:
    """What was measured and done. Loudness values are -inf for silence or audio under 400 ms."""

    loudness_before_lufs: float
    gain_db: float  # the gain applied (0.0 when the audio was left as it was)
    loudness_lufs: float  # after the gain
    true_peak_dbtp: float  # after the gain
    target_lufs: float | None
    requested_gain_db: float  # the explicit gain asked for
    flags: tuple[str, ...] = ()  # NEAR_SILENT, BOOST_CAPPED, CEILING_LIMITED

    @property
    def adjusted(self) -> bool:
        """Whether a level was asked for (a target or a gain); if not the audio was left as it was."""
        return self.target_lufs is not None or self.requested_gain_db != 0

    @property
    def note(self) -> str | None:
        """One line for the editor when the level is not what was asked, else None."""
        parts = []
        if NEAR_SILENT in self.flags:
            measured = ("silent (or under 400 ms)" if math.isinf(self.loudness_before_lufs)
                        else f"measured {_lufs(self.loudness_before_lufs)}, under {NEAR_SILENCE_LUFS:g} LUFS")
            parts.append(f"{NEAR_SILENT}: {measured}; not raised to {_lufs(self.target_lufs)}")
        if BOOST_CAPPED in self.flags:
            parts.append(f"{BOOST_CAPPED}: measured {_lufs(self.loudness_before_lufs)}; the target may raise "
                         f"a take by {MAX_BOOST_DB:g} dB at most")
        if CEILING_LIMITED in self.flags:
            parts.append(f"{CEILING_LIMITED}: gain lowered to {self.gain_db:+.2f} dB to keep the true peak "
                         f"under {TRUE_PEAK_CEILING_DBTP:g} dBTP")
        return "; ".join(parts) or None


def scale_db(audio: np.ndarray, gain_db: float) -> np.ndarray:
    """``audio`` times ``gain_db`` (computed in float64), in its own dtype."""
    audio = np.asarray(audio)
    return (audio.astype(np.float64) * 10 ** (gain_db / 20)).astype(audio.dtype)


def _lufs(value: float | None) -> str:
    return "no target" if value is None else "-inf LUFS" if math.isinf(value) else f"{value:.1f} LUFS"


def apply_level(audio: np.ndarray, sample_rate: int, loudness: float | None = None,
                gain_db: float = 0.0) -> tuple[np.ndarray, LevelResult]:
    """``audio`` ([samples] or [channels, samples], float) at the level the rule above gives, with
    what was measured and done. The returned array has the input's dtype; with no target and no
    gain it is the input itself."""
    audio = np.asarray(audio)
    before = integrated_loudness(audio, sample_rate)
    peak = true_peak(audio)
    if loudness is None and gain_db == 0:
        return audio, LevelResult(before, 0.0, before, peak, None, 0.0)
    flags: list[str] = []
    gain = float(gain_db)
    if loudness is not None:
        if math.isinf(before) or before < NEAR_SILENCE_LUFS:
            flags.append(NEAR_SILENT)
        else:
            to_target = loudness - before
            if to_target > MAX_BOOST_DB:
                to_target = MAX_BOOST_DB
                flags.append(BOOST_CAPPED)
            gain += to_target
    ceiling = TRUE_PEAK_CEILING_DBTP - CEILING_MARGIN_DB
    if peak + gain > ceiling:  # true peak scales with a plain gain; -inf (silence) never exceeds
        gain = ceiling - peak
        flags.append(CEILING_LIMITED)
    out = scale_db(audio, gain)
    return out, LevelResult(before, gain, integrated_loudness(out, sample_rate), true_peak(out), loudness,
                            float(gain_db), tuple(flags))
