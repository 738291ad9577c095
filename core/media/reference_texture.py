"""A steady reference's texture under the take's envelope: "this rain, not a rain".

A reference without distinct hits (rain, an engine, wind, a stream) has nothing to put on a
take's hits (core.media.reference_hits). What it has is a texture. The take says when and how
loud (its envelope follows the picture: a car revs, rain thickens); the reference says what it
sounds like. So the reference's longest sounding stretch is flattened to a steady level (its own swells
divided out), looped seamlessly from a seeded point, and shaped by the take's envelope: the envelope follower
of a synth, or a sound designer riding a library loop's fader to the picture.

Pure numpy on mono float arrays; nothing is read or written here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskvat_foley.core.media.reference_hits import check_mix, loop, mono, moving_rms

ENVELOPE = 0.02        # s: the take's envelope (RMS) window: fast enough for a rev, not a waveform
FLATTEN = 0.25         # s: the reference's own swells, divided out over this window
QUIET_PERCENTILE = 10  # the reference's quietest levels are not raised above this one
CROSSFADE = 0.05       # s: where the loop joins itself
MIN_TEXTURE = 0.25     # s: a shorter reference is not a texture to loop
ACTIVE_DB = 20.0       # a reference's stretches this far under its loud level are not its texture


@dataclass(frozen=True)
class Texture:
    """A reference flattened to unit RMS, ready to loop."""

    samples: np.ndarray


def reference_texture(audio: np.ndarray, sample_rate: int) -> Texture | None:
    """The reference as a steady texture; None when it is too short or silent."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if x.size < MIN_TEXTURE * sample_rate or not np.any(x) or not np.all(np.isfinite(x)):
        return None
    a, b = _longest_active(moving_rms(x, sample_rate, ENVELOPE), sample_rate)  # a short window: sharp edges
    x = x[a:b]
    env = moving_rms(x, sample_rate, FLATTEN)
    flat = x / np.maximum(env, np.percentile(env, QUIET_PERCENTILE))
    return Texture((flat / np.sqrt(np.mean(flat ** 2))).astype(np.float32))


def _longest_active(env: np.ndarray, sample_rate: int) -> tuple[int, int]:
    """The longest stretch within ACTIVE_DB of the sound's loud level (its 90th percentile): a
    library file's lead-in or a pause would loop as gaps. The whole sound when no stretch is
    MIN_TEXTURE long."""
    on = np.concatenate([[False], env >= np.percentile(env, 90) * 10 ** (-ACTIVE_DB / 20), [False]])
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    starts, stops = edges[::2], edges[1::2]
    if starts.size == 0:
        return 0, env.size
    k = int(np.argmax(stops - starts))
    edge = round(ENVELOPE * sample_rate)  # the envelope's own rise and fall at the stretch's ends
    a, b = int(starts[k]) + edge, int(stops[k]) - edge
    if b - a < MIN_TEXTURE * sample_rate:
        return 0, env.size
    return a, b


def apply_texture(take: np.ndarray, sample_rate: int, texture: Texture, *, mix: float = 1.0,
                  seed: int = 0) -> np.ndarray:
    """``take`` (mono) with its sound replaced by ``texture`` under its own envelope; ``mix`` is
    wet/dry (0: the take)."""
    check_mix(mix)
    x = mono(take, "texture replacement")
    if mix == 0.0:
        return x.astype(np.float32)
    t = texture.samples
    start = int(np.random.default_rng([seed % 2**32, 17]).integers(t.size))  # each take its own stretch
    bed = loop(np.concatenate([t[start:], t[:start]]), x.size, round(CROSSFADE * sample_rate))
    wet = bed * moving_rms(x, sample_rate, ENVELOPE)
    return (x + mix * (wet - x)).astype(np.float32)

