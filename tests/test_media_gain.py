"""The take level (core.media.gain): loudness target, gain, the -1 dBTP ceiling, near-silent takes;
its checks in GenerationParams and the engine's request validation; and its iXML block."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from maskvat_foley.core.jobs import GenerationParams
from maskvat_foley.core.media.gain import (BOOST_CAPPED, CEILING_LIMITED, NEAR_SILENT, TRUE_PEAK_CEILING_DBTP,
                                           apply_level)
from maskvat_foley.core.media.loudness import integrated_loudness, true_peak

SR = 48000


def noise_burst(level: float = 0.05, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Half a second of quiet, a burst of noise, quiet again: gating and true peak both matter."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(SR * seconds), dtype=np.float32)
    burst = slice(SR // 2, int(SR * (seconds - 0.5)))
    x[burst] = rng.standard_normal(burst.stop - burst.start) * level
    return x


SHORT = (np.random.default_rng(2).standard_normal(int(SR * 0.3)) * 0.02).astype(np.float32)


def test_target_is_reached_and_gain_added_on_top():
    x = noise_burst()
    y, r = apply_level(x, SR, loudness=-30.0)
    assert integrated_loudness(y, SR) == pytest.approx(-30.0, abs=0.5)
    assert r.loudness_lufs == pytest.approx(-30.0, abs=0.5) and r.flags == () and r.note is None
    assert r.gain_db == pytest.approx(-30.0 - integrated_loudness(x, SR), abs=1e-6)
    assert y.dtype == np.float32 and y.shape == x.shape
    y3, r3 = apply_level(x, SR, loudness=-30.0, gain_db=3.0)
    assert integrated_loudness(y3, SR) == pytest.approx(-27.0, abs=0.5)
    assert r3.gain_db == pytest.approx(r.gain_db + 3.0) and r3.requested_gain_db == 3.0
    # stereo: measured as the file holds it (two channels), the target met on the pair
    ys, _ = apply_level(np.stack([x, x]), SR, loudness=-30.0)
    assert integrated_loudness(ys, SR) == pytest.approx(-30.0, abs=0.5)


def test_gain_alone():
    x = noise_burst()
    y, r = apply_level(x, SR, gain_db=-6.0)
    assert r.gain_db == -6.0 and r.target_lufs is None and r.adjusted
    np.testing.assert_allclose(y, x * 10 ** (-6 / 20), rtol=1e-6)
    assert r.loudness_lufs == pytest.approx(integrated_loudness(x, SR) - 6.0, abs=0.01)


@pytest.mark.parametrize("loudness, gain_db", [(-5.0, 0.0), (0.0, 10.0), (None, 30.0), (-23.0, 30.0)])
def test_true_peak_ceiling_holds(loudness, gain_db):
    x = noise_burst(level=0.1)
    y, r = apply_level(x, SR, loudness=loudness, gain_db=gain_db)
    assert true_peak(y) <= TRUE_PEAK_CEILING_DBTP
    assert r.true_peak_dbtp == pytest.approx(true_peak(y)) and r.true_peak_dbtp > TRUE_PEAK_CEILING_DBTP - 0.1
    assert CEILING_LIMITED in r.flags and "ceiling_limited" in r.note
    # a plain gain, no limiter: the shape of the take is kept
    np.testing.assert_allclose(y, x * 10 ** (r.gain_db / 20), rtol=1e-6, atol=1e-9)


def test_a_take_over_the_ceiling_is_lowered_when_a_level_is_asked():
    hot = noise_burst(level=0.5)  # peaks well over 0 dBFS
    assert true_peak(hot) > 0
    y, r = apply_level(hot, SR, gain_db=-1.0)
    assert true_peak(y) <= TRUE_PEAK_CEILING_DBTP and r.gain_db < -1.0 and CEILING_LIMITED in r.flags


@pytest.mark.parametrize("audio", [np.zeros(SR, dtype=np.float32), noise_burst(level=0.05) * 1e-3,
                                   SHORT])  # silence, -83 LUFS, loud but under one 400 ms block
def test_near_silent_take_is_not_raised(audio):
    y, r = apply_level(audio, SR, loudness=-23.0)
    assert NEAR_SILENT in r.flags and r.gain_db == 0.0 and "not raised to -23.0 LUFS" in r.note
    np.testing.assert_array_equal(y, audio)
    # only the explicit gain is applied
    y, r = apply_level(audio, SR, loudness=-23.0, gain_db=6.0)
    assert NEAR_SILENT in r.flags and r.gain_db == 6.0
    np.testing.assert_allclose(y, audio * 10 ** (6 / 20), rtol=1e-6)


def test_a_quiet_take_is_raised_30_db_at_most():
    x = noise_burst(level=0.05) * 10 ** (-30 / 20)  # about -53 LUFS: quiet, not near-silent
    y, r = apply_level(x, SR, loudness=-14.0)
    assert r.flags == (BOOST_CAPPED,) and r.gain_db == pytest.approx(30.0)
    assert r.loudness_lufs == pytest.approx(integrated_loudness(x, SR) + 30.0, abs=0.05)
    assert "boost_capped" in r.note


def test_default_is_bit_identical_and_still_measured():
    hot = noise_burst(level=0.5)  # over the ceiling: left alone, nobody asked for a change
    y, r = apply_level(hot, SR)
    assert y is hot and np.array_equal(y, hot)
    assert r.gain_db == 0.0 and r.flags == () and not r.adjusted and r.target_lufs is None
    assert r.loudness_lufs == r.loudness_before_lufs == pytest.approx(integrated_loudness(hot, SR))
    assert r.true_peak_dbtp == pytest.approx(true_peak(hot)) and r.true_peak_dbtp > 0


def test_params_check_the_level_and_old_records_load():
    old = {"seed": 1, "takes": 2, "steps": 16, "guidance": 3.0, "beam": 1, "temperature": 0.5,
           "sample_rate": 48000, "channels": 1, "device": "cpu"}  # a job record from before the level
    p = GenerationParams.from_dict(old)
    assert (p.loudness, p.gain_db) == (None, 0.0)
    assert GenerationParams.from_dict(GenerationParams(loudness=-23, gain_db=3).to_dict()).loudness == -23
    for kw, message in [({"loudness": 5.0}, "loudness must be between -70 and 0 LUFS, got 5"),
                        ({"loudness": -80}, "loudness must be between -70 and 0 LUFS"),
                        ({"gain_db": 31.0}, "gain_db must be between -60 and 30 dB, got 31"),
                        ({"gain_db": float("nan")}, "gain_db must be between"),
                        ({"loudness": "loud"}, "loudness must be a number")]:
        with pytest.raises(ValueError, match=message):
            GenerationParams(**kw)


def test_engine_requests_with_a_bad_level_are_422():
    from maskvat_foley.core.engine.validate import ApiError, parse_params

    p = parse_params({"takes": 1, "loudness": -23, "gain_db": 3})
    assert (p.loudness, p.gain_db) == (-23.0, 3.0)
    assert parse_params({"takes": 1, "loudness": None}).loudness is None
    assert parse_params({"takes": 1}).gain_db == 0.0  # a client from before the level
    for body, message in [({"loudness": 3}, "params.loudness must be between -70 and 0 LUFS"),
                          ({"gain_db": -100}, "params.gain_db must be between -60 and 30 dB"),
                          ({"gain_db": "3"}, "params.gain_db: expected float")]:
        with pytest.raises(ApiError, match=message) as caught:
            parse_params(body)
        assert caught.value.status == 422


def test_ixml_block_and_bext_of_a_silent_take(tmp_path):
    from maskvat_foley.core.media.bwf import IXML_VENDOR_BLOCK, read_bwf_info, write_bwf

    path = write_bwf(tmp_path / "t.wav", np.zeros(100), SR, time_reference=0, loudness_lufs=float("-inf"),
                     true_peak_dbtp=float("-inf"), ixml_vendor={"GAIN_DB": "3.00", "LEVEL_NOTE": "a <note> & more"})
    info = read_bwf_info(path)
    assert info.bext_version == 2
    block = ET.fromstring(info.ixml).find(IXML_VENDOR_BLOCK)
    assert block.find("GAIN_DB").text == "3.00" and block.find("LEVEL_NOTE").text == "a <note> & more"
    import wavinfo

    w = wavinfo.WavInfoReader(str(path))
    assert w.bext.loudness_value == pytest.approx(-327.68)  # -inf: the lowest bext can hold
    with pytest.raises(ValueError, match="iXML element name"):
        write_bwf(tmp_path / "u.wav", np.zeros(100), SR, time_reference=0, ixml_vendor={"bad name": "x"})


def test_a_near_silent_take_is_written_as_is_and_reported(tmp_path, caplog):
    """write_take with a silent wave and a target: the take is not raised, its metadata and iXML
    say why, a warning is logged, and the run's summary names it."""
    from fractions import Fraction

    from maskvat_foley.core.engine.takes import write_take
    from maskvat_foley.core.jobs import ClipJob, ClipResult
    from maskvat_foley.core.media.bwf import IXML_VENDOR_BLOCK, read_bwf_info
    from maskvat_foley.core.pipeline import Summary

    rate = Fraction(24)
    job = ClipJob("V1.1", "door", None, rate, 0, 24, rate, 0, 24)
    params = GenerationParams(seed=9, takes=1, loudness=-23.0, gain_db=2.0, channels=2)
    with caplog.at_level("WARNING", logger="maskvat_foley.core.engine.takes"):
        take = write_take(job, np.zeros(SR, dtype=np.float32), SR, 9, params, str(tmp_path), {})
    assert "near_silent" in caplog.text and "take 9 of clip V1.1" in caplog.text
    meta = take.metadata
    assert meta["loudness_lufs"] is None and meta["true_peak_dbtp"] is None  # silence: no number
    assert meta["gain_db"] == 2.0 and meta["loudness_target"] == -23.0 and meta["level_flags"] == ["near_silent"]
    assert meta["level_note"].startswith("near_silent: silent")
    info = read_bwf_info(take.path)
    assert info.channels == 2 and info.bext_version == 2
    block = ET.fromstring(info.ixml).find(IXML_VENDOR_BLOCK)
    assert block.find("LOUDNESS_LUFS").text == "-inf" and block.find("LEVEL_NOTE").text == meta["level_note"]
    lines = Summary("o.otio", str(tmp_path), [ClipResult("V1.1", [take])]).lines()
    assert f"level of V1.1 take 9: {meta['level_note']}" in lines
    # the full provenance stays valid JSON (no -Infinity)
    import json

    assert json.loads(info.comment, parse_constant=pytest.fail)["loudness_lufs"] is None
