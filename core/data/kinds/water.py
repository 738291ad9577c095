"""water: drops fall into a pool; each entry is an event (splash click + rising bubble chirp).

A drop falls under gravity and touches the surface exactly on the event frame, where a crown
of droplets and a spreading ring appear. Bigger drops are lower bubbles (Minnaert: f ~ 1/r).
"""
from __future__ import annotations

import numpy as np

from maskvat_foley.core.data import draw as dr, synth
from maskvat_foley.core.data.kinds.base import AudioCtx, PlanCtx, r2
from maskvat_foley.core.data.spec import Event, Source


def plan(rng: np.random.Generator, ctx: PlanCtx) -> tuple[dict, list[Event]]:
    b = ctx.box
    surface = b.y + b.h * float(rng.uniform(0.62, 0.75))
    fall = ctx.frames(float(rng.uniform(0.3, 0.5)))
    drops, events = [], []
    f = ctx.window[0] + int(rng.integers(0, ctx.frames(0.5)))
    while f < ctx.window[1]:
        r = float(rng.uniform(1.2, 2.8)) * b.h / 96 + 0.3
        x = b.x + b.w * float(rng.uniform(0.15, 0.85))
        f0 = float(rng.uniform(600, 900)) * (2.0 / r) ** 0.9  # bigger drop, lower bubble
        drops.append({"frame": f, "x": r2(x), "r": r2(r), "f0": r2(f0)})
        events.append(ctx.event("water", f, strength=r2(min(1.0, r / 2.5)), x=r2(x), y=r2(surface),
                                bubble_hz=r2(f0)))
        f += ctx.frames(float(rng.uniform(0.2, 1.2)))
    params = {"surface": r2(surface), "fall": fall, "drops": drops, "top": r2(b.y + 0.05 * b.h),
              "water": [r2(v) for v in (rng.uniform(20, 60), rng.uniform(70, 120), rng.uniform(130, 200))]}
    return params, events


def prepare(src: Source, rate, n_frames: int) -> None:
    return None


def draw_static(bg: np.ndarray, src: Source, state) -> None:
    b, p = src.box, src.params
    dr.rect(bg, b.x, p["surface"], b.x + b.w, b.y + b.h, p["water"], 1.0, dr.stripes(0.9, 1.5, 0.1, wobble=2.0))
    dr.rect(bg, b.x, p["surface"] - 0.6, b.x + b.w, p["surface"] + 0.6, [min(255, c + 60) for c in p["water"]])


def draw(img: np.ndarray, src: Source, state, f: int) -> None:
    p = src.params
    s, fall, top = p["surface"], p["fall"], p["top"]
    for d in p["drops"]:
        age = f - d["frame"]
        if -fall <= age < 0:  # falling: y = top + (s - top) u^2, at the surface when age = 0
            u = (age + fall) / fall
            y = top + (s - d["r"] - top) * u * u
            dr.ellipse(img, d["x"], y, d["r"], d["r"] * 1.3, (200, 225, 250))
        elif 0 <= age < 8:
            al = 1.0 - age / 8
            dr.ring(img, d["x"], s + 0.5, d["r"] * (1.5 + 1.6 * age), 0.8 + 0.35 * age, 1.0, (235, 245, 255), al)
            if age < 3:  # crown of droplets thrown up on entry
                for k in (-1, 0, 1):
                    dr.disc(img, d["x"] + k * d["r"] * (1 + age), s - d["r"] * (1.5 + 1.2 * age) + (k != 0) * 1.5,
                            0.5 + 0.3 * d["r"], (230, 240, 255), al)


def sound(out: np.ndarray, src: Source, actx: AudioCtx, rng: np.random.Generator) -> None:
    sr = actx.sr
    for d, e in zip(src.params["drops"], src.events):
        b = synth.chirp(sr, d["f0"], float(rng.uniform(4, 10)), float(rng.uniform(0.03, 0.09)), 0.12)
        click = synth.burst(rng, sr, 0.003, lo=2000, seconds=0.008)
        b[:len(click)] += 0.5 * click / (np.abs(click).max() + 1e-9)
        synth.place(out, b * e.params["strength"], actx.sample(e.frame))
