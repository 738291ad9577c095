"""The av-flow extractor's motion statistics, warm starts from a bundle, and alternating looks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from maskvat_foley.core.features.base import create
from maskvat_foley.core.features.flow import FlowStats, stats_dim, to_gray

pytestmark = pytest.mark.usefixtures("one_torch_thread")
G = 4
CAM, SUMMARY = slice(0, 4), slice(4, 8)
CELL_M = slice(8 + 2 * G * G, 8 + 3 * G * G)
WARP = 8 + 3 * G * G


def texture(h: int, w: int, seed: int) -> np.ndarray:
    """A smooth random texture (blurred noise), something flow can lock onto."""
    import cv2

    noise = np.random.default_rng(seed).random((h, w)).astype(np.float32) * 255
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 2.0) * 2.5 - 190, 0, 255).astype(np.uint8)


def test_camera_pan_is_not_motion_but_an_object_against_it_is():
    world = texture(160, 260, 0)
    frames = []
    for t in range(10):
        f = world[10:138, 3 * t:3 * t + 128].copy()        # the camera pans 3 px per frame
        x = 10 + 8 * t                                      # a square crosses the bottom-left cells
        f[90:114, x:x + 24] = 255
        frames.append(f)
    s = FlowStats(grid=G)(np.stack(frames))
    assert s.shape == (10, stats_dim(G)) and np.all(s[0] == 0)
    assert np.all(s[1:, CAM.start] < -0.3)                  # tx: the picture moves left
    cells = s[1:, CELL_M].reshape(9, G, G)
    bottom, top = cells[:, 2:, :].max(axis=(1, 2)), cells[:, :2, :].max(axis=(1, 2))
    assert np.all(bottom > top + 0.2), (bottom, top)


def test_still_picture_has_no_motion_and_a_cut_has_a_warp_error():
    a, b = texture(128, 128, 1), texture(128, 128, 2)
    still = FlowStats(grid=G)(np.stack([a] * 5))
    assert np.abs(still).max() < 0.05
    moving = np.stack([np.roll(a, 2 * t, axis=1) for t in range(4)] + [b])
    s = FlowStats(grid=G)(moving)
    assert s[4, WARP] > s[1:4, WARP].max() + 0.3            # the cut: flow cannot explain the new shot
    assert np.abs(s[1:4, CAM.start]).min() > 0.3            # the shift itself is camera motion


def test_gray_and_bad_input():
    rgb = np.zeros((2, 4, 4, 3), np.uint8)
    rgb[..., 1] = 200
    assert to_gray(rgb).max() == round(200 * 0.587)
    with pytest.raises(ValueError, match="uint8 grey frames"):
        FlowStats()(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ValueError, match="grid must be"):
        FlowStats(grid=0)


def test_av_flow_motion_part_follows_the_picture():
    ext = create("av-flow", dim=8, width=4, depth=2, input_size=(64, 64), cnn_size=(32, 32), grid=G)
    a = texture(64, 64, 3)
    rgb = np.repeat(np.stack([a, a, np.roll(a, 4, axis=0), np.roll(a, 4, axis=0)])[..., None], 3, -1)
    f = ext.extract(rgb)
    motion = f[:, 8:]
    assert motion.shape == (4, stats_dim(G))
    assert motion[1].abs().max() < 0.05 and motion[3].abs().max() < 0.05
    assert motion[2, CAM.start + 1] > 0.3                   # ty: the picture moved down


def test_warm_start_with_grown_condition_keeps_the_old_model(tmp_path):
    from safetensors.torch import save_file

    from maskvat_foley.core.model.config import preset
    from maskvat_foley.core.model.transformer import MaskVAT
    from maskvat_foley.core.train.warm_start import read_weights, warm_start

    torch.manual_seed(0)
    old = MaskVAT(preset("tiny", cond_dim=6, n_codebooks=2, codebook_size=16)).eval()
    save_file({k: v.contiguous() for k, v in old.state_dict().items()}, str(tmp_path / "model.safetensors"))
    new = MaskVAT(preset("tiny", cond_dim=9, n_codebooks=2, codebook_size=16)).eval()
    report = warm_start(new, read_weights(tmp_path))
    assert set(report["grown"]) == {"cond_in.weight", "null_cond"} and not report["fresh"]
    codes = torch.randint(0, 16, (2, 2, 12))
    cond = torch.randn(2, 12, 6)
    extra = torch.cat([cond, torch.randn(2, 12, 3)], dim=-1)  # new inputs start with no effect
    drop = torch.tensor([False, True])
    with torch.no_grad():
        assert torch.allclose(old(codes, cond, drop), new(codes, extra, drop), atol=1e-5)
    with pytest.raises(ValueError, match="none of the"):
        warm_start(new, {"other.weight": torch.zeros(3)})
    with pytest.raises(FileNotFoundError, match="no weights"):
        read_weights(tmp_path / "missing")


def test_avsync_tower_starts_from_a_foleyworld_av_folder(tmp_path):
    from maskvat_foley.core.train.avsync import AVSyncConfig, build_models

    cnn = create("foleyworld-av", dim=8, width=4, depth=2, input_size=(32, 32))
    with torch.no_grad():
        for p in cnn.parameters():
            p.add_(1.0)
    cnn.save(tmp_path / "features")
    cfg = AVSyncConfig(extractor={"name": "av-flow", "dim": 8, "width": 4, "depth": 2, "input_size": [64, 64],
                                  "cnn_size": [32, 32], "grid": 2},
                       init_extractor=str(tmp_path / "features"), syncnet={"embed_dim": 8, "hidden": 16})
    ext = build_models(cfg).extractor
    assert ext.name == "av-flow"
    for k, v in cnn.state_dict().items():
        assert torch.equal(ext.state_dict()["cnn." + k], v)
    ext.save(tmp_path / "flow_features")          # an av-flow folder continues as itself
    again = build_models(AVSyncConfig(extractor=cfg.extractor, init_extractor=str(tmp_path / "flow_features"),
                                      syncnet=cfg.syncnet)).extractor
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), ext.state_dict().values()))


def test_foleyworld_source_alternates_looks():
    from fractions import Fraction

    from maskvat_foley.core.data import generate_clip
    from maskvat_foley.core.media.resize import resize_frames
    from maskvat_foley.core.train.sources import FoleyWorldSource

    src = FoleyWorldSource(split="val", n=2, size=(48, 32), seconds="1", look=["classic", "footage"])
    assert src.describe()["look"] == ["classic", "footage"]
    a, b = src.get(0), src.get(1)
    assert a.frames.shape[1:] == b.frames.shape[1:] == (32, 48, 3)
    classic = generate_clip(src.seeds[0], size=(48, 32), seconds=Fraction(1), look="classic")
    filmed = generate_clip(src.seeds[1], seconds=Fraction(1), look="footage")
    assert np.array_equal(a.frames, classic.frames)
    assert filmed.frames.shape[1:3] != (32, 48) and np.array_equal(b.frames, resize_frames(filmed.frames, (48, 32)))
    with pytest.raises(ValueError, match="empty list"):
        FoleyWorldSource(n=1, look=[])
