"""A contact sheet of footage-look frames, to judge by eye whether they read as camera pictures.

    python -m maskvat_foley.core.data.footage_sheet docs/foleyworld_footage.png [--seeds 0-5] [--size 256x144]

One row per seed (three moments of the clip; the caption names its backdrop, sources, camera and
exposure). Saved as a 256-colour PNG so the sheet stays small enough for the docs.
"""
from __future__ import annotations

import argparse
import logging
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from maskvat_foley.core.data.render import generate_clip

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)


def caption(clip) -> str:
    sp = clip.spec
    shots = sp.camera["shots"]
    kinds = "+".join(s.kind for s in sp.sources) if sp.events else "silent " + "+".join(s.kind for s in sp.sources)
    cam = f"{shots[0]['motion']}, shake {sp.camera['shake']['amp']:.1f}px" + (f", {len(shots) - 1} cut(s)" if len(shots) > 1 else "")
    dis = ",".join(d["kind"] for d in sp.footage["distractors"]) or "-"
    return (f"seed {sp.seed}  {sp.background['style']}  {kinds}  scale {sp.footage['layout']['u']:.2f}  "
            f"{cam}  {sp.footage['optics']['exposure']}  distractors: {dis}")


def contact_sheet(seeds: Sequence[int], size: tuple[int, int] = (256, 144), seconds: float = 3.0,
                  moments: Sequence[float] = (0.15, 0.5, 0.85)) -> "Image.Image":
    from PIL import Image, ImageDraw

    W, H = size
    bar = 14
    sheet = Image.new("RGB", (W * len(moments), (H + bar) * len(seeds)), (20, 20, 20))
    draw = ImageDraw.Draw(sheet)
    for r, seed in enumerate(seeds):
        clip = generate_clip(seed, seconds=Fraction(seconds).limit_denominator(1000), size=size, look="footage")
        y = r * (H + bar)
        draw.text((4, y + 1), caption(clip), fill=(230, 230, 230))
        for c, m in enumerate(moments):
            f = min(int(m * clip.spec.n_frames), clip.spec.n_frames - 1)
            sheet.paste(Image.fromarray(clip.frames[f]), (c * W, y + bar))
    return sheet


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seeds", default="0-5", help="e.g. 0-5 or 3,8,13")
    ap.add_argument("--size", default="256x144")
    ap.add_argument("--colors", type=int, default=256)
    a = ap.parse_args(argv)
    size = tuple(int(v) for v in a.size.lower().split("x"))
    sheet = contact_sheet(_seeds(a.seeds), size)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(a.colors).save(out, optimize=True)
    log.info("wrote %s (%d bytes)", out, out.stat().st_size)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    raise SystemExit(main())
