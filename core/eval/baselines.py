"""Trivial baselines on the same clips, so that the metrics have a scale.

- ``silence``: all zeros (no onsets: zero recall; the worst spectral distances).
- ``shift_200ms``: the true audio delayed by 200 ms (right sound, wrong time: a sync error that
  onset metrics must punish and spectral distances barely notice).
- ``noise_bursts``: a short decaying white-noise burst at every true onset, as loud as the true
  sound there (right time, wrong sound: high onset scores, poor spectral distances).
- ``true_audio``: the reference itself; its onset scores are the detector's ceiling.

Each baseline is ``f(clip, sample_rate) -> float32 [num_samples]`` of exactly the clip's length.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np

from maskvat_foley.core.timeline.rates import round_half_up

SHIFT = Fraction(1, 5)          # 200 ms
BURST_SECONDS = Fraction(3, 50)  # 60 ms
BURST_DECAY_S = 0.012            # e-folding time of the burst's envelope
LEVEL_WINDOW = Fraction(1, 20)   # the true sound's peak over this span after the onset sets the level


def _audio(clip: Any, sample_rate: int) -> np.ndarray:
    if clip.sample_rate != sample_rate:
        raise ValueError(f"FoleyWorld clip of seed {clip.spec.seed} has audio at {clip.sample_rate} Hz, "
                         f"baselines asked for {sample_rate} Hz")
    return np.asarray(clip.audio, dtype=np.float32)


def silence(clip: Any, sample_rate: int) -> np.ndarray:
    return np.zeros_like(_audio(clip, sample_rate))


def shifted(clip: Any, sample_rate: int, shift: Fraction = SHIFT) -> np.ndarray:
    """The true audio ``shift`` seconds late (negative: early), zero-padded, same length."""
    a = _audio(clip, sample_rate)
    d = round_half_up(abs(Fraction(shift)) * sample_rate)
    out = np.zeros_like(a)
    if d < a.size:
        if shift >= 0:
            out[d:] = a[:a.size - d]
        else:
            out[:a.size - d] = a[d:]
    return out


def noise_bursts(clip: Any, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Decaying white-noise bursts at the clip's true onsets, each at the true sound's local peak
    level; deterministic for a clip and ``seed``."""
    from maskvat_foley.core.data import onset_samples

    a = _audio(clip, sample_rate)
    rng = np.random.default_rng([seed, int(clip.spec.seed)])
    n = round_half_up(BURST_SECONDS * sample_rate)
    env = np.exp(-np.arange(n) / (BURST_DECAY_S * sample_rate)).astype(np.float32)
    span = round_half_up(LEVEL_WINDOW * sample_rate)
    out = np.zeros_like(a)
    for s in onset_samples(clip, sample_rate):
        if s >= a.size:
            continue
        level = float(np.abs(a[s:s + span]).max())
        m = min(n, a.size - s)
        burst = rng.uniform(-1, 1, m).astype(np.float32) * env[:m]
        out[s:s + m] += level * burst
    return out


def true_audio(clip: Any, sample_rate: int) -> np.ndarray:
    return _audio(clip, sample_rate).copy()


BASELINES: dict[str, Callable[[Any, int], np.ndarray]] = {
    "silence": silence, "shift_200ms": shifted, "noise_bursts": noise_bursts, "true_audio": true_audio}


def baseline_audio(name: str, clip: Any, sample_rate: int) -> np.ndarray:
    """The audio of baseline ``name`` for a FoleyClip."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")
    return BASELINES[name](clip, sample_rate)
