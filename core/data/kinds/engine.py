"""engine: a vehicle appears on a road and drives across; its engine tone follows its speed.

Motion is continuous in time, x(t) = x_a + dir (v0 t + a t^2 / 2), evaluated at frame times for
the picture and at sample times for the sound, so both follow the same trajectory. The sound
starts when the vehicle appears (the event) and ends when it leaves the frame. Pitch: engine
fundamental rises with speed, times the Doppler factor toward a listener in front of the road.
"""
from __future__ import annotations

import numpy as np

from maskvat_foley.core.data import draw as dr, synth
from maskvat_foley.core.data.kinds.base import AudioCtx, PlanCtx, r2
from maskvat_foley.core.data.spec import Event, Source


def plan(rng: np.random.Generator, ctx: PlanCtx) -> tuple[dict, list[Event]]:
    b = ctx.box
    length = b.w * float(rng.uniform(0.3, 0.42))
    height = min(length * float(rng.uniform(0.3, 0.45)), 0.35 * b.h)
    road = b.y + b.h * float(rng.uniform(0.75, 0.85))
    d = 1 if rng.random() < 0.5 else -1
    v0 = b.w * float(rng.uniform(0.3, 0.8))                  # px/s
    acc = v0 * float(rng.uniform(-0.25, 0.35))               # px/s^2
    params = {"length": r2(length), "height": r2(height), "road": r2(road), "dir": d, "v0": r2(v0),
              "acc": r2(acc), "color": [r2(v) for v in rng.uniform(40, 230, 3)], "appear": None,
              "leave": None, "x_appear": None, "f_idle": r2(rng.uniform(35, 55)),
              "f_speed": r2(rng.uniform(60, 110)), "seed": r2(rng.uniform(0, 100))}
    events = []
    lo, hi = ctx.window[0], ctx.window[1] - ctx.frames(0.4)
    if hi > lo:
        a = int(rng.integers(lo, min(hi, lo + ctx.frames(1.5)) + 1))
        # it appears with its front already 30-50% of its length into the picture
        front = length * float(rng.uniform(0.3, 0.5))
        xa = (b.x + front - length / 2) if d > 0 else (b.x + b.w - front + length / 2)  # centre x
        t = np.arange(0, ctx.n_frames - a) / ctx.fps
        x = xa + d * (v0 * t + 0.5 * acc * t * t)
        speed = v0 + acc * t
        gone = np.nonzero((d * (x - (b.x + b.w / 2)) > b.w / 2 + length / 2) | (speed < 0.2 * v0))[0]
        leave = a + int(gone[0]) if len(gone) else ctx.window[1]
        leave = min(leave, ctx.window[1])
        params.update(appear=a, leave=leave, x_appear=r2(xa))
        events.append(ctx.event("engine", a, strength=r2(min(1.0, v0 / (0.6 * b.w))), x=r2(xa),
                                y=r2(road - height / 2), direction=d))
    return params, events


def _x(p: dict, t: np.ndarray) -> np.ndarray:
    return p["x_appear"] + p["dir"] * (p["v0"] * t + 0.5 * p["acc"] * t * t)


def prepare(src: Source, rate, n_frames: int) -> np.ndarray | None:
    p = src.params
    if p["appear"] is None:
        return None
    t = (np.arange(n_frames) - p["appear"]) / float(rate)
    return _x(p, t)


def draw_static(bg: np.ndarray, src: Source, state) -> None:
    b, p = src.box, src.params
    dr.rect(bg, b.x, p["road"], b.x + b.w, b.y + b.h, (70, 70, 74), 1.0, dr.speckle(0.12, p["seed"]))
    y = (p["road"] + b.y + b.h) / 2
    for x in np.arange(b.x + 2, b.x + b.w, 10.0):
        dr.rect(bg, x, y - 0.6, x + 5, y + 0.6, (220, 220, 200))


def draw(img: np.ndarray, src: Source, state, f: int) -> None:
    p = src.params
    if state is None or not p["appear"] <= f < p["leave"]:
        return
    b = src.box
    x, L, H, g, d = float(state[f]), p["length"], p["height"], p["road"], p["dir"]
    sub = img[b.y:b.y + b.h, b.x:b.x + b.w]  # the vehicle stays inside its source's box
    x -= b.x
    g -= b.y
    wr = max(1.5, 0.22 * H)
    dr.rect(sub, x - L / 2, g - H, x + L / 2, g - wr, p["color"])
    dr.rect(sub, x - L / 4 + d * L * 0.05, g - 1.5 * H, x + L / 4 + d * L * 0.05, g - H + 0.5,
            [c * 0.8 for c in p["color"]])
    dr.rect(sub, x - L / 5 + d * L * 0.08, g - 1.4 * H, x + L / 5 + d * L * 0.08, g - H, (160, 200, 225))
    for wx in (x - L / 3, x + L / 3):
        dr.disc(sub, wx, g - wr, wr, (25, 25, 25))
        dr.disc(sub, wx, g - wr, 0.4 * wr, (150, 150, 150))
    dr.disc(sub, x + d * L / 2, g - 0.65 * H, max(1.0, 0.12 * H), (255, 240, 170))


def sound(out: np.ndarray, src: Source, actx: AudioCtx, rng: np.random.Generator) -> None:
    p, b = src.params, src.box
    s0, s1 = actx.sample(p["appear"]), min(actx.sample(p["leave"]), actx.n_samples)
    t = np.arange(s1 - s0) / actx.sr
    x = _x(p, t)
    speed = p["v0"] + p["acc"] * t
    c = 6.0 * b.w                                  # speed of sound in px/s: Doppler is audible
    lx, dist_y = b.x + b.w / 2, 0.6 * b.w           # listener in front of the road's middle
    dx = x - lx
    dist = np.sqrt(dx * dx + dist_y * dist_y)
    v_away = p["dir"] * speed * dx / dist
    f = (p["f_idle"] + p["f_speed"] * speed / b.w) * c / (c + v_away)
    phase = 2 * np.pi * np.cumsum(f) / actx.sr
    k = np.arange(1, 11)[:, None]
    amps = rng.uniform(0.4, 1.0, (10, 1)) / k ** 1.1
    tone = (amps * np.sin(k * phase[None, :] + rng.uniform(0, 2 * np.pi, (10, 1)))).sum(0)
    rumble = synth.colored_noise(rng, len(t), actx.sr, 60, 1500) * (0.6 + 0.4 * np.sin(2 * phase))
    y = (tone / (np.abs(tone).max() + 1e-9) + 0.25 * rumble) * (dist_y / dist)
    y = synth.fade_edges(y.astype(np.float32), actx.sr, 0.0015, 0.03)
    synth.place(out, y * src.events[0].params["strength"], s0)
