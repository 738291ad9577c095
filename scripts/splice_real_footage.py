"""Cut real footage together into short edits, so ``eval --set real`` measures sounds at shot changes
on dozens of cuts instead of the few the sample videos hold.

Each output video is 4 s at 25 fps, 640x360 (sources letterboxed, as on a 16:9 timeline), made of three
pieces of different shots: 1 s, 2 s, 1 s. Its cuts fall at 1 s and 3 s, the middles of the 2 s
segments the real evaluation cuts a video into, so every segment holds one cut with a second of
picture on each side. Shots are found with core.media.cuts in the sources (the evaluation's own rule);
the pieces and their offsets are drawn with a fixed seed, so the set is the same on every machine.

    python scripts/splice_real_footage.py [SRC_DIR] [DEST_DIR] [--n 12] [--seed 0]

SRC_DIR defaults to train-runs/real-media (scripts/fetch_real_footage.sh), DEST_DIR to
train-runs/real-splices. A list of the pieces is written beside the videos (splices.json).
"""
from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maskvat_foley.core.eval.real import analysis_size  # noqa: E402
from maskvat_foley.core.media.cuts import detect_cuts  # noqa: E402
from maskvat_foley.core.media.video import probe, read_frames  # noqa: E402
from maskvat_foley.core.media.video_writer import write_video  # noqa: E402

RATE = Fraction(25)
SIZE = (640, 360)
PIECES = (25, 50, 25)  # frames: cuts at 1 s and 3 s


def _fit(w: int, h: int) -> tuple[int, int]:
    """The source's picture size inside SIZE, aspect kept, even sides for the encoder."""
    s = min(SIZE[0] / w, SIZE[1] / h)
    return max(2, int(w * s) // 2 * 2), max(2, int(h * s) // 2 * 2)


def _letterbox(rgb: np.ndarray) -> np.ndarray:
    out = np.zeros((len(rgb), SIZE[1], SIZE[0], 3), np.uint8)
    h, w = rgb.shape[1:3]
    y, x = (SIZE[1] - h) // 2, (SIZE[0] - w) // 2
    out[:, y:y + h, x:x + w] = rgb
    return out


def source_shots(path: Path) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The whole source at RATE, letterboxed, and its shots as [start, end) frame ranges."""
    info = probe(path)
    n = int(info.duration_frames * RATE / info.rate) if info.duration_frames else 0
    frames = read_frames(path, 0, n, RATE, size=_fit(info.width, info.height), pad=True).rgb
    # cuts as the evaluation finds them: on its small analysis pictures
    small = read_frames(path, 0, n, RATE, size=analysis_size(info.width, info.height), pad=True).rgb
    bounds = [0, *detect_cuts(small), len(frames)]
    return _letterbox(frames), list(zip(bounds[:-1], bounds[1:]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", nargs="?", default="train-runs/real-media")
    ap.add_argument("dest", nargs="?", default="train-runs/real-splices")
    ap.add_argument("--n", type=int, default=12, help="edits to make (default: 12, 24 cuts)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    videos = sorted(p for p in Path(args.src).iterdir() if p.suffix.lower() in (".mp4", ".mov", ".mkv"))
    if not videos:
        ap.error(f"{args.src}: no videos (run scripts/fetch_real_footage.sh first)")
    pictures, shots = {}, []
    for v in videos:
        pictures[v.name], ranges = source_shots(v)
        shots += [(v.name, a, b) for a, b in ranges]
    rng = np.random.default_rng(args.seed)
    dest = Path(args.dest)
    dest.mkdir(parents=True, exist_ok=True)
    listing = []
    for k in range(args.n):
        pieces, used = [], set()
        for length in PIECES:
            fits = [s for s in shots if s[2] - s[1] >= length and s not in used]
            if not fits:
                ap.error(f"{args.src}: too few shots: an edit needs three shots of 1-2 s or more "
                         f"(found {len(shots)} in {len(videos)} video(s))")
            name, a, b = fits[rng.integers(len(fits))]
            start = a + int(rng.integers(b - a - length + 1))
            used.add((name, a, b))
            pieces.append((name, start, length))
        rgb = np.concatenate([pictures[n][s:s + ln] for n, s, ln in pieces])
        out = dest / f"splice{k:02d}.mp4"
        write_video(out, rgb, RATE)
        listing.append({"video": out.name, "pieces": [{"source": n, "start_frame": s, "frames": ln}
                                                      for n, s, ln in pieces]})
        print(out, " + ".join(f"{n}[{s}:{s + ln}]" for n, s, ln in pieces))
    (dest / "splices.json").write_text(json.dumps({"rate": str(RATE), "size": SIZE, "seed": args.seed,
                                                   "shots": [list(s) for s in shots], "videos": listing},
                                                  indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
