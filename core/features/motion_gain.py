"""Motion gain: a moving picture's visual features stretched so that the model hears its motion.

A talking head or a handheld shot moves the visual features about a quarter as much a frame as a
FoleyWorld event (docs/footage_experiment.md), and a model trained on FoleyWorld hears so small a
change as nothing: a quiet take under a picture that plainly moves. With a gain ``g_max > 1`` each
clip's features are stretched about their mean, ``f' = mean + g (f - mean)``, with ``g`` chosen so
that their mean change a frame reaches ``TARGET`` (never below 1, at most ``g_max``), but only when
the picture itself moves (its ``motion_signal`` on the extractor's frames reaches ``GATE`` on
average): a still picture's features are left alone, so its take stays quiet. Cuts are not motion.

It is a property of a model (MaskVATConfig.motion_gain), applied alike by the engine and the
training cache. The bundle did not train with it: it takes the gain at inference, where it was
measured (five seed pairs on real footage, FoleyWorld test 40; docs/footage_experiment.md).
Training a CPU continuation with it (resources/train_configs/motion-gain.json) was measured worse.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from maskvat_foley.core.features.base import FeatureExtractor

# Feature change a frame a stretched clip is brought to. FoleyWorld's classic clips give the bundled
# extractor about 1.05 (median), a talking head 0.28. Measured on the bundle (docs/footage_experiment.md):
# 1.0 put the talking head's takes on its motion but doubled FoleyWorld's FD (15.7 to 30.0); 0.75
# lifted more real pictures but cost FoleyWorld's impacts 3.5 dB and FD 20.2; 0.5 costs FoleyWorld
# nothing (onset F1 0.910, FD 15.7) and leaves 3 of 90 moving takes quiet, against 8.
TARGET = 0.5
# Mean motion_signal (block 1, grey levels squared, on the extractor's frames) below which a picture
# counts as still. Measured: carphone 10-40, a still shot under 3; without the gate a still
# segment's take was lifted to -22 LUFS (docs/footage_experiment.md).
GATE = 10.0


def picture_motion(extractor: FeatureExtractor, rgb: np.ndarray, shots: Sequence[int] = (),
                   batch: int = 256) -> float:
    """Mean motion of uint8 RGB frames [N, H, W, 3] as ``extractor`` sees them (its input size), on
    the 0..255 scale of ``core.eval.metrics.motion_signal`` (block 1); cuts are not motion. Grey
    frames are made a batch at a time, so a long clip never holds its colour frames as floats."""
    from maskvat_foley.core.eval.metrics import motion_signal

    grey = np.concatenate([extractor.to_input(rgb[i:i + batch]).mean(dim=1).mul_(255.0).cpu().numpy()
                           for i in range(0, len(rgb), batch)])
    return float(motion_signal(grey[..., None], block=1, shots=shots).mean())


def stretch(features: torch.Tensor, motion: float, max_gain: float, target: float = TARGET,
            gate: float = GATE) -> torch.Tensor:
    """``features`` [N, D] stretched about their mean as the module says, for a picture whose mean
    motion is ``motion``. Unchanged when ``max_gain <= 1``, the picture is still, or N < 3."""
    if max_gain <= 1.0 or len(features) < 3 or motion < gate:
        return features
    change = float((features[1:] - features[:-1]).norm(dim=1).mean())
    g = min(max_gain, max(1.0, target / max(change, 1e-6)))
    if g == 1.0:
        return features
    mean = features.mean(0, keepdim=True)
    return mean + g * (features - mean)


def rule(max_gain: float) -> dict:
    """What a feature cache key records of the gain (nothing when off, so keys made before the
    gain existed stay valid)."""
    return {"motion_gain": [float(max_gain), TARGET, GATE]} if max_gain > 1.0 else {}
