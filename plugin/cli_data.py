"""`maskvat-foley foleyworld make`."""
from __future__ import annotations

import argparse

from maskvat_foley.plugin.cli import UsageError


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 128x96, got {text!r}") from None
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise UsageError(f"--size must be even and at least 16x16, got {text!r}")
    return w, h


def cmd_foleyworld_make(args: argparse.Namespace) -> int:
    from maskvat_foley.core.data.make import make_clips

    if args.n < 1:
        raise UsageError("--n must be at least 1")
    if args.seed < 0:
        raise UsageError("--seed must be 0 or more")
    paths = make_clips(args.n, args.seed, args.output, size=parse_size(args.size),
                       workers=args.workers, wav=args.wav, progress=True)
    print(f"wrote {len(paths)} clip(s) to {args.output}")
    return 0
