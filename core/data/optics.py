"""Lens, sensor and encoder of the footage look, applied to batches of output frames.

Order follows a camera: shutter (objects and camera motion blurred within the exposure), light
on the scene (vignette, exposure and its drift, passing shadows and light from distractors),
sensor noise, tone curve and white balance, then the encoder (block smoothing, banding) and
8-bit output. Every step is whole-array numpy on [n, H, W, 3].
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from maskvat_foley.core.data import distractors
from maskvat_foley.core.data.kinds.base import r2
from maskvat_foley.core.data.textures import block_sum

EXPOSURES = ("dark", "normal", "bright")


def plan(rng: np.random.Generator, opts: dict[str, Any]) -> dict[str, Any]:
    """The clip's optics. Every number is drawn whatever ``opts`` force, so forcing the exposure
    changes nothing else."""
    u = rng.random()
    mode = "dark" if u < 0.15 else "bright" if u < 0.3 else "normal"
    gains = {"dark": rng.uniform(0.18, 0.42), "normal": rng.uniform(0.8, 1.2), "bright": rng.uniform(1.4, 2.2)}
    noises = {"dark": rng.uniform(3.0, 8.0), "normal": rng.uniform(0.6, 3.5), "bright": rng.uniform(0.4, 2.0)}
    if opts.get("exposure") is not None:
        mode = opts["exposure"]
    p = {"exposure": mode, "gain": r2(gains[mode]),
         "drift": [round(float(rng.uniform(0, 0.08)), 3), r2(rng.uniform(0.05, 0.4)), r2(rng.uniform(0, 6.28))],
         "flicker": round(float(rng.uniform(0, 0.03)) if rng.random() < 0.15 else 0.0, 4),
         "vignette": r2(rng.uniform(0, 0.45)), "wb": [r2(v) for v in rng.uniform(0.88, 1.12, 3)],
         "bend": r2(rng.uniform(-0.3, 0.5)), "black": r2(rng.uniform(0, 0.06)), "contrast": r2(rng.uniform(0.95, 1.4)),
         "noise": r2(noises[mode]), "noise_luma": r2(rng.uniform(0.4, 0.9)), "noise_soft": bool(rng.random() < 0.3),
         "blend": r2(rng.uniform(0.15, 0.45) if rng.random() < 0.7 else 0.0), "shutter": r2(rng.uniform(0.3, 1.0)),
         "blocks": r2(rng.uniform(0.05, 0.3) if rng.random() < 0.5 else 0.0), "block": int(rng.choice([8, 8, 16])),
         "levels": int(rng.choice([1, 1, 1, 1, 3, 4, 6])),
         "defocus": int(rng.choice([1, 1, 1, 1, 2]))}
    return p


class Optics:
    """Turns float frames (the camera's view of the world) into uint8 output frames.

    Per-pixel work runs on flat [n, H, W*3] views with per-column factors tiled to W*3:
    numpy is an order of magnitude slower when the innermost broadcast axis is the 3 colours.
    """

    def __init__(self, p: dict[str, Any], W: int, H: int, rng: np.random.Generator, views: np.ndarray,
                 cuts: list[int], shot_ev: np.ndarray, items: list[dict], rate: Fraction):
        self.p, self.W, self.H, self.rng, self.items = p, W, H, rng, items
        n = len(views)
        self.t = np.arange(n) / float(rate)
        # the light field is smooth: worked out on 2x2 pixel cells, each cell's value repeated
        self.k = 2 if H % 2 == 0 and W % 2 == 0 else 1
        hk, wk = H // self.k, W // self.k
        vy = 1 - p["vignette"] * ((np.arange(hk) + 0.5) / hk - 0.5) ** 2 * 2.0
        vx = 1 - p["vignette"] * ((np.arange(wk) + 0.5) / wk - 0.5) ** 2 * 2.0
        self.vig = (vy[:, None] * vx[None, :]).astype(np.float32)
        bank = rng.standard_normal((3, H + 8, W + 8, 3), dtype=np.float32)
        if p["noise_soft"]:  # denoised / upscaled sensors leave blotchy, not per-pixel, grain
            bank = 0.5 * bank + 0.25 * (np.roll(bank, 1, 1) + np.roll(bank, 1, 2))
        a = p["noise_luma"]
        # white balance and the 1/255 of the tone curve are folded into the light field (and
        # the noise): one pass over the pixels fewer
        self.wb = np.tile(np.asarray(p["wb"], np.float32) / 255, W)
        self.bank = (p["noise"] * (a * bank[..., :1] + np.sqrt(1 - a * a) * bank)).astype(np.float32)
        self.bank *= np.asarray(p["wb"], np.float32) / 255
        # camera speed in output px per frame (for motion blur); none across a cut
        vel = np.zeros((n, 2))
        if n > 1:
            vel[1:] = np.diff(views[:, :2], axis=0) / views[1:, 2:3]
        new_shot = np.zeros(n, bool)
        new_shot[0] = True
        new_shot[cuts] = True
        vel[new_shot] = 0
        self.blur = vel * p["shutter"]  # the camera's path during the exposure, output px
        self.blend = np.where(new_shot, 0.0, p["blend"]).astype(np.float32)
        amp, f, ph = p["drift"]
        # contrast c about mid-grey: x c + (1 - c) / 2, the factor folded into the light field
        g = p["contrast"] * p["gain"] * 2.0 ** shot_ev * (1 + amp * np.sin(2 * np.pi * f * self.t + ph))
        if p["flicker"]:
            g = g * (1 + p["flicker"] * rng.standard_normal(n))
        self.gain = g
        self.last: np.ndarray | None = None

    def __call__(self, img: np.ndarray, f0: int) -> np.ndarray:
        p, n = self.p, len(img)
        sl = slice(f0, f0 + n)
        flat = img.reshape(n, self.H, self.W * 3)
        self._shutter(img, sl)
        self._light(flat, sl)
        ks = self.rng.integers(0, 3, n)
        offs = self.rng.integers(0, 8, (n, 2))
        for i in range(n):
            oy, ox = offs[i]
            img[i] += self.bank[ks[i], oy:oy + self.H, ox:ox + self.W]
        flat += np.float32((1 - p["contrast"]) / 2)
        np.clip(flat, 0, 1, out=flat)
        # tone: 255 (b + (1 - b) x (1 + k - k x)), a mid-tone bend through (0,0) and (1,1) over a
        # lifted black, as x (A - B x) + C in four passes
        k, b = p["bend"], p["black"]
        t = flat * np.float32(255 * (1 - b) * k)
        np.subtract(np.float32(255 * (1 - b) * (1 + k)), t, out=t)
        flat *= t
        flat += np.float32(255 * b)
        if p["blocks"]:
            _blocks(img, p["blocks"], p["block"])
        if p["levels"] > 1:
            flat *= 1 / p["levels"]
            np.round(flat, out=flat)
            flat *= p["levels"]
            np.clip(flat, 0, 255, out=flat)
        return img.astype(np.uint8)  # the tone curve already keeps values in [0, 255]

    def _shutter(self, img: np.ndarray, sl: slice) -> None:
        """Exposure-time blur: a fraction of the previous frame (moving objects smear, nothing
        leaks across a cut) and a directional box blur along the camera's motion."""
        last = img[-1].copy()
        a = self.blend[sl]
        if a.any():
            prev = np.empty_like(img)
            prev[1:] = img[:-1]
            prev[0] = img[0] if self.last is None else self.last
            img *= (1 - a)[:, None, None, None]
            prev *= a[:, None, None, None]
            img += prev
        self.last = last
        for i, (bx, by) in enumerate(self.blur[sl]):
            if max(abs(bx), abs(by)) >= 1.5:
                img[i] = _smear(img[i], bx, by)

    def _light(self, flat: np.ndarray, sl: slice) -> None:
        """Multiply by the light field: vignette x exposure x (1 + distractor terms)."""
        t = self.t[sl]
        n, k = len(t), self.k
        hk, wk = self.H // k, self.W // k
        g, terms = distractors.light_terms(self.items, t, wk, hk)
        field = np.broadcast_to(self.vig, (n, hk, wk)) * (g * self.gain[sl]).astype(np.float32)[:, None, None]
        for amount, gy, gx in terms:
            if np.any(amount):
                field = field * (1 + (amount[:, None] * gy).astype(np.float32)[:, :, None] * gx.astype(np.float32)[:, None, :])
        cells = np.repeat(field, 3 * k, axis=2)  # [n, hk, W*3]: every channel of k columns
        cells *= self.wb
        flat.reshape(n, hk, k, self.W * 3)[:] *= cells[:, :, None, :]


def _smear(frame: np.ndarray, bx: float, by: float) -> np.ndarray:
    """Motion blur of one frame [H, W, 3] along (bx, by) output px: the mean of a few copies
    shifted along that path. A handful of taps reads as a streak at these speeds and costs a
    handful of passes, where a true box filter along a diagonal costs far more. The border
    strips as wide as the path stay as they are."""
    length = max(abs(bx), abs(by))
    taps = int(min(max(np.ceil(length / 2), 2), 6))
    t = np.linspace(-0.5, 0.5, taps)
    dx, dy = np.round(t * bx).astype(int), np.round(t * by).astype(int)
    mx, my = int(np.abs(dx).max()), int(np.abs(dy).max())
    H, W = frame.shape[:2]
    if 2 * mx >= W or 2 * my >= H:
        return frame
    out = frame.copy()
    inner = out[my:H - my, mx:W - mx]
    np.add(frame[my + dy[0]:H - my + dy[0], mx + dx[0]:W - mx + dx[0]], frame[my + dy[1]:H - my + dy[1], mx + dx[1]:W - mx + dx[1]], out=inner)
    for x, y in zip(dx[2:], dy[2:]):
        inner += frame[my + y:H - my + y, mx + x:W - mx + x]
    inner *= np.float32(1 / taps)
    return out


def _blocks(img: np.ndarray, amount: float, bs: int) -> None:
    """Pull each bs x bs block toward its mean, like a starved block codec."""
    n, H, W = img.shape[:3]
    Hb, Wb = H // bs * bs, W // bs * bs
    if not Hb or not Wb:
        return
    mean = block_sum(img, bs, (1, 2))
    mean *= amount / (bs * bs)
    rows = np.repeat(mean, bs, axis=2).reshape(n, Hb // bs, 1, Wb * 3)  # each block row's means
    sub = img[:, :Hb, :Wb]
    sub *= 1 - amount
    if Wb == W:
        sub.reshape(n, Hb // bs, bs, W * 3)[:] += rows
    else:
        sub += np.broadcast_to(rows, (n, Hb // bs, bs, Wb * 3)).reshape(n, Hb, Wb, 3)
