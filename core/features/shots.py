"""A clip's features shot by shot: what the engine conditions on and the training cache stores.

A cut is a change of view, not an event. Two things keep it from reading as one:
- each shot is extracted on its own (``FeatureExtractor.extract(shots=...)``), so the jump in the
  picture across a cut is never seen as motion;
- the features cross over from one shot to the next in a straight line over ``CROSSFADE`` either
  side of the cut, as a sound editor's crossfade at a picture cut. Even without the motion, a step
  from one shot's look to the next's made the bundled model start a sound on the cut: on 19 real
  cuts (``scripts/splice_real_footage.py``, five seed pairs) 27 % of takes had an onset within one
  frame of the cut against 14 % by chance; with the crossfade 6 % (MODEL_CARD.md).
An event in the 0.1 s either side of a cut is blurred with it.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np
import torch

from maskvat_foley.core.features.base import FeatureExtractor
from maskvat_foley.core.features.motion_gain import picture_motion, rule, stretch
from maskvat_foley.core.media.cuts import detect_cuts

# Recorded in feature-cache keys and token-cache manifests: features made by an earlier rule (v1:
# shots split, no crossfade) are not reused.
SHOT_RULE = "cuts-v2-crossfade-0.1s"
CROSSFADE = Fraction(1, 10)  # seconds either side of a cut


def crossfade_cuts(features: torch.Tensor, cuts: Sequence[int], times: Sequence[Fraction],
                   half: Fraction = CROSSFADE) -> torch.Tensor:
    """``features`` [N, D] at frame ``times`` (seconds) with the frames around each cut replaced by a
    straight line (in time) between two anchors: the last frame at least ``half`` before the cut and
    the first at least ``half`` after it, each kept inside its own shot. Frames outside stay as they are."""
    n = features.shape[0]
    if len(times) != n:
        raise ValueError(f"crossfade_cuts: {n} feature frames but {len(times)} frame times")
    cuts = sorted({int(c) for c in cuts if 0 < int(c) < n})
    out = features.clone()
    edges = [0, *cuts, n]
    for k, c in enumerate(cuts):
        first, last = edges[k], edges[k + 2] - 1  # the shot before starts at first, the one after ends at last
        a = max([i for i in range(first, c) if times[i] <= times[c] - half], default=first)
        b = min([i for i in range(c, last + 1) if times[i] >= times[c] + half], default=last)
        if b - a < 2:
            continue
        span = times[b] - times[a]
        w = torch.tensor([float((times[i] - times[a]) / span) for i in range(a + 1, b)],
                         dtype=features.dtype)[:, None]
        out[a + 1:b] = (1 - w) * features[a] + w * features[b]
    return out


def clip_features(extractor: FeatureExtractor, rgb: np.ndarray, times: Sequence[Fraction],
                  motion_gain: float = 1.0) -> torch.Tensor:
    """The features of one clip's frames [N, dim] at frame ``times`` (seconds): each shot on its own,
    crossfaded at the cuts, and stretched by the model's ``motion_gain`` (core.features.motion_gain;
    1: off). The engine's and the training cache's one path, so a model trains on what it is given
    at inference."""
    return clip_features_and_motion(extractor, rgb, times, motion_gain)[0]


def clip_features_and_motion(extractor: FeatureExtractor, rgb: np.ndarray, times: Sequence[Fraction],
                             motion_gain: float = 1.0, motion: bool = False) -> tuple[torch.Tensor, float | None]:
    """``clip_features`` and the picture's motion (``motion_gain.picture_motion``, cuts not counted),
    measured once for both: None when neither the gain nor ``motion`` asks for it."""
    cuts = detect_cuts(rgb)
    feats = crossfade_cuts(extractor.extract(rgb, shots=cuts), cuts, times)
    if motion_gain <= 1.0 and not motion:
        return feats, None
    moved = picture_motion(extractor, np.asarray(rgb), shots=cuts)
    return (stretch(feats, moved, motion_gain) if motion_gain > 1.0 else feats), moved


def feature_rule(motion_gain: float = 1.0) -> dict:
    """How ``clip_features`` made a clip's features, for cache keys and manifests."""
    return {"shots": SHOT_RULE, **rule(motion_gain)}
