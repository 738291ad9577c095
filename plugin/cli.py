"""The `maskvat-foley` command line.

Each command module registers its sub-parser with ``add_parser(subparsers)`` and sets a function
as its handler. The modules import their heavy dependencies (torch, av, Qt) only when a handler
runs, so listing clips answers in a fraction of a second. Exit codes: 0 success, 1 failure,
2 bad usage, 130 interrupted, 141 when the reader of stdout went away.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from maskvat_foley import __version__
from maskvat_foley.plugin import (cli_bench, cli_clips, cli_demo, cli_engine, cli_eval, cli_export,
                                  cli_foleyworld, cli_generate, cli_install, cli_panel, cli_train)
from maskvat_foley.plugin.cli_help import Parser
from maskvat_foley.plugin.cli_options import UsageError

log = logging.getLogger("maskvat_foley")

# In the order `maskvat-foley --help` lists them.
COMMANDS = (cli_clips, cli_generate, cli_export, cli_demo, cli_bench, cli_eval, cli_train, cli_foleyworld,
            cli_panel, cli_install, cli_engine)
EXIT_STDOUT_CLOSED = 141  # what a shell reports for a tool stopped by SIGPIPE (`... | head`)

__all__ = ["UsageError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="maskvat-foley", description=(
        "Generate synchronized Foley for the video clips of an OpenTimelineIO timeline with MaskVAT "
        "and place it sample-exactly on new audio tracks."))
    p.add_argument("--version", action="version", version=f"maskvat-foley {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return p


def _setup_logging(args: argparse.Namespace) -> None:
    import warnings

    # descript-audiotools scripts a function at import; newer torch warns about it on every run.
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*is deprecated",
                            category=FutureWarning)
    # DAC's quantizer (in every codec here) builds its layers with torch.nn.utils.weight_norm.
    warnings.filterwarnings("ignore", message=r".*torch\.nn\.utils\.weight_norm.*is deprecated",
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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        # No command, or a group without its action ("maskvat-foley engine").
        where = " ".join(a for a in argv if not a.startswith("-"))
        parser.error(f"choose an action: see 'maskvat-foley {where + ' ' if where else ''}--help'")
    args.argv = argv  # the command line as given (train records it in its run folder)
    _setup_logging(args)
    return _run(args, lambda: handler(args))


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
    except SystemExit as exc:  # argparse inside a handler, or sys.exit: keep its code
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
