"""The reference's hits on the take's hits (core.media.reference_hits), on signals whose hits and
timbres are known: a take of dull low knocks over a noise bed, a reference of ringing high strikes."""
from __future__ import annotations

import numpy as np
import pytest

from maskvat_foley.core.eval.onsets import detect_onsets
from maskvat_foley.core.media.reference_hits import reference_hits, replace_hits

SR = 44100
TAKE_HITS = (0.30, 0.85, 1.40, 2.10, 2.60)  # s
REF_HITS = (0.10, 0.70, 1.30)


def hit(freq: float, decay_s: float, seconds: float, amp: float) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    taper = np.minimum(1.0, (seconds - t) / 0.01)  # no click where the tone is cut
    return amp * np.sin(2 * np.pi * freq * t) * np.exp(-t / decay_s) * taper


def place(n: int, times, make) -> np.ndarray:
    out = np.zeros(n)
    for i, t in enumerate(times):
        h = make(i)
        a = round(t * SR)
        out[a:a + h.size] += h[:n - a]
    return out


@pytest.fixture(scope="module")
def take() -> np.ndarray:
    rng = np.random.default_rng(0)
    bed = 0.003 * rng.standard_normal(3 * SR)
    knocks = place(bed.size, TAKE_HITS, lambda i: hit(180.0, 0.025, 0.3, (0.5, 0.3, 0.6, 0.2, 0.4)[i]))
    return (bed + knocks).astype(np.float32)


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    rng = np.random.default_rng(1)
    rings = place(2 * SR, REF_HITS, lambda i: hit(2400.0 + 300 * i, 0.25, 0.55, 0.7))
    return (rings + 0.001 * rng.standard_normal(2 * SR)).astype(np.float32)


def centroid(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    return float((np.fft.rfftfreq(x.size, 1 / SR) * power).sum() / power.sum())


def test_the_reference_hits_are_found_and_a_sound_without_hits_has_none(reference):
    hits = reference_hits(reference, SR)
    assert len(hits) == len(REF_HITS)
    assert all(0.55 < h.samples.size / SR < 0.72 and h.peak == pytest.approx(0.7, rel=0.1) for h in hits)
    steady = 0.1 * np.random.default_rng(2).standard_normal(2 * SR)
    assert reference_hits(steady, SR) == []


def test_every_take_hit_becomes_a_reference_hit_in_time_and_level(take, reference):
    out, placed = replace_hits(take, SR, reference_hits(reference, SR), seed=3)
    assert placed.placed == len(TAKE_HITS)
    # Attack on attack: the onsets of the result are the take's, within one hop of the detector
    # (2.9 ms: a bright ring and a dull knock peak in different frames of its 23 ms window).
    before, after = detect_onsets(take, SR), detect_onsets(out, SR)
    assert len(after) == len(before) == len(TAKE_HITS)
    assert max(abs(float(a - b)) for a, b in zip(after, before)) <= 128 / SR + 1e-9
    for t, a in zip(TAKE_HITS, placed.attacks):
        assert abs(a / SR - t) < 0.003
        seg = slice(round(t * SR), round((t + 0.05) * SR))
        assert centroid(take[seg]) < 600 < 2000 < centroid(out[seg])  # a dull knock became a ring
        peak_in, peak_out = np.abs(take[seg]).max(), np.abs(out[seg]).max()
        assert 20 * np.log10(peak_out / peak_in) == pytest.approx(0.0, abs=1.5)
    # Before the first hit the take is untouched; the bed goes on under the hits (its room tone).
    lead = round((TAKE_HITS[0] - 0.02) * SR)
    assert np.array_equal(out[:lead], take[:lead])
    assert np.std(out[round(0.55 * SR):round(0.8 * SR)]) > 0.3 * np.std(take[:lead])


def test_mix_blends_and_zero_keeps_the_take(take, reference):
    hits = reference_hits(reference, SR)
    same, placed = replace_hits(take, SR, hits, mix=0.0)
    assert np.array_equal(same, take) and placed.placed == 0
    full = replace_hits(take, SR, hits, mix=1.0, seed=3)[0]
    half = replace_hits(take, SR, hits, mix=0.5, seed=3)[0]
    assert np.allclose(half, 0.5 * (take + full), atol=1e-6)
    with pytest.raises(ValueError, match="between 0 and 1"):
        replace_hits(take, SR, hits, mix=1.5)


def test_hits_follow_the_seed_and_never_repeat_back_to_back(take, reference):
    hits = reference_hits(reference, SR)
    a = replace_hits(take, SR, hits, seed=3)[0]
    assert np.array_equal(a, replace_hits(take, SR, hits, seed=3)[0])
    assert any(not np.array_equal(a, replace_hits(take, SR, hits, seed=s)[0]) for s in range(4, 8))

    def which(out: np.ndarray) -> list[int]:  # each ring's pitch says which reference hit it is
        pitches = []
        for t in TAKE_HITS:
            seg = out[round(t * SR):round((t + 0.04) * SR)]
            spectrum = np.abs(np.fft.rfft(seg, 8 * seg.size))
            f = np.fft.rfftfreq(8 * seg.size, 1 / SR)[int(np.argmax(spectrum))]
            pitches.append(int(np.argmin([abs(f - (2400 + 300 * i)) for i in range(len(REF_HITS))])))
        return pitches

    for s in range(6):
        chosen = which(replace_hits(take, SR, hits, seed=s)[0])
        assert all(x != y for x, y in zip(chosen, chosen[1:])), chosen


def test_a_changed_region_keeps_the_hits_outside_it(take, reference):
    """The choice hangs on the seed and the attack's sample: a region regenerated with the base
    take's seed keeps every hit that did not move."""
    hits = reference_hits(reference, SR)
    changed = take.copy()
    a, b = round(2.0 * SR), round(2.4 * SR)
    changed[a:b] = 0.003 * np.random.default_rng(5).standard_normal(b - a)  # the hit at 2.1 s is gone
    base, new = replace_hits(take, SR, hits, seed=9)[0], replace_hits(changed, SR, hits, seed=9)[0]
    early = round(1.9 * SR)  # the same hits; only the take's floor (a percentile of all of it) moved
    assert np.abs(base[:early] - new[:early]).max() < 1e-4


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="mono"):
        replace_hits(np.zeros((2, 100)), SR, [])
    with pytest.raises(ValueError, match="finite"):
        reference_hits(np.full(1000, np.nan), SR)


def test_a_library_file_s_silence_between_hits_is_not_part_of_a_hit():
    """A file of knocks a second apart: each hit ends where it has died into the room tone (plus a
    short tail), not at the next knock."""
    rng = np.random.default_rng(4)
    knocks = place(3 * SR, (0.2, 1.3, 2.4), lambda i: hit(900.0, 0.02, 0.2, 0.6))
    hits = reference_hits((knocks + 0.0005 * rng.standard_normal(3 * SR)).astype(np.float32), SR)
    assert len(hits) == 3 and all(0.1 < h.samples.size / SR < 0.45 for h in hits), [h.samples.size / SR for h in hits]


def test_a_take_hit_s_swell_before_its_attack_goes_with_it(reference):
    """A model's hit can swell for tens of ms before the attack the finder reads; that lead-in is
    the model's timbre and is held down with the hit, not left in front of the reference's."""
    rng = np.random.default_rng(6)
    swell_s, t0 = 0.04, 0.5
    x = 0.002 * rng.standard_normal(SR)
    n = round(swell_s * SR)
    a = round(t0 * SR)
    x[a - n:a] += np.linspace(0, 0.08, n) * rng.standard_normal(n)  # a noisy swell into the hit
    x[a:a + round(0.3 * SR)] += hit(200.0, 0.03, 0.3, 0.6)
    out, placed = replace_hits(x.astype(np.float32), SR, reference_hits(reference, SR), seed=1)
    assert placed.placed == 1
    lead = slice(a - n + round(0.005 * SR), a - round(0.015 * SR))  # the swell, clear of the attack's lead
    assert np.sqrt(np.mean(out[lead] ** 2)) < 0.5 * np.sqrt(np.mean(x[lead] ** 2))


def test_one_reference_hit_is_never_placed_twice_exactly_alike(take):
    """A library sound of one knock: each take hit gets it slightly detuned (a sampler's round
    robin), within half a semitone, so a run of steps is not one sample repeated."""
    one = place(SR, (0.1,), lambda i: hit(2000.0, 0.1, 0.5, 0.7)).astype(np.float32)
    hits = reference_hits(one, SR)
    assert len(hits) == 1
    out = replace_hits(take, SR, hits, seed=2)[0]
    pitches, shapes = [], []
    for t in TAKE_HITS:
        seg = out[round(t * SR):round((t + 0.1) * SR)].astype(np.float64)
        spectrum = np.abs(np.fft.rfft(seg, 16 * seg.size))
        pitches.append(np.fft.rfftfreq(16 * seg.size, 1 / SR)[int(np.argmax(spectrum))])
        shapes.append(seg / np.abs(seg).max())
    assert all(2000 * 2 ** (-0.55 / 12) < f < 2000 * 2 ** (0.55 / 12) for f in pitches), pitches
    assert len({round(f) for f in pitches}) > 1, pitches
    assert all(not np.allclose(a, b, atol=1e-3) for a, b in zip(shapes, shapes[1:]))


def test_a_sound_that_starts_and_keeps_going_is_steady_a_ringing_one_is_not():
    """An engine starting has one onset and then goes on: a steady sound (its texture is used),
    not one hit to put on every step. A bell struck once rings down: a hit."""
    from maskvat_foley.core.media.reference_hits import is_steady

    rng = np.random.default_rng(7)
    t = np.arange(3 * SR) / SR
    engine = np.where(t > 1.2, 0.3, 0.0) * (np.sin(2 * np.pi * 55 * t) + 0.3 * rng.standard_normal(t.size))
    engine += 0.0005 * rng.standard_normal(t.size)
    hits = reference_hits(engine.astype(np.float32), SR)
    assert len(hits) >= 1 and is_steady(hits)
    bell = place(3 * SR, (0.3,), lambda i: hit(880.0, 0.4, 2.6, 0.7)) + 0.0005 * rng.standard_normal(3 * SR)
    hits = reference_hits(bell.astype(np.float32), SR)
    assert len(hits) == 1 and not is_steady(hits)
    knocks = place(SR, (0.1, 0.5), lambda i: hit(900.0, 0.02, 0.2, 0.6)) + 0.0005 * rng.standard_normal(SR)
    assert not is_steady([]) and not is_steady(reference_hits(knocks.astype(np.float32), SR))


def test_a_take_sound_that_goes_on_is_not_replaced(reference):
    """A take's engine starting is an onset but no hit: it is left as the model made it, while
    the knock after it gets the reference's hit."""
    rng = np.random.default_rng(8)
    t = np.arange(3 * SR) / SR
    x = 0.002 * rng.standard_normal(t.size)
    engine = np.clip(np.minimum((t - 0.4) / 0.01, (1.6 - t) / 0.05), 0, 1)  # 1.2 s, no click at either end
    x += 0.2 * engine * np.sin(2 * np.pi * 90 * t)
    x[round(2.2 * SR):round(2.5 * SR)] += hit(200.0, 0.03, 0.3, 0.6)
    out, placed = replace_hits(x.astype(np.float32), SR, reference_hits(reference, SR), seed=1)
    assert placed.placed == 1 and abs(placed.attacks[0] / SR - 2.2) < 0.005
    body = slice(round(0.5 * SR), round(1.5 * SR))
    assert np.allclose(out[body], x[body], atol=1e-6)
