"""Sound building blocks for FoleyWorld: modal resonators, shaped noise, chirps, placement.

Every event sound starts with non-zero amplitude at its first sample (envelopes are applied
after filtering), so its onset is exactly the event's sample and not smeared by filter delay.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

LN1000 = float(np.log(1000.0))  # t60: amplitude falls by 60 dB = factor 1000


def decay(n: int, sr: int, t60: float) -> np.ndarray:
    """Exponential envelope falling 60 dB in ``t60`` seconds."""
    return np.exp(-LN1000 / max(t60, 1e-4) * (np.arange(n, dtype=np.float32) / sr)).astype(np.float32)


def modal(sr: int, freqs, t60s, amps, seconds: float, phases=None) -> np.ndarray:
    """Sum of exponentially decaying sinusoids (a struck object's modes)."""
    freqs = np.asarray(freqs, np.float64)
    keep = freqs < 0.45 * sr  # modes above Nyquist would alias into wrong pitches
    freqs, t60s, amps = freqs[keep], np.asarray(t60s, np.float64)[keep], np.asarray(amps, np.float64)[keep]
    n = max(int(seconds * sr), 1)
    t = np.arange(n, dtype=np.float64) / sr
    ph = np.zeros_like(freqs) if phases is None else np.asarray(phases, np.float64)[keep]
    env = np.exp(-LN1000 / t60s[:, None] * t[None, :])
    return (amps[:, None] * env * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + ph[:, None])).sum(0).astype(np.float32)


def sos_band(sr: int, lo: float | None, hi: float | None, order: int = 2) -> np.ndarray:
    """Butterworth sections; band edges are rounded to 10 Hz so designs are cached and reused
    (designing a filter costs more than running it on a short burst)."""
    return _sos(sr, round(lo, -1) if lo else None, round(hi, -1) if hi else None, order)


@lru_cache(maxsize=512)
def _sos(sr: int, lo: float | None, hi: float | None, order: int) -> np.ndarray:
    from scipy import signal  # here, not at the top: importing scipy.signal costs every CLI start 1.5 s

    nyq = sr / 2
    if lo and hi:
        return signal.butter(order, [lo / nyq, min(hi / nyq, 0.99)], "bandpass", output="sos")
    if lo:
        return signal.butter(order, lo / nyq, "highpass", output="sos")
    return signal.butter(order, min(hi / nyq, 0.99), "lowpass", output="sos")


def _sosfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    from scipy import signal

    return signal.sosfilt(sos, x)


def colored_noise(rng: np.random.Generator, n: int, sr: int, lo: float | None = None,
                  hi: float | None = None) -> np.ndarray:
    """White noise band-limited to [lo, hi] Hz, scaled to unit RMS."""
    pad = 256  # let the filter settle before the part we keep
    x = rng.standard_normal(n + pad)
    if lo or hi:
        x = _sosfilt(sos_band(sr, lo, hi), x)
    x = x[pad:]
    return (x / (np.sqrt(np.mean(x * x)) + 1e-12)).astype(np.float32)


def burst(rng: np.random.Generator, sr: int, t60: float, lo: float | None = None,
          hi: float | None = None, seconds: float | None = None) -> np.ndarray:
    """A noise burst with an instant attack and exponential decay (clicks, cracks, crunches)."""
    n = int((seconds if seconds is not None else t60) * sr) + 1
    return colored_noise(rng, n, sr, lo, hi) * decay(n, sr, t60)


def chirp(sr: int, f0: float, rise: float, t60: float, seconds: float) -> np.ndarray:
    """A decaying sinusoid whose frequency rises as f0 * (1 + rise * t): a resonating bubble."""
    n = int(seconds * sr)
    t = np.arange(n, dtype=np.float64) / sr
    phase = 2 * np.pi * f0 * (t + 0.5 * rise * t * t)
    # cosine phase: the bubble's pressure jumps at once, so the onset is sharp
    return (np.cos(phase) * np.exp(-LN1000 / t60 * t)).astype(np.float32)


def place(out: np.ndarray, sound: np.ndarray, start: int, gain: float = 1.0) -> None:
    """Add ``sound`` into ``out`` from sample ``start``, cut at the end of ``out``."""
    if start >= len(out) or start + len(sound) <= 0:
        return
    s0 = max(0, -start)
    n = min(len(sound) - s0, len(out) - start - s0)
    out[start + s0:start + s0 + n] += gain * sound[s0:s0 + n]


def fade_edges(x: np.ndarray, sr: int, fade_in: float, fade_out: float) -> np.ndarray:
    ni, no = min(int(fade_in * sr), len(x)), min(int(fade_out * sr), len(x))
    if ni:
        x[:ni] *= np.linspace(0.0, 1.0, ni, endpoint=False, dtype=np.float32) ** 0.5
    if no:
        x[len(x) - no:] *= np.linspace(1.0, 0.0, no, dtype=np.float32)
    return x


def room_noise(rng: np.random.Generator, n: int, sr: int, rms: float) -> np.ndarray:
    """Low background noise (brownish, like a quiet room or mic self-noise) at ``rms``."""
    x = rng.standard_normal(n).astype(np.float32)
    x = _sosfilt(sos_band(sr, 30.0, 6000.0, order=1), x).astype(np.float32)
    return x * (rms / (np.sqrt(np.mean(x * x)) + 1e-12))
