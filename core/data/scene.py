"""Planning a FoleyWorld clip from a seed: rate, length, layout, sources and their events."""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

import numpy as np

from maskvat_foley.core.data import footage, look as classic_look
from maskvat_foley.core.data.kinds import kind_module
from maskvat_foley.core.data.kinds.base import PlanCtx, r2
from maskvat_foley.core.data.spec import KINDS, RATES, Box, ClipSpec, Source
from maskvat_foley.core.timeline.rates import exact_rate, round_half_up

MIN_SECONDS, MAX_SECONDS = 2, 12
SILENT = ("none", "silent")


def child_rng(seed: int, *path: int) -> np.random.Generator:
    """An independent stream per purpose, so rendering audio alone gives the same audio."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *path])))


def plan_clip(seed: int, *, rate=None, seconds=None, size: tuple[int, int] | None = None,
              kinds: Sequence[str] | None = None, look="classic", swish: float = 0.0) -> ClipSpec:
    """look: "classic" (flat shapes, 96x96 by default) or "footage" (or a mapping of footage
    options, see footage.py); size None: 96x96 for classic, a random camera size for footage.
    swish: the chance that a clip with events also holds an arm that swings (kinds/swish.py),
    beside its one source or in place of its second; drawn from its own stream, so 0 gives the
    clips as before."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"FoleyWorld seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    look_name, opts = footage.parse_look(look)
    if size is None:
        size = (96, 96) if look_name == "classic" else footage.pick_size(child_rng(seed, 5, 0))
    width, height = (int(v) for v in size)
    if width < 32 or height < 32:
        raise ValueError(f"FoleyWorld frame size must be at least 32x32, got {width}x{height}")
    rng = child_rng(seed, 0)
    rate = RATES[int(rng.integers(len(RATES)))] if rate is None else exact_rate(rate)
    if seconds is None:
        n_frames = int(rng.integers(math.ceil(MIN_SECONDS * rate), math.floor(MAX_SECONDS * rate) + 1))
    else:
        n_frames = round_half_up(Fraction(seconds) * rate)
    if n_frames < 2:
        raise ValueError(f"FoleyWorld clip of {seconds!r} s at {rate} fps has fewer than 2 frames")
    names = _choose_kinds(rng, kinds)
    if not 0.0 <= swish <= 1.0:
        raise ValueError(f"FoleyWorld swish chance must be in [0, 1], got {swish!r}")
    if names and swish and "swish" not in names and child_rng(seed, 6).random() < swish:
        names = names[:1] + ["swish"]
    silent = not names
    if silent:  # the scene of one or two sources with nothing happening in it
        names = [str(n) for n in rng.choice(KINDS, size=int(rng.integers(1, 3)), replace=False)]
    boxes = _layout(rng, width, height, len(names))  # drawn in every look: same stream after it
    frame = None
    if look_name == "footage":
        frame = footage.plan_layout(child_rng(seed, 5, 1), width, height, names, opts)
        boxes = frame.boxes
    sources, events = [], []
    for i, (name, box) in enumerate(zip(names, boxes)):
        window = (1, 1) if silent else _window(rng, n_frames, rate)
        ctx = PlanCtx(rate, n_frames, box, window, i)
        params, evs = kind_module(name).plan(child_rng(seed, 1, i), ctx)
        sources.append(Source(name, box, window, params, evs))
        events += evs
    events.sort(key=lambda e: (e.frame, e.params["source"]))
    audio = {"peak_db": r2(rng.uniform(-9, -3)), "noise_db": r2(rng.uniform(-75, -62))}
    spec = ClipSpec(seed, rate, n_frames, width, height, classic_look.plan_background(rng), events, sources,
                    camera=classic_look.plan_camera(rng), audio=audio)
    if frame is not None:
        footage.finish(spec, frame, opts, lambda k: child_rng(seed, 5, k))
    return spec


def _choose_kinds(rng: np.random.Generator, kinds: Sequence[str] | None) -> list[str]:
    if kinds is None:
        u = rng.random()
        if u < 0.06:
            return []
        k = 2 if u < 0.3 else 1
        return [str(n) for n in rng.choice(KINDS, size=k, replace=False)]
    if isinstance(kinds, str):
        kinds = [kinds]
    names = [str(k) for k in kinds if str(k) not in SILENT]
    for n in names:
        kind_module(n)  # raises with the list of known kinds
    if len(names) > 2:
        raise ValueError(f"FoleyWorld clips hold at most two sources, got {list(kinds)}")
    return names


def _layout(rng: np.random.Generator, width: int, height: int, n: int) -> list[Box]:
    if n == 1:
        return [Box(0, 0, width, height)]
    if rng.random() < 0.5:  # stacked bands keep horizontal scenes (walkers, vehicles) wide
        h = height // 2
        return [Box(0, 0, width, h), Box(0, h, width, height - h)]
    w = width // 2
    return [Box(0, 0, w, height), Box(w, 0, width - w, height)]


def _window(rng: np.random.Generator, n_frames: int, rate: Fraction) -> tuple[int, int]:
    """Frames where a source may act: the whole clip, or a stretch leaving silence around it."""
    if rng.random() < 0.5 or n_frames < 3 * rate:
        return 1, n_frames
    length = int(rng.integers(int(1.5 * rate), n_frames - int(0.5 * rate)))
    start = int(rng.integers(1, n_frames - length + 1))
    return start, start + length
