"""A steady reference's texture under the take's envelope (core.media.reference_texture), on
signals whose envelope and spectrum are known: a take of low rumble that swells and stops, a
reference of high hiss."""
from __future__ import annotations

import numpy as np
import pytest

from maskvat_foley.core.media.reference_texture import apply_texture, reference_texture

SR = 44100


def band_noise(seconds: float, lo: float, hi: float, seed: int) -> np.ndarray:
    n = round(seconds * SR)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spectrum[(f < lo) | (f > hi)] = 0
    x = np.fft.irfft(spectrum, n)
    return x / np.sqrt(np.mean(x ** 2))


def envelope_db(x: np.ndarray, hop: int = 2205) -> np.ndarray:
    n = x.size // hop
    return 10 * np.log10(np.mean(x[:n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)


def centroid(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    return float((np.fft.rfftfreq(x.size, 1 / SR) * power).sum() / power.sum())


@pytest.fixture(scope="module")
def take() -> np.ndarray:
    """4 s of rumble (100-400 Hz): rising from -40 to -14 dB over 2 s, then 1 s at -14, then 1 s
    at -60 (nearly gone)."""
    t = np.arange(4 * SR) / SR
    level_db = np.where(t < 2, -40 + 13 * t, np.where(t < 3, -14, -60))
    return (band_noise(4, 100, 400, 0) * 10 ** (level_db / 20)).astype(np.float32)


@pytest.fixture(scope="module")
def hiss() -> np.ndarray:
    """2 s of hiss (4-8 kHz) that itself swells by 12 dB over its middle half second."""
    x = band_noise(2, 4000, 8000, 1)
    t = np.arange(x.size) / SR
    x *= 10 ** (np.clip((t - 0.75) / 0.5, 0, 1) * 12 / 20)
    return (0.05 * x).astype(np.float32)


def test_the_take_s_envelope_carries_the_reference_s_sound(take, hiss):
    out = apply_texture(take, SR, reference_texture(hiss, SR), seed=3)
    assert out.shape == take.shape
    assert centroid(take) < 500 and 4000 < centroid(out) < 8000  # rumble became hiss
    # Its level follows the take, not the reference's own swell, 50 ms at a time.
    a, b = envelope_db(take), envelope_db(out)
    live = a > -50
    live[58:62] = False  # the take's step down at 3 s, smoothed over the envelope's 20 ms
    assert np.abs(a[live] - b[live]).max() < 2.5  # two noises multiplied: a dB or two of wobble
    assert b[-10:].max() < -45  # where the take stops, so does the texture


def test_seeds_take_different_stretches_and_mix_is_wet_dry(take, hiss):
    texture = reference_texture(hiss, SR)
    a, b = apply_texture(take, SR, texture, seed=1), apply_texture(take, SR, texture, seed=2)
    assert np.array_equal(a, apply_texture(take, SR, texture, seed=1)) and not np.allclose(a, b)
    assert np.array_equal(apply_texture(take, SR, texture, mix=0.0), take)
    half = apply_texture(take, SR, texture, mix=0.5, seed=1)
    assert np.allclose(half, 0.5 * (take + a), atol=1e-6)


def test_the_loop_has_no_seam(hiss):
    """A 4 s take over a 2 s reference loops it: on a steady take, no 50 ms step of the result
    strays from the take's own level by more than 2.5 dB, joins included."""
    steady = (0.1 * band_noise(4, 100, 400, 2)).astype(np.float32)
    out = apply_texture(steady, SR, reference_texture(hiss, SR), seed=0)
    ratio = envelope_db(out) - envelope_db(steady)
    assert np.abs(ratio - np.median(ratio)).max() < 2.5


def test_what_is_not_a_texture():
    assert reference_texture(np.zeros(SR), SR) is None
    assert reference_texture(np.ones(100), SR) is None  # shorter than MIN_TEXTURE
    with pytest.raises(ValueError, match="between 0 and 1"):
        apply_texture(np.ones(SR), SR, reference_texture(band_noise(1, 100, 200, 3), SR), mix=2.0)


def test_a_lead_in_of_silence_is_not_looped_as_gaps(take):
    """A library file that starts with a second of near silence: only its sounding part is the
    texture, so a long take gets no gaps."""
    x = np.concatenate([0.0005 * band_noise(1, 4000, 8000, 4), 0.05 * band_noise(1.5, 4000, 8000, 5)])
    steady = (0.1 * band_noise(4, 100, 400, 6)).astype(np.float32)
    out = apply_texture(steady, SR, reference_texture(x.astype(np.float32), SR), seed=0)
    ratio = envelope_db(out) - envelope_db(steady)
    assert np.abs(ratio - np.median(ratio)).max() < 2.5
