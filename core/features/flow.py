"""Motion statistics from dense optical flow (OpenCV's DIS, CPU, no weights), one vector per frame.

Real cameras move: a pan or a shake moves every pixel, and none of it makes a sound. So the flow
of each frame pair is split into the camera's motion (a robust affine fit over the whole picture)
and what moves against it (the residual), and the residual is summarised over the picture and on
a coarse grid. How well the flow explains the new frame (the warp error) tells a shot change,
which also makes no sound, from an object's motion. Values are in frame heights per frame,
compressed with a signed log so that a slow pan and a fast swing both stay in range.

The first frame of a clip has no predecessor: its motion is zero (as the CNN's frame difference).
"""
from __future__ import annotations

import numpy as np

PRESETS = ("ultrafast", "fast", "medium")
MOVING = 0.004  # frame heights per frame (half a pixel at 128): slower residual motion is flow noise
UNIT = 0.004    # the signed log's knee, at the flow's noise floor


def stats_dim(grid: int) -> int:
    """Length of one frame's vector: camera 4, residual summary 4, grid 3 per cell, photometric 3."""
    return 4 + 4 + 3 * grid * grid + 3


def _squash(x: np.ndarray, unit: float) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x) / unit) / 4.0


class FlowStats:
    """``__call__(gray)``: uint8 [N, H, W] grey frames -> float32 [N, stats_dim(grid)]."""

    def __init__(self, grid: int = 4, preset: str = "fast") -> None:
        if grid < 1 or preset not in PRESETS:
            raise ValueError(f"flow stats: grid must be >= 1 and preset one of {PRESETS} (got {grid}, {preset!r})")
        self.grid, self.preset = int(grid), preset
        self._dis = None
        self._geom: tuple | None = None

    @property
    def dim(self) -> int:
        return stats_dim(self.grid)

    def _flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self._dis is None:
            import cv2

            p = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                 "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}[self.preset]
            self._dis = cv2.DISOpticalFlow_create(p)
        return self._dis.calc(a, b, None)

    def _grid_geometry(self, h: int, w: int) -> tuple:
        if self._geom is None or self._geom[0] != (h, w):
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            # normalised coordinates (frame heights from the centre) for the camera's affine fit
            u, v = (xs - (w - 1) / 2) / h, (ys - (h - 1) / 2) / h
            sub = (slice(None, None, 4), slice(None, None, 4))
            design = np.stack([np.ones_like(u[sub]).ravel(), u[sub].ravel(), v[sub].ravel()], 1)
            cells = ((np.arange(h)[:, None] * self.grid // h) * self.grid
                     + np.arange(w)[None, :] * self.grid // w).ravel()
            self._geom = ((h, w), xs, ys, u, v, sub, design, cells)
        return self._geom

    def _camera(self, flow: np.ndarray, geom: tuple) -> np.ndarray:
        """Affine camera motion field [H, W, 2] fitted robustly (refit on the 70% best explained)."""
        _, _, _, u, v, sub, design, _ = geom
        target = flow[sub].reshape(-1, 2)
        keep = np.ones(len(target), bool)
        for _ in range(2):
            coef, *_ = np.linalg.lstsq(design[keep], target[keep], rcond=None)
            err = np.abs(design @ coef - target).sum(1)
            keep = err <= np.quantile(err, 0.7)
        return (coef[0] + u[..., None] * coef[1] + v[..., None] * coef[2]).astype(np.float32), coef

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        import cv2

        gray = np.asarray(gray)
        if gray.dtype != np.uint8 or gray.ndim != 3:
            raise ValueError(f"flow stats need uint8 grey frames [N, H, W], got {gray.dtype} {gray.shape}")
        n, h, w = gray.shape
        g = self.grid
        out = np.zeros((n, self.dim), np.float32)
        if n < 2 or h < 8 or w < 8:
            return out
        geom = self._grid_geometry(h, w)
        _, xs, ys, _, _, _, _, cells = geom
        counts = np.bincount(cells, minlength=g * g).astype(np.float32)
        for i in range(1, n):
            a, b = gray[i - 1], gray[i]
            flow = self._flow(a, b) / h                       # frame heights per frame
            cam, coef = self._camera(flow, geom)
            res = flow - cam
            mag = np.hypot(res[..., 0], res[..., 1])
            tx, ty = coef[0]
            zoom = 0.5 * (coef[1, 0] + coef[2, 1])            # divergence: zoom in/out
            rot = 0.5 * (coef[2, 0] - coef[1, 1])             # curl: roll
            m = mag.ravel()
            summary = [m.mean(), np.quantile(m, 0.9), np.quantile(m, 0.99), (m > MOVING).mean()]
            cell_dx = np.bincount(cells, res[..., 0].ravel(), g * g) / counts
            cell_dy = np.bincount(cells, res[..., 1].ravel(), g * g) / counts
            cell_m = np.bincount(cells, m, g * g) / counts
            # b(x) ~ a(x - flow(x)): the previous frame carried along the flow predicts this one
            warped = cv2.remap(a, xs - flow[..., 0] * h, ys - flow[..., 1] * h, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
            af, bf = a.astype(np.float32) / 255.0, b.astype(np.float32) / 255.0
            warp_err = np.abs(warped.astype(np.float32) / 255.0 - bf).mean()
            diff = np.abs(bf - af).mean()
            luma = bf.mean() - af.mean()
            vec = np.concatenate([
                _squash(np.array([tx, ty, zoom, rot]), UNIT),
                _squash(np.array(summary[:3]), UNIT), [summary[3]],
                _squash(cell_dx, UNIT), _squash(cell_dy, UNIT), _squash(cell_m, UNIT),
                _squash(np.array([warp_err, diff, luma]), 0.005)])
            out[i] = vec
        return out


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 3] RGB -> uint8 [N, H, W] luma (BT.601 weights, as video decoders' Y)."""
    x = rgb.astype(np.float32)
    y = x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114
    return np.clip(np.round(y), 0, 255).astype(np.uint8)
