"""Vectorised drawing into float32 RGB frames ([H, W, 3], 0..255).

Every shape is evaluated only on its bounding box, with anti-aliased edges (coverage from the
signed distance to the edge) so sub-pixel motion stays visible and smooth for a model.
Textures are functions of pixel coordinates returning a brightness factor.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

Texture = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (xs [1,w], ys [h,1]) -> factor [h,w]


def _region(img: np.ndarray, x0: float, y0: float, x1: float, y1: float):
    """Clipped slices of the box [x0,x1]x[y0,y1] and its pixel-centre coordinates."""
    H, W = img.shape[:2]
    ix0, iy0 = max(math.floor(x0) - 1, 0), max(math.floor(y0) - 1, 0)
    ix1, iy1 = min(math.ceil(x1) + 1, W), min(math.ceil(y1) + 1, H)
    if ix0 >= ix1 or iy0 >= iy1:
        return None
    return (slice(iy0, iy1), slice(ix0, ix1)), _CENTRES[None, ix0:ix1], _CENTRES[iy0:iy1, None]


_CENTRES = np.arange(4096, dtype=np.float32) + 0.5  # pixel centres; frames are never wider


def _paint(img: np.ndarray, sl, cov: np.ndarray, color, alpha: float,
           texture: Texture | None, xs: np.ndarray, ys: np.ndarray) -> None:
    """Blend ``color`` over img[sl] with coverage ``cov`` (any values; clipped to 0..1 here)."""
    a = np.minimum(np.maximum(cov, 0.0), 1.0)
    if alpha < 1.0:
        a *= alpha
    col = color if isinstance(color, np.ndarray) else np.array(color, np.float32)
    if texture is not None:
        col = col * texture(xs, ys)[..., None]
    region = img[sl]
    region += a[..., None] * (col - region)


def rect(img: np.ndarray, x0: float, y0: float, x1: float, y1: float, color, alpha: float = 1.0,
         texture: Texture | None = None) -> None:
    r = _region(img, x0, y0, x1, y1)
    if r is None:
        return
    sl, xs, ys = r
    cx = np.minimum(np.minimum(xs - x0, x1 - xs) + 0.5, 1.0)
    cy = np.minimum(np.minimum(ys - y0, y1 - ys) + 0.5, 1.0)
    _paint(img, sl, np.maximum(cx, 0.0) * np.maximum(cy, 0.0), color, alpha, texture, xs, ys)


def ellipse(img: np.ndarray, cx: float, cy: float, rx: float, ry: float, color, alpha: float = 1.0,
            texture: Texture | None = None) -> None:
    rx, ry = max(rx, 0.3), max(ry, 0.3)
    r = _region(img, cx - rx, cy - ry, cx + rx, cy + ry)
    if r is None:
        return
    sl, xs, ys = r
    m = min(rx, ry)
    d = np.sqrt(np.square((xs - cx) * (1 / rx)) + np.square((ys - cy) * (1 / ry)))
    _paint(img, sl, (m + 0.5) - m * d, color, alpha, texture, xs, ys)


def disc(img: np.ndarray, cx: float, cy: float, radius: float, color, alpha: float = 1.0,
         texture: Texture | None = None) -> None:
    ellipse(img, cx, cy, radius, radius, color, alpha, texture)


def ring(img: np.ndarray, cx: float, cy: float, rx: float, ry: float, width: float, color,
         alpha: float = 1.0) -> None:
    rx, ry = max(rx, 0.5), max(ry, 0.5)
    r = _region(img, cx - rx - width, cy - ry - width, cx + rx + width, cy + ry + width)
    if r is None:
        return
    sl, xs, ys = r
    m = min(rx, ry)
    d = np.sqrt(np.square((xs - cx) * (1 / rx)) + np.square((ys - cy) * (1 / ry)))
    _paint(img, sl, (width / 2 + 0.5) - np.abs(d - 1.0) * m, color, alpha, None, xs, ys)


def line(img: np.ndarray, xa: float, ya: float, xb: float, yb: float, width: float, color,
         alpha: float = 1.0) -> None:
    """A thick segment with round caps."""
    h = width / 2
    r = _region(img, min(xa, xb) - h, min(ya, yb) - h, max(xa, xb) + h, max(ya, yb) + h)
    if r is None:
        return
    sl, xs, ys = r
    dx, dy = xb - xa, yb - ya
    n2 = dx * dx + dy * dy
    px, py = xs - xa, ys - ya
    if n2 > 1e-9:
        t = np.minimum(np.maximum((px * (dx / n2)) + (py * (dy / n2)), 0.0), 1.0)
        dist = np.sqrt(np.square(px - t * dx) + np.square(py - t * dy))
    else:
        dist = np.sqrt(np.square(px) + np.square(py))
    _paint(img, sl, (h + 0.5) - dist, color, alpha, None, xs, ys)


# Textures: brightness factors around 1, deterministic functions of pixel position.

def hash2(xs: np.ndarray, ys: np.ndarray, seed: float = 0.0) -> np.ndarray:
    """Per-pixel pseudo-random values in [0, 1) (integer-cell hash, no RNG state)."""
    v = np.sin(np.floor(xs) * 12.9898 + np.floor(ys) * 78.233 + seed * 37.719) * 43758.5453
    return v - np.floor(v)


def stripes(freq: float, angle: float, amp: float, phase: float = 0.0, wobble: float = 0.0) -> Texture:
    c, s = np.cos(angle), np.sin(angle)

    def tex(xs, ys):
        u = xs * c + ys * s
        v = -xs * s + ys * c
        return 1.0 + amp * np.sin(freq * u + phase + wobble * np.sin(0.31 * v))
    return tex


def speckle(amp: float, seed: float = 0.0, cell: float = 1.0) -> Texture:
    def tex(xs, ys):
        return 1.0 + amp * (hash2(xs / cell, ys / cell, seed) - 0.5) * 2
    return tex


def grid(period: float, width: float, amp: float, x0: float = 0.0, y0: float = 0.0) -> Texture:
    def tex(xs, ys):
        gx = np.abs(((xs - x0) % period) - period / 2) > period / 2 - width
        gy = np.abs(((ys - y0) % period) - period / 2) > period / 2 - width
        return 1.0 - amp * (gx | gy)
    return tex


def shade(light: float, cx: float, cy: float, r: float) -> Texture:
    """A highlight toward the upper left, for round shiny things."""
    hx, hy, k = cx - 0.35 * r, cy - 0.35 * r, 1.0 / max(r, 1.0)

    def tex(xs, ys):
        d = np.sqrt(np.square((xs - hx) * k) + np.square((ys - hy) * k))
        return 1.0 + light * np.square(np.maximum(1.0 - d, 0.0)) - 0.25 * light * np.minimum(np.maximum(d - 0.8, 0.0), 1.0)
    return tex


def combine(*texs: Texture) -> Texture:
    def tex(xs, ys):
        out = texs[0](xs, ys)
        for t in texs[1:]:
            out = out * t(xs, ys)
        return out
    return tex
