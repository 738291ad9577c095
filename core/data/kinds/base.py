"""What every FoleyWorld kind shares: planning context, render context, dust particles.

A kind is a module with four functions:
    plan(rng, ctx: PlanCtx) -> (params, events)        choices, drawn from the clip's RNG
    prepare(src, rate, n_frames) -> state              per-clip precomputation for drawing
    draw_static(bg, src, state)                        parts that never move, drawn once
    draw(img, src, state, f)                           frame f (time f / rate)
    sound(out, src, actx, rng)                         adds its sounds into ``out``
Planning only places events on frames inside ``ctx.window``; an empty window gives the scene
with nothing happening (a silent source).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from maskvat_foley.core.data import draw
from maskvat_foley.core.data.spec import Box, Event
from maskvat_foley.core.timeline.rates import frame_to_sample


@dataclass
class PlanCtx:
    rate: Fraction
    n_frames: int
    box: Box
    window: tuple[int, int]  # frames [start, end) where this source's events may happen
    source: int

    @property
    def fps(self) -> float:
        return float(self.rate)

    def frames(self, seconds: float) -> int:
        """A duration as a whole number of frames (at least 1)."""
        return max(1, int(round(seconds * float(self.rate))))

    def event(self, kind: str, frame: int, **params: Any) -> Event:
        if not self.window[0] <= frame < self.window[1]:
            raise AssertionError(f"{kind} event at frame {frame} outside window {self.window}")
        return Event.at(kind, frame, self.rate, source=self.source, **params)


@dataclass
class AudioCtx:
    rate: Fraction
    sr: int
    n_samples: int

    def sample(self, frame: int) -> int:
        return frame_to_sample(frame, self.rate, self.sr)


def r2(x: float) -> float:
    """Plain float rounded for readable JSON."""
    return round(float(x), 2)


def puff(img: np.ndarray, x: float, y: float, age: int, strength: float, color, seed: float,
         n: int = 6, spread: float = 1.0) -> None:
    """Particles kicked up at a contact: appear at the event frame (age 0), spread and fade."""
    if age < 0 or age > 3:
        return
    alpha = (1.0 - age / 4.0) * min(1.0, 0.5 + strength)
    for i in range(n):
        a = np.pi * (0.1 + 0.8 * ((i + 0.5) / n)) + 0.2 * np.sin(seed + i)
        d = (1.5 + 2.2 * age) * spread * (0.7 + 0.3 * np.cos(seed * 3 + i))
        draw.disc(img, x - np.cos(a) * d * 1.3, y - np.sin(a) * d * 0.9 - 0.5, 1.1 * spread, color, alpha)
