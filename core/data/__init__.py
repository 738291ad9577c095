"""FoleyWorld procedural audio-visual data: scenes with visible events and their sounds, from a seed.

    from maskvat_foley.core.data import generate_clip, split_seeds, onset_times, make_clips
    clip = generate_clip(seed)            # FoleyClip: frames uint8 [N,H,W,3], audio float32, events
    clip = generate_clip(seed, look="footage")   # camera-sized, textured, filmed by a moving camera

Looks: "classic" (flat shapes on plain backgrounds, 96x96 by default; bit-identical to what the
bundled model was trained on) and "footage" (footage.py: backdrops, camera, distractors, optics,
rendered by filming.py). Events and audio mean the same in both.

Names are loaded lazily so importing the package costs nothing until they are used.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Box": "spec", "ClipSpec": "spec", "Event": "spec", "FoleyClip": "spec", "Source": "spec",
    "KINDS": "spec", "CONTINUOUS_KINDS": "spec", "MATERIALS": "spec", "SURFACES": "spec", "RATES": "spec",
    "SAMPLE_RATE": "spec",
    "SPLITS": "spec", "split_seeds": "spec", "onset_times": "spec", "onset_samples": "spec",
    "plan_clip": "scene", "generate_clip": "render", "render_audio": "render",
    "render_video": "render", "iter_frames": "render", "make_clips": "make",
    "write_clip": "make",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
