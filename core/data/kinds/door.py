"""door: a door swings shut (slam + latch rattle) and later swings open again silently.

Seen from the front, an open door shows a dark gap beside its panel; the gap's width follows
the door's openness. Closing accelerates until the gap vanishes on the event frame; the frame
shakes and dust falls from its top.
"""
from __future__ import annotations

import numpy as np

from maskvat_foley.core.data import draw as dr, synth
from maskvat_foley.core.data.kinds.base import AudioCtx, PlanCtx, puff, r2
from maskvat_foley.core.data.spec import Event, Source


def plan(rng: np.random.Generator, ctx: PlanCtx) -> tuple[dict, list[Event]]:
    b = ctx.box
    dh = b.h * float(rng.uniform(0.55, 0.75))
    dw = min(dh * float(rng.uniform(0.4, 0.55)), 0.5 * b.w)
    x0 = b.x + (b.w - dw) * float(rng.uniform(0.2, 0.8))
    y1 = b.y + b.h * float(rng.uniform(0.88, 0.95))
    hinge = 1 if rng.random() < 0.5 else -1  # 1: hinge on the left edge
    params = {"rect": [r2(x0), r2(y1 - dh), r2(x0 + dw), r2(y1)], "hinge": hinge,
              "color": [r2(v) for v in rng.uniform(60, 200, 3)], "wall": [r2(v) for v in rng.uniform(120, 220, 3)],
              "open": r2(rng.uniform(0.6, 0.85)), "moves": [], "seed": r2(rng.uniform(0, 100))}
    events = []
    f = ctx.window[0] + int(rng.integers(0, ctx.frames(0.6)))
    while True:
        close = ctx.frames(float(rng.uniform(0.25, 0.7)))
        f += close
        if f >= ctx.window[1]:
            break
        strength = min(1.0, 0.35 / (close / ctx.fps)) * float(rng.uniform(0.75, 1.0))
        latch_x = x0 + (dw if hinge > 0 else 0.0)
        events.append(ctx.event("door", f, strength=r2(strength), x=r2(x0 + dw / 2), y=r2(y1 - dh),
                                latch_x=r2(latch_x)))
        wait, reopen = ctx.frames(float(rng.uniform(0.4, 1.2))), ctx.frames(float(rng.uniform(0.6, 1.2)))
        params["moves"].append([f, close, wait, reopen])
        f += wait + reopen + ctx.frames(float(rng.uniform(0.1, 0.6)))
    return params, events


def prepare(src: Source, rate, n_frames: int) -> np.ndarray:
    """Per frame: the door's openness (0 shut .. 1 open) and the frame's shake offset ([2, N])."""
    p = src.params
    f = np.arange(n_frames, dtype=np.float64)
    ang = np.full(n_frames, 1.0 if p["moves"] else 0.0)
    shake = np.zeros(n_frames)
    for c, close, wait, reopen in p["moves"]:
        u = (f - (c - close)) / close
        ang = np.where((u > 0) & (f < c), 1 - u ** 2, ang)  # speeds up toward the slam
        ang = np.where((f >= c) & (f < c + wait), 0.0, ang)
        v = (f - (c + wait)) / reopen
        ang = np.where((v >= 0) & (v <= 1), (1 - np.cos(np.pi * v)) / 2, ang)
        ang = np.where(v > 1, 1.0, ang)
        age = f - c
        shake += np.where((age >= 0) & (age < 4), (-1) ** age * 1.3 * (1 - age / 4), 0)
    return np.stack([ang, shake])


def draw_static(bg: np.ndarray, src: Source, state) -> None:
    b, p = src.box, src.params
    dr.rect(bg, b.x, b.y, b.x + b.w, b.y + b.h, p["wall"], 0.8, dr.grid(9.0, 0.5, 0.08, x0=p["seed"]))
    x0, y0, x1, y1 = p["rect"]
    dr.rect(bg, b.x, y1, b.x + b.w, b.y + b.h, [c * 0.5 for c in p["wall"]], 1.0)


def draw(img: np.ndarray, src: Source, state, f: int) -> None:
    p = src.params
    x0, y0, x1, y1 = p["rect"]
    ang, s = float(state[0, f]), float(state[1, f])  # ang: openness 0..1
    dr.rect(img, x0 - 2, y0 - 2 + s, x1 + 2, y1, (70, 55, 40))            # frame
    dr.rect(img, x0, y0 + s, x1, y1, (25, 22, 20))                          # dark room behind
    w = (x1 - x0) * (1 - p["open"] * ang)
    if w > 0.3:
        lx, rx = (x0, x0 + w) if p["hinge"] > 0 else (x1 - w, x1)
        dr.rect(img, lx, y0 + s, rx, y1, [c * (1 - 0.3 * ang) for c in p["color"]])
        kx = rx - 0.15 * w if p["hinge"] > 0 else lx + 0.15 * w
        dr.disc(img, kx, (y0 + y1) / 2 + s, max(1.0, 0.05 * (x1 - x0)), (215, 190, 90))
    for i, m in enumerate(p["moves"]):
        if 0 <= f - m[0] <= 3:
            puff(img, (x0 + x1) / 2, y0 + 2, f - m[0], 1.0, (235, 225, 205), p["seed"] + i, n=7,
                 spread=max(1.0, (x1 - x0) / 12))


def sound(out: np.ndarray, src: Source, actx: AudioCtx, rng: np.random.Generator) -> None:
    sr = actx.sr
    for e in src.events:
        thump = synth.modal(sr, rng.uniform([65, 140, 290], [95, 190, 380]), [0.22, 0.12, 0.06],
                            [1.0, 0.6, 0.3], 0.35, phases=[np.pi / 2] * 3)
        crack = synth.burst(rng, sr, 0.02, lo=400, seconds=0.04)
        x = thump / (np.abs(thump).max() + 1e-9)
        x[:len(crack)] += 0.8 * crack / (np.abs(crack).max() + 1e-9)
        for k in range(int(rng.integers(3, 8))):  # the latch and handle rattling after the slam
            at = int(sr * (0.02 + 0.025 * k + rng.uniform(0, 0.015)))
            tick = synth.modal(sr, rng.uniform([1800, 3500], [2600, 4800]), [0.02, 0.012], [1, 0.5], 0.03,
                               phases=[np.pi / 2] * 2)
            synth.place(x, tick, at, 0.35 * 0.75 ** k)
        synth.place(out, x * e.params["strength"], actx.sample(e.frame))
