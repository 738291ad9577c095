"""`maskvat-foley bench generate`."""
from __future__ import annotations

import argparse

from maskvat_foley.plugin.cli import UsageError


def cmd_bench_generate(args: argparse.Namespace) -> int:
    from maskvat_foley.core.engine.bench_generate import print_json, run

    if args.model and args.config:
        raise UsageError("give --model or --config, not both")
    if args.seconds <= 0 or args.takes < 1 or args.repeat < 1:
        raise UsageError("--seconds must be positive, --takes and --repeat at least 1")
    print_json(run(args.model, args.config, device=args.device, seconds=args.seconds,
                   takes=args.takes, steps=args.steps, guidance=args.guidance, repeat=args.repeat))
    return 0
