"""rain: drops streak down; each drop reaching the ground is an event with a small click.

The density (drops per second) follows a random smooth profile over the clip, including
stretches with no rain; the number of visible streaks follows it, and so does the clicking.
"""
from __future__ import annotations

import numpy as np

from maskvat_foley.core.data import draw as dr, synth
from maskvat_foley.core.data.kinds.base import AudioCtx, PlanCtx, r2
from maskvat_foley.core.data.spec import Event, Source


def plan(rng: np.random.Generator, ctx: PlanCtx) -> tuple[dict, list[Event]]:
    b = ctx.box
    ground = b.y + b.h * float(rng.uniform(0.82, 0.9))
    fall = ctx.frames(float(rng.uniform(0.2, 0.35)))
    peak = float(rng.uniform(6, 22))  # drops per second at the heaviest
    lo, hi = ctx.window
    knots = rng.uniform(-0.4, 1.0, 5).clip(0, 1)  # density profile over the window, zeros allowed
    knots[int(rng.integers(5))] = 1.0
    frames = np.arange(lo, hi)
    dens = np.interp(frames, np.linspace(lo, hi, 5), knots) * peak if hi > lo else np.zeros(0)
    counts = rng.poisson(dens / ctx.fps) if len(frames) else np.zeros(0, int)
    if hi > lo and counts.sum() == 0:
        counts[int(rng.integers(len(counts)))] = 1  # a requested rain source always rains
    drops, events = [], []
    for f, n in zip(frames, counts):
        for _ in range(int(min(n, 4))):
            x = b.x + b.w * float(rng.uniform(0.03, 0.97))
            size = float(rng.uniform(0.4, 1.0))
            drops.append([int(f), r2(x), r2(size)])
            events.append(ctx.event("rain", int(f), strength=r2(size), x=r2(x), y=r2(ground)))
    params = {"ground": r2(ground), "fall": fall, "peak": r2(peak), "knots": knots.round(3).tolist(),
              "drops": drops, "sky": [r2(v) for v in rng.uniform(50, 110, 3)]}
    return params, events


def prepare(src: Source, rate, n_frames: int) -> np.ndarray:
    return np.asarray([d[0] for d in src.params["drops"]], np.int64)


def draw_static(bg: np.ndarray, src: Source, state) -> None:
    b, p = src.box, src.params
    dr.rect(bg, b.x, b.y, b.x + b.w, p["ground"], p["sky"], 0.55)
    dr.rect(bg, b.x, p["ground"], b.x + b.w, b.y + b.h, (55, 50, 48), 1.0, dr.speckle(0.2, b.x))


def draw(img: np.ndarray, src: Source, state, f: int) -> None:
    p, b = src.params, src.box
    g, fall = p["ground"], p["fall"]
    top = b.y - 2.0
    i0, i1 = np.searchsorted(state, f - 3), np.searchsorted(state, f + fall, side="right")
    for hit, x, size in p["drops"][i0:i1]:
        age = f - hit
        if age < 0:  # falling at constant speed; the streak's foot reaches the ground at age 0
            yb = g + (g - top) * age / fall
            dr.line(img, x, yb - 5 * size - 2, x, yb - 0.5, 1.3, (215, 228, 250), 0.95)
        else:  # splash on the ground
            al = 1.0 - age / 4
            dr.ring(img, x, g + 0.5, 1.8 + 1.6 * age, 0.8 + 0.4 * age, 1.2, (235, 242, 255), al)
            if age == 0:
                dr.disc(img, x, g - 1.0, 1.1, (245, 248, 255))


def sound(out: np.ndarray, src: Source, actx: AudioCtx, rng: np.random.Generator) -> None:
    sr = actx.sr
    for e in src.events:
        x = synth.modal(sr, [float(rng.uniform(2200, 5500))], [0.008], [0.5], 0.012, phases=[np.pi / 2])
        click = synth.burst(rng, sr, 0.002, lo=1500, seconds=0.005)
        x[:len(click)] += click / (np.abs(click).max() + 1e-9)
        synth.place(out, x * e.params["strength"], actx.sample(e.frame))
