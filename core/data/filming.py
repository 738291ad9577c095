"""Rendering the footage look: the world is drawn once as plates, then filmed frame by frame.

Per clip: the background plate(s) of the whole world, with the sources' static parts blended in
(feathered at box edges that lie inside the world, so no pasted panel shows). Per frame: the
region the camera sees is copied from the plate into the world canvas, the sources and the
world-space distractors draw their moving parts there, moving things get a soft drop shadow,
and the view is resampled into the output frame. Per batch of frames: optics.Optics.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import numpy as np

from maskvat_foley.core.data import backdrops, camera, distractors, footage, textures
from maskvat_foley.core.data.kinds import kind_module
from maskvat_foley.core.data.optics import Optics
from maskvat_foley.core.data.scene import child_rng
from maskvat_foley.core.data.spec import ClipSpec

NO_SHADOW = ("rain",)  # streaks of rain cast no shadow worth drawing
FRAME_BYTES = 24 << 20  # float32 batch budget: small batches stay in cache


def build_plates(spec: ClipSpec, mods, states, which: list[int]) -> dict[int, np.ndarray]:
    Ww, Hw = spec.footage["layout"]["world"]
    scenes = [spec.background, spec.footage["background2"]]
    plates = {}
    for k in which:
        plate = backdrops.render_plate(scenes[k], child_rng(spec.seed, 5, 10 + k), Hw, Ww)
        boxes = [s.box for s in spec.sources]
        for m, s, st in zip(mods, spec.sources, states):
            b = footage.static_box(s, [o for o in boxes if o is not s.box], Ww)
            layer = plate.copy()
            m.draw_static(layer, replace(s, box=b), st)
            feather = 0.2 * min(b.w, b.h)
            mask = textures.soft_box(Hw, Ww, b.x, b.y, b.x + b.w, b.y + b.h, feather,
                                     (b.x <= 0, b.y <= 0, b.x + b.w >= Ww, b.y + b.h >= Hw))
            plate += mask[..., None] * (layer - plate)
        plates[k] = plate
    return plates


def drop_shadows(canvas: np.ndarray, plate: np.ndarray, rect, offset: tuple[float, float], strength: float) -> None:
    """Darken the plate under a soft, offset copy of whatever moved in ``rect`` (r0, r1, c0, c1);
    worked out on k x k cells (a shadow is soft anyway)."""
    r0, r1, c0, c1 = rect
    if r1 - r0 < 8 or c1 - c0 < 8:
        return
    k = 2 if max(r1 - r0, c1 - c0) < 160 else 3
    diff = np.abs(canvas[r0:r1:k, c0:c1:k] - plate[r0:r1:k, c0:c1:k]) @ _ONES3
    if not (diff > 12).any():
        return
    m = textures.box_blur((diff > 12).astype(np.float32), 1)
    dy, dx = int(round(offset[1] / k)), int(round(offset[0] / k))
    h, w = m.shape
    sh = np.zeros_like(m)
    sh[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = m[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    sh *= -strength
    sh += 1
    # each cell value repeated over k rows and k pixels x 3 channels: the region's flat layout
    up = np.repeat(np.repeat(sh, k, 0), 3 * k, 1)[:r1 - r0, :(c1 - c0) * 3]
    canvas[r0:r1, c0:c1].reshape(r1 - r0, (c1 - c0) * 3)[:] *= up


_ONES3 = np.ones(3, np.float32)


def iter_chunks(spec: ClipSpec, chunk: int = 32) -> Iterator[np.ndarray]:
    """The footage-look frames of ``spec`` in batches (uint8 [n, H, W, 3]); big frames come in
    smaller batches (FRAME_BYTES) so the per-batch optics stay in cache."""
    W, H, n = spec.width, spec.height, spec.n_frames
    fp = spec.footage
    lay, opt = fp["layout"], fp["optics"]
    Ww, Hw = lay["world"]
    mods = [kind_module(s.kind) for s in spec.sources]
    states = [m.prepare(s, spec.rate, n) for m, s in zip(mods, spec.sources)]
    plate_idx = camera.plate_of_frame(spec.camera, n)
    plates = build_plates(spec, mods, states, sorted(set(plate_idx.tolist())))
    views = camera.views(spec.camera, n, spec.rate)
    shot_ev = np.zeros(n)
    for s in spec.camera["shots"]:
        shot_ev[s["start"]:] = s["ev"]
    vrng = child_rng(spec.seed, 5, 20)
    optics = Optics(opt, W, H, vrng, views, camera.cut_frames(spec.camera), shot_ev, fp["distractors"], spec.rate)
    # a clip filmed soft (upscaled) is not also defocused: that would leave no detail at all
    sampler = camera.Sampler(W, H, (Ww, Hw), opt["defocus"] if lay["s0"] >= 0.75 else 1)
    canvas = np.zeros((Hw, Ww, 3), np.float32)  # parts the view never reads stay 0, not garbage
    world_items = [d for d in fp["distractors"] if d["kind"] in ("branch", "drifter")]
    light = spec.background["light"]
    sdir = (np.cos(light[0]) * 0.5, 0.6 + 0.4 * abs(np.sin(light[0])))  # mostly down: light from above
    shadow = lay["shadow"]
    chunk = max(1, min(chunk, FRAME_BYTES // (H * W * 12)))
    buf = np.empty((min(chunk, n), H, W, 3), np.float32)
    fps = float(spec.rate)
    for f0 in range(0, n, chunk):
        count = min(chunk, n - f0)
        for i in range(count):
            f = f0 + i
            plate = plates[int(plate_idx[f])]
            reg = sampler.region(views[f])
            r0, r1, c0, c1 = reg
            canvas[r0:r1, c0:c1] = plate[r0:r1, c0:c1]
            for m, s, st in zip(mods, spec.sources, states):
                m.draw(canvas, s, st, f)
            for s in spec.sources:
                if s.kind in NO_SHADOW or not shadow:
                    continue
                b = s.box
                size = 0.06 * min(b.w, b.h)
                rect = (max(b.y, r0), min(b.y + b.h, r1), max(b.x, c0), min(b.x + b.w, c1))
                drop_shadows(canvas, plate, rect, (sdir[0] * size, sdir[1] * size), shadow)
            distractors.draw_world(canvas, world_items, f / fps)
            sampler(canvas, views[f], reg, buf[i])
        yield optics(buf[:count], f0)
