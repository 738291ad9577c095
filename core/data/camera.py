"""The footage look's camera: shots and silent cuts, framing, pans, zooms, handheld shake, and
the resampling of the world canvas into output frames.

A view is (cx, cy, s): the world point at the frame's centre and world pixels per output
pixel. Output pixel centre (j + 0.5, i + 0.5) sees world point (cx + (j + 0.5 - W/2) s,
cy + (i + 0.5 - H/2) s); world pixel k covers [k, k+1). Cuts are placed away from every event
(a cut must never look like the cause of a sound) and change only what the camera sees.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from maskvat_foley.core.data.kinds.base import r2
from maskvat_foley.core.data.textures import block_sum

MIN_SCALE = 0.35
CUT_CLEARANCE = 4  # frames between a cut and the nearest event


def plan(rng: np.random.Generator, layout: dict[str, Any], W: int, H: int, n_frames: int, rate: Fraction,
         event_frames: Sequence[int], opts: dict[str, Any]) -> dict[str, Any]:
    """Shots (the first starts at frame 0) and the clip's shake. Every random number is drawn
    whatever the options, so turning cuts or motion off changes nothing else."""
    motion = opts.get("motion", True)
    u = rng.random()
    amp = 0.0 if u < 0.25 else float(rng.uniform(0.3, 1.5)) if u < 0.75 else float(rng.uniform(1.5, 5.0))
    freqs = rng.uniform(0.3, 7.0, (2, 3))
    shake = {"amp": r2(amp if motion else 0.0), "freqs": freqs.round(3).tolist(),
             "phases": rng.uniform(0, 2 * np.pi, (2, 3)).round(3).tolist(),
             "weights": (rng.uniform(0.3, 1.0, (2, 3)) / np.sqrt(freqs)).round(3).tolist()}
    margin = amp * layout["s_lim"] * 1.3 + 2.0
    min_len = max(int(math.ceil(0.6 * rate)), 3)
    u = rng.random()
    n_cuts = 0 if u < 0.55 else 1 if u < 0.85 else 2
    cut_draws = rng.random(2)
    shots = [_shot(rng, layout, W, H, layout["s0"], margin, motion, plate=0)]
    extra = [_shot(rng, layout, W, H, layout["s0"] * float(rng.uniform(0.55, 1.7)), margin, motion,
                   plate=int(rng.random() < 0.4)) for _ in range(2)]
    want = opts.get("cuts")
    if want is not None:
        n_cuts = int(want) if not isinstance(want, bool) else (max(n_cuts, 1) if want else 0)
    cuts = choose_cuts(n_frames, event_frames, min_len, n_cuts, cut_draws)
    for k, c in enumerate(cuts):
        shots.append({**extra[k % 2], "start": c})
    for s in shots:
        s["time"] = Fraction(s["start"]) / rate
    return {"shots": shots, "shake": shake, "margin": r2(margin)}


def choose_cuts(n_frames: int, event_frames: Sequence[int], min_len: int, n_cuts: int,
                draws: Sequence[float]) -> list[int]:
    """Up to ``n_cuts`` cut frames, each at least ``min_len`` from the clip's ends and from
    each other and CUT_CLEARANCE frames from any event."""
    ok = np.zeros(n_frames, bool)
    ok[min_len:max(n_frames - min_len + 1, min_len)] = True
    for e in event_frames:
        ok[max(e - CUT_CLEARANCE, 0):e + CUT_CLEARANCE + 1] = False
    cuts: list[int] = []
    for k in range(min(n_cuts, len(draws))):
        cand = np.nonzero(ok)[0]
        if not len(cand):
            break
        c = int(cand[min(int(draws[k] * len(cand)), len(cand) - 1)])
        cuts.append(c)
        ok[max(c - min_len, 0):c + min_len] = False
    return sorted(cuts)


def _shot(rng: np.random.Generator, layout: dict, W: int, H: int, scale: float, margin: float,
          motion: bool, plate: int) -> dict[str, Any]:
    """A framing of the subject: where the view starts and ends (pan), its zoom, its easing."""
    u, zoom, t0, t1, ev = rng.random(), rng.uniform(0.75, 1.33), rng.uniform(0, 0.3), rng.random(), rng.uniform(-0.25, 0.25)
    off, pan = rng.uniform(-0.25, 0.25, 2), rng.uniform(-0.35, 0.35, 2)
    kind = "still" if u < 0.45 or not motion else "pan" if u < 0.8 else "zoom"
    s_a = float(np.clip(scale, MIN_SCALE, layout["s_lim"]))
    s_b = float(np.clip(s_a * zoom, MIN_SCALE, layout["s_lim"])) if kind == "zoom" else s_a
    sx, sy, sw, sh = layout["subject"]
    vw, vh = W * max(s_a, s_b), H * max(s_a, s_b)
    a = _clamp((sx + sw / 2 + off[0] * vw, sy + sh / 2 + off[1] * vh), layout["world"], vw, vh, margin)
    b = _clamp((a[0] + pan[0] * vw, a[1] + pan[1] * 0.3 * vh), layout["world"], vw, vh, margin) if kind == "pan" else a
    return {"start": 0, "plate": plate, "motion": kind, "scale": [round(s_a, 4), round(s_b, 4)],
            "center": [[r2(a[0]), r2(a[1])], [r2(b[0]), r2(b[1])]],
            "ease": [r2(t0), r2(t0 + 0.4 + (1 - t0 - 0.4) * t1)], "ev": r2(ev)}


def _clamp(c, world, vw, vh, margin) -> tuple[float, float]:
    Ww, Hw = world
    x = min(max(c[0], vw / 2 + margin), Ww - vw / 2 - margin)
    y = min(max(c[1], vh / 2 + margin), Hw - vh / 2 - margin)
    return x, y


def views(cam: dict[str, Any], n_frames: int, rate: Fraction) -> np.ndarray:
    """Per frame (cx, cy, s) as float64 [n, 3]."""
    out = np.zeros((n_frames, 3))
    shots = cam["shots"]
    starts = [s["start"] for s in shots] + [n_frames]
    for s, a, b in zip(shots, starts[:-1], starts[1:]):
        f = np.arange(a, b)
        t = (f - a) / max(b - a - 1, 1)
        e0, e1 = s["ease"]
        e = np.clip((t - e0) / max(e1 - e0, 1e-6), 0, 1)
        e = e * e * (3 - 2 * e)  # an operator eases into and out of a move
        (ax, ay), (bx, by) = s["center"]
        sa, sb = s["scale"]
        out[a:b, 0] = ax + (bx - ax) * e
        out[a:b, 1] = ay + (by - ay) * e
        out[a:b, 2] = sa * (sb / sa) ** e
    sh = cam["shake"]
    if sh["amp"] > 0:
        t = np.arange(n_frames)[:, None] / float(rate)
        for axis in (0, 1):
            w = np.asarray(sh["weights"][axis])
            wave = (w * np.sin(2 * np.pi * np.asarray(sh["freqs"][axis]) * t + np.asarray(sh["phases"][axis]))).sum(1)
            out[:, axis] += sh["amp"] * wave / max(float(np.abs(w).sum()), 1e-9) * out[:, 2]
    return out


def plate_of_frame(cam: dict[str, Any], n_frames: int) -> np.ndarray:
    idx = np.zeros(n_frames, np.int64)
    for s in cam["shots"]:
        idx[s["start"]:] = s["plate"]
    return idx


def cut_frames(cam: dict[str, Any]) -> list[int]:
    return [s["start"] for s in cam["shots"][1:]]


def to_frame(view: np.ndarray, wx: float, wy: float, W: int, H: int) -> tuple[float, float]:
    cx, cy, s = view
    return (wx - cx) / s + W / 2, (wy - cy) / s + H / 2


class Sampler:
    """Bilinear resampling of a view of the world canvas into an output frame, in two
    separable passes (whole rows, then a flat gather of columns): no per-pixel Python."""

    def __init__(self, W: int, H: int, world: tuple[int, int], defocus: int = 1):
        self.W, self.H, self.Ww, self.Hw, self.k = W, H, world[0], world[1], max(int(defocus), 1)
        self.jx = np.arange(W) + 0.5 - W / 2
        self.iy = np.arange(H) + 0.5 - H / 2
        self.ch = np.arange(3)

    def region(self, view: np.ndarray) -> tuple[int, int, int, int]:
        """World rows [r0, r1) and columns [c0, c1) this view reads."""
        cx, cy, s = view
        k = self.k
        x0, x1 = cx - self.W / 2 * s - 0.5, cx + self.W / 2 * s + 0.5
        y0, y1 = cy - self.H / 2 * s - 0.5, cy + self.H / 2 * s + 0.5
        r0, c0 = max(int(math.floor(y0)) - k, 0), max(int(math.floor(x0)) - k, 0)
        r1, c1 = min(int(math.ceil(y1)) + k + 1, self.Hw), min(int(math.ceil(x1)) + k + 1, self.Ww)
        return r0, r1, c0, c1

    def __call__(self, canvas: np.ndarray, view: np.ndarray, reg: tuple[int, int, int, int], out: np.ndarray) -> None:
        cx, cy, s = view
        r0, r1, c0, c1 = reg
        src = canvas[r0:r1, c0:c1]
        k = self.k
        if s == 1.0 and k == 1:
            return self._shift(src, cx - c0, cy - r0, out)
        if k > 1:  # defocus: average k x k blocks; bilinear upsampling of those is a soft lens blur
            src = block_sum(src, k, (0, 1))
            src *= np.float32(1 / (k * k))
        ys = (cy + self.iy * s - 0.5 - r0 - (k - 1) / 2) / k
        xs = (cx + self.jx * s - 0.5 - c0 - (k - 1) / 2) / k
        hs, ws = src.shape[:2]
        i0 = np.clip(np.floor(ys).astype(np.int64), 0, hs - 2)
        j0 = np.clip(np.floor(xs).astype(np.int64), 0, ws - 2)
        fy = np.clip(ys - i0, 0, 1).astype(np.float32)[:, None, None]
        fx = np.repeat(np.clip(xs - j0, 0, 1).astype(np.float32), 3)[None, :]
        a = src[i0]
        b = src[i0 + 1]
        b -= a
        b *= fy
        a += b
        flat = a.reshape(self.H, -1)
        idx = (j0[:, None] * 3 + self.ch).ravel()
        left = np.take(flat, idx, axis=1)
        right = np.take(flat, idx + 3, axis=1)
        right -= left
        right *= fx
        np.add(left, right, out=out.reshape(self.H, -1))

    def _shift(self, src: np.ndarray, cx: float, cy: float, out: np.ndarray) -> None:
        """At one world pixel per output pixel the view is a sub-pixel shift: bilinear from
        four slices with one pair of fractions, no gathers."""
        x, y = cx - self.W / 2, cy - self.H / 2  # world index under output pixel (0, 0)
        j, i = int(math.floor(x)), int(math.floor(y))
        j, i = min(max(j, 0), src.shape[1] - self.W - 1), min(max(i, 0), src.shape[0] - self.H - 1)
        fx, fy = np.float32(min(max(x - j, 0), 1)), np.float32(min(max(y - i, 0), 1))
        a = src[i:i + self.H, j:j + self.W + 1] * (1 - fy)
        a += src[i + 1:i + self.H + 1, j:j + self.W + 1] * fy
        np.multiply(a[:, :-1], 1 - fx, out=out)
        out += a[:, 1:] * fx
