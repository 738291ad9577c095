"""The `maskvat-foley` command line.

Sub-commands import their heavy dependencies (torch, av, Qt) only when they run, so listing clips
answers in a fraction of a second. Exit codes: 0 success, 1 failure, 2 bad usage.
"""
from __future__ import annotations

import argparse
import logging
import sys

from maskvat_foley import __version__
from maskvat_foley.core.jobs import GenerationParams

log = logging.getLogger("maskvat_foley")


# Sub-commands whose own argparse lives in their module: argv goes to module.main(argv).
# A key of two words ("foleyworld make") takes the command and its action.
PASSTHROUGH = {"eval": "maskvat_foley.core.eval.run:main",
               "train": "maskvat_foley.core.train.cli:main",
               "foleyworld make": "maskvat_foley.core.data.make:main_make"}
PASSTHROUGH_HELP = {"eval": "evaluate a model on FoleyWorld (onset F1, AV-Align, baselines) as JSON",
                    "train": "train the codec, the audio-visual encoder or MaskVAT (codec|avsync|maskvat|bundle)",
                    "foleyworld": "FoleyWorld clips: `foleyworld make --n N --seed S -o DIR` (video + true audio + JSON)"}


class UsageError(Exception):
    """Bad command-line usage: exit code 2."""


def _add_selection(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("selection (one of)")
    g.add_argument("--clip", action="append", default=[], metavar="ID",
                   help="clip id (V1.2) or clip name; repeatable")
    g.add_argument("--track", type=int, metavar="N", help="every clip of video track N (from 1)")
    g.add_argument("--range", nargs=2, metavar=("TCIN", "TCOUT"),
                   help="every clip overlapping [TCIN, TCOUT), timecodes at the timeline rate")
    g.add_argument("--all", action="store_true", help="every video clip")


def _add_generation(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("generation")
    g.add_argument("--model", metavar="DIR", help="model folder (default: the bundled model)")
    g.add_argument("--seed", type=int, help="seed of the first take (takes use seed, seed+1, ...)")
    g.add_argument("--takes", type=int, default=2, help="takes per clip (default 2)")
    g.add_argument("--steps", type=int, default=16, help="sampling steps (default 16)")
    g.add_argument("--guidance", type=float, default=3.0, help="classifier-free guidance (default 3)")
    g.add_argument("--beam", type=int, default=1, help="candidates ranked per take (default 1)")
    g.add_argument("--temperature", type=float, default=GenerationParams.temperature,
                   help=f"sampling temperature: lower is cleaner, higher more varied takes "
                        f"(default {GenerationParams.temperature})")
    g.add_argument("--sample-rate", type=int, default=48000, help="WAV sample rate (default 48000)")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    g.add_argument("--engine", metavar="URL",
                   help="send the work to a running engine (maskvat-foley engine serve)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="maskvat-foley", description=(
        "Generate synchronized Foley for the video clips of an OpenTimelineIO timeline with MaskVAT "
        "and place it sample-exactly on new audio tracks."))
    p.add_argument("--version", action="version", version=f"maskvat-foley {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("clips", help="list the video clips of a timeline")
    c.add_argument("timeline")
    c.add_argument("--json", action="store_true", help="print a JSON list")
    c.add_argument("--media-root", action="append", default=[], metavar="DIR",
                   help="find missing media by file name under DIR; repeatable")
    c.set_defaults(handler="maskvat_foley.plugin.cli_timeline:cmd_clips")

    g = sub.add_parser("generate", help="generate Foley for selected clips and write a new timeline")
    g.add_argument("timeline")
    g.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output timeline (.otio, .otioz, .xml, .aaf, .edl); never the input")
    _add_selection(g)
    g.add_argument("--media-root", action="append", default=[], metavar="DIR",
                   help="find missing media by file name under DIR; repeatable")
    g.add_argument("--media-dir", metavar="DIR",
                   help="where the WAV takes go (default: next to the output timeline)")
    _add_generation(g)
    g.set_defaults(handler="maskvat_foley.plugin.cli_generate:cmd_generate")

    e = sub.add_parser("export", help="convert a timeline to another format")
    e.add_argument("input")
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--format", choices=["otio", "otioz", "fcp_xml", "aaf", "edl"],
                   help="default: from the output's extension")
    e.add_argument("--media-root", action="append", default=[], metavar="DIR")
    e.set_defaults(handler="maskvat_foley.plugin.cli_timeline:cmd_export")

    d = sub.add_parser("demo", help="build a demo timeline and give it Foley with the bundled model")
    d.add_argument("-o", "--output", default="maskvat-demo", metavar="DIR")
    d.add_argument("--model", metavar="DIR")
    d.add_argument("--device", default="auto")
    d.add_argument("--takes", type=int, default=2)
    d.set_defaults(handler="maskvat_foley.plugin.cli_generate:cmd_demo")

    b = sub.add_parser("bench", help="benchmarks that print JSON")
    bs = b.add_subparsers(dest="bench_command", metavar="WHAT")
    bg = bs.add_parser("generate", help="end-to-end generation speed and memory")
    bg.add_argument("--model", metavar="DIR")
    bg.add_argument("--config", choices=["tiny", "default", "paper"],
                    help="random-initialised model of this size instead of --model")
    bg.add_argument("--device", default="auto")
    bg.add_argument("--seconds", type=float, default=10.0)
    bg.add_argument("--takes", type=int, default=1)
    bg.add_argument("--steps", type=int, default=16)
    bg.add_argument("--guidance", type=float, default=3.0)
    bg.add_argument("--repeat", type=int, default=2, help="timed runs after one warm-up")
    bg.set_defaults(handler="maskvat_foley.plugin.cli_bench:cmd_bench_generate")

    # These parse their own options (their modules run standalone too); listed here for --help.
    for name, text in PASSTHROUGH_HELP.items():
        sub.add_parser(name, help=text, add_help=False)

    pn = sub.add_parser("panel", help="open the Foley panel (PySide6) on a timeline")
    pn.add_argument("timeline", nargs="?")
    pn.add_argument("--model", metavar="DIR", help="model folder (default: the bundled model)")
    pn.add_argument("--engine", metavar="URL", help="use a running engine instead of starting one")
    pn.add_argument("--device", default="auto")
    pn.add_argument("--screenshot", metavar="OUT.png",
                    help="render the panel offscreen into a PNG and exit")
    pn.add_argument("--select", metavar="IDS", help="comma-separated clip ids to select")
    pn.add_argument("--state", choices=["timeline", "generating", "takes"], default="timeline",
                    help="what the screenshot shows (default: timeline)")
    pn.add_argument("--size", default="1480x900", help="window size WxH for --screenshot")
    pn.set_defaults(handler="maskvat_foley.plugin.cli_panel:cmd_panel")

    from maskvat_foley.plugin.cli_install import add_parsers as add_install_parsers

    add_install_parsers(sub)

    en = sub.add_parser("engine", help="the local generation engine")
    ens = en.add_subparsers(dest="engine_command", metavar="ACTION")
    sv = ens.add_parser("serve", help="serve the engine on 127.0.0.1")
    sv.add_argument("--model", metavar="DIR")
    sv.add_argument("--device", default="auto")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8765)
    sv.add_argument("--output-dir", metavar="DIR")
    sv.set_defaults(handler="maskvat_foley.plugin.cli_engine:cmd_serve")
    tk = ens.add_parser("token", help="print the engine's bearer token")
    tk.set_defaults(handler="maskvat_foley.plugin.cli_engine:cmd_token")
    return p


def _setup_logging(args: argparse.Namespace) -> None:
    import warnings

    # descript-audiotools scripts a function at import; newer torch warns about it on every run.
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*is deprecated",
                            category=FutureWarning)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s" if level > logging.DEBUG
                        else "%(levelname)s %(name)s: %(message)s")


def _resolve(handler: str):
    import importlib

    module, _, name = handler.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    at = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    key = next((k for k in (" ".join(argv[at:at + 2]), argv[at] if at is not None else None)
                if k in PASSTHROUGH), None) if at is not None else None
    if key is not None:
        args = parser.parse_args(argv[:at])  # global options (-v, -q) before the command
        _setup_logging(args)
        rest = argv[at + len(key.split()):]
        return _run(args, lambda: _resolve(PASSTHROUGH[key])(rest))
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        # No command, or a group without its action ("maskvat-foley engine").
        where = " ".join(a for a in argv if not a.startswith("-"))
        parser.error(f"choose an action: see 'maskvat-foley {where + ' ' if where else ''}--help'")
    _setup_logging(args)
    return _run(args, lambda: _resolve(handler)(args))


def _run(args: argparse.Namespace, call) -> int:
    try:
        return int(call() or 0)
    except SystemExit as exc:  # a sub-module's argparse: keep its code (2 on bad usage)
        return exc.code if isinstance(exc.code, int) else 1
    except UsageError as exc:
        print(f"maskvat-foley: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("maskvat-foley: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line; the traceback only with --verbose
        if args.verbose:
            log.exception("failed")
        print(f"maskvat-foley: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
