"""scripts/feature_gain_probe.py's stretch: a research probe's one piece of arithmetic."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "feature_gain_probe.py"
spec = importlib.util.spec_from_file_location("feature_gain_probe", SCRIPT)
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)


def _frames(moving: bool, n: int = 20) -> np.ndarray:
    rng = np.random.default_rng(0)
    f = np.full((n, 64, 64, 3), 100, np.uint8)
    for i in range(n):
        if moving:  # a bright square crossing the picture
            f[i, 20:40, 2 * i:2 * i + 20] = 250
        f[i] = np.clip(f[i] + rng.integers(-1, 2, f[i].shape), 0, 255)  # sensor noise
    return f


def _change(feats: torch.Tensor) -> float:
    return float((feats[1:] - feats[:-1]).norm(dim=1).mean())


def test_a_moving_picture_with_small_feature_change_is_stretched_to_the_target():
    feats = torch.cumsum(torch.full((20, 8), 0.01), 0) + torch.randn(20, 8) * 0.02
    out = probe.stretch(feats, _frames(True), gain=4.0, target=0.2, gate=10.0)
    assert abs(_change(out) - 0.2) < 1e-4
    assert torch.allclose(out.mean(0), feats.mean(0), atol=1e-5)  # stretched about the mean
    capped = probe.stretch(feats, _frames(True), gain=2.0, target=10.0, gate=10.0)
    assert abs(_change(capped) - 2 * _change(feats)) < 1e-4  # never more than the gain


def test_a_still_picture_and_already_lively_features_are_left_alone():
    feats = torch.randn(20, 8) * 0.01
    assert torch.equal(probe.stretch(feats, _frames(False), gain=4.0, target=1.0, gate=10.0), feats)
    lively = torch.randn(20, 8) * 5
    assert torch.allclose(probe.stretch(lively, _frames(True), gain=4.0, target=1.0, gate=10.0), lively)
