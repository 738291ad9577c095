"""The "av-flow" extractor: the FoleyWorld audio-visual CNN beside optical-flow motion statistics.

The CNN (the "foleyworld-av" network, trained with the audio tower) says what is in the picture;
the flow statistics (flow.py, no weights) say what moves against the camera, at a resolution and
in units that do not depend on how the picture was made, so they read camera footage as they read
FoleyWorld. Frames arrive at ``input_size``; the CNN sees them area-averaged to ``cnn_size``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from maskvat_foley.core.features.base import FeatureExtractor, register
from maskvat_foley.core.features.flow import FlowStats
from maskvat_foley.core.features.foleyworld_av import FoleyWorldAVExtractor


@register("av-flow")
class AVFlowExtractor(FeatureExtractor):
    context_frames = 1

    def __init__(self, dim: int = 64, width: int = 16, depth: int = 4,
                 input_size: Sequence[int] = (128, 128), cnn_size: Sequence[int] = (64, 64),
                 grid: int = 4, preset: str = "fast") -> None:
        input_size, cnn_size = tuple(int(v) for v in input_size), tuple(int(v) for v in cnn_size)
        if len(input_size) != 2 or len(cnn_size) != 2 or min(input_size) < 16:
            raise ValueError(f"av-flow: input_size and cnn_size are (W, H) with input_size >= 16 "
                             f"(got {input_size}, {cnn_size})")
        super().__init__(dim=dim, width=width, depth=depth, input_size=input_size, cnn_size=cnn_size,
                         grid=grid, preset=preset)
        self.cnn = FoleyWorldAVExtractor(dim=dim, width=width, depth=depth, input_size=cnn_size)
        self.flow = FlowStats(grid=grid, preset=preset)
        self.input_size, self.cnn_size = input_size, cnn_size
        self.dim = self.cnn.dim + self.flow.dim

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        self.check_frames(frames)
        b, n = frames.shape[:2]
        w, h = self.cnn_size
        small = frames.flatten(0, 1)
        if small.shape[-2:] != (h, w):
            small = F.interpolate(small, size=(h, w), mode="area")
        visual = self.cnn(small.view(b, n, 3, h, w))
        with torch.no_grad():
            luma = (frames[:, :, 0] * 0.299 + frames[:, :, 1] * 0.587 + frames[:, :, 2] * 0.114)
            gray = (luma * 255).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
            motion = np.stack([self.flow(g) for g in gray])
        return torch.cat([visual, torch.from_numpy(motion).to(visual)], dim=-1)
