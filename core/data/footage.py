"""FoleyWorld's "footage" look, planning side: camera-sized frames of a textured world filmed by a
moving, imperfect camera, so that a model trained on it hears real pictures too.

    generate_clip(seed, look="footage")                      # random camera size, 16:9 / 4:3 / portrait
    generate_clip(seed, look={"name": "footage", "cuts": False, "exposure": "dark"}, size=(256, 144))

The sources (and so the events and the audio) are planned exactly as in the classic look, only
inside boxes placed in a world larger than the frame; the camera, backgrounds, distractors and
optics are drawn from their own random streams (child_rng(seed, 5, k)), so toggling cuts or
distractors never changes an event or a sample of audio. Events keep their exact frames and
times; their ``x``/``y`` become the cause's pixel position in the output frame on the event's
frame (``world_x``/``world_y`` keep the world position, ``in_view`` says whether it is inside
the frame, ``scale`` the source region's height as a fraction of the frame height).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from maskvat_foley.core.data import backdrops, camera, distractors, optics
from maskvat_foley.core.data.kinds.base import r2
from maskvat_foley.core.data.spec import Box, ClipSpec, Source

LOOKS = ("classic", "footage")
OPTIONS = {"cuts": "None (random), False, True (at least one where events allow) or a count (at most 2)",
           "distractors": "True (random) or False (none)", "motion": "True (random) or False (locked off)",
           "exposure": "None (random), 'dark', 'normal' or 'bright'",
           "scale": "None (random) or the sources' height as a fraction of the frame, 0.1 .. 1"}
# camera-like sizes (W, H): 16:9, 4:3 and portrait 9:16; all even, as video encoders want
CAMERA_SIZES: tuple[tuple[int, int], ...] = (
    (256, 144), (320, 180), (384, 216), (426, 240), (480, 270), (512, 288), (640, 360),
    (256, 192), (320, 240), (384, 288), (480, 360), (144, 256), (180, 320), (270, 480), (360, 640))
MIN_BOX = 36  # world px: the kinds are drawn for boxes of tens of pixels and more
MAX_SCALE = 1.25  # world px per output px: more would alias without a prefilter


def parse_look(look: str | Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """('classic' | 'footage', options) from a name or {"name": "footage", option: value, ...}."""
    if look is None:
        return "classic", {}
    if isinstance(look, str):
        name, opts = look, {}
    elif isinstance(look, Mapping):
        opts = dict(look)
        name = str(opts.pop("name", "footage"))
    else:
        raise ValueError(f"FoleyWorld look must be a name or a mapping, got {look!r}")
    if name not in LOOKS:
        raise ValueError(f"unknown FoleyWorld look {name!r}; choose one of {', '.join(LOOKS)}")
    bad = sorted(set(opts) - set(OPTIONS))
    if bad or (name == "classic" and opts):
        raise ValueError(f"unknown option(s) {bad or sorted(opts)} for FoleyWorld look {name!r}; "
                         f"footage options: {', '.join(OPTIONS)}")
    if opts.get("exposure") not in (None, *optics.EXPOSURES):
        raise ValueError(f"exposure must be one of {optics.EXPOSURES}, got {opts['exposure']!r}")
    if opts.get("scale") is not None and not 0.1 <= float(opts["scale"]) <= 1.0:
        raise ValueError(f"scale must be between 0.1 and 1, got {opts['scale']!r}")
    return name, opts


def pick_size(rng: np.random.Generator) -> tuple[int, int]:
    return CAMERA_SIZES[int(rng.integers(len(CAMERA_SIZES)))]


@dataclass
class Frame:
    layout: dict[str, Any]
    boxes: list[Box]


def plan_layout(rng: np.random.Generator, W: int, H: int, names: Sequence[str], opts: dict[str, Any]) -> Frame:
    """The world, the subject region and the sources' boxes in it (world pixels)."""
    u_draw, soft, s_draw, aspect, split = rng.random(), rng.random(), rng.random(), rng.uniform(1.0, 1.8), rng.random()
    ox, oy, floor = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.8, 0.92)
    shadow = rng.uniform(0.15, 0.5) if rng.random() < 0.75 else 0.0
    reach = rng.uniform(0.7, 1.0)
    # u: sources' height in the frame, log-uniform from far away (1/5) to filling it
    u = float(opts["scale"]) if opts.get("scale") is not None else math.exp(math.log(0.2) * (1 - u_draw))
    # s0: world px per output px. Mostly about 1 (the world is as sharp as the frame); some
    # clips are filmed soft, as if upscaled from a smaller picture
    # (half of the sharp ones exactly 1: native resolution, and the camera's cheapest path)
    s0 = 0.45 + 0.3 * s_draw if soft < 0.2 else 1.0 if soft < 0.6 else 0.8 + 0.45 * s_draw
    bh = max(u * H * s0, MIN_BOX)
    bw = min(max(bh * aspect, MIN_BOX), W * s0)
    stacked = len(names) == 2 and split < 0.5
    if len(names) == 2:
        bh, bw = (max(bh, 2 * MIN_BOX), bw) if stacked else (bh, max(bw, 2 * MIN_BOX))
    s0 = max(s0, bh / H, bw / W)  # tiny frames: widen the view rather than shrink the sources
    s_lim = max(min(MAX_SCALE, s0 * 1.6), s0)
    Ww, Hw = int(math.ceil(W * s_lim * 1.4)) + 4, int(math.ceil(H * s_lim * 1.2)) + 4
    x = Ww / 2 + ox * 0.3 * (Ww - bw) / 2 - bw / 2
    y = Hw / 2 + oy * 0.3 * (Hw - bh) / 2 - bh / 2
    U = Box(int(round(x)), int(round(y)), int(round(bw)), int(round(bh)))
    if len(names) == 1:
        boxes = [U]
    elif stacked:
        boxes = [Box(U.x, U.y, U.w, U.h // 2), Box(U.x, U.y + U.h // 2, U.w, U.h - U.h // 2)]
    else:
        boxes = [Box(U.x, U.y, U.w // 2, U.h), Box(U.x + U.w // 2, U.y, U.w - U.w // 2, U.h)]
    boxes = [_extend(name, b, [o for o in boxes if o is not b], W * s0, Ww, reach) for name, b in zip(names, boxes)]
    layout = {"u": r2(u), "s0": round(s0, 4), "s_lim": round(s_lim, 4), "world": [Ww, Hw],
              "subject": [U.x, U.y, U.w, U.h], "floor_y": r2(U.y + U.h * floor),
              "shadow": r2(shadow)}
    return Frame(layout, boxes)


def _extend(kind: str, b: Box, others: list[Box], view_w: float, Ww: int, width: float) -> Box:
    """Vehicles drive in from the side of the picture and rain falls from above it: alone in
    their band of the world, their boxes span about the first view's width (``width`` of it)
    around the subject (rain also reaches the world's top), so the cause of every sound is in
    the picture and no box edge shows."""
    if kind not in ("engine", "rain") or any(o.y < b.y + b.h and b.y < o.y + o.h for o in others):
        return b
    w = min(max(view_w * width, b.w), Ww)
    x = int(round(min(max(b.x + b.w / 2 - w / 2, 0), Ww - w)))
    if kind == "rain" and not others:
        return Box(x, 0, int(w), b.y + b.h)
    return Box(x, b.y, int(w), b.h)


def static_box(src: Source, others: list[Box], Ww: int) -> Box:
    """The box a source's static parts (ground, road, wall, pool) are drawn in: widened to the
    world's sides up to any neighbour beside it, so they read as the scene, not as a panel.
    Rain keeps only its ground: its tinted sky would be a panel over the backdrop's own."""
    b = src.box
    if src.kind == "rain":
        top = int(src.params["ground"]) - 1
        b = Box(b.x, top, b.w, b.y + b.h - top)
    x0, x1 = 0, Ww
    for o in others:
        if o.y < b.y + b.h and b.y < o.y + o.h:  # beside
            if o.x >= b.x + b.w:
                x1 = min(x1, o.x)
            elif o.x + o.w <= b.x:
                x0 = max(x0, o.x + o.w)
    return Box(x0, b.y, x1 - x0, b.h)


def finish(spec: ClipSpec, frame: Frame, opts: dict[str, Any], rngs) -> None:
    """Fill in the footage look of a planned clip: camera, backgrounds, distractors, optics and
    the events' positions in the output frames. ``rngs(k)`` gives the clip's stream (5, k)."""
    W, H, n, rate = spec.width, spec.height, spec.n_frames, spec.rate
    lay = frame.layout
    cam = camera.plan(rngs(2), lay, W, H, n, rate, [e.frame for e in spec.events], opts)
    views = camera.views(cam, n, rate)
    srng = rngs(5)
    scenes = [backdrops.plan_scene(srng, tuple(lay["world"]), lay["floor_y"], H * lay["s0"]) for _ in range(2)]
    s0 = cam["shots"][0]
    view0 = np.array([*s0["center"][0], s0["scale"][0]])
    items = distractors.plan(rngs(3), view0, W, H, n, rate, enabled=opts.get("distractors", True))
    spec.look = "footage"
    spec.background = scenes[0]
    spec.camera = cam
    spec.footage = {"layout": lay, "background2": scenes[1], "distractors": items,
                    "optics": optics.plan(rngs(4), opts), "options": dict(opts)}
    for e in spec.events:
        wx, wy = e.params["x"], e.params["y"]
        px, py = camera.to_frame(views[e.frame], wx, wy, W, H)
        box = spec.sources[e.params["source"]].box
        e.params.update(x=r2(px), y=r2(py), world_x=wx, world_y=wy, in_view=bool(0 <= px < W and 0 <= py < H),
                        scale=r2(box.h / views[e.frame][2] / H))
