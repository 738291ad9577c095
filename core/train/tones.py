"""Ringing tones mixed into codec training crops.

FoleyWorld's strikes ring for a few hundred milliseconds at most, and camera sound is full of
steady tones (engines, hum, voices, bells). A codec trained only on FoleyWorld never has to hold a
tone, and the bundled one did not: a decaying 800 Hz sine came back 30 dB down (docs/codec.md).
Each augmented crop gets one to three struck "objects", each a few partials (inharmonic or
harmonic) with an exponential decay from 30 ms to 1.5 s, at a random onset and level, on top of
the FoleyWorld audio or alone over a faint noise floor. Drawn from the caller's numpy Generator,
so a step is reproducible.
"""
from __future__ import annotations

import numpy as np

SAMPLE_RATE = 44100
FREQ_RANGE = (60.0, 9000.0)     # fundamental, log-uniform
DECAY_RANGE = (0.03, 1.5)       # seconds to 1/e, log-uniform
LEVEL_DB = (-45.0, -6.0)        # peak of each object, dBFS
FLOOR_DB = (-75.0, -55.0)       # RMS of the noise under a lone tone, dBFS


def ringing(n: int, rng: np.random.Generator, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``n`` float32 samples of one to three struck, ringing objects."""
    t = np.arange(n) / sample_rate
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        onset = rng.uniform(-0.2, 0.8) * n / sample_rate  # some start before the crop: a tail only
        f0 = float(np.exp(rng.uniform(*np.log(FREQ_RANGE))))
        tau = float(np.exp(rng.uniform(*np.log(DECAY_RANGE))))
        amp = 10 ** (rng.uniform(*LEVEL_DB) / 20)
        harmonic = rng.random() < 0.5
        dt = t - onset
        live = dt >= 0
        for h in range(int(rng.integers(1, 6))):
            f = f0 * (h + 1) if harmonic else f0 * (1 + h * rng.uniform(0.4, 2.2))
            if f >= 0.45 * sample_rate:
                break
            env = np.where(live, np.exp(-np.maximum(dt, 0) / (tau / (1 + 0.4 * h))), 0.0)
            out += amp / (h + 1) * env * np.sin(2 * np.pi * f * dt + rng.uniform(0, 2 * np.pi))
    return out.astype(np.float32)


def add_tones(batch: np.ndarray, prob: float, rng: np.random.Generator,
              sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``batch`` [B, 1, T] with ringing objects added to a share ``prob`` of its rows (half of
    those replace the row's audio, over a faint noise floor; half are mixed over it); changed in
    place and returned."""
    if prob <= 0:
        return batch
    for b in range(batch.shape[0]):
        if rng.random() < prob:
            tones = ringing(batch.shape[-1], rng, sample_rate)
            if rng.random() < 0.5:  # alone, over a faint room-like floor rather than digital silence
                floor = rng.standard_normal(batch.shape[-1]) * 10 ** (rng.uniform(*FLOOR_DB) / 20)
                batch[b, 0] = tones + floor.astype(np.float32)
            else:
                batch[b, 0] = batch[b, 0] + tones
    return batch
