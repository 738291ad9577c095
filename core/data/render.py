"""Rendering a planned clip: frames (vectorised numpy, one pass per frame) and audio."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from maskvat_foley.core.data import look, synth
from maskvat_foley.core.data.kinds import kind_module
from maskvat_foley.core.data.kinds.base import AudioCtx
from maskvat_foley.core.data.scene import child_rng, plan_clip
from maskvat_foley.core.data.spec import SAMPLE_RATE, ClipSpec, FoleyClip


CHUNK = 32  # frames drawn before the camera runs on them as one batch


def iter_chunks(spec: ClipSpec, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """The clip's frames in batches of up to ``chunk`` (uint8 [n, H, W, 3])."""
    if spec.look == "footage":
        from maskvat_foley.core.data import filming

        yield from filming.iter_chunks(spec, chunk)
        return
    mods = [kind_module(s.kind) for s in spec.sources]
    states = [m.prepare(s, spec.rate, spec.n_frames) for m, s in zip(mods, spec.sources)]
    bg = look.render_background(spec.background, spec.width, spec.height)
    for m, s, st in zip(mods, spec.sources, states):
        m.draw_static(bg, s, st)
    camera = look.Camera(spec.camera, spec.width, spec.height, child_rng(spec.seed, 2))
    buf = np.empty((min(chunk, spec.n_frames), spec.height, spec.width, 3), np.float32)
    for f0 in range(0, spec.n_frames, chunk):
        n = min(chunk, spec.n_frames - f0)
        work = buf[:n]
        work[:] = bg
        for i in range(n):
            for m, s, st in zip(mods, spec.sources, states):
                m.draw(work[i], s, st, f0 + i)
        yield camera(work)


def iter_frames(spec: ClipSpec) -> Iterator[np.ndarray]:
    """Frames one at a time (uint8 [H, W, 3]) without holding the whole clip in memory."""
    for block in iter_chunks(spec):
        yield from block


def render_video(spec: ClipSpec) -> np.ndarray:
    """All frames, uint8 [N, H, W, 3]."""
    out = np.empty((spec.n_frames, spec.height, spec.width, 3), np.uint8)
    f = 0
    for block in iter_chunks(spec):
        out[f:f + len(block)] = block
        f += len(block)
    return out


def render_audio(spec: ClipSpec, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 of exactly spec.num_samples(sample_rate) samples: the sources' sounds,
    peak-normalised to the clip's level, plus low room noise (silent clips are noise only)."""
    n = spec.num_samples(sample_rate)
    actx = AudioCtx(spec.rate, sample_rate, n)
    out = np.zeros(n, np.float32)
    for i, s in enumerate(spec.sources):
        if s.events:
            kind_module(s.kind).sound(out, s, actx, child_rng(spec.seed, 3, i))
    peak = float(np.abs(out).max()) if n else 0.0
    if peak > 0:
        out *= 10 ** (spec.audio["peak_db"] / 20) / peak
    out += synth.room_noise(child_rng(spec.seed, 4), n, sample_rate, 10 ** (spec.audio["noise_db"] / 20))
    return out.astype(np.float32, copy=False)


def generate_clip(seed: int, *, rate=None, seconds=None, size: tuple[int, int] | None = None,
                  kinds: Sequence[str] | None = None, sample_rate: int = SAMPLE_RATE,
                  video: bool = True, look="classic", swish: float = 0.0) -> FoleyClip:
    """The FoleyWorld clip of ``seed``: same arguments, identical arrays.

    rate: exact frame rate (Fraction, int or '24000/1001'); None picks one of spec.RATES.
    seconds: length (exact Fraction or number, rounded to whole frames); None picks 2..12 s.
    kinds: event kinds to include (at most two); None picks at random (some clips mix two
    sources, some are silent); [] or ['none'] gives a scene where nothing happens.
    video=False skips the frames (for audio-only uses such as codec training).
    size: (W, H); None is 96x96 for the classic look and a random camera size for footage.
    look: "classic" (flat shapes; unchanged) or "footage" (camera-sized, textured, lit and filmed
    by a moving camera with silent distractors and cuts: footage.py), or a mapping such as
    {"name": "footage", "cuts": False, "exposure": "dark"}. Events and audio mean the same in
    every look. swish: the chance of an arm that swings (plan_clip).
    """
    spec = plan_clip(seed, rate=rate, seconds=seconds, size=size, kinds=kinds, look=look, swish=swish)
    frames = render_video(spec) if video else None
    return FoleyClip(spec, frames, render_audio(spec, sample_rate), sample_rate)
