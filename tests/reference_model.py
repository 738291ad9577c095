"""A tiny MaskVAT trained in the test with reference sounds (the real `train maskvat` command)."""
from __future__ import annotations

from pathlib import Path

REF_FRAMES = 48  # 0.56 s of the tiny codec (hop 512 at 44.1 kHz)


def train_reference_model(tmp: Path, steps: int = 6, **changes) -> Path:
    """The run folder (model/, cache/, cache_ref/ ...) of a tiny MaskVAT trained on FoleyWorld
    strikes (every clip has an alternate material) with reference support."""
    from maskvat_foley.plugin.cli_train import run
    from test_train_helpers import tiny_config

    maskvat = {"overrides": {"ref_frames": REF_FRAMES}, "data": {"type": "foleyworld", "n": 6, "seconds": 2,
                                                               "kinds": ["strike"]},
               "loop": {"max_steps": steps}, **changes}  # a "loop" in changes is merged into tiny.json's
    cfg = tiny_config(tmp, maskvat=maskvat)
    out = tmp / "run"
    run(["maskvat", "--config", cfg, "--out", str(out), "--no-progress"])
    return out
