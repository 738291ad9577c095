"""Loudness for reporting: ITU-R BS.1770-4 / EBU R128 integrated loudness and a true-peak estimate.

K-weighting (high shelf + high pass) is computed for any sample rate from the analogue prototype
parameters (the values libebur128 uses), so 44.1 kHz and 48 kHz give the same answer. The filters
are applied in the frequency domain with numpy (with a second of padding the truncated tail of
their impulse response is far below float precision): importing scipy.signal costs seconds. Channel
weights are 1 (mono and stereo; surround weighting is not needed for Foley stems).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BLOCK_S, STEP_S = 0.4, 0.1  # 400 ms gating blocks, 75 % overlap
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float  # -inf for silence or audio shorter than one 400 ms block
    true_peak_dbtp: float  # 4x oversampled peak
    sample_peak_dbfs: float


def _k_weighting(sample_rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = (np.array([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0,
                       (vh - vb * k / q + k * k) / a0]),
             np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]))
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1 + k / q + k * k
    highpass = (np.array([1.0, -2.0, 1.0]), np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]))
    return [shelf, highpass]


def _apply_filters(x: np.ndarray, filters, sample_rate: int) -> np.ndarray:
    """Causal IIR filtering as a product of frequency responses (linear, not circular, convolution)."""
    n = x.shape[-1]
    size = 1 << (n + sample_rate - 1).bit_length()
    z = np.exp(-1j * np.pi * np.arange(size // 2 + 1) / (size // 2))  # z^-1 on the FFT bins
    h = np.ones_like(z)
    for b, a in filters:
        h *= np.polyval(b[::-1], z) / np.polyval(a[::-1], z)
    return np.fft.irfft(np.fft.rfft(x, size, axis=-1) * h, size, axis=-1)[..., :n]


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Gated integrated loudness in LUFS of float audio ([samples] or [channels, samples])."""
    x = _apply_filters(np.atleast_2d(np.asarray(audio, dtype=np.float64)), _k_weighting(sample_rate),
                       sample_rate)
    block, step = round(BLOCK_S * sample_rate), round(STEP_S * sample_rate)
    if x.shape[-1] < block:
        return float("-inf")
    starts = np.arange(0, x.shape[-1] - block + 1, step)
    csum = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x * x, axis=-1)], axis=-1)
    z = ((csum[:, starts + block] - csum[:, starts]) / block).sum(axis=0)  # channel weights 1
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10 * np.log10(z)
    kept = z[lk > ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * math.log10(kept.mean()) + RELATIVE_GATE_LU
    kept = z[(lk > ABSOLUTE_GATE_LUFS) & (lk > relative)]
    return float(-0.691 + 10 * math.log10(kept.mean()))


def true_peak(audio: np.ndarray) -> float:
    """Peak in dBTP of the signal oversampled 4x (BS.1770 Annex 2 style estimate, soxr's filter)."""
    import soxr

    x = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    # the sample rate only sets the ratio; pad so the filter's edge transient is kept too
    up = soxr.resample(np.pad(x, ((0, 0), (0, 64))).T, 1, 4, quality="VHQ")
    peak = float(max(np.abs(up).max(initial=0.0), np.abs(x).max(initial=0.0)))
    return 20 * math.log10(peak) if peak > 0 else float("-inf")


def sample_peak_dbfs(audio: np.ndarray) -> float:
    """The largest absolute sample in dBFS; -inf for digital silence or no samples."""
    peak = float(np.abs(np.asarray(audio)).max(initial=0.0))
    return 20 * math.log10(peak) if peak > 0 else float("-inf")


def measure(audio: np.ndarray, sample_rate: int) -> Loudness:
    """Integrated loudness, true peak and sample peak of one take."""
    return Loudness(integrated_loudness(audio, sample_rate), true_peak(audio), sample_peak_dbfs(audio))
