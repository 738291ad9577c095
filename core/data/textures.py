"""Procedural textures with natural-image statistics, for FoleyWorld's footage look.

Photographs have amplitude spectra falling roughly as 1/f (power as 1/f^2); flat shapes have
almost nothing between their edges. ``fractal`` makes such noise by shaping white noise in the
Fourier domain (one FFT pair per field, once per clip); the rest turns fields into surfaces:
grain stretched along one direction, textures laid on a ground plane in perspective, soft masks.
Everything works on whole arrays; no per-pixel Python.
"""
from __future__ import annotations

import numpy as np
from scipy import fft as sfft


def fractal(rng: np.random.Generator, h: int, w: int, slope: float = 1.0,
            stretch: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Zero-mean, unit-std float32 noise [h, w] whose amplitude spectrum falls as 1/f**slope.

    ``stretch`` (sx, sy) scales the frequencies per axis before shaping: sx > 1 damps
    horizontal detail, so structures run along x (wood grain, streaks).
    """
    white = rng.standard_normal((h, w), dtype=np.float32)
    spec = sfft.rfft2(white, workers=1)
    fy = sfft.fftfreq(h).astype(np.float32)[:, None] * np.float32(stretch[1])
    fx = sfft.rfftfreq(w).astype(np.float32)[None, :] * np.float32(stretch[0])
    f = np.sqrt(fy * fy + fx * fx)
    # below the lowest frequency the field can hold the spectrum stays flat (no huge DC blob)
    np.maximum(f, np.float32(1.0 / max(h, w)), out=f)
    spec *= f ** np.float32(-slope)
    out = sfft.irfft2(spec, s=(h, w), workers=1).astype(np.float32, copy=False)
    out -= out.mean()
    out *= 1.0 / (float(out.std()) + 1e-8)
    return out


def profile(rng: np.random.Generator, n: int, slope: float = 1.5) -> np.ndarray:
    """A 1-D fractal curve (skylines, hill lines), zero mean, unit std."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    x = np.fft.irfft(spec * f ** -slope, n)
    return ((x - x.mean()) / (x.std() + 1e-9)).astype(np.float32)


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) * (1.0 / (e1 - e0)), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def mix(c0, c1, t: np.ndarray) -> np.ndarray:
    """Colour c0 where t=0, c1 where t=1; t [h, w] -> [h, w, 3]."""
    c0, c1 = np.asarray(c0, np.float32), np.asarray(c1, np.float32)
    return c0 + t[..., None] * (c1 - c0)


def perspective(tex: np.ndarray, rows: np.ndarray, cols: np.ndarray, horizon: float, vx: float,
                near: float, texels: float) -> np.ndarray:
    """``tex`` laid on a ground plane seen from above the horizon line.

    A row ``d`` pixels below the horizon is at depth ~1/d, so the texture shrinks toward the
    horizon and converges to the vanishing point ``vx``; ``texels`` texels per pixel at
    ``near`` pixels below the horizon. rows [h, 1], cols [1, w] are pixel centres.
    """
    th, tw = tex.shape[:2]
    d = np.maximum(rows - horizon, 0.75)
    z = texels * near * near / d                       # depth along the ground, in texels
    x = texels * near * (cols - vx) / d                 # across
    iy = np.floor(z).astype(np.int64) % th
    ix = np.floor(x).astype(np.int64) % tw
    return tex[iy, ix]


def distance_fade(rows: np.ndarray, horizon: float, near: float) -> np.ndarray:
    """0 at the horizon to 1 at ``near`` pixels below it: far texture averages out (and would
    alias), so detail fades into the mean colour there."""
    return np.clip((rows - horizon) / max(near, 1.0), 0.0, 1.0) ** 0.7


def bricks(h: int, w: int, bh: float, bw: float, mortar: float, x0: float, y0: float,
           seed: float) -> tuple[np.ndarray, np.ndarray]:
    """Running-bond bricks: (per-brick random value in [0,1) [h, w], mortar mask [h, w])."""
    ys = (np.arange(h, dtype=np.float32)[:, None] + 0.5 - y0) / bh
    row = np.floor(ys)
    xs = (np.arange(w, dtype=np.float32)[None, :] + 0.5 - x0) / bw + 0.5 * (row % 2)
    col = np.floor(xs)
    v = np.sin(col * 12.9898 + row * 78.233 + seed) * 43758.5453
    cell = (v - np.floor(v)).astype(np.float32)
    edge = np.minimum(np.minimum(ys - row, 1 - (ys - row)) * bh, np.minimum(xs - col, 1 - (xs - col)) * bw)
    return np.broadcast_to(cell, (h, w)), smoothstep(mortar + 0.5, mortar - 0.5, edge).astype(np.float32)


def block_sum(a: np.ndarray, k: int, axes: tuple[int, int]) -> np.ndarray:
    """Sums over k x k blocks along two axes (sizes cropped to multiples of k) by adding strided
    slices: much faster in numpy than a reduction over a reshaped 6-D view."""
    out = a
    for ax in axes:
        n = out.shape[ax] // k * k
        idx = [slice(None)] * out.ndim
        idx[ax] = slice(0, n, k)
        acc = out[tuple(idx)].copy()
        for i in range(1, k):
            idx[ax] = slice(i, n, k)
            acc += out[tuple(idx)]
        out = acc
    return out


def box_blur(img: np.ndarray, r: int, axes=(0, 1)) -> np.ndarray:
    """Mean over a (2r+1) window along each of ``axes`` (edges repeat), by cumulative sums."""
    if r < 1:
        return img
    out = img
    for ax in axes:
        pad = [(0, 0)] * out.ndim
        pad[ax] = (r + 1, r)
        c = np.cumsum(np.pad(out, pad, mode="edge"), axis=ax, dtype=np.float32)
        n = out.shape[ax]
        hi = np.take(c, np.arange(2 * r + 1, 2 * r + 1 + n), axis=ax)
        lo = np.take(c, np.arange(0, n), axis=ax)
        out = (hi - lo) * np.float32(1.0 / (2 * r + 1))
    return out


def soft_box(h: int, w: int, x0: float, y0: float, x1: float, y1: float, feather: float,
             open_sides: tuple[bool, bool, bool, bool] = (False,) * 4) -> np.ndarray:
    """1 inside the box, falling to 0 over ``feather`` pixels at its sides (separable).
    open_sides (left, top, right, bottom): sides that stay hard (they meet the world's edge)."""
    ys = np.arange(h, dtype=np.float32) + 0.5
    xs = np.arange(w, dtype=np.float32) + 0.5
    f = max(feather, 0.5)

    def ramp(v, a, b, open_a, open_b):
        lo = np.ones_like(v) if open_a else smoothstep(a, a + f, v)
        hi = np.ones_like(v) if open_b else smoothstep(b, b - f, v)
        return lo * hi

    return (ramp(ys, y0, y1, open_sides[1], open_sides[3])[:, None]
            * ramp(xs, x0, x1, open_sides[0], open_sides[2])[None, :]).astype(np.float32)
