"""Frames scaled in memory: for pictures that never went through a video decoder's scaler
(FoleyWorld rendered at camera size, frames handed to the engine in memory). No PyAV."""
from __future__ import annotations


def resize_frames(rgb, size: tuple[int, int], chunk: int = 32):
    """uint8 frames [N, H, W, 3] at ``size`` (width, height): area averaging when shrinking (as a
    scaler does for a picture several times the size), bilinear otherwise; ``chunk`` frames at a time."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    w, h = (int(v) for v in size)
    if w <= 0 or h <= 0:
        raise ValueError(f"size must be positive, got {size}")
    if rgb.shape[1:3] == (h, w):
        return np.ascontiguousarray(rgb)
    mode = "area" if h <= rgb.shape[1] and w <= rgb.shape[2] else "bilinear"
    out = np.empty((len(rgb), h, w, 3), dtype=np.uint8)
    for a in range(0, len(rgb), chunk):
        x = torch.from_numpy(np.ascontiguousarray(rgb[a:a + chunk])).permute(0, 3, 1, 2).float()
        y = F.interpolate(x, size=(h, w), mode=mode, **({} if mode == "area" else {"align_corners": False}))
        out[a:a + chunk] = y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out
