"""The "clip" extractor: an open_clip image tower, from local weights only.

Nothing is downloaded: the caller names a local checkpoint (``.safetensors``, or a ``.pt``/``.bin``
state dict read with ``weights_only=True``). Only the image tower is kept.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from maskvat_foley.core.features.base import FeatureExtractor, register

# OpenAI CLIP normalisation, used when the model does not state its own.
_MEAN = (0.48145466, 0.4578275, 0.40821073)
_STD = (0.26862954, 0.26130258, 0.27577711)

HOW_TO = ("install open_clip (`pip install open_clip_torch`), download the weights of an open_clip "
          "model yourself (e.g. ViT-B-32 'open_clip_pytorch_model.bin' or '.safetensors') and pass "
          "its path: create('clip', checkpoint=PATH, model_name='ViT-B-32')")


def _import_open_clip():
    try:
        import open_clip
    except ImportError:
        raise ImportError(f"the 'clip' feature extractor needs the open_clip package, which is not "
                          f"installed: {HOW_TO}") from None
    return open_clip


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a local checkpoint, never unpickling code."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(f"{path}: not a plain weights file readable with weights_only=True: {exc}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: does not hold a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


@register("clip")
class ClipExtractor(FeatureExtractor):
    def __init__(self, checkpoint: str | os.PathLike | None = None, model_name: str = "ViT-B-32",
                 load_weights: bool = True) -> None:
        # Check the weights before the import so a missing file is reported as such everywhere.
        ckpt = Path(checkpoint) if checkpoint is not None else None
        if load_weights and (ckpt is None or not ckpt.is_file()):
            what = "no checkpoint was given" if ckpt is None else f"{ckpt} does not exist"
            raise FileNotFoundError(f"the 'clip' feature extractor needs local open_clip weights and "
                                    f"{what}; nothing is ever downloaded: {HOW_TO}")
        open_clip = _import_open_clip()
        super().__init__(checkpoint=os.fspath(ckpt) if ckpt else None, model_name=model_name)
        try:
            model = open_clip.create_model(model_name, pretrained=None)
        except Exception as exc:
            raise ValueError(f"open_clip has no model {model_name!r}: {exc}") from None
        if load_weights:
            state = read_state_dict(ckpt)
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                raise ValueError(f"{ckpt}: weights do not fit open_clip model {model_name!r}: {exc}") from None
        self.visual = model.visual
        size = getattr(self.visual, "image_size", 224)
        size = (size, size) if isinstance(size, int) else tuple(size)
        self.input_size = (int(size[1]), int(size[0]))
        self.dim = int(self.visual.output_dim)
        cfg = getattr(self.visual, "preprocess_cfg", None) or {}
        self.register_buffer("mean", torch.tensor(cfg.get("mean", _MEAN)).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.get("std", _STD)).view(1, 3, 1, 1), persistent=False)

    def config(self) -> dict[str, Any]:
        return {k: v for k, v in super().config().items() if k != "load_weights"}

    @classmethod
    def build_for_load(cls, config: dict[str, Any]) -> "ClipExtractor":
        # The saved folder holds the tower's weights: build the architecture only.
        return cls(**{**config, "load_weights": False})

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        self.check_frames(frames)
        b, n = frames.shape[:2]
        x = (frames.flatten(0, 1) - self.mean) / self.std
        return self.visual(x).view(b, n, self.dim)
