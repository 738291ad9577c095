"""Research probe (issue #11): frame the action before the visual tower sees it.

The tower squashes the whole picture to 64x64: six walkers seen from high up become a few pixels
each, a box turned in a hand a small patch. FoleyWorld taught the model on shapes that fill a good
part of its 96 px frame. This probe decodes the clip at up to ``--decode`` px on its short side,
finds per shot the smallest square that holds ``--share`` of the shot's motion energy (never under
``--min-side`` source pixels, so nothing is upscaled past what the picture holds), and gives the
tower that square instead of the whole frame, as a camera operator would frame the action. The
model is untouched. The engine's feature cache lives in the eval's --out folder: use a fresh one.

    python scripts/framing_probe.py [--share 0.8] [--min-side 96] -- eval --set real ...
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def energy_map(rgb: np.ndarray, cell: int) -> np.ndarray:
    """Squared grey-level change summed over the shot, per ``cell`` x ``cell`` block, less the median
    block's (sensor noise and flicker are everywhere; motion is somewhere)."""
    g = rgb.astype(np.float32).mean(axis=3)
    h, w = (g.shape[1] // cell) * cell, (g.shape[2] // cell) * cell
    g = g[:, :h, :w].reshape(len(g), h // cell, cell, w // cell, cell).mean(axis=(2, 4))
    e = np.square(np.diff(g, axis=0)).sum(axis=0)
    return np.maximum(e - np.median(e), 0.0)


def best_square(e: np.ndarray, side: int) -> tuple[float, int, int]:
    """The largest energy any ``side`` x ``side`` window of cells holds, and its top-left cell."""
    s = np.pad(e, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    win = s[side:, side:] - s[:-side, side:] - s[side:, :-side] + s[:-side, :-side]
    i = int(np.argmax(win))
    y, x = divmod(i, win.shape[1])
    return float(win[y, x]), y, x


def frame_square(rgb: np.ndarray, share: float, min_side: int) -> tuple[int, int, int] | None:
    """(top, left, side) in pixels of the smallest square holding ``share`` of the shot's motion, or
    None when the picture is too small to crop or nothing moves."""
    n, h, w, _ = rgb.shape
    short = min(h, w)
    if n < 2 or short < min_side:
        return None
    cell = max(1, short // 48)
    e = energy_map(rgb, cell)
    total = float(e.sum())
    if total <= 0:
        return None
    ch, cw = e.shape
    lo = max(1, -(-min_side // cell))
    chosen = None
    for side in range(min(ch, cw), lo - 1, -1):
        got, y, x = best_square(e, side)
        if got < share * total:
            break
        chosen = (y * cell, x * cell, side * cell)
    return chosen


def at_tower_size(extractor, rgb: np.ndarray) -> np.ndarray:
    """uint8 frames resized to the tower's input as it resizes them, so differently framed shots stack."""
    return extractor.to_input(np.ascontiguousarray(rgb)).mul(255).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit("usage: framing_probe.py [--share S] [--min-side PX] [--decode PX] -- COMMAND ...")
    split = argv.index("--")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--share", type=float, default=0.8, help="share of the motion energy the square holds")
    p.add_argument("--min-side", type=int, default=96, help="smallest square, in source pixels")
    p.add_argument("--decode", type=int, default=288, help="short side frames are decoded at (at most)")
    p.add_argument("--gate", type=float, default=0.0, help="frame only shots whose whole picture moves this much "
                   "(motion_gain.picture_motion, at the tower's size; 0: every shot)")
    p.add_argument("--max-zoom", type=float, default=0.0, help="the square's side is at least the short side over "
                   "this (0: no limit but --min-side)")
    p.add_argument("--match-change", action="store_true", help="bring the framed features' mean change a frame "
                   "down to the whole picture's (look closer without hearing the motion larger)")
    p.add_argument("--log", default=None, help="append each shot's square here (JSON lines)")
    a = p.parse_args(argv[:split])

    import json

    from probe_frames import run_with_frames

    def framed(extractor, rgb):
        from maskvat_foley.core.features.motion_gain import picture_motion
        from maskvat_foley.core.media.cuts import detect_cuts

        cuts = detect_cuts(rgb)
        edges, parts = [0, *cuts, len(rgb)], []
        for s, e in zip(edges[:-1], edges[1:]):
            short = min(rgb.shape[1:3])
            least = max(a.min_side, round(short / a.max_zoom)) if a.max_zoom > 0 else a.min_side
            still = a.gate > 0 and picture_motion(extractor, rgb[s:e]) < a.gate
            sq = None if still else frame_square(rgb[s:e], a.share, least)
            parts.append(at_tower_size(extractor, rgb[s:e] if sq is None else
                                       rgb[s:e, sq[0]:sq[0] + sq[2], sq[1]:sq[1] + sq[2]]))
            if a.log:
                with open(a.log, "a") as f:
                    f.write(json.dumps({"frames": [int(s), int(e)], "size": list(rgb.shape[1:3]), "square": sq}) + "\n")
        return np.concatenate(parts)

    def matched(plain, extractor, rgb, framed_rgb, times, motion_gain, motion):
        ref, _ = plain(extractor, at_tower_size(extractor, rgb), times, motion_gain, False)
        feats, moved = plain(extractor, framed_rgb, times, motion_gain, motion)
        change = lambda f: float((f[1:] - f[:-1]).norm(dim=1).mean()) if len(f) > 1 else 0.0  # noqa: E731
        g = min(1.0, change(ref) / max(change(feats), 1e-6))
        mean = feats.mean(0, keepdim=True)
        return mean + g * (feats - mean), moved

    return run_with_frames(argv[split + 1:], a.decode, framed, matched if a.match_change else None)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
