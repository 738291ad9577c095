"""The "foleyworld-av" extractor: the visual tower of the FoleyWorld audio-visual encoder.

Same network as "frame-cnn" (each frame with its difference to the previous one) plus a final
LayerNorm so the features keep one scale for MaskVAT and the synchrony scorer. Its weights are
trained with an audio tower by ``maskvat_foley.core.train.avsync`` (InfoNCE on time alignment).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from maskvat_foley.core.features.base import register
from maskvat_foley.core.features.frame_cnn import FrameCNNExtractor


@register("foleyworld-av")
class FoleyWorldAVExtractor(FrameCNNExtractor):
    def __init__(self, dim: int = 64, width: int = 16, depth: int = 4,
                 input_size: Sequence[int] = (64, 64)) -> None:
        super().__init__(dim=dim, width=width, depth=depth, input_size=input_size)
        self.out_norm = nn.LayerNorm(self.dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.out_norm(super().forward(frames))
