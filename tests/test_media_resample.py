"""Resampling to exact lengths, fitting to record spans, and loudness measurement."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from maskvat_foley.core.media.loudness import integrated_loudness, measure, true_peak
from maskvat_foley.core.media.resample import EDGE_PAD_MAX, fit_length, fit_to_span, resample


def peak_frequency(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    k = int(np.argmax(spec))
    # parabolic interpolation between bins for sub-bin accuracy
    a, b, c = np.log(spec[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / x.size


@pytest.mark.parametrize("freq", [440.0, 1000.0, 15000.0])
def test_44k1_to_48k_keeps_frequency_and_exact_length(freq):
    x = np.sin(2 * np.pi * freq * np.arange(44100) / 44100).astype(np.float32)
    y = resample(x, 44100, 48000, num_samples=48048)
    assert y.shape == (48048,) and y.dtype == np.float32
    assert abs(peak_frequency(y[:48000], 48000) - freq) < 0.05
    # the content is a clean sine at the same level (no aliasing or gain change)
    ref = np.sin(2 * np.pi * freq * np.arange(48000) / 48000)
    mid = slice(1000, 47000)
    assert np.abs(y[mid] - ref[mid]).max() < 1e-3
    assert resample(x, 44100, 48000).shape == (48000,)  # unforced: the exact ratio


def test_stereo_layout_and_identity():
    x = np.stack([np.linspace(-1, 1, 441), np.zeros(441)]).astype(np.float32)
    y = resample(x, 44100, 48000, num_samples=480)
    assert y.shape == (2, 480) and np.abs(y[1]).max() < 1e-6 and np.abs(y[0]).max() > 0.5
    np.testing.assert_array_equal(resample(x, 48000, 48000), x)
    with pytest.raises(ValueError, match="shape"):
        resample(np.zeros((2, 2, 2)), 44100, 48000)


def test_fit_length_trims_holds_or_fades():
    x = np.full(1000, 0.8, np.float32)
    assert fit_length(x, 900, 48000).shape == (900,)
    few = fit_length(x, 1000 + EDGE_PAD_MAX, 48000)
    assert few.shape == (1008,) and np.all(few == np.float32(0.8))  # held, no step
    many = fit_length(x, 2000, 48000)
    assert many.shape == (2000,) and np.all(many[1000:] == 0)
    assert np.abs(np.diff(many)).max() < 0.01  # faded out: no click
    assert many[0] == np.float32(0.8)


@pytest.mark.parametrize("rate", [Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001), 25])
def test_fit_to_span_follows_the_rounding_rule(rate):
    rate = Fraction(rate)
    src = np.random.default_rng(0).uniform(-0.3, 0.3, 44100 * 2).astype(np.float32)
    pieces = [(107892, 107909), (107909, 107930), (107930, 107931)]
    total = 0
    prev_end = None
    for a, b in pieces:
        y, ref = fit_to_span(src, 44100, a, b, rate, 48000)
        assert ref == int(Fraction(a) * 48000 / rate + Fraction(1, 2))
        assert y.shape == (int(Fraction(b) * 48000 / rate + Fraction(1, 2)) - ref,)
        if prev_end is not None:
            assert ref == prev_end
        prev_end = ref + y.shape[0]
        total += y.shape[0]
    whole, _ = fit_to_span(src, 44100, pieces[0][0], pieces[-1][1], rate, 48000)
    assert total == whole.shape[0]
    with pytest.raises(ValueError, match="before"):
        fit_to_span(src, 44100, 10, 5, rate, 48000)


def test_float_rate_is_snapped():
    y, ref = fit_to_span(np.zeros(44100, np.float32), 44100, 86400, 86424, 23.976, 48000)
    assert ref == 172_972_800 and y.shape == (48048,)


def test_integrated_loudness_reference_levels():
    sr = 48000
    t = np.arange(sr * 3) / sr
    tone = 10 ** (-23 / 20) * np.sin(2 * np.pi * 997 * t)
    assert integrated_loudness(np.stack([tone, tone]), sr) == pytest.approx(-23.0, abs=0.05)  # EBU 3341
    assert integrated_loudness(tone, sr) == pytest.approx(-26.01, abs=0.05)  # one channel: -3.01 dB
    t44 = np.arange(44100 * 3) / 44100
    tone44 = 10 ** (-23 / 20) * np.sin(2 * np.pi * 997 * t44)
    assert integrated_loudness(np.stack([tone44, tone44]), 44100) == pytest.approx(-23.0, abs=0.05)
    # gating drops the 3 s tail at -60 dB (below -70 LUFS); of the blocks straddling the edge,
    # 3 pass with 3/4, 1/2 and 1/4 of the energy: 30 blocks holding 28.5 blocks' worth
    gated = np.concatenate([tone, tone * 1e-3])
    assert integrated_loudness(gated, sr) == pytest.approx(-26.01 + 10 * np.log10(28.5 / 30), abs=0.02)
    assert integrated_loudness(np.zeros(sr), sr) == float("-inf")
    assert integrated_loudness(tone[:1000], sr) == float("-inf")


def test_true_peak_sees_intersample_peaks():
    n = np.arange(4800)
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4)  # fs/4 sampled at +-0.707: sample peak -3 dB
    m = measure(x, 48000)
    assert m.sample_peak_dbfs == pytest.approx(-3.01, abs=0.01)
    assert m.true_peak_dbtp == pytest.approx(0.0, abs=0.2)
    assert true_peak(np.zeros(10)) == float("-inf")
