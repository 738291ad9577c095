"""Silent movers for the footage look: motion that makes no sound.

Real pictures are full of motion with no sound (leaves in the wind, a bird crossing, a shadow
passing, the light changing); a model that hears every motion has learned the wrong thing.
World-space distractors are drawn on the canvas (a swaying foreground branch, a drifting
object); screen-space ones are terms of the light field (a passing shadow, a drifting patch of
light, a cloud dimming the scene). None has an event and none touches the audio.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from maskvat_foley.core.data import draw as dr
from maskvat_foley.core.data.kinds.base import r2

KINDS = ("branch", "drifter", "shadow", "light", "cloud")
_P = {"branch": 0.35, "drifter": 0.3, "shadow": 0.3, "light": 0.35, "cloud": 0.25}


def plan(rng: np.random.Generator, view0: np.ndarray, W: int, H: int, n_frames: int, rate: Fraction,
         enabled: bool = True) -> list[dict[str, Any]]:
    """Distractors around the first shot's view ``view0`` (cx, cy, s). All parameters are drawn
    whatever is kept, so toggling them changes nothing else."""
    cx, cy, s = (float(v) for v in view0)
    vw, vh = W * s, H * s
    T = n_frames / float(rate)
    items = []
    present = {k: rng.random() < p for k, p in _P.items()}
    # branch: poking in from a side of the view, swaying about its anchor
    side = int(rng.integers(3))
    L = float(rng.uniform(0.25, 0.6)) * vh
    along = float(rng.uniform(0.1, 0.9))
    if side == 0:
        anchor, th = (cx - vw / 2 - 0.05 * L, cy - vh / 2 + along * vh), float(rng.uniform(-0.6, 0.3))
    elif side == 1:
        anchor, th = (cx + vw / 2 + 0.05 * L, cy - vh / 2 + along * vh), float(np.pi - rng.uniform(-0.6, 0.3))
    else:
        anchor, th = (cx - vw / 2 + along * vw, cy - vh / 2 - 0.05 * L), float(np.pi / 2 + rng.uniform(-0.6, 0.6))
    subs = [[r2(rng.uniform(0.3, 0.9)), r2(rng.choice([-1, 1]) * rng.uniform(0.3, 0.9)), r2(rng.uniform(0.25, 0.5))]
            for _ in range(3)]
    leaves = [[int(rng.integers(4)), r2(rng.uniform(0.35, 1.0)), r2(rng.uniform(-0.08, 0.08)),
               r2(rng.uniform(0.03, 0.075)), r2(rng.uniform(0.4, 0.75)), r2(rng.uniform(0.7, 1.2))] for _ in range(12)]
    branch = {"kind": "branch", "anchor": [r2(anchor[0]), r2(anchor[1])], "length": r2(L), "angle": round(th, 4),
              "sway": [round(float(rng.uniform(0.02, 0.1)), 4), r2(rng.uniform(0.15, 0.9)), r2(rng.uniform(0, 6.28))],
              "width": r2(rng.uniform(0.015, 0.035) * L + 1), "subs": subs, "leaves": leaves,
              "leaf": [r2(v) for v in rng.uniform((30, 50, 22), (70, 95, 45))], "wood": [r2(v) for v in rng.uniform(25, 60, 3)]}
    # drifter: a leaf, ball or bird crossing the view smoothly, touching nothing
    d = 1 if rng.random() < 0.5 else -1
    cross = float(rng.uniform(1.5, 5.0))
    t_in = float(rng.uniform(-0.3, 0.7)) * T
    r = float(rng.uniform(0.01, 0.04)) * vh + 1.5
    drifter = {"kind": "drifter", "t_in": r2(t_in), "cross": r2(cross), "dir": d,
               "x0": r2(cx - d * (vw / 2 + 2 * r)), "x1": r2(cx + d * (vw / 2 + 2 * r)),
               "y": r2(cy + rng.uniform(-0.35, 0.35) * vh), "wobble": [r2(rng.uniform(0, 0.08) * vh), r2(rng.uniform(0.3, 1.2))],
               "r": r2(r), "aspect": r2(rng.uniform(0.5, 1.0)), "color": [r2(v) for v in rng.uniform(30, 230, 3)]}
    # screen space: fractions of the frame, times in seconds
    shadow = {"kind": "shadow", "size": [r2(rng.uniform(0.08, 0.3)), r2(rng.uniform(0.2, 0.8))],
              "depth": r2(rng.uniform(0.15, 0.45)), "t0": r2(rng.uniform(-0.2, 0.7) * T), "duration": r2(rng.uniform(1.0, 4.0)),
              "dir": int(rng.choice([-1, 1])), "y": r2(rng.uniform(0.3, 0.8))}
    light = {"kind": "light", "size": r2(rng.uniform(0.15, 0.4)), "amount": r2(rng.uniform(0.08, 0.3)),
             "path": [r2(v) for v in rng.uniform(-0.1, 1.1, 4)], "seconds": r2(T)}
    cloud = {"kind": "cloud", "depth": r2(rng.uniform(0.1, 0.35)), "t": r2(rng.uniform(0, 1) * T), "width": r2(rng.uniform(0.5, 2.0))}
    for item in (branch, drifter, shadow, light, cloud):
        if enabled and present[item["kind"]]:
            items.append(item)
    return items


def draw_world(img: np.ndarray, items: list[dict[str, Any]], t: float) -> None:
    """Draw the world-space distractors at time ``t`` seconds onto the canvas."""
    for it in items:
        if it["kind"] == "branch":
            _branch(img, it, t)
        elif it["kind"] == "drifter":
            _drifter(img, it, t)


def _branch(img: np.ndarray, b: dict, t: float) -> None:
    amp, f, ph = b["sway"]
    w = 2 * np.pi * f * t + ph
    th = b["angle"] + amp * np.sin(w) + 0.3 * amp * np.sin(2.3 * w + 1.0)
    ax, ay = b["anchor"]
    L = b["length"]
    # stem, then sub-branches; each item: base point, direction, length
    arms = [(ax, ay, th, L)]
    for pos, off, ln in b["subs"]:
        bx, by = ax + pos * L * np.cos(th), ay + pos * L * np.sin(th)
        arms.append((bx, by, th + off + 0.5 * amp * np.sin(1.7 * w), ln * L))
    wood, width = b["wood"], b["width"]
    for k, (x, y, a, ln) in enumerate(arms):
        wk = width if k == 0 else 0.6 * width
        dr.line(img, x, y, x + ln * np.cos(a), y + ln * np.sin(a), wk, wood, 0.9)
    leaf = np.asarray(b["leaf"], np.float32)
    for arm, pos, off, size, asp, tone in b["leaves"]:
        x, y, a, ln = arms[arm]
        flutter = 0.15 * np.sin(3.1 * w + 7 * pos)
        px = x + pos * ln * np.cos(a) - off * L * np.sin(a + flutter)
        py = y + pos * ln * np.sin(a) + off * L * np.cos(a + flutter)
        rx = size * L
        dr.ellipse(img, px, py, rx, rx * asp, leaf * tone, 0.85)


def _drifter(img: np.ndarray, d: dict, t: float) -> None:
    u = (t - d["t_in"]) / d["cross"]
    if not 0 <= u <= 1:
        return
    x = d["x0"] + (d["x1"] - d["x0"]) * u
    amp, f = d["wobble"]
    y = d["y"] + amp * np.sin(2 * np.pi * f * t)
    r = d["r"]
    dr.ellipse(img, x, y, r, r * d["aspect"], d["color"], 0.95, dr.shade(0.4, x, y, r))


def light_terms(items: list[dict[str, Any]], t: np.ndarray, W: int, H: int):
    """Screen-space terms for times ``t`` [n] (seconds): (global factor [n], list of (amount [n],
    gy [n, H], gx [n, W])), the light field being factor * (1 + sum amount * gy (x) gx)."""
    g = np.ones(len(t))
    terms = []
    ys = (np.arange(H) + 0.5) / H
    xs = (np.arange(W) + 0.5) / W
    for it in items:
        k = it["kind"]
        if k == "shadow":
            sx, sy = it["size"]
            u = (t - it["t0"]) / it["duration"]
            cx = np.where(it["dir"] > 0, -2 * sx + u * (1 + 4 * sx), 1 + 2 * sx - u * (1 + 4 * sx))
            on = ((u >= 0) & (u <= 1)).astype(float)
            terms.append((-it["depth"] * on, np.exp(-0.5 * ((ys[None] - it["y"]) / sy) ** 2).repeat(len(t), 0),
                          np.exp(-0.5 * ((xs[None] - cx[:, None]) / sx) ** 2)))
        elif k == "light":
            x0, y0, x1, y1 = it["path"]
            u = np.clip(t / max(it["seconds"], 1e-3), 0, 1)  # it drifts along its path over the clip
            cx, cy = x0 + (x1 - x0) * u, y0 + (y1 - y0) * u
            sz = it["size"]
            terms.append((np.full(len(t), it["amount"]), np.exp(-0.5 * ((ys[None] - cy[:, None]) / sz) ** 2),
                          np.exp(-0.5 * ((xs[None] - cx[:, None]) / sz) ** 2)))
        elif k == "cloud":
            g = g * (1 - it["depth"] * np.exp(-0.5 * ((t - it["t"]) / it["width"]) ** 2))
    return g, terms
