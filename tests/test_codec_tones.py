"""Ringing tones for codec training, and `bench codec`, which measures what a codec keeps of them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from maskvat_foley.core.train.tones import LEVEL_DB, add_tones, ringing
from maskvat_foley.plugin.cli import main


def test_ringing_is_reproducible_bounded_and_decays():
    a, b = (ringing(44100, np.random.default_rng(3)) for _ in range(2))
    assert np.array_equal(a, b) and a.dtype == np.float32
    peaks = [np.abs(ringing(44100, np.random.default_rng(s))).max() for s in range(40)]
    assert max(peaks) < 3 * 10 ** (LEVEL_DB[1] / 20)  # at most three objects at the top level
    assert np.median(peaks) > 10 ** (LEVEL_DB[0] / 20)


def test_add_tones_changes_about_its_share_of_rows_and_nothing_at_zero():
    batch = np.random.default_rng(0).standard_normal((400, 1, 2048)).astype(np.float32) * 0.01
    same = add_tones(batch.copy(), 0.0, np.random.default_rng(1))
    assert np.array_equal(same, batch)
    changed = add_tones(batch.copy(), 0.3, np.random.default_rng(1))
    share = np.mean([not np.array_equal(changed[i], batch[i]) for i in range(len(batch))])
    assert 0.2 < share < 0.4


def test_a_codec_config_refuses_a_tone_share_outside_0_1():
    from maskvat_foley.core.train.codec import CodecTrainConfig

    with pytest.raises(ValueError, match="tone_prob 1.5"):
        CodecTrainConfig(tone_prob=1.5)


def test_bench_codec_prints_what_a_codec_keeps(capsys):
    """A tiny random codec keeps nothing of a tone: the numbers say so (strongly negative dB)."""
    assert main(["bench", "codec", "--codec", "stft-tiny", "--pairs", "1", "--clips", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["codec"]["name"] == "stft-tiny" and out["codec"]["phase"] == "predicted"
    assert set(out["tones_db"]) == {"100", "300", "800", "2000", "5000", "10000"}
    assert all(v < -3 for v in out["tones_db"].values())
    assert set(out["tails_db"]) == set(out["tones_db"])
    assert 0 <= out["materials"]["kept"] <= 1 and out["materials"]["pairs"] == 1
    assert out["foleyworld"]["clips"] == 1 and out["foleyworld"]["mel_distance"] > 0
    assert out["speed"]["decode_s"] > 0


def test_a_tail_of_noise_is_not_a_tone():
    """The tone's measure hears the tone: noise at the tail's level keeps the tail (0 dB) but not
    the tone; the tone itself, even at half its level, is measured at -6 dB."""
    from maskvat_foley.core.bench.codec import SAMPLE_RATE, struck_sine, tail_levels_db

    truth = struck_sine(800).astype(np.float64)
    envelope = np.abs(truth)
    noise = np.random.default_rng(0).standard_normal(truth.size) * envelope  # rings like it, as noise
    at_tone, tail = tail_levels_db(truth, noise, 800, SAMPLE_RATE)
    assert abs(tail) < 2 and at_tone < -15
    at_tone, tail = tail_levels_db(truth, 0.5 * truth, 800, SAMPLE_RATE)
    assert abs(at_tone + 6.02) < 0.1 and abs(tail + 6.02) < 0.1
