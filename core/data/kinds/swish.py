"""swish: an arm swings from its shoulder; the air and cloth sound follows the hand's speed.

Most motion in camera footage touches nothing: a head turns, an arm waves, a rider leans. The
impulsive kinds teach that only contact sounds, and the footage look's distractors that motion
is silent, so a model trained on them alone keeps quiet on a moving person. Here the sound is a
band of noise whose level follows the hand's speed (a Foley artist's cloth pass), so a faster,
larger swing is louder and a still arm is silent.

Each gesture moves the arm by ``amp`` radians over ``dur`` seconds along p(u) = 6u^2 - 8u^3 + 3u^4
(speed 12u(1-u)^2: from rest it speeds up at once, peaks a third of the way in and eases out), evaluated at
frame times for the picture and at sample times for the sound. The event is the gesture's first
frame. Not in spec.KINDS: clips get it only when asked (``kinds`` or ``swish``), so no seed of the
default mix changes.
"""
from __future__ import annotations

import numpy as np

from maskvat_foley.core.data import draw as dr, synth
from maskvat_foley.core.data.kinds.base import AudioCtx, PlanCtx, r2
from maskvat_foley.core.data.spec import Event, Source

FULL_SPEED = 2.5  # hand speed (box widths a second) that is full level


def _level(hand_speed):
    """Level (0..1) of the sound of a hand moving at ``hand_speed`` box widths a second."""
    return np.clip(np.asarray(hand_speed) / FULL_SPEED, 0.0, 1.0) ** 1.5


def plan(rng: np.random.Generator, ctx: PlanCtx) -> tuple[dict, list[Event]]:
    b = ctx.box
    length = min(b.w, b.h) * float(rng.uniform(0.28, 0.4))
    sx = b.x + b.w * float(rng.uniform(0.35, 0.65))
    sy = b.y + b.h * float(rng.uniform(0.3, 0.45))
    a0 = float(rng.uniform(-0.6, 0.6))  # radians from hanging straight down
    gestures, events = [], []
    f = ctx.window[0] + int(rng.integers(0, ctx.frames(0.6)))
    angle = a0
    while True:
        dur = ctx.frames(float(rng.uniform(0.15, 0.6)))
        if dur < 3 or f + dur > ctx.window[1]:
            break
        amp = float(rng.uniform(0.5, 1.6)) * (1 if rng.random() < 0.5 else -1)
        if abs(angle + amp) > 2.2:  # swing back rather than over the head
            amp = -amp
        peak = abs(amp) / (dur / ctx.fps) * 16 / 9 * length / b.w  # at u = 1/3, widths/s
        strength = r2(float(_level(peak)))
        gestures.append([f, dur, round(amp, 4)])
        events.append(ctx.event("swish", f, strength=strength, x=r2(sx + length * np.sin(angle)),
                                y=r2(sy + length * np.cos(angle))))
        angle += amp
        f += dur + ctx.frames(float(rng.uniform(0.15, 1.2)))
    params = {"shoulder": [r2(sx), r2(sy)], "length": r2(length), "a0": round(a0, 4), "gestures": gestures,
              "width": r2(max(2.0, 0.18 * length)), "color": [r2(v) for v in rng.uniform(40, 220, 3)],
              "body": [r2(v) for v in rng.uniform(40, 220, 3)], "lo": r2(rng.uniform(250, 700)),
              "hi": r2(rng.uniform(2500, 7000))}
    return params, events


def _angle(p: dict, t: np.ndarray, fps: float) -> np.ndarray:
    """Arm angle at times ``t`` (seconds)."""
    a = np.full(t.shape, p["a0"], dtype=np.float64)
    for f, dur, amp in p["gestures"]:
        u = np.clip((t - f / fps) / (dur / fps), 0.0, 1.0)
        a += amp * (6 * u ** 2 - 8 * u ** 3 + 3 * u ** 4)
    return a


def _speed(f: int, dur: int, amp: float, t: np.ndarray, fps: float) -> np.ndarray:
    """Angular speed (radians a second) of the gesture from frame ``f`` at times ``t`` inside it."""
    u = np.clip((t - f / fps) / (dur / fps), 0.0, 1.0)
    return abs(amp) / (dur / fps) * 12 * u * (1 - u) ** 2


def prepare(src: Source, rate, n_frames: int) -> np.ndarray:
    fps = float(rate)
    return _angle(src.params, np.arange(n_frames) / fps, fps)


def draw_static(bg: np.ndarray, src: Source, state) -> None:
    p = src.params
    (sx, sy), L = p["shoulder"], p["length"]
    dr.rect(bg, sx - 0.45 * L, sy - 0.15 * L, sx + 0.45 * L, sy + 1.3 * L, p["body"])  # the torso
    dr.disc(bg, sx, sy - 0.45 * L, 0.3 * L, [min(255.0, c * 1.1 + 20) for c in p["body"]])  # the head


def draw(img: np.ndarray, src: Source, state, f: int) -> None:
    p = src.params
    (sx, sy), L, a = p["shoulder"], p["length"], float(state[f])
    hx, hy = sx + L * np.sin(a), sy + L * np.cos(a)
    dr.line(img, sx, sy, hx, hy, p["width"], p["color"])
    dr.disc(img, hx, hy, 0.7 * p["width"], [min(255.0, c + 40) for c in p["color"]])


def sound(out: np.ndarray, src: Source, actx: AudioCtx, rng: np.random.Generator) -> None:
    p, b = src.params, src.box
    fps = float(actx.rate)
    for f, dur, amp in p["gestures"]:
        s0 = actx.sample(f)
        n = min(actx.sample(f + dur), actx.n_samples) - s0
        if n <= 0:
            continue
        t = f / fps + np.arange(n) / actx.sr
        level = _level(_speed(f, dur, amp, t, fps) * p["length"] / b.w)
        # cloth flutters: the band's level wavers a little at a few tens of hertz
        flutter = 1.0 + 0.3 * synth.colored_noise(rng, n, actx.sr, None, 40.0)
        y = synth.colored_noise(rng, n, actx.sr, p["lo"], p["hi"]) * level * np.clip(flutter, 0.2, None)
        synth.place(out, synth.fade_edges(y.astype(np.float32), actx.sr, 0.0, 0.01), s0)
