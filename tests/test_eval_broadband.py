"""The broadband-block measure (core.eval.broadband) on signals whose noise blocks are known."""
import numpy as np
import pytest

from maskvat_foley.core.eval.broadband import NOISY_SHARE, BroadbandParams, broadband_frames, broadband_share

SR = 48000


def _white(seconds: float, db: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 10 ** (db / 20)


def _quiet(seconds: float) -> np.ndarray:
    return _white(seconds, -80.0, seed=9)


def test_a_white_noise_block_counts_for_its_length():
    x = np.concatenate([_quiet(0.5), _white(0.6, -20.0), _quiet(0.9)])  # 2 s, 0.6 s of block
    assert broadband_share(x, SR) == pytest.approx(0.3, abs=0.02)
    assert broadband_share(x, SR) >= NOISY_SHARE


def test_coloured_noise_tones_and_short_hits_are_not_blocks():
    rng = np.random.default_rng(1)
    brown = np.cumsum(rng.standard_normal(SR))  # a rumble: power falls 6 dB an octave
    brown = 0.3 * (brown - brown.mean()) / np.abs(brown - brown.mean()).max()
    tone = 0.3 * np.sin(2 * np.pi * 1000 * np.arange(SR) / SR)
    hits = _quiet(1.0)
    for start in (0.1, 0.35, 0.6, 0.85):  # 40 ms bursts of white noise: hits, under 0.1 s each
        i = int(start * SR)
        hits[i:i + int(0.04 * SR)] = _white(0.04, -12.0, seed=int(start * 10))
    for x in (brown, tone, hits):
        assert broadband_share(x, SR) == 0.0
    # the same hits, but long enough to be blocks
    assert broadband_share(hits, SR, BroadbandParams(min_seconds=0.04)) > 0.1


def test_quiet_hiss_and_silence_are_not_blocks():
    assert broadband_share(_white(1.0, -50.0), SR) == 0.0  # hiss under the loudness line
    assert broadband_share(np.zeros(SR), SR) == 0.0
    assert broadband_share(np.zeros(10), SR) == 0.0
    assert broadband_frames(np.zeros(10), SR).size == 0


def test_low_sample_rates_read_their_own_band():
    x = np.random.default_rng(2).standard_normal(16000) * 0.1  # white at 16 kHz: flat up to 7.2 kHz
    assert broadband_share(x, 16000) == pytest.approx(1.0)


def test_stereo_is_measured_as_mono():
    mono = np.concatenate([_white(0.5, -20.0), _quiet(0.5)])
    assert broadband_share(np.stack([mono, mono]), SR) == pytest.approx(broadband_share(mono, SR))
    assert broadband_share(np.stack([mono, mono], axis=1), SR) == pytest.approx(broadband_share(mono, SR))
