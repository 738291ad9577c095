"""tick: a clock whose hand jumps once per tick; each jump is an event with a click.

Ticks are a whole number of frames apart; the hand is at its new angle from the event frame
on. Tick and tock alternate between two close pitches.
"""
from __future__ import annotations

import numpy as np

from maskvat_foley.core.data import draw as dr, synth
from maskvat_foley.core.data.kinds.base import AudioCtx, PlanCtx, r2
from maskvat_foley.core.data.spec import Event, Source


def plan(rng: np.random.Generator, ctx: PlanCtx) -> tuple[dict, list[Event]]:
    b = ctx.box
    radius = 0.36 * min(b.w, b.h) * float(rng.uniform(0.8, 1.0))
    cx = b.x + b.w / 2 + float(rng.uniform(-0.08, 0.08)) * b.w
    cy = b.y + b.h / 2 + float(rng.uniform(-0.06, 0.06)) * b.h
    steps = int(rng.choice([12, 16, 24]))
    period = ctx.frames(float(rng.choice([0.5, 0.75, 1.0])))
    first = ctx.window[0] + int(rng.integers(0, period))
    a0 = float(rng.integers(steps)) * 2 * np.pi / steps
    ticks = list(range(first, ctx.window[1], period))
    hand = 0.8 * radius
    events = []
    for i, f in enumerate(ticks):
        a = a0 + (i + 1) * 2 * np.pi / steps
        events.append(ctx.event("tick", f, strength=1.0, tock=i % 2, x=r2(cx + hand * np.sin(a)),
                                y=r2(cy - hand * np.cos(a))))
    params = {"center": [r2(cx), r2(cy)], "radius": r2(radius), "steps": steps, "a0": round(a0, 4),
              "ticks": ticks, "pitch": r2(rng.uniform(2500, 4500)), "body": r2(rng.uniform(500, 900)),
              "face": [r2(v) for v in rng.uniform(190, 250, 3)], "rim": [r2(v) for v in rng.uniform(20, 120, 3)]}
    return params, events


def prepare(src: Source, rate, n_frames: int) -> np.ndarray:
    """Hand angle per frame."""
    p = src.params
    n_done = np.searchsorted(np.asarray(p["ticks"], np.int64), np.arange(n_frames), side="right")
    return p["a0"] + n_done * 2 * np.pi / p["steps"]


def draw_static(bg: np.ndarray, src: Source, state) -> None:
    p = src.params
    (cx, cy), r = p["center"], p["radius"]
    dr.disc(bg, cx, cy, r + max(1.5, 0.08 * r), p["rim"])
    dr.disc(bg, cx, cy, r, p["face"])
    for k in range(12):
        a = k * np.pi / 6
        dr.disc(bg, cx + 0.85 * r * np.sin(a), cy - 0.85 * r * np.cos(a), max(0.7, 0.05 * r), (40, 40, 40))
    dr.line(bg, cx, cy, cx + 0.45 * r * np.sin(2.1), cy - 0.45 * r * np.cos(2.1), max(1.5, 0.08 * r), (30, 30, 30))


def draw(img: np.ndarray, src: Source, state, f: int) -> None:
    p = src.params
    (cx, cy), r, a = p["center"], p["radius"], float(state[f])
    dr.line(img, cx, cy, cx + 0.8 * r * np.sin(a), cy - 0.8 * r * np.cos(a), max(1.2, 0.05 * r), (200, 30, 30))
    dr.disc(img, cx, cy, max(1.0, 0.06 * r), (30, 30, 30))


def sound(out: np.ndarray, src: Source, actx: AudioCtx, rng: np.random.Generator) -> None:
    p, sr = src.params, actx.sr
    for e in src.events:
        k = 0.88 if e.params["tock"] else 1.0
        x = synth.modal(sr, [p["pitch"] * k, p["pitch"] * k * 1.7, p["body"] * k], [0.02, 0.012, 0.035],
                        [1.0, 0.5, 0.4], 0.05, phases=[np.pi / 2] * 3)
        click = synth.burst(rng, sr, 0.0015, lo=1500, seconds=0.004)
        x[:len(click)] += 0.8 * click / (np.abs(click).max() + 1e-9)
        synth.place(out, x * float(rng.uniform(0.85, 1.0)), actx.sample(e.frame))
