"""Still props and light patches on FoleyWorld's footage backdrops.

Real scenes are cluttered: things stand on the floor (boxes, poles, plants, bins, bushes), lamps
glow, sunlight falls through a window in bright slanted patches and something off-screen casts a
soft shadow. Props are shaded (lit from above, a darker side face, a contact shadow) and
textured; all are drawn once into the plate, each on its bounding box only.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from maskvat_foley.core.data import textures as tx
from maskvat_foley.core.data.kinds.base import r2

_BY_STYLE = {"room": ("box", "box", "pole", "plant", "lamp"), "outdoor": ("pole", "bush", "bush", "rock"),
             "street": ("pole", "box", "bush"), "table": ("box", "lamp"), "studio": ("box",)}
_COLORS = ((150, 110, 75), (172, 132, 92), (120, 122, 128), (210, 208, 200), (70, 72, 78), (96, 70, 50))


def plan(rng: np.random.Generator, style: str, W: int, floor_y: float, view_h: float) -> dict[str, Any]:
    items = []
    for _ in range(int(rng.integers(0, 6))):
        kind = str(rng.choice(_BY_STYLE[style]))
        w = view_h * rng.uniform(0.04, 0.25) if kind != "pole" else view_h * rng.uniform(0.01, 0.04)
        h = view_h * rng.uniform(0.08, 0.5) if kind != "pole" else view_h * rng.uniform(0.6, 1.5)
        x = rng.uniform(-0.05, 1.05) * W
        base = floor_y + view_h * rng.uniform(-0.02, 0.12)  # stands on the floor, nearer or farther
        col = _COLORS[int(rng.integers(len(_COLORS)))]
        if kind in ("bush", "plant"):
            col = (rng.uniform(40, 80), rng.uniform(70, 110), rng.uniform(35, 60))
        items.append({"kind": kind, "x": r2(x), "base": r2(base), "w": r2(w), "h": r2(h),
                      "color": [r2(c * rng.uniform(0.85, 1.15)) for c in col], "side": int(rng.choice([-1, 1]))})
    patches = []
    for _ in range(int(rng.integers(0, 3))):
        sun = rng.random() < 0.6
        o = (rng.uniform(0, W), floor_y - view_h * rng.uniform(-0.2, 0.8))
        e1 = (view_h * rng.uniform(0.1, 0.5), view_h * rng.uniform(-0.1, 0.1))
        e2 = (view_h * rng.uniform(-0.4, 0.4), view_h * rng.uniform(0.2, 0.8))
        patches.append({"origin": [r2(v) for v in o], "e1": [r2(v) for v in e1], "e2": [r2(v) for v in e2],
                        "amount": r2(rng.uniform(0.2, 0.6) if sun else -rng.uniform(0.15, 0.4)),
                        "soft": r2(rng.uniform(0.02, 0.2))})
    return {"items": items, "patches": patches}


def draw(img: np.ndarray, p: dict[str, Any], rng: np.random.Generator) -> None:
    for it in p["items"]:
        _prop(img, it, rng)
    for pt in p["patches"]:
        _patch(img, pt)


def _window(img, x0, y0, x1, y1):
    H, W = img.shape[:2]
    i0, i1 = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)), H)
    j0, j1 = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)), W)
    if i0 >= i1 or j0 >= j1:
        return None
    ys = np.arange(i0, i1, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(j0, j1, dtype=np.float32)[None, :] + 0.5
    return (slice(i0, i1), slice(j0, j1)), ys, xs


def _prop(img: np.ndarray, it: dict, rng: np.random.Generator) -> None:
    x, base, w, h, kind = it["x"], it["base"], it["w"], it["h"], it["kind"]
    col = np.asarray(it["color"], np.float32)
    # contact shadow on the floor first, so the prop stands on it
    r = _window(img, x - 0.8 * w, base - 0.15 * w, x + 0.8 * w, base + 0.15 * w)
    if r is not None:
        sl, ys, xs = r
        d = ((xs - x) / (0.75 * w)) ** 2 + ((ys - base) / (0.12 * w + 1)) ** 2
        img[sl] *= (1 - 0.45 * tx.smoothstep(1.0, 0.2, d))[..., None]
    r = _window(img, x - w / 2, base - h, x + w / 2, base)
    if r is None:
        return
    sl, ys, xs = r
    u = (xs - (x - w / 2)) / max(w, 1e-3)        # 0..1 across
    v = (ys - (base - h)) / max(h, 1e-3)         # 0..1 top to bottom
    hh, ww = ys.shape[0], xs.shape[1]
    grain = 1 + 0.07 * tx.fractal(rng, hh, ww, 1.0)
    if kind in ("bush", "plant", "rock"):  # a lumpy blob: a noisy ellipse
        cy = 0.55 if kind != "plant" else 0.45
        d = ((u - 0.5) / 0.5) ** 2 + ((v - cy) / (1 - cy)) ** 2
        edge = d + 0.35 * tx.fractal(rng, hh, ww, 1.2)
        alpha = tx.smoothstep(1.0, 0.85, edge)
        shade = (1.15 - 0.45 * v) * (1 + (0.25 if kind != "rock" else 0.1) * tx.fractal(rng, hh, ww, 0.8))
    elif kind == "pole":  # a cylinder: lit across by a cosine, darker low down
        alpha = tx.smoothstep(0.0, 0.08, u) * tx.smoothstep(1.0, 0.92, u) * np.ones_like(v)
        shade = (0.6 + 0.5 * np.sin(np.pi * np.clip(u + 0.15 * it["side"], 0, 1))) * (1.05 - 0.2 * v) * grain
    elif kind == "lamp":  # a glowing shade on a stand
        d = ((u - 0.5) / 0.5) ** 2 + ((v - 0.3) / 0.3) ** 2
        alpha = np.maximum(tx.smoothstep(1.0, 0.8, d), tx.smoothstep(0.06, 0.0, np.abs(u - 0.5)) * (v > 0.5))
        shade = np.where(v < 0.6, 2.2 - d, 0.5) * np.ones_like(u)
    else:  # a box: lit top, darker side face, textured
        alpha = tx.smoothstep(0.0, 0.03, u) * tx.smoothstep(1.0, 0.97, u) * tx.smoothstep(0.0, 0.03, v)
        side = (u > 0.75) if it["side"] > 0 else (u < 0.25)
        shade = (1.1 - 0.25 * v) * np.where(side, 0.7, 1.0) * np.where(v < 0.08, 1.2, 1.0) * grain
    region = img[sl]
    region += alpha[..., None] * (col * shade[..., None] - region)


def _patch(img: np.ndarray, pt: dict) -> None:
    """A slanted patch of sunlight (or soft shade): a parallelogram with soft edges."""
    (ox, oy), (ax, ay), (bx, by) = pt["origin"], pt["e1"], pt["e2"]
    corners = np.array([[ox, oy], [ox + ax, oy + ay], [ox + bx, oy + by], [ox + ax + bx, oy + ay + by]])
    r = _window(img, *corners.min(0), *corners.max(0))
    if r is None:
        return
    sl, ys, xs = r
    det = ax * by - ay * bx
    if abs(det) < 1e-6:
        return
    px, py = xs - ox, ys - oy
    u = (px * by - py * bx) / det
    v = (py * ax - px * ay) / det
    s = max(pt["soft"], 0.01)
    m = tx.smoothstep(0, s, u) * tx.smoothstep(1, 1 - s, u) * tx.smoothstep(0, s, v) * tx.smoothstep(1, 1 - s, v)
    img[sl] *= (1 + pt["amount"] * m)[..., None]
