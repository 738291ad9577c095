"""`maskvat-foley foleyworld make`: FoleyWorld clips written to a folder (video with its true audio,
and the exact events as JSON)."""
from __future__ import annotations

import argparse

from maskvat_foley.plugin.cli_options import size_arg


def add_parser(sub) -> None:
    fw = sub.add_parser("foleyworld", help="FoleyWorld, the procedural audio-visual data set")
    acts = fw.add_subparsers(dest="foleyworld_command", metavar="ACTION")
    mk = acts.add_parser("make", help="write N clips: `foleyworld make --n N --seed S -o DIR` (video + true audio + "
                                      "JSON); `foleyworld make --help` for its options",
                         description="Write FoleyWorld clips (.mp4 with audio + .json ground truth).")
    mk.add_argument("--n", type=int, required=True, help="number of clips")
    mk.add_argument("--seed", type=int, default=0,
                    help="first seed: train 0.., val 1000000.., test 2000000.. (default 0)")
    mk.add_argument("-o", "--out", "--output", dest="out", required=True, help="output folder")
    mk.add_argument("--look", choices=("classic", "footage"), default="classic",
                    help="classic: flat shapes at --size (default); footage: a textured world filmed by a "
                         "moving camera, with silent distractors and cuts (random camera size unless --size)")
    mk.add_argument("--size", type=size_arg, help="WxH (default 96x96 for classic, a random camera size for footage)")
    mk.add_argument("--rate", help="frame rate such as 24000/1001 (default: random per clip)")
    mk.add_argument("--seconds", help="clip length (default: random 2..12 s)")
    mk.add_argument("--kinds", help="comma-separated kinds, 'none' for silent (default: random)")
    mk.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    mk.add_argument("--wav", action="store_true", help="also write the exact audio as 16-bit WAV")
    mk.set_defaults(handler=cmd_make)


def cmd_make(args: argparse.Namespace) -> int:
    from maskvat_foley.core.data.make import make_clips

    kinds = None if args.kinds is None else [k for k in args.kinds.split(",") if k]
    seconds = None if args.seconds is None else (args.seconds if "/" in args.seconds else float(args.seconds))
    size = args.size or ((96, 96) if args.look == "classic" else None)
    make_clips(args.n, args.seed, args.out, size=size, rate=args.rate, seconds=seconds, kinds=kinds,
               workers=args.workers, wav=args.wav, progress=True, look=args.look)
    return 0
