"""The "raw" extractor: parameter-free pixels, a baseline and a test fixture.

Each frame becomes a coarse grayscale picture plus the absolute difference from the previous frame
(zero for the first frame), flattened: [gray grid | |diff| grid], dim = 2 * gw * gh.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from maskvat_foley.core.features.base import FeatureExtractor, register

# ITU-R BT.601 luma weights.
_LUMA = (0.299, 0.587, 0.114)


def frame_difference(x: torch.Tensor) -> torch.Tensor:
    """x [B, N, ...] -> x[:, n] - x[:, n-1], zero at n = 0 (no earlier frame is known)."""
    return torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], dim=1)


@register("raw")
class RawExtractor(FeatureExtractor):
    context_frames = 1

    def __init__(self, grid: Sequence[int] = (16, 16), input_size: Sequence[int] = (64, 64)) -> None:
        grid, input_size = tuple(int(v) for v in grid), tuple(int(v) for v in input_size)
        if len(grid) != 2 or len(input_size) != 2 or min(*grid, *input_size) < 1:
            raise ValueError(f"raw extractor: grid {grid} and input_size {input_size} must be (W, H) > 0")
        super().__init__(grid=grid, input_size=input_size)
        self.grid = grid
        self.input_size = input_size
        self.dim = 2 * grid[0] * grid[1]
        self.register_buffer("luma", torch.tensor(_LUMA).view(1, 3, 1, 1), persistent=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        self.check_frames(frames)
        b, n = frames.shape[:2]
        gray = (frames.flatten(0, 1) * self.luma).sum(1, keepdim=True)
        small = nn.functional.adaptive_avg_pool2d(gray, (self.grid[1], self.grid[0])).view(b, n, -1)
        return torch.cat([small, frame_difference(small).abs()], dim=-1)
