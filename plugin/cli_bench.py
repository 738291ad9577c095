"""`maskvat-foley bench generate|service|sampler|codec|foleyworld`: every benchmark, each printing JSON.

The measuring code is core/bench/ (and core/data/bench_foleyworld.py for FoleyWorld's rendering).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from maskvat_foley.plugin.cli_options import (UsageError, add_device, add_model, add_params, at_least,
                                              size_arg)


def add_parser(sub) -> None:
    from maskvat_foley.core.bench import generate, sampler, service

    b = sub.add_parser("bench", help="benchmarks that print JSON")
    bs = b.add_subparsers(dest="bench_command", metavar="WHAT")

    bg = bs.add_parser("generate", help="end-to-end generation speed and memory")
    add_model(bg)
    bg.add_argument("--config", choices=list(generate.CONFIGS),
                    help="random-initialised model of this size instead of --model")
    add_device(bg)
    bg.add_argument("--seconds", type=float, default=10.0, help="length of the generated clip")
    bg.add_argument("--takes", type=int, default=generate.TAKES, help="takes per run")
    add_params(bg, "steps", "guidance")
    bg.add_argument("--repeat", type=int, default=2, help="timed runs after one warm-up")
    bg.add_argument("--size", type=size_arg, default="640x360",
                    help="video frame size WxH (1920x1080: decoding and features of camera footage)")
    bg.add_argument("--frames", choices=generate.FRAMES, default="auto",
                    help="the clip as a video file decoded with PyAV, or its pictures in memory "
                         "(auto: PyAV when installed)")
    bg.add_argument("--reference", metavar="FILE_OR_SECONDS",
                    help="generate with a reference sound: a file, or seconds of a FoleyWorld strike (2: the "
                         "issue's 2 s reference); a --config model gets reference support for it")
    bg.add_argument("--ref-guidance", type=float, default=None, help="guidance toward the reference")
    bg.add_argument("--ref-mix", type=float, default=None,
                    help="how much of the reference's own sound goes into the takes, 0 to 1")
    bg.set_defaults(handler=cmd_generate)

    sv = bs.add_parser("service", help="the engine server: cached regenerate against a first take, and a load run")
    add_model(sv, "model folder (default: a tiny random model)")
    add_device(sv)
    sv.add_argument("--seconds", type=int, default=10, help="clip length for the regenerate timing")
    sv.add_argument("--jobs", type=int, default=50, help="jobs of the load run")
    sv.add_argument("--clients", type=int, default=4, help="concurrent clients of the load run")
    sv.add_argument("--steps", type=int, default=service.STEPS, help="sampling steps")
    sv.add_argument("--size", type=size_arg, default="1280x720", help="video frame size WxH")
    sv.add_argument("--work", metavar="DIR", help="working folder (default: a temporary one)")
    sv.set_defaults(handler=cmd_service)

    sa = bs.add_parser("sampler", help="MaskVAT sampling speed of a model preset (no codec, no video)")
    sa.add_argument("--preset", default="default", help="tiny, default or paper")
    sa.add_argument("--variant", choices=["adaln", "seq2seq", "hybrid"], help="default: the preset's")
    sa.add_argument("--codebooks", type=int, default=6, help="6: the 'small' codec; 9: official DAC")
    sa.add_argument("--cond-dim", type=int, default=512, help="visual feature size")
    sa.add_argument("--seconds", type=int, default=10, help="length of the generated audio")
    add_params(sa, "steps", "guidance")
    sa.add_argument("--takes", type=int, default=sampler.TAKES, help="takes per run")
    add_device(sa, "cpu")
    sa.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    sa.set_defaults(handler=cmd_sampler)

    bc = bs.add_parser("codec", help="what a codec keeps of a sound: struck tones, materials, FoleyWorld clips")
    bc.add_argument("--codec", default=None,
                    help="codec folder, model folder (its codec/) or preset (default: the bundled model's)")
    bc.add_argument("--pairs", type=int, default=30, help="material pairs (0: skip)")
    bc.add_argument("--clips", type=int, default=20, help="FoleyWorld test clips (0: skip)")
    add_device(bc, "cpu")
    bc.set_defaults(handler=cmd_codec)

    # FoleyWorld's benchmark keeps its options beside the data set it measures (core/data, where they
    # change with it): everything after `foleyworld` goes to its parser, --help included.
    fw = bs.add_parser("foleyworld", prefix_chars="+", add_help=False,
                       help="FoleyWorld clips rendered per second (`bench foleyworld --help` for its options)")
    fw.add_argument("options", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    fw.set_defaults(handler=cmd_foleyworld)


def _print(result: dict) -> None:
    print(json.dumps(result, indent=1))


def cmd_generate(args: argparse.Namespace) -> int:
    from maskvat_foley.core.bench.generate import run

    if args.model and args.config:
        raise UsageError("give --model or --config, not both")
    if args.seconds <= 0 or args.takes < 1 or args.repeat < 1:
        raise UsageError("--seconds must be positive, --takes and --repeat at least 1")
    for option, value in (("--ref-guidance", args.ref_guidance), ("--ref-mix", args.ref_mix)):
        if value is not None and args.reference is None:
            raise UsageError(f"{option} needs --reference")
    ref = {} if args.reference is None else {"reference": args.reference}
    if args.ref_guidance is not None:
        ref["ref_guidance"] = args.ref_guidance
    if args.ref_mix is not None:
        ref["ref_mix"] = args.ref_mix
    try:
        result = run(args.model, args.config, device=args.device, seconds=args.seconds, takes=args.takes,
                     steps=args.steps, guidance=args.guidance, repeat=args.repeat, frames=args.frames,
                     size=args.size, **ref)
    except ValueError as e:  # a bad reference, a model without reference support: one line
        if args.reference is None:
            raise
        raise UsageError(str(e)) from None
    _print(result)
    return 0


def cmd_service(args: argparse.Namespace) -> int:
    """Exit 1 when the load run lost or mixed up a result."""
    from maskvat_foley.core.bench.service import run

    for name in ("seconds", "jobs", "clients", "steps"):
        at_least(getattr(args, name), name)
    with tempfile.TemporaryDirectory(prefix="maskvat-bench-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        report = run(args.model, args.device, work, seconds=args.seconds, jobs=args.jobs, clients=args.clients,
                     steps=args.steps, size=args.size)
    print(json.dumps(report, indent=2))
    return 0 if report["load"]["ok"] else 1


def cmd_sampler(args: argparse.Namespace) -> int:
    from maskvat_foley.core.bench.sampler import run

    _print(run(args.preset, variant=args.variant, codebooks=args.codebooks, cond_dim=args.cond_dim,
               seconds=args.seconds, steps=args.steps, guidance=args.guidance, takes=args.takes,
               device=args.device, threads=args.threads))
    return 0


def cmd_codec(args: argparse.Namespace) -> int:
    from maskvat_foley.core.bench.codec import run
    from maskvat_foley.core.engine.engine import default_model_dir

    if args.pairs < 0 or args.clips < 0:
        raise UsageError("--pairs and --clips must be 0 or more")
    _print(run(args.codec or default_model_dir(), device=args.device, pairs=args.pairs, clips=args.clips))
    return 0


def cmd_foleyworld(args: argparse.Namespace) -> int:
    from maskvat_foley.core.data.bench_foleyworld import main

    main(args.options)  # prints its JSON; its own parser exits 2 on bad options (SystemExit)
    return 0
