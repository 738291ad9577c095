"""The rattle measure (core.eval.rattle) on signals whose click trains are known."""
import numpy as np
import pytest

from maskvat_foley.core.eval.rattle import RATTLING_SHARE, click_times, rattle_seconds, rattle_share

SR = 44100


def _noise(seconds: float, db: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 10 ** (db / 20)


def _clicks(times: list[float], seconds: float = 2.0, floor_db: float = -70.0) -> np.ndarray:
    """Broadband clicks (5 ms noise bursts with a fast decay) at ``times`` over a quiet floor."""
    x = _noise(seconds, floor_db)
    burst = _noise(0.005, -12.0, seed=1) * np.exp(-np.arange(int(0.005 * SR)) / (0.0015 * SR))
    for t in times:
        i = int(t * SR)
        x[i:i + burst.size] += burst[:x.size - i]
    return x


def test_a_click_train_rattles_for_its_span():
    times = list(np.arange(0.3, 1.3, 0.05))  # 20 clicks a second for a second
    x = _clicks(times)
    assert len(click_times(x, SR)) == pytest.approx(len(times), abs=1)
    assert rattle_seconds(x, SR) == pytest.approx(times[-1] - times[0], abs=0.02)
    assert rattle_share(x, SR) >= RATTLING_SHARE


def test_hits_a_few_a_second_do_not_rattle():
    x = _clicks([0.2, 0.5, 0.8, 1.1, 1.4, 1.7])  # footsteps: 3.3 a second
    assert len(click_times(x, SR)) == 6
    assert rattle_seconds(x, SR) == 0.0


def test_a_short_burst_string_is_not_a_train():
    x = _clicks([0.5, 0.55, 0.6, 0.65])  # four clicks: one sound's crackle, under min_clicks
    assert rattle_seconds(x, SR) == 0.0


def test_a_steady_block_and_silence_do_not_rattle():
    block = np.concatenate([_noise(0.5, -80), _noise(1.0, -20, seed=2), _noise(0.5, -80)])
    assert rattle_share(block, SR) < 0.05
    assert rattle_share(np.zeros(SR), SR) == 0.0
    assert rattle_share(np.zeros(10), SR) == 0.0


def test_inaudible_clicks_do_not_count():
    x = _clicks(list(np.arange(0.3, 1.3, 0.05))) * 10 ** (-50 / 20)
    assert rattle_seconds(x, SR) == 0.0


def test_stereo_is_measured_as_mono():
    mono = _clicks(list(np.arange(0.3, 1.3, 0.05)))
    assert rattle_share(np.stack([mono, mono]), SR) == pytest.approx(rattle_share(mono, SR))
    assert rattle_share(np.stack([mono, mono], axis=1), SR) == pytest.approx(rattle_share(mono, SR))
