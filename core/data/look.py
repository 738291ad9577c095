"""Backgrounds and the camera: what every FoleyWorld frame looks like apart from its sources.

Backgrounds are colours, gradients or textures; the camera adds sensor noise, slight exposure
flicker, mild blur and compression-like artefacts (8x8 block smoothing, level banding).
All choices are drawn at planning time; rendering only needs the video RNG for noise.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from maskvat_foley.core.data.kinds.base import r2

BACKGROUNDS = ("solid", "vgradient", "hgradient", "noise", "stripes")


def _color(rng: np.random.Generator) -> list[float]:
    """A muted colour: sources must stand out, so backgrounds avoid saturated extremes."""
    base = rng.uniform(40, 200)
    return [r2(np.clip(base + rng.uniform(-45, 45), 15, 235)) for _ in range(3)]


def plan_background(rng: np.random.Generator) -> dict[str, Any]:
    style = str(rng.choice(BACKGROUNDS))
    bg: dict[str, Any] = {"style": style, "colors": [_color(rng), _color(rng)]}
    if style == "noise":
        bg["grid"] = rng.uniform(-1, 1, (4, 4)).round(3).tolist()
        bg["amount"] = r2(rng.uniform(0.1, 0.3))
    elif style == "stripes":
        bg["freq"] = round(float(rng.uniform(0.1, 0.5)), 3)
        bg["angle"] = r2(rng.uniform(0, np.pi))
        bg["amount"] = r2(rng.uniform(0.05, 0.2))
    return bg


def render_background(bg: dict[str, Any], width: int, height: int) -> np.ndarray:
    c0, c1 = (np.asarray(c, np.float32) for c in bg["colors"])
    ys = (np.arange(height, dtype=np.float32)[:, None, None] + 0.5) / height
    xs = (np.arange(width, dtype=np.float32)[None, :, None] + 0.5) / width
    style = bg["style"]
    if style == "vgradient":
        return (c0 + (c1 - c0) * ys) * np.ones_like(xs)
    if style == "hgradient":
        return (c0 + (c1 - c0) * xs) * np.ones_like(ys)
    img = np.broadcast_to(c0, (height, width, 3)).astype(np.float32)
    if style == "noise":  # smooth value noise: a 4x4 grid, bilinearly upsampled
        g = np.asarray(bg["grid"], np.float32)
        gy, gx = ys[..., 0] * 3, xs[..., 0] * 3
        i, j = np.minimum(gy.astype(int), 2), np.minimum(gx.astype(int), 2)
        fy, fx = gy - i, gx - j
        v = (g[i, j] * (1 - fy) * (1 - fx) + g[i + 1, j] * fy * (1 - fx)
             + g[i, j + 1] * (1 - fy) * fx + g[i + 1, j + 1] * fy * fx)
        img = img * (1 + bg["amount"] * v[..., None]) + (c1 - c0) * 0.3 * (v[..., None] > 0.3)
    elif style == "stripes":
        a = bg["angle"]
        u = (xs * width * np.cos(a) + ys * height * np.sin(a))
        img = img * (1 + bg["amount"] * np.sin(bg["freq"] * u))
    return np.clip(img, 0, 255).astype(np.float32)


def plan_camera(rng: np.random.Generator) -> dict[str, Any]:
    return {"noise": r2(rng.uniform(0.5, 3.5)),
            "flicker": round(float(rng.uniform(0, 0.012)), 4),
            "blur": r2(rng.uniform(0.2, 0.8)) if rng.random() < 0.4 else 0.0,
            "blocks": r2(rng.uniform(0.15, 0.45)) if rng.random() < 0.3 else 0.0,
            "levels": int(rng.choice([1, 1, 1, 4, 6]))}


class Camera:
    """Applies a clip's camera to batches of float frames [n, H, W, 3] -> uint8.

    Sensor noise comes from a small pre-drawn bank cropped at a random offset per frame:
    drawing fresh normals for every pixel of every frame would cost more than the drawing.
    """

    PAD = 8

    def __init__(self, cam: dict[str, Any], width: int, height: int, rng: np.random.Generator):
        self.cam, self.w, self.h, self.rng = cam, width, height, rng
        self.bank = rng.standard_normal((3, height + self.PAD, width + self.PAD, 3), dtype=np.float32)
        self.bank *= cam["noise"]
        h8 = height // 8
        self.pool = np.kron(np.eye(h8, dtype=np.float32), np.full((1, 8), 1 / 8, np.float32))

    def __call__(self, img: np.ndarray) -> np.ndarray:
        cam, rng, n = self.cam, self.rng, len(img)
        if cam["blur"]:
            p = np.pad(img, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
            sm = (p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]) * 0.25
            sm = (sm[:, :, :-2] + 2 * sm[:, :, 1:-1] + sm[:, :, 2:]) * 0.25
            img += cam["blur"] * (sm - img)
        if cam["blocks"]:
            self._blocks(img, cam["blocks"])
        gain = 1 + cam["flicker"] * rng.standard_normal(n).astype(np.float32)
        img *= gain[:, None, None, None]
        ks = rng.integers(0, 3, n)
        offs = rng.integers(0, self.PAD, (n, 2))
        for i in range(n):
            oy, ox = offs[i]
            img[i] += self.bank[ks[i], oy:oy + self.h, ox:ox + self.w]
        if cam["levels"] > 1:  # banding, as from coarse quantisation
            img *= 1 / cam["levels"]
            np.round(img, out=img)
            img *= cam["levels"]
        np.clip(img, 0, 255, out=img)
        return img.astype(np.uint8)

    def _blocks(self, img: np.ndarray, amount: float) -> None:
        """Pull each 8x8 block toward its mean, like a coarse block codec."""
        n = len(img)
        H8, W8 = self.h // 8 * 8, self.w // 8 * 8
        rows = np.matmul(self.pool, img[:, :H8].reshape(n, H8, self.w * 3))  # [n, H8/8, W*3]
        means = rows.reshape(n, H8 // 8, self.w, 3)[:, :, :W8].reshape(n, H8 // 8, W8 // 8, 8, 3).mean(axis=3)
        sub = img[:, :H8, :W8]
        blocks = sub.reshape(n, H8 // 8, 8, W8 // 8, 8, 3)  # a copy unless both sizes are x8
        blocks += amount * (means[:, :, None, :, None, :] - blocks)
        if not np.shares_memory(blocks, img):
            img[:, :H8, :W8] = blocks.reshape(n, H8, W8, 3)
