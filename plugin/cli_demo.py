"""`maskvat-foley demo`: the demo edit built and given Foley with the bundled model."""
from __future__ import annotations

import argparse

from maskvat_foley.core.demo import DEMO_SEED
from maskvat_foley.plugin.cli_generate import ClipProgressBar
from maskvat_foley.plugin.cli_options import add_device, add_model, add_params, at_least, check_level, param_default


def add_parser(sub) -> None:
    d = sub.add_parser("demo", help="build a demo timeline and give it Foley with the bundled model")
    d.add_argument("-o", "--output", default="maskvat-demo", metavar="DIR",
                   help="folder for the demo timeline, media, takes, previews and spectrograms")
    add_model(d)
    add_device(d)
    d.add_argument("--takes", type=int, default=param_default("takes"),
                   help=f"takes per clip (seeds {DEMO_SEED}, {DEMO_SEED + 1}, ...: the same takes on every run)")
    add_params(d, "loudness", "gain_db")
    d.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from maskvat_foley.core.demo import run_demo

    at_least(args.takes, "takes")
    check_level(args)
    bar = ClipProgressBar()
    try:
        lines = run_demo(args.output, model=args.model, device=args.device, takes=args.takes,
                         loudness=args.loudness, gain_db=args.gain_db, progress=bar)
    finally:
        bar.close()
    for line in lines:
        print(line)
    return 0
