"""Research probe (issue #11): run a `maskvat-foley` command with the visual features of a model
that did not train with it stretched by a motion gain (core.features.motion_gain), to see what a
gain does before training with one. The engine's feature cache lives in the eval's --out folder,
so use a fresh one per setting.

    python scripts/feature_gain_probe.py [--gain 4] [--target 1.0] [--gate 10] -- eval --set real ...
"""
from __future__ import annotations

import argparse
import functools
import sys


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit("usage: feature_gain_probe.py [--gain G] [--target T] [--gate M] -- COMMAND ...")
    split = argv.index("--")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gain", type=float, default=4.0)
    p.add_argument("--target", type=float, default=None, help="feature change a frame to reach "
                   "(default: core.features.motion_gain.TARGET)")
    p.add_argument("--gate", type=float, default=None, help="mean picture motion a picture needs to be "
                   "stretched (default: core.features.motion_gain.GATE)")
    a = p.parse_args(argv[:split])

    from maskvat_foley.core.features import shots
    from maskvat_foley.plugin.cli import main as cli

    plain = shots.clip_features_and_motion  # the engine imports it from the module at each call
    settings = {k: v for k, v in (("target", a.target), ("gate", a.gate)) if v is not None}
    if settings:
        shots.stretch = functools.partial(shots.stretch, **settings)

    def stretched(extractor, rgb, times, motion_gain=1.0, motion=False):
        return plain(extractor, rgb, times, max(motion_gain, a.gain), motion)

    shots.clip_features_and_motion = stretched
    return cli(argv[split + 1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
