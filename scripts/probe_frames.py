"""Shared by the picture probes (framing_probe.py, look_probe.py): run a `maskvat-foley` command with
each clip decoded larger than the tower's input and its frames changed before the tower sees them."""
from __future__ import annotations

from typing import Callable

import numpy as np


def run_with_frames(command: list[str], decode: int, change: Callable[[object, np.ndarray], np.ndarray],
                    features: Callable | None = None) -> int:
    """``command`` run through the CLI with the engine's frames decoded at up to ``decode`` px on the short
    side (never under the tower's input) and ``change(extractor, rgb)`` applied to each clip's frames.
    ``features(plain, extractor, rgb, changed_rgb, times, motion_gain, motion)``, when given, makes the
    clip's features and motion itself (``plain``: the engine's own clip_features_and_motion)."""
    from maskvat_foley.core.engine import clip_media
    from maskvat_foley.core.features import shots
    from maskvat_foley.core.media.video import probe
    from maskvat_foley.plugin.cli import main as cli

    plain_read, plain_feats = clip_media.read_clip_frames, shots.clip_features_and_motion

    def read(job, span, size):
        info = probe(span.path)
        scale = min(1.0, decode / min(info.width, info.height))
        big = (max(size[0], round(info.width * scale / 2) * 2), max(size[1], round(info.height * scale / 2) * 2))
        return plain_read(job, span, big)

    def changed(extractor, rgb, times, motion_gain=1.0, motion=False):
        rgb = np.asarray(rgb)
        if features is not None:
            return features(plain_feats, extractor, rgb, change(extractor, rgb), times, motion_gain, motion)
        return plain_feats(extractor, change(extractor, rgb), times, motion_gain, motion)

    clip_media.read_clip_frames = read  # MediaFiles.read calls it by its module name
    shots.clip_features_and_motion = changed  # the engine imports it from the module at each call
    return cli(command)
