"""Audio-visual encoder: loss falls; training features equal the inference path; scorer files."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from maskvat_foley.core.features.base import create, load_extractor
from maskvat_foley.core.train.avsync import FRAME_RATE, HOP, crop_item
from maskvat_foley.core.train.cache import codec_rate_features
from maskvat_foley.plugin.cli_train import run
from maskvat_foley.core.train.sources import FoleyWorldSource
from maskvat_foley.core.train.syncnet import FoleyWorldAVScorer, load_scorer
from test_train_helpers import metrics, tiny_config


def test_avsync_loss_goes_down_and_saves_scorer(tmp_path):
    cfg = tiny_config(tmp_path, avsync={"fixed_batch": True, "loop": {"max_steps": 10, "warmup_steps": 1}})
    summary = run(["avsync", "--config", cfg, "--out", str(tmp_path / "a"), "--no-progress"])
    rows = metrics(tmp_path / "a")
    assert np.mean([r["loss"] for r in rows[-3:]]) < np.mean([r["loss"] for r in rows[:3]]), rows
    assert set(summary["val"]) >= {"sync_win_rate", "offset_mae_ms"}
    ext = load_extractor(tmp_path / "a" / "features")
    assert ext.name == "foleyworld-av" and ext.dim == 16
    scorer = load_scorer(tmp_path / "a" / "scorer")
    assert isinstance(scorer, FoleyWorldAVScorer)
    wave, cond = torch.randn(3, 1, 30 * HOP) * 0.1, torch.randn(1, 30, 16)
    assert scorer.score(wave, 44100, cond).shape == (3,)
    assert scorer.offset(wave, 44100, cond, max_lag=5).shape == (3,)
    with pytest.raises(ValueError, match="foleyworld-av"):
        scorer.score(wave, 44100, torch.randn(1, 30, 8))


@pytest.mark.parametrize("rate", ["24000/1001", "25"])
def test_training_crop_features_equal_the_inference_path(rate):
    """A crop's conditioning (context frame + adapt_length) equals the whole-clip features sliced."""
    torch.manual_seed(0)
    ext = create("foleyworld-av", dim=8, width=4, depth=2, input_size=(32, 32)).eval()
    clip = FoleyWorldSource(n=1, offset=5, size=(32, 32), seconds=2).get(0)
    from fractions import Fraction

    clip2 = FoleyWorldSource(n=1, offset=5, size=(32, 32), seconds=2).get(0)
    assert clip2.frame_times == clip.frame_times
    n_all = len(clip.audio) // HOP
    whole = codec_rate_features(ext, clip.frames, clip.frame_times, n_all, FRAME_RATE)
    from maskvat_foley.core.features.length import adapt_length

    for c0 in (0, 37, n_all - 40):
        audio, rgb, times = crop_item(clip, c0, 40)
        with torch.no_grad():
            feats = ext(ext.to_input(rgb)[None])[0][1:]
        crop = adapt_length(feats, times, 40, FRAME_RATE)
        assert torch.allclose(crop, whole[c0:c0 + 40], atol=1e-5), c0
        assert np.array_equal(audio, clip.audio[c0 * HOP:(c0 + 40) * HOP])
    assert isinstance(clip.frame_times[1], Fraction)


def test_video_folder_source_decodes_frames_and_audio(tmp_path):
    from maskvat_foley.core.data import make_clips
    from maskvat_foley.core.train.sources import make_source

    make_clips(1, 3, tmp_path / "videos", size=(64, 48), rate="25", seconds=2)
    (tmp_path / "videos" / "notes.txt").write_text("not a video")
    src = make_source({"type": "video_folder", "root": str(tmp_path / "videos")}, (32, 32))
    assert len(src) == 1
    clip = src.get(0)
    assert clip.frames.shape == (50, 32, 32, 3) and clip.frames.dtype == np.uint8
    assert clip.frame_times[1] - clip.frame_times[0] == Fraction(1, 25)
    assert abs(len(clip.audio) - 2 * 44100) < 2048  # AAC priming/padding only
    assert src.get(0, video=False).frames is None
    with pytest.raises(FileNotFoundError, match="no videos"):
        (tmp_path / "empty").mkdir()
        make_source({"type": "video_folder", "root": str(tmp_path / "empty")}, (32, 32))


def test_event_labels_mark_the_frames_of_true_events_in_a_crop():
    from maskvat_foley.core.data import onset_times
    from maskvat_foley.core.train.avsync import event_labels, first_frame

    source = FoleyWorldSource(n=6, size=(32, 32), seconds=2)
    i = next(i for i in range(6) if source.spec(i).events)
    clip = source.get(i)
    assert clip.event_times == onset_times(source.spec(i))
    rate = 1 / (clip.frame_times[1] - clip.frame_times[0])
    frames = sorted({round(t * rate) for t in clip.event_times})
    n_codec = len(clip.audio) // HOP
    for c0 in (0, n_codec // 3, n_codec - 40):
        _, rgb, times = crop_item(clip, c0, 40)
        first = first_frame(clip, c0)
        labels = event_labels(clip, first, len(times))
        assert len(labels) == len(rgb) - 1  # one per covered frame, the context frame left out
        assert [first + k for k in np.flatnonzero(labels)] == [f for f in frames if first <= f < first + len(times)]


def test_the_event_head_trains_beside_the_synchrony_loss(tmp_path):
    """event_weight > 0: the tower also learns the event frames; its loss and AUC are logged, the
    features folder is the plain extractor, and without it nothing changes."""
    cfg = tiny_config(tmp_path, avsync={"event_weight": 1.0, "fixed_batch": True,
                                        "loop": {"max_steps": 12, "warmup_steps": 1}})
    run(["avsync", "--config", cfg, "--out", str(tmp_path / "a"), "--no-progress"])
    rows = metrics(tmp_path / "a")
    assert all({"event_loss", "event_auc", "loss"} <= set(r) for r in rows)
    assert np.mean([r["event_loss"] for r in rows[-3:]]) < np.mean([r["event_loss"] for r in rows[:3]]), rows
    ext = load_extractor(tmp_path / "a" / "features")
    assert ext.name == "foleyworld-av" and not any("event" in k for k in ext.state_dict())
