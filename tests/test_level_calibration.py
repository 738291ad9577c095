"""The model's level calibration: a take's peak brought to the training audio's level, never noise
made loud; measured into a bundle by `train level`, applied and recorded by the engine."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile

from maskvat_foley.core.jobs import GenerationParams
from maskvat_foley.core.media.loudness import sample_peak_dbfs
from maskvat_foley.core.model.level_calibration import QUIET, LevelCalibration, calibrate
from maskvat_foley.core.pipeline import Selection, prepare

CAL = LevelCalibration(peak_dbfs=-6.0, clips=100)


def burst(peak_dbfs: float, n: int = 44100) -> np.ndarray:
    """A decaying noise burst whose sample peak is ``peak_dbfs``."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) * np.exp(-np.arange(n) / 4000)).astype(np.float32)
    return (x * 10 ** (peak_dbfs / 20) / np.abs(x).max()).astype(np.float32)


@pytest.mark.parametrize("peak", [-19.0, -6.0, -2.5])
def test_a_take_is_raised_or_lowered_to_the_level(peak):
    x = burst(peak)
    y, done = calibrate(x, CAL)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert sample_peak_dbfs(y) == pytest.approx(-6.0, abs=0.006)  # the gain is kept to 0.01 dB
    assert done.gain_db == pytest.approx(-6.0 - peak, abs=0.006) and done.note is None
    # One gain for the whole take: the shape, and so the relative levels inside it, are kept.
    assert np.allclose(y / np.abs(y).max(), x / np.abs(x).max(), atol=1e-6)


@pytest.mark.parametrize("x", [burst(-30.0), np.zeros(1000, np.float32), np.zeros(0, np.float32)])
def test_a_quiet_take_is_left_as_the_model_made_it(x):
    y, done = calibrate(x, CAL)
    assert y is x and done.gain_db is None and done.note.startswith(QUIET)
    assert calibrate(x, None) == (x, None)  # a model without calibration leaves every take alone


def test_bad_calibration_values_are_refused():
    with pytest.raises(ValueError, match="peak_dbfs"):
        LevelCalibration(peak_dbfs=3.0, clips=1)
    with pytest.raises(ValueError, match="level"):
        LevelCalibration.from_meta({"clips": 3})
    assert LevelCalibration.from_meta(None) is None
    assert LevelCalibration.from_meta(CAL.to_dict()) == CAL


@pytest.fixture(scope="module")
def calibrated(tiny_model, tmp_path_factory):
    """A copy of the tiny model given a level by `train level`, with a boost range wide enough
    for the random model's quiet output."""
    from maskvat_foley.plugin.cli_train import main

    folder = tmp_path_factory.mktemp("calibrated") / "tiny"
    shutil.copytree(tiny_model, folder)
    before = (folder / "model.safetensors").read_bytes()
    assert main(["level", "--model", str(folder), "--clips", "8"]) == 0
    assert (folder / "model.safetensors").read_bytes() == before
    config = json.loads((folder / "config.json").read_text())
    cal = LevelCalibration.from_meta(config["level"])
    assert cal.source == "foleyworld train split" and 4 <= cal.clips <= 8
    # FoleyWorld mixes each clip with events to a sample peak of -9 to -3 dBFS ...
    assert -9.0 <= cal.data_peak_dbfs <= -3.0 and cal.codec_peak_dbfs != cal.data_peak_dbfs
    # ... and a take is brought to the codec round trip's peak, raised by the loudness it loses.
    assert cal.peak_dbfs == pytest.approx(min(cal.codec_peak_dbfs + cal.codec_loss_db, 0), abs=0.011)
    config["level"]["max_boost_db"] = 200.0
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_a_bad_level_block_is_named(calibrated, tmp_path):
    from maskvat_foley.core.model.checkpoint import load_checkpoint
    from maskvat_foley.plugin.cli_train import main

    bad = tmp_path / "bad"
    shutil.copytree(calibrated, bad)
    config = json.loads((bad / "config.json").read_text())
    config["level"]["peak_dbfs"] = "loud"
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="config.json.*level"):
        load_checkpoint(bad)
    assert main(["level", "--model", str(tmp_path / "nowhere")]) == 2


def test_engine_takes_are_at_the_level_and_say_so(calibrated, foley_edit, tmp_path):
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.engine.takes import load_codes
    from maskvat_foley.core.media.bwf import read_bwf_info

    engine = Engine(str(calibrated), device="cpu", cache_dir=str(tmp_path / "cache"))
    target = engine.ckpt.level.peak_dbfs
    job = {j.clip_id: j for j in prepare(foley_edit["path"], Selection(all=True)).jobs}["V1.1"]
    params = GenerationParams(seed=5, takes=1, sample_rate=44100, channels=1)
    [res] = engine.generate([job], params, out_dir=str(tmp_path))
    take = res.takes[0]
    gain = take.metadata["model_gain_db"]
    assert isinstance(gain, float)
    audio, _ = soundfile.read(take.path, dtype="float32")
    assert sample_peak_dbfs(audio) == pytest.approx(target, abs=0.5)  # the span may trim the peak
    assert f"<MODEL_GAIN_DB>{gain:.2f}</MODEL_GAIN_DB>" in read_bwf_info(take.path).ixml
    # Without calibration the same seed gives the same take, by exactly that gain.
    raw = Engine(str(calibrated), device="cpu", cache_dir=str(tmp_path / "cache"))
    raw.ckpt.level = None
    [plain] = raw.generate([job], params, out_dir=str(tmp_path / "raw"))
    raw_audio, _ = soundfile.read(plain.takes[0].path, dtype="float32")
    assert "model_gain_db" not in plain.takes[0].metadata
    assert np.allclose(raw_audio * 10 ** (gain / 20), audio, atol=1e-5)
    # A region keeps the base take's gain, so the take is unchanged outside it.
    new = engine.regenerate_region(job, take, 24, 36, GenerationParams(seed=9, sample_rate=44100, channels=1),
                                   out_dir=str(tmp_path))
    assert new.metadata["model_gain_db"] == gain
    assert not np.array_equal(load_codes(new), load_codes(take))
    new_audio, _ = soundfile.read(new.path, dtype="float32")
    assert np.allclose(new_audio[:4410], audio[:4410], atol=1e-5)


def test_a_quiet_take_keeps_its_level_and_a_note(calibrated, foley_edit, tmp_path):
    from maskvat_foley.core.engine.engine import Engine

    engine = Engine(str(calibrated), device="cpu", cache_dir=str(tmp_path / "cache"))
    engine.ckpt.level = LevelCalibration(peak_dbfs=0.0, clips=1, max_boost_db=0.0)
    job = {j.clip_id: j for j in prepare(foley_edit["path"], Selection(all=True)).jobs}["V1.2"]
    [res] = engine.generate([job], GenerationParams(seed=3, takes=1), out_dir=str(tmp_path))
    meta = res.takes[0].metadata
    assert meta["model_gain_db"] is None and meta["model_level_note"].startswith(QUIET)
    from maskvat_foley.core.pipeline import level_notes

    assert level_notes(res.takes) == [f"level of V1.2 take 3: {meta['model_level_note']}"]


def test_evaluation_reports_the_level_with_and_without_calibration(calibrated, tmp_path):
    from maskvat_foley.core.eval.card import model_card_section
    from maskvat_foley.core.eval.run import evaluate

    res = evaluate(calibrated, split="test", n=1, device="cpu", steps=2, seed=7, out_dir=tmp_path / "ev",
                   seconds=2, progress=False)
    stored = json.loads((calibrated / "config.json").read_text())["level"]
    assert res["model"]["level"]["peak_dbfs"] == stored["peak_dbfs"]
    leveled = [c for c in res["clips"] if c["level_diff_db"] is not None]
    assert leveled
    for c in leveled:
        assert c["level_diff_uncalibrated_db"] == pytest.approx(c["level_diff_db"] - (c["model_gain_db"] or 0))
    met = res["metrics"]
    raw = sorted(abs(c["level_diff_uncalibrated_db"]) for c in leveled)
    assert met["level_abs_diff_median_uncalibrated_db"] == pytest.approx(float(np.median(raw)))
    section = model_card_section(res)
    assert f"brought to a sample peak of {stored['peak_dbfs']:.2f} dBFS" in section
    assert f"absolute {met['level_abs_diff_median_uncalibrated_db']:.1f} dB" in section


def test_takes_correct_the_level_by_what_they_miss_and_then_meet_it(calibrated, tmp_path):
    """`train level --takes N`: the model's own takes on training clips (past any recipe's) move the
    level by the median loudness they miss; measured again, the same takes miss almost nothing."""
    from maskvat_foley.core.train.level import measure_takes
    from maskvat_foley.plugin.cli_train import main

    folder = tmp_path / "tiny"
    shutil.copytree(calibrated, folder)
    before = LevelCalibration.from_meta(json.loads((folder / "config.json").read_text())["level"])
    cal, diffs = measure_takes(folder, 3)
    assert len(diffs) == cal.takes_clips >= 1
    assert cal.peak_dbfs == pytest.approx(min(before.peak_dbfs + float(np.median(diffs)), -1.0), abs=0.011)
    assert cal.takes_db == pytest.approx(float(np.median(diffs)), abs=0.011)
    weights = (folder / "model.safetensors").read_bytes()
    assert main(["level", "--model", str(folder), "--clips", "0", "--takes", "3"]) == 0
    assert (folder / "model.safetensors").read_bytes() == weights
    written = LevelCalibration.from_meta(json.loads((folder / "config.json").read_text())["level"])
    assert written == cal and written.codec_loss_db == before.codec_loss_db
    if cal.peak_dbfs > -1.0 + 0.011:  # below the ceiling, the correction is exact up to BS.1770's gating
        again, rest = measure_takes(folder, 3)
        assert abs(float(np.median(rest))) < 0.5
    assert main(["level", "--model", str(folder), "--clips", "0", "--takes", "0"]) == 2
