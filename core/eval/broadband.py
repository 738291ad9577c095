"""Broadband blocks: how much of a take is loud, near-white noise.

The other half of issue #11's "noise bursts", beside click trains (core.eval.rattle): a sustained
hiss-like block of a tenth of a second or more, its spectrum as flat from 200 Hz to 16 kHz as white
noise's. Hits are broadband too but last a few frames; a rumble, an engine or rain is coloured (its
power falls with frequency), so neither counts.

1. Frames of ``frame_s`` (Hann-windowed), each with its level in dBFS and the spectral flatness of its
   power spectrum between ``low_hz`` and ``high_hz`` (capped under Nyquist): geometric over arithmetic
   mean, about 0.56 for white noise, near 0 for a tone or a rumble.
2. Broadband frames: louder than ``active_dbfs`` and flatter than ``min_flatness``.
3. Blocks: runs of at least ``min_seconds`` of broadband frames. A take's share is their time over its
   length.

FoleyWorld's true sounds (40 test clips) spend none of their time in such blocks; see
docs/footage_experiment.md for the takes it was read against.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskvat_foley.core.eval.onsets import downmix


@dataclass(frozen=True)
class BroadbandParams:
    frame_s: float = 0.02
    low_hz: float = 200.0
    high_hz: float = 16000.0
    active_dbfs: float = -40.0
    min_flatness: float = 0.3
    min_seconds: float = 0.1


DEFAULT = BroadbandParams()
NOISY_SHARE = 0.25  # a take in blocks for a quarter of its time or more counts as a noisy take


def broadband_frames(audio: np.ndarray, sample_rate: int, p: BroadbandParams = DEFAULT) -> np.ndarray:
    """Whether each ``frame_s`` frame of ``audio`` is loud near-white noise (step 2 above)."""
    a = downmix(audio).reshape(-1)
    n = max(2, round(p.frame_s * sample_rate))
    frames = a[:a.size // n * n].reshape(-1, n)
    if not len(frames):
        return np.zeros(0, dtype=bool)
    level = 10 * np.log10((frames ** 2).mean(1) + 1e-12)
    power = np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2 + 1e-20
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    band = power[:, (freqs >= p.low_hz) & (freqs <= min(p.high_hz, 0.9 * sample_rate / 2))]
    if band.shape[1] < 2:
        return np.zeros(len(frames), dtype=bool)
    flatness = np.exp(np.log(band).mean(1)) / band.mean(1)
    return (level > p.active_dbfs) & (flatness > p.min_flatness)


def broadband_share(audio: np.ndarray, sample_rate: int, p: BroadbandParams = DEFAULT) -> float:
    """The share of the take's time in broadband blocks, 0..1 (step 3 above)."""
    flags = broadband_frames(audio, sample_rate, p)
    if not flags.size:
        return 0.0
    min_frames = max(1, round(p.min_seconds / p.frame_s))
    total = run = 0
    for f in (*flags.tolist(), False):
        if f:
            run += 1
            continue
        total += run if run >= min_frames else 0
        run = 0
    return total / flags.size
