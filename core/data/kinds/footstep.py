"""footstep: a walker crossing grass, gravel, wood or tile; each foot plant is an event.

Feet alternate; a foot swings for one step period and lands (height reaches 0, moving down)
exactly on the event frame, where particles of the surface are kicked up. The walker stands
still outside the source's window.
"""
from __future__ import annotations

import numpy as np

from maskvat_foley.core.data import draw as dr, synth
from maskvat_foley.core.data.kinds.base import AudioCtx, PlanCtx, puff, r2
from maskvat_foley.core.data.materials import SURFACE_TABLE, step_sound, surface_texture
from maskvat_foley.core.data.spec import SURFACES, Event, Source


def plan(rng: np.random.Generator, ctx: PlanCtx) -> tuple[dict, list[Event]]:
    b = ctx.box
    surface = str(rng.choice(SURFACES))
    height = b.h * float(rng.uniform(0.4, 0.6))
    ground = b.y + b.h * float(rng.uniform(0.8, 0.88))
    period = ctx.frames(float(rng.uniform(0.33, 0.55)))
    direction = 1 if rng.random() < 0.5 else -1
    stride = height * float(rng.uniform(0.18, 0.3))  # one foot plant to the next
    margin = 0.12 * b.w
    room = b.w - 2 * margin
    n_room = int(room // stride)
    x0 = (b.x + margin) if direction > 0 else (b.x + b.w - margin)
    first = ctx.window[0] + int(rng.integers(0, ctx.frames(0.3))) + period
    steps = []
    while len(steps) < n_room and first + len(steps) * period < ctx.window[1]:
        steps.append(first + len(steps) * period)
    strength = min(1.0, height / (0.5 * b.h)) * float(rng.uniform(0.6, 1.0))
    params = {"surface": surface, "height": r2(height), "ground": r2(ground), "period": period,
              "direction": direction, "stride": r2(stride), "x0": r2(x0), "steps": steps,
              "color": [r2(v) for v in rng.uniform(30, 220, 3)], "seed": r2(rng.uniform(0, 100))}
    events = [ctx.event("footstep", f, surface=surface, strength=r2(strength * float(rng.uniform(0.8, 1.0))),
                        foot=i % 2, x=r2(x0 + direction * (i + 1) * stride), y=r2(ground))
              for i, f in enumerate(steps)]
    return params, events


def prepare(src: Source, rate, n_frames: int) -> np.ndarray:
    """Per frame: x and lift of foot 0 and foot 1 ([4, N])."""
    p = src.params
    steps, per, st, d = p["steps"], p["period"], p["stride"], p["direction"]
    f = np.arange(n_frames, dtype=np.float64)
    feet = np.zeros((4, n_frames))
    # foot k plants at steps k, k+2, ...; it starts 1 stride behind/ahead of the standing pose
    for k in (0, 1):
        x = np.full(n_frames, p["x0"] + d * (0.5 * st if k else -0.5 * st))
        lift = np.zeros(n_frames)
        for i in range(k, len(steps), 2):
            land, take = steps[i], steps[i] - per
            target = p["x0"] + d * (i + 1) * st
            prev = target - d * (2 * st if i >= 2 else 1.5 * st)
            u = (f - take) / per
            swing = (u > 0) & (u < 1)
            x = np.where(swing, prev + (target - prev) * (1 - np.cos(np.pi * u)) / 2, x)
            x = np.where(f >= land, target, x)
            lift = np.where(swing, np.sin(np.pi * np.clip(u, 0, 1)) ** 0.8, lift)
        feet[2 * k], feet[2 * k + 1] = x, lift * p["height"] * 0.14
    return feet


def draw_static(bg: np.ndarray, src: Source, state) -> None:
    b, p = src.box, src.params
    s = SURFACE_TABLE[p["surface"]]
    dr.rect(bg, b.x, p["ground"], b.x + b.w, b.y + b.h, s.color, 1.0,
            surface_texture(p["surface"], b.x, p["ground"], p["seed"]))


def draw(img: np.ndarray, src: Source, state, f: int) -> None:
    p = src.params
    g, h = p["ground"], p["height"]
    x0, l0, x1, l1 = (float(v) for v in state[:, f])
    hip_x = (x0 + x1) / 2
    bob = 0.04 * h * (1 - max(l0, l1) / (0.14 * h + 1e-9))  # body lowest at a plant
    hip_y = g - 0.45 * h + bob
    col = p["color"]
    for fx, fl in ((x0, l0), (x1, l1)):
        dr.line(img, hip_x, hip_y, fx, g - fl - 1.0, max(1.5, 0.07 * h), [c * 0.7 for c in col])
        dr.rect(img, fx - 0.06 * h + 0.04 * h * p["direction"], g - fl - 1.8, fx + 0.06 * h + 0.04 * h * p["direction"],
                g - fl, (40, 35, 30))
    dr.line(img, hip_x, hip_y, hip_x, hip_y - 0.33 * h, max(2.5, 0.16 * h), col)
    dr.disc(img, hip_x, hip_y - 0.45 * h, max(2.0, 0.1 * h), (225, 190, 160))
    puff_col = SURFACE_TABLE[p["surface"]].puff
    for i, c in enumerate(p["steps"]):
        if 0 <= f - c <= 3:
            x = p["x0"] + p["direction"] * (i + 1) * p["stride"]
            puff(img, x, g, f - c, 1.0, puff_col, p["seed"] + i, n=5, spread=max(0.8, h / 30))


def sound(out: np.ndarray, src: Source, actx: AudioCtx, rng: np.random.Generator) -> None:
    for e in src.events:
        synth.place(out, step_sound(rng, actx.sr, src.params["surface"], e.params["strength"]),
                    actx.sample(e.frame))
