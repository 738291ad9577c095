"""The "frame-cnn" extractor: a small trainable conv encoder over each frame and its motion.

Input per frame: RGB and the RGB difference to the previous frame (6 channels), so a change between
frames (an impact, a step) is visible to the network and not only the scene. This is the image side
of the FoleyWorld audio-visual encoder, trained later with an audio tower.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from maskvat_foley.core.features.base import FeatureExtractor, register
from maskvat_foley.core.features.raw import frame_difference


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.GroupNorm(min(8, c_out), c_out),
                         nn.SiLU(), nn.Conv2d(c_out, c_out, 3, padding=1), nn.GroupNorm(min(8, c_out), c_out),
                         nn.SiLU())


@register("frame-cnn")
class FrameCNNExtractor(FeatureExtractor):
    context_frames = 1

    def __init__(self, dim: int = 128, width: int = 32, depth: int = 4,
                 input_size: Sequence[int] = (96, 96)) -> None:
        input_size = tuple(int(v) for v in input_size)
        if dim < 1 or width < 1 or depth < 1 or len(input_size) != 2 or min(input_size) < 2 ** depth:
            raise ValueError(f"frame-cnn: need dim, width, depth >= 1 and input_size >= {2 ** depth} "
                             f"(got dim={dim}, width={width}, depth={depth}, input_size={input_size})")
        super().__init__(dim=dim, width=width, depth=depth, input_size=input_size)
        self.dim, self.input_size = int(dim), input_size
        chans = [6] + [width * min(2 ** i, 4) for i in range(depth)]
        self.body = nn.Sequential(*[_block(a, b) for a, b in zip(chans[:-1], chans[1:])])
        # Pool to a 2x2 grid, not 1x1: keeps where in the picture something happens.
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(chans[-1] * 4, dim))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        self.check_frames(frames)
        b, n = frames.shape[:2]
        x = torch.cat([frames * 2 - 1, frame_difference(frames)], dim=2)  # [B, N, 6, H, W]
        y = self.head(self.pool(self.body(x.flatten(0, 1))))
        return y.view(b, n, self.dim)
