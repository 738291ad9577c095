"""Research probe (issue #11), not a product option: run a `maskvat-foley` command with the visual
features' motion scaled up on pictures that move but barely change the features.

A talking head moves the bundle's features about a quarter as much a frame as a FoleyWorld event
(docs/footage_experiment.md), and the model hears so small a change as nothing. Here each clip's
features are stretched about their mean, ``f' = mean + g (f - mean)``, with ``g`` chosen so their
mean change a frame reaches TARGET (at most GAIN, never below 1), but only when the picture's own
motion (metrics.motion_signal on the features' 64x64 frames, mean) reaches GATE: a still picture's
features are left alone, so its take stays quiet. The engine's feature cache lives in the eval's
--out folder, so use a fresh one per setting.

    python scripts/feature_gain_probe.py [--gain 4] [--target 1.0] [--gate 10] -- eval --set real ...
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def stretch(feats, rgb: np.ndarray, gain: float, target: float, gate: float):
    """``feats`` [N, D] of frames ``rgb`` [N, H, W, 3], stretched about their mean as described above."""
    from maskvat_foley.core.eval.metrics import motion_signal

    if len(feats) < 3 or float(motion_signal(rgb, block=1).mean()) < gate:
        return feats
    change = float((feats[1:] - feats[:-1]).norm(dim=1).mean())
    g = min(gain, max(1.0, target / max(change, 1e-6)))
    mean = feats.mean(0, keepdim=True)
    return mean + g * (feats - mean)


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit("usage: feature_gain_probe.py [--gain G] [--target T] [--gate M] -- COMMAND ...")
    split = argv.index("--")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gain", type=float, default=4.0)
    p.add_argument("--target", type=float, default=1.0)
    p.add_argument("--gate", type=float, default=10.0)
    a = p.parse_args(argv[:split])

    from maskvat_foley.core.features import shots
    from maskvat_foley.plugin.cli import main as cli

    plain = shots.clip_features  # the engine imports it from the module at each call

    def stretched(extractor, rgb, times):
        return stretch(plain(extractor, rgb, times), rgb, a.gain, a.target, a.gate)

    shots.clip_features = stretched
    return cli(argv[split + 1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
