"""Research probe (issue #11): show the visual tower real frames simplified toward FoleyWorld's look.

FoleyWorld draws flat-coloured shapes on plain grounds; a camera gives texture, grain and shading,
and every textured pixel that shifts changes the tower's features. The animated short, the one
video whose look is nearest FoleyWorld's, is the one the bundle follows best. This probe filters
each clip's frames before the tower sees them (MaskVAT untouched), decoded at up to ``--decode`` px
on the short side:

- ``meanshift``: OpenCV's mean-shift filtering (colour regions flattened, edges kept);
- ``bilateral``: a strong bilateral filter, twice;
- ``blur``: a Gaussian blur of ``--sigma`` px (texture and grain gone, edges soft).

The engine's feature cache lives in the eval's --out folder: use a fresh one.

    python scripts/look_probe.py --filter meanshift -- eval --set real ...
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def simplify(rgb: np.ndarray, kind: str, sigma: float = 2.0) -> np.ndarray:
    """uint8 RGB frames [N, H, W, 3], each filtered by ``kind`` (see the module docstring)."""
    import cv2

    out = np.empty_like(rgb)
    for i, f in enumerate(rgb):
        if kind == "meanshift":
            out[i] = cv2.pyrMeanShiftFiltering(np.ascontiguousarray(f), sp=6, sr=24)
        elif kind == "bilateral":
            g = cv2.bilateralFilter(np.ascontiguousarray(f), 9, 40, 6)
            out[i] = cv2.bilateralFilter(g, 9, 40, 6)
        elif kind == "blur":
            out[i] = cv2.GaussianBlur(f, (0, 0), sigma)
        else:
            raise ValueError(f"unknown filter {kind!r}")
    return out


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit("usage: look_probe.py --filter KIND [--decode PX] -- COMMAND ...")
    split = argv.index("--")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--filter", choices=("meanshift", "bilateral", "blur"), required=True)
    p.add_argument("--decode", type=int, default=128, help="short side frames are decoded and filtered at (at most)")
    p.add_argument("--sigma", type=float, default=2.0, help="blur: Gaussian sigma in pixels at the decode size")
    a = p.parse_args(argv[:split])

    from probe_frames import run_with_frames

    return run_with_frames(argv[split + 1:], a.decode, lambda _ext, rgb: simplify(rgb, a.filter, a.sigma))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
