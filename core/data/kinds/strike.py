"""strike: a stick on a pivot swings down onto a resting bar of wood/metal/glass/stone.

The stick's tip touches the bar exactly on the event frame (the swing eases in, so it is
fastest at contact); the bar shakes for a few frames and contact lines flash. A faster swing
(fewer frames) is a louder hit.
"""
from __future__ import annotations

import numpy as np

from maskvat_foley.core.data import draw as dr, synth
from maskvat_foley.core.data.kinds.base import AudioCtx, PlanCtx, r2
from maskvat_foley.core.data.materials import MATERIAL_TABLE, hit_sound, material_texture, object_modes
from maskvat_foley.core.data.spec import MATERIALS, Event, Source


def plan(rng: np.random.Generator, ctx: PlanCtx) -> tuple[dict, list[Event]]:
    b = ctx.box
    material = str(rng.choice(MATERIALS))
    bw, bh = b.w * float(rng.uniform(0.35, 0.55)), b.h * float(rng.uniform(0.1, 0.16))
    bx = b.x + b.w * 0.5 + float(rng.uniform(-0.12, 0.12)) * b.w
    top = b.y + b.h * float(rng.uniform(0.6, 0.72))
    side = 1 if rng.random() < 0.5 else -1  # pivot right (1) or left (-1) of the contact
    cxc = bx - side * bw * float(rng.uniform(0.0, 0.3))
    px, py = cxc + side * b.w * float(rng.uniform(0.25, 0.4)), top - b.h * float(rng.uniform(0.15, 0.3))
    hit = float(np.arctan2(top - py, cxc - px))
    raise_ = float(rng.uniform(0.6, 1.0)) * side  # raising swings the tip up, away from the bar
    params = {"material": material, "bar": [r2(bx - bw / 2), r2(top), r2(bx + bw / 2), r2(top + bh)],
              "pivot": [r2(px), r2(py)], "length": r2(np.hypot(cxc - px, top - py)), "hit": round(hit, 4),
              "raise": round(raise_, 4), "seed": r2(rng.uniform(0, 100)),
              **object_modes(rng, material, bw / (0.45 * b.w)), "strikes": []}
    events = []
    f = ctx.window[0] + int(rng.integers(0, ctx.frames(0.5)))
    while True:
        swing = int(rng.integers(2, max(3, ctx.frames(0.22)) + 1))
        f += swing
        if f >= ctx.window[1]:
            return params, events
        strength = min(1.0, 2.5 / swing) * float(rng.uniform(0.7, 1.0))
        params["strikes"].append([f, swing])
        events.append(ctx.event("strike", f, material=material, strength=r2(strength),
                                x=r2(cxc), y=r2(top)))
        f += ctx.frames(0.25) + ctx.frames(float(rng.uniform(0.05, 0.9)))


def prepare(src: Source, rate, n_frames: int) -> np.ndarray:
    """Stick angle per frame (and the bar's shake offset)."""
    p = src.params
    up = p["hit"] + p["raise"]
    angle = np.full(n_frames, up)
    shake = np.zeros(n_frames)
    f = np.arange(n_frames, dtype=np.float64)
    back = max(3, int(round(0.25 * float(rate))))  # same as ctx.frames(0.25) in plan
    for c, swing in p["strikes"]:
        down = (f > c - swing) & (f <= c)
        angle = np.where(down, up - p["raise"] * ((f - (c - swing)) / swing) ** 2, angle)
        rebound = (f > c) & (f < c + back)
        angle = np.where(rebound, p["hit"] + p["raise"] * np.sin(0.5 * np.pi * (f - c) / back), angle)
        age = f - c
        shake += np.where((age >= 0) & (age < 4), 1.2 * (-1) ** age * (1 - age / 4), 0)
    return np.stack([angle, shake])


def draw_static(bg: np.ndarray, src: Source, state) -> None:
    b = src.box
    x0, y0, x1, y1 = src.params["bar"]
    floor = y1 + 0.12 * b.h
    dr.rect(bg, b.x, floor, b.x + b.w, b.y + b.h, (80, 74, 70), 0.8)
    for x in (x0 + 0.15 * (x1 - x0), x1 - 0.15 * (x1 - x0)):  # supports under the bar
        dr.rect(bg, x - 1.2, y1, x + 1.2, floor, (45, 40, 38))


def draw(img: np.ndarray, src: Source, state, f: int) -> None:
    p = src.params
    x0, y0, x1, y1 = p["bar"]
    s = float(state[1, f])
    m = MATERIAL_TABLE[p["material"]]
    tex = material_texture(p["material"], (x0 + x1) / 2, y0, (y1 - y0), p["seed"])
    dr.rect(img, x0 + s, y0, x1 + s, y1, m.color, m.alpha, tex)
    a = float(state[0, f])
    px, py = p["pivot"]
    tx, ty = px + p["length"] * np.cos(a), py + p["length"] * np.sin(a)
    ex, ey = px - 0.25 * p["length"] * np.cos(a), py - 0.25 * p["length"] * np.sin(a)
    dr.line(img, ex, ey, tx, ty, 2.2, (95, 60, 30))
    dr.disc(img, ex, ey, 2.5, (220, 180, 150))  # the hand holding the stick
    for c, _ in p["strikes"]:
        if 0 <= f - c <= 1:  # contact flash: short lines radiating from the contact point
            al = 1.0 if f == c else 0.5
            for k in (-1, 0, 1):
                ang = -np.pi / 2 + 0.6 * k
                dr.line(img, tx + 3 * np.cos(ang), ty + 3 * np.sin(ang), tx + 7 * np.cos(ang),
                        ty + 7 * np.sin(ang), 1.2, (255, 245, 200), al)


def sound(out: np.ndarray, src: Source, actx: AudioCtx, rng: np.random.Generator) -> None:
    p = src.params
    for e in src.events:
        s = hit_sound(rng, actx.sr, p["material"], p["f0"], p["t60"], e.params["strength"])
        stick = synth.burst(rng, actx.sr, 0.004, lo=700, hi=5000, seconds=0.012)
        s[:len(stick)] += 0.35 * e.params["strength"] * stick / (np.abs(stick).max() + 1e-9)
        synth.place(out, s, actx.sample(e.frame))
