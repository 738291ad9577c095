"""The transfer stage (a tower taught to see FoleyWorld's footage look as the bundle's tower sees
the classic look of the same clip) and `train swap-tower` (a bundle with that tower), on the real
bundled tower and real FoleyWorld clips: the student moves toward the teacher's features on the
footage it trained on, the swapped model keeps its MaskVAT and reads the new tower, and the engine
does not serve the old tower's cached features to the new one."""
from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch.nn.functional as F

from maskvat_foley.core.features.base import load_extractor
from maskvat_foley.core.train.common import RunOptions, folder_sha256
from maskvat_foley.core.train.avsync import with_context
from maskvat_foley.core.train.transfer import PairedFoleyWorld, TransferConfig, train_transfer

ROOT = Path(__file__).resolve().parents[1]
TEACHER = ROOT / "resources" / "default_model" / "features"
MODEL = ROOT / "resources" / "default_model"
TINY = {"teacher": str(TEACHER), "data": {"n": 2, "seconds": 1}, "val_data": {"split": "val", "n": 1, "seconds": 1},
        "footage_share": 1.0, "batch_size": 2, "crop_frames": 8, "pool_size": 2,
        "loop": {"max_steps": 10, "lr": 0.002, "warmup_steps": 0, "save_every": 100, "log_every": 7}}


@pytest.fixture(scope="module")
def run(tmp_path_factory, one_torch_thread):
    out = tmp_path_factory.mktemp("transfer") / "run"
    summary = train_transfer(TransferConfig.from_dict(TINY), RunOptions(out=out, progress=False,
                                                                      command="test transfer"))
    return out, summary


def test_the_student_moves_toward_the_teacher_on_footage(run):
    out, summary = run
    assert summary["stage"] == "transfer" and summary["step"] == 10
    assert summary["teacher_sha256"] == folder_sha256(TEACHER)
    assert (out / "scorer" / "config.json").is_file()  # the teacher's scorer comes along
    teacher, student = load_extractor(TEACHER), load_extractor(out / "features")
    pairs = PairedFoleyWorld(TINY["data"], tuple(teacher.input_size), "train", teacher)
    before, after = [], []
    for i in range(len(pairs)):
        pair = pairs.get(i)
        assert pair.footage.shape == pair.classic.shape  # one plan filmed two ways, frame for frame
        before.append(float(F.mse_loss(teacher.extract(pair.footage), pair.target)))
        after.append(float(F.mse_loss(student.extract(pair.footage), pair.target)))
    assert np.mean(after) < 0.6 * np.mean(before), (before, after)
    val = summary["val"]
    assert set(val) >= {"footage_mse", "classic_mse", "footage_change_r", "classic_change_r"}


def test_an_event_window_teaches_only_around_events(one_torch_thread):
    """With an event window the footage look's target is the teacher's classic reading within the
    window of an event and the teacher's own reading of the footage everywhere else."""
    from maskvat_foley.core.train.transfer import event_mask

    assert event_mask(8, np.array([0, 5]), 1).tolist() == [True, True, False, False, True, True, True, False]
    assert event_mask(3, np.array([], np.int64), 2).tolist() == [False] * 3
    teacher = load_extractor(TEACHER)
    spec = {"n": 2, "seconds": 2, "kinds": ["impact"]}
    pairs = PairedFoleyWorld(spec, tuple(teacher.input_size), "train", teacher, event_window=1)
    classic, footage, events = pairs.frames(0)
    assert len(events) and events.min() >= 0 and events.max() < len(classic)
    pair = pairs.with_target((classic, footage, events))
    near = event_mask(len(classic), events, 1)
    assert 0 < near.sum() < len(near)
    assert np.allclose(pair.footage_target[near].numpy(), pair.target[near].numpy())
    own = teacher.extract(footage)
    assert np.allclose(pair.footage_target[~near].numpy(), own[~near].numpy())
    assert not np.allclose(own[~near].numpy(), pair.target[~near].numpy())  # the looks differ there
    plain = PairedFoleyWorld(spec, tuple(teacher.input_size), "train", teacher).with_target((classic, footage, events))
    assert plain.footage_target is plain.target


def test_a_crop_carries_its_context_frame():
    frames = np.arange(5)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    assert [int(f[0, 0, 0]) for f in with_context(frames, 0, 3)] == [0, 0, 1, 2]  # frame 0 repeated
    assert [int(f[0, 0, 0]) for f in with_context(frames, 2, 3)] == [1, 2, 3, 4]


@pytest.mark.parametrize("change, message", [
    ({"data": {"n": 4, "look": "footage"}}, "without 'look'"),
    ({"data": {"type": "video_folder", "root": "x"}}, "FoleyWorld source"),
    ({"footage_share": 1.5}, "footage_share"),
    ({"pool_size": 1, "pool_refresh": 2}, "pool_refresh"),
    ({"event_window": -1}, "event_window"),
    ({"event_window": 1.5}, "event_window"),
])
def test_bad_configs_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        TransferConfig.from_dict({**TINY, **change})


def test_swap_tower_keeps_maskvat_and_reads_the_new_tower(run, tmp_path):
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.jobs import ClipJob
    from maskvat_foley.core.media.video_writer import write_video
    from maskvat_foley.core.model.checkpoint import load_checkpoint, read_meta
    from maskvat_foley.core.train.retower import swap_tower

    out, _ = run
    new = tmp_path / "swapped"
    cli = [sys.executable, "-m", "maskvat_foley", "train", "swap-tower", "--model", str(MODEL),
           "--transfer", str(out), "--out", str(new)]
    done = subprocess.run(cli, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    old_meta, new_meta = read_meta(MODEL), read_meta(new)
    assert new_meta["sha256"] == old_meta["sha256"]  # MaskVAT's weights are the bundle's
    assert new_meta["info"]["transfer"]["teacher_sha256"] == folder_sha256(TEACHER)
    assert folder_sha256(new / "features") == folder_sha256(out / "features") != folder_sha256(TEACHER)
    assert "### transfer" in (new / "MODEL_CARD.md").read_text()
    load_checkpoint(new)  # verifies the weights' sha256

    with pytest.raises(FileExistsError, match="already exists"):  # never replaced unasked
        swap_tower(MODEL, out, new)

    # a run taught by another tower is refused: its features are not what this MaskVAT reads
    other = tmp_path / "other-run"
    other.mkdir()
    (other / "features").symlink_to(out / "features")
    summary = json.loads((out / "summary.json").read_text())
    (other / "summary.json").write_text(json.dumps({**summary, "teacher_sha256": "0" * 64}))
    with pytest.raises(ValueError, match="another tower"):
        swap_tower(MODEL, other, tmp_path / "x")
    assert not (tmp_path / "x").exists()

    # one cache for both models: the swapped one extracts its own features, not the bundle's
    rate = Fraction(25)
    rng = np.random.default_rng(0)
    video = write_video(tmp_path / "v.mp4", [rng.integers(0, 255, (48, 64, 3), np.uint8) for _ in range(25)], rate)
    job = ClipJob("c1", "clip", str(video), rate, 0, 25, rate, 0, 25)
    cache = tmp_path / "cache"
    a, b = Engine(str(MODEL), device="cpu", cache_dir=str(cache)), Engine(str(new), device="cpu", cache_dir=str(cache))
    fa, fb = a.features(job), b.features(job)
    assert a.feature_calls == b.feature_calls == 1
    assert not np.allclose(fa.numpy(), fb.numpy())


def test_a_transfer_run_is_a_tower_to_train_maskvat_on_and_bundle(run, tmp_path, capsys):
    """The GPU recipe for a taught tower (AVSYNC_FROM=resources/candidates/...): MaskVAT trains on a
    transfer run's features and `train bundle --avsync` takes the run, with its teacher's scorer."""
    from maskvat_foley.core.model.checkpoint import load_checkpoint
    from maskvat_foley.plugin.cli_train import main
    from test_train_helpers import tiny_config

    out, _ = run
    cfg = tiny_config(tmp_path, maskvat={"loop": {"max_steps": 1}})
    assert main(["maskvat", "--config", cfg, "--out", str(tmp_path / "maskvat"), "--no-progress",
                 "--codec", str(MODEL), "--avsync", str(out)]) == 0
    bundle = ["bundle", "--level-clips", "0", "--codec", str(MODEL), "--maskvat", str(tmp_path / "maskvat")]
    assert main([*bundle, "--avsync", str(out), "--out", str(tmp_path / "model")]) == 0
    meta = json.loads((tmp_path / "model" / "config.json").read_text())
    assert meta["info"]["avsync"]["command"] == "test transfer"
    assert "### transfer" in (tmp_path / "model" / "MODEL_CARD.md").read_text()
    assert load_checkpoint(tmp_path / "model").scorer is not None
    # a MaskVAT run is no tower: one line, nothing written
    assert main([*bundle, "--avsync", str(tmp_path / "maskvat"), "--out", str(tmp_path / "bad")]) != 0
    assert "is a 'maskvat' run, expected 'avsync' or 'transfer'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
