"""impact: objects of wood/metal/glass/stone held up, dropped one by one, falling and bouncing.

Ballistic in frame units: a fall of d0 frames from rest sets gravity g = 2 h0 / d0^2; each
bounce flies d_k frames (d1 = 2 e d0, d_k+1 = e d_k) and peaks at g d_k^2 / 8, so every contact
lands exactly on a frame. Each contact is an event; its loudness follows the contact speed.
"""
from __future__ import annotations

import numpy as np

from maskvat_foley.core.data import draw as dr, synth
from maskvat_foley.core.data.kinds.base import AudioCtx, PlanCtx, puff, r2
from maskvat_foley.core.data.materials import MATERIAL_TABLE, hit_sound, material_texture, object_modes
from maskvat_foley.core.data.spec import MATERIALS, Event, Source


def plan(rng: np.random.Generator, ctx: PlanCtx) -> tuple[dict, list[Event]]:
    b = ctx.box
    k = int(rng.integers(1, 4 if b.w >= 80 else 3))
    ground = b.y + b.h * float(rng.uniform(0.8, 0.9))
    objects, events = [], []
    t_next = ctx.window[0] + int(rng.integers(0, ctx.frames(0.8)))
    for i in rng.permutation(k):
        material = str(rng.choice(MATERIALS))
        size_rel = float(rng.uniform(0.75, 1.3))
        r = max(3.0, min(b.h * 0.08 * size_rel, b.w / k * 0.3))
        cx = b.x + b.w * (i + 0.5) / k + float(rng.uniform(-0.1, 0.1)) * b.w / k
        top = b.y + 2 * r + b.h * float(rng.uniform(0.03, 0.2))
        d0 = ctx.frames(float(rng.uniform(0.28, 0.45)))
        e = float(rng.uniform(*MATERIAL_TABLE[material].restitution))
        vx = float(rng.uniform(-1, 1)) * 0.15 * b.w / k / (4 * d0)  # px per frame in flight
        obj = {"material": material, "shape": str(rng.choice(["disc", "square"])), "r": r2(r),
               "x": r2(cx), "top": r2(top), "vx": round(vx, 4), "seed": r2(rng.uniform(0, 100)),
               **object_modes(rng, material, r / (b.h * 0.08)), "contacts": [],
               "flights": []}
        if t_next < ctx.window[1]:
            c, d = t_next, d0
            h0 = ground - top
            strength = float(np.sqrt(h0 / (0.7 * b.h))) * min(1.0, size_rel)
            obj["contacts"].append(c)
            obj["flights"].append(d0)
            events.append(ctx.event("impact", c, material=material, bounce=0, strength=r2(strength),
                                    x=r2(cx + vx * d0), y=r2(ground), object=len(objects)))
            d = int(round(2 * e * d0))
            while d >= 3 and c + d < ctx.window[1] and len(obj["contacts"]) < 6:
                c += d
                fl = sum(obj["flights"]) + d
                obj["contacts"].append(c)
                obj["flights"].append(d)
                events.append(ctx.event("impact", c, material=material, bounce=len(obj["contacts"]) - 1,
                                        strength=r2(strength * d / (2 * d0)), x=r2(cx + vx * fl),
                                        y=r2(ground), object=len(objects)))
                d = int(round(e * d))
            t_next = c + ctx.frames(float(rng.uniform(0.25, 1.2)))
        objects.append(obj)
    return {"ground": r2(ground), "objects": objects}, events


def prepare(src: Source, rate, n_frames: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per object: bottom y and centre x for every frame."""
    ground = src.params["ground"]
    f = np.arange(n_frames, dtype=np.float64)
    out = []
    for o in src.params["objects"]:
        y = np.full(n_frames, o["top"])
        x = np.full(n_frames, o["x"])
        if o["contacts"]:
            d0, c0 = o["flights"][0], o["contacts"][0]
            f0 = c0 - d0
            g = 2 * (ground - o["top"]) / d0 ** 2
            u = f - f0
            y = np.where(f >= f0, o["top"] + 0.5 * g * u ** 2, y)
            for c_prev, d in zip(o["contacts"][:-1], o["flights"][1:]):
                seg = (f >= c_prev) & (f <= c_prev + d)
                v = f - c_prev
                y = np.where(seg, ground - 0.5 * g * v * (d - v), y)
            y = np.where(f >= o["contacts"][-1], ground, y)
            x = o["x"] + o["vx"] * np.clip(f - f0, 0, o["contacts"][-1] - f0)
        out.append((np.minimum(y, ground), x))
    return out


def draw_static(bg: np.ndarray, src: Source, state) -> None:
    b, ground = src.box, src.params["ground"]
    dr.rect(bg, b.x, ground, b.x + b.w, b.y + b.h, (92, 84, 76), 0.85, dr.speckle(0.25, b.x))
    dr.rect(bg, b.x, ground - 0.5, b.x + b.w, ground + 0.8, (60, 55, 50), 0.9)


def draw(img: np.ndarray, src: Source, state, f: int) -> None:
    ground = src.params["ground"]
    for o, (ys, xs) in zip(src.params["objects"], state):
        y, x, r = float(ys[f]), float(xs[f]), o["r"]
        lift = np.clip((ground - y) / (3 * src.box.h / 4), 0, 1)
        if lift < 0.95:  # contact shadow: grows and darkens as the object nears the ground
            dr.ellipse(img, x, ground + 0.6, r * (1.2 - 0.5 * lift), r * 0.3, (30, 28, 25), 0.45 * (1 - lift))
        sx = sy = 1.0
        if f in o["contacts"]:  # squash on contact: a visible cue on the very frame of the sound
            sx, sy = 1.3, 0.72
        m = MATERIAL_TABLE[o["material"]]
        tex = material_texture(o["material"], x, y - r * sy, r, o["seed"])
        if o["shape"] == "disc":
            dr.ellipse(img, x, y - r * sy, r * sx, r * sy, m.color, m.alpha, tex)
        else:
            dr.rect(img, x - r * sx, y - 2 * r * sy, x + r * sx, y, m.color, m.alpha, tex)
        for c in o["contacts"]:
            if 0 <= f - c <= 3:
                puff(img, float(xs[c]), ground, f - c, 1.0, (225, 215, 195), o["seed"], spread=r / 4 + 0.5)


def sound(out: np.ndarray, src: Source, actx: AudioCtx, rng: np.random.Generator) -> None:
    objs = src.params["objects"]
    for e in src.events:
        o = objs[e.params["object"]]
        s = hit_sound(rng, actx.sr, o["material"], o["f0"], o["t60"], e.params["strength"])
        synth.place(out, s, actx.sample(e.frame))
