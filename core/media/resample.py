"""Resampling (soxr, very high quality) to an exact sample count, and fitting audio to a record span.

The count comes from rates.sample_span: a take for record frames [a, b) at rate
r holds round(b*SR/r) - round(a*SR/r) samples, so adjacent clips tile with no gap and no overlap.
"""
from __future__ import annotations

import logging
from fractions import Fraction

import numpy as np

from maskvat_foley.core.timeline.rates import exact_rate, sample_span

log = logging.getLogger(__name__)

# Up to this many missing samples are filled by holding the last value (a resampler's rounding);
# more get a short fade-out and silence, so the end does not click.
EDGE_PAD_MAX = 8
FADE_SECONDS = Fraction(5, 1000)


def resample(audio: np.ndarray, from_rate: int, to_rate: int, *, num_samples: int | None = None,
             quality: str = "VHQ") -> np.ndarray:
    """Resample float audio ([samples] or [channels, samples]) from ``from_rate`` to ``to_rate`` Hz.

    With ``num_samples`` the result is trimmed or padded to exactly that length (see fit_length).
    Returns float32 in the input's layout.
    """
    import soxr

    a = np.asarray(audio, dtype=np.float32)
    if a.ndim not in (1, 2) or a.shape[-1] == 0:
        raise ValueError(f"audio must be non-empty [samples] or [channels, samples], got shape {a.shape}")
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    if from_rate != to_rate:
        # soxr wants [frames, channels]
        x = a if a.ndim == 1 else np.ascontiguousarray(a.T)
        y = soxr.resample(x, from_rate, to_rate, quality=quality)
        a = np.asarray(y if a.ndim == 1 else y.T, dtype=np.float32)
    return a if num_samples is None else fit_length(a, num_samples, to_rate)


def fit_length(audio: np.ndarray, num_samples: int, sample_rate: int) -> np.ndarray:
    """Trim or pad the last axis of ``audio`` to exactly ``num_samples``.

    A few missing samples hold the last value; more get a FADE_SECONDS fade-out then silence.
    """
    if num_samples < 0:
        raise ValueError(f"num_samples must not be negative, got {num_samples}")
    a = np.asarray(audio, dtype=np.float32)
    n = a.shape[-1]
    if n >= num_samples:
        return np.ascontiguousarray(a[..., :num_samples])
    missing = num_samples - n
    pad = [(0, 0)] * (a.ndim - 1) + [(0, missing)]
    if missing <= EDGE_PAD_MAX and n > 0:
        return np.pad(a, pad, mode="edge")
    log.debug("padding %d missing samples with silence after a fade-out", missing)
    a = a.copy()
    fade = min(n, int(FADE_SECONDS * sample_rate))
    if fade > 0:
        a[..., n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return np.pad(a, pad)


def fit_to_span(audio: np.ndarray, sample_rate_in: int, record_start_frame: int, record_end_frame: int,
                timeline_rate: Fraction | int | float | str, sample_rate_out: int = 48000
                ) -> tuple[np.ndarray, int]:
    """Resample ``audio`` to cover record frames [start, end) exactly; returns (audio, TimeReference).

    Frames are counted from the timecode origin (global start included), so the TimeReference is
    the first sample's offset from it and consecutive spans share their boundary sample.
    """
    time_reference, count = sample_span(record_start_frame, record_end_frame, exact_rate(timeline_rate),
                                        sample_rate_out)
    if count == 0:
        raise ValueError(f"record span [{record_start_frame}, {record_end_frame}) holds no samples")
    return resample(audio, sample_rate_in, sample_rate_out, num_samples=count), time_reference
