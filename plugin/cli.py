"""The `maskvat-foley` command line.

Sub-commands import their heavy dependencies (torch, av, Qt) only when they run, so listing clips
answers in a fraction of a second. Exit codes: 0 success, 1 failure, 2 bad usage.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from maskvat_foley import __version__
from maskvat_foley.core.jobs import GenerationParams
from maskvat_foley.plugin.cli_help import Parser

log = logging.getLogger("maskvat_foley")


# Sub-commands whose own argparse lives in their module: argv goes to module.main(argv).
# A key of two words ("foleyworld make") takes the command and its action.
PASSTHROUGH = {"eval": "maskvat_foley.core.eval.run:main",
               "train": "maskvat_foley.core.train.cli:main",
               "foleyworld make": "maskvat_foley.core.data.make:main_make"}
PASSTHROUGH_HELP = {"eval": "evaluate a model on FoleyWorld (onset F1, AV-Align, baselines) as JSON",
                    "train": "train the codec, the audio-visual encoder or MaskVAT (codec|avsync|maskvat|bundle)"}
EXIT_STDOUT_CLOSED = 141  # what a shell reports for a tool stopped by SIGPIPE (`... | head`)


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
    g.add_argument("--seed", type=int,
                   help="seed of the first take (takes use seed, seed+1, ...; a seed gives the same takes "
                        "again) (default: a random seed, printed so the takes can be made again)")
    g.add_argument("--takes", type=int, default=2, help="takes per clip")
    g.add_argument("--steps", type=int, default=16, help="sampling steps")
    g.add_argument("--guidance", type=float, default=3.0, help="classifier-free guidance")
    g.add_argument("--beam", type=int, default=1, help="candidates ranked per take by the synchrony scorer")
    g.add_argument("--temperature", type=float, default=GenerationParams.temperature,
                   help="sampling temperature: lower is cleaner, higher gives more varied takes")
    g.add_argument("--sample-rate", type=int, default=48000, help="WAV sample rate in Hz")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    g.add_argument("--engine", metavar="URL",
                   help="send the work to a running engine (maskvat-foley engine serve)")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="maskvat-foley", description=(
        "Generate synchronized Foley for the video clips of an OpenTimelineIO timeline with MaskVAT "
        "and place it sample-exactly on new audio tracks."))
    p.add_argument("--version", action="version", version=f"maskvat-foley {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("clips", help="list the video clips of a timeline")
    c.add_argument("timeline", help="OTIO timeline (or FCP XML, AAF, EDL, .otioz)")
    c.add_argument("--json", action="store_true", help="print a JSON list")
    c.add_argument("--media-root", action="append", default=[], metavar="DIR",
                   help="find missing media by file name under DIR; repeatable")
    c.set_defaults(handler="maskvat_foley.plugin.cli_timeline:cmd_clips")

    g = sub.add_parser("generate", help="generate Foley for selected clips and write a new timeline")
    g.add_argument("timeline", help="OTIO timeline (or FCP XML, AAF, EDL, .otioz); never modified")
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
    e.add_argument("input", help="timeline to convert; never modified")
    e.add_argument("-o", "--output", required=True, help="the converted timeline")
    e.add_argument("--format", choices=["otio", "otioz", "fcp_xml", "aaf", "edl", "mlt", "xges"],
                   help="default: from the output's extension")
    e.add_argument("--media-root", action="append", default=[], metavar="DIR",
                   help="find missing media by file name under DIR; repeatable")
    e.set_defaults(handler="maskvat_foley.plugin.cli_timeline:cmd_export")

    d = sub.add_parser("demo", help="build a demo timeline and give it Foley with the bundled model")
    d.add_argument("-o", "--output", default="maskvat-demo", metavar="DIR",
                   help="folder for the demo timeline, media, takes, previews and spectrograms")
    d.add_argument("--model", metavar="DIR", help="model folder (default: the bundled model)")
    d.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    d.add_argument("--takes", type=int, default=2,
                   help="takes per clip (seeds 1000, 1001, ...: the same takes on every run)")
    d.set_defaults(handler="maskvat_foley.plugin.cli_generate:cmd_demo")

    b = sub.add_parser("bench", help="benchmarks that print JSON")
    bs = b.add_subparsers(dest="bench_command", metavar="WHAT")
    bg = bs.add_parser("generate", help="end-to-end generation speed and memory")
    bg.add_argument("--model", metavar="DIR", help="model folder (default: the bundled model)")
    bg.add_argument("--config", choices=["tiny", "default", "paper"],
                    help="random-initialised model of this size instead of --model")
    bg.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    bg.add_argument("--seconds", type=float, default=10.0, help="length of the generated clip")
    bg.add_argument("--takes", type=int, default=1, help="takes per run")
    bg.add_argument("--steps", type=int, default=16, help="sampling steps")
    bg.add_argument("--guidance", type=float, default=3.0, help="classifier-free guidance")
    bg.add_argument("--repeat", type=int, default=2, help="timed runs after one warm-up")
    bg.set_defaults(handler="maskvat_foley.plugin.cli_bench:cmd_bench_generate")

    # These parse their own options (their modules run standalone too); listed here for --help.
    for name, text in PASSTHROUGH_HELP.items():
        sub.add_parser(name, help=text, add_help=False)
    fw = sub.add_parser("foleyworld", help="FoleyWorld, the procedural audio-visual data set")
    fws = fw.add_subparsers(dest="foleyworld_command", metavar="ACTION")
    fws.add_parser("make", add_help=False,
                   help="write N clips: `foleyworld make --n N --seed S -o DIR` (video + true audio + "
                        "JSON); `foleyworld make --help` for its options")

    pn = sub.add_parser("panel", help="open the Foley panel (PySide6) on a timeline")
    pn.add_argument("timeline", nargs="?", help="timeline to open")
    pn.add_argument("--model", metavar="DIR", help="model folder (default: the bundled model)")
    pn.add_argument("--engine", metavar="URL", help="use a running engine instead of starting one")
    pn.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    pn.add_argument("--screenshot", metavar="OUT.png",
                    help="render the panel offscreen into a PNG and exit")
    pn.add_argument("--select", metavar="IDS", help="comma-separated clip ids to select")
    pn.add_argument("--state", choices=["timeline", "generating", "takes"], default="timeline",
                    help="what the screenshot shows")
    pn.add_argument("--size", default="1480x900", help="window size WxH for --screenshot")
    pn.set_defaults(handler="maskvat_foley.plugin.cli_panel:cmd_panel")

    from maskvat_foley.plugin.cli_install import add_parsers as add_install_parsers

    add_install_parsers(sub)

    en = sub.add_parser("engine", help="the local generation engine")
    ens = en.add_subparsers(dest="engine_command", metavar="ACTION")
    sv = ens.add_parser("serve", help="serve the engine on 127.0.0.1")
    sv.add_argument("--model", metavar="DIR", help="model folder (default: the bundled model)")
    sv.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sv.add_argument("--port", type=int, default=8765, help="port to listen on")
    sv.add_argument("--output-dir", metavar="DIR",
                    help="where takes go when a request names no folder (default: the user's data folder)")
    sv.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                    help="a Host header name to answer besides the loopback names and --host (against "
                         "DNS rebinding only loopback names are answered); repeatable")
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
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s") if args.verbose
                         else _BriefFormatter("%(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


class _BriefFormatter(logging.Formatter):
    """Log lines without tracebacks (those are for --verbose): a logged exception adds one line."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info:
            exc = record.exc_info[1]
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
            if exc is not None:
                record.msg, record.args = f"{record.getMessage()}: {type(exc).__name__}: {exc}", None
        return super().format(record)


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


def _stdout_closed() -> bool:
    """Whether the reader of stdout has gone (``maskvat-foley clips --json | head``)."""
    import select
    import stat

    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR and POLLHUP are always reported
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no real stdout, or no poll (Windows)
        return False


def _run(args: argparse.Namespace, call) -> int:
    try:
        code = int(call() or 0)
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not at interpreter exit
        return code
    except SystemExit as exc:  # a sub-module's argparse: keep its code (2 on bad usage)
        return exc.code if isinstance(exc.code, int) else 1
    except BrokenPipeError as exc:
        if not _stdout_closed():  # a socket to the engine, say: a real error
            return _failed(args, exc)
        # Quiet, as Unix tools are; stdout goes to /dev/null so the exit flush cannot complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_STDOUT_CLOSED
    except UsageError as exc:
        print(f"maskvat-foley: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("maskvat-foley: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _failed(args, exc)


def _failed(args: argparse.Namespace, exc: Exception) -> int:
    """One clear line; the traceback only with --verbose."""
    if args.verbose:
        log.exception("failed")
    print(f"maskvat-foley: error: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
