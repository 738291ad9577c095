"""Pieces the command modules share: the usage error, and options several commands take.

Generation options read their defaults from core.jobs.GenerationParams (one set of defaults for the
command line, the panel, eval and the benchmarks); ``--help`` shows them (cli_help).
"""
from __future__ import annotations

import argparse
import dataclasses

from maskvat_foley.core.jobs import GenerationParams

DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps"
MODEL_HELP = "model folder (default: the bundled model)"

# Help of each GenerationParams field that is a command-line option.
PARAM_HELP = {
    "takes": "takes per clip",
    "steps": "sampling steps",
    "guidance": "classifier-free guidance",
    "beam": "candidates ranked per take by the synchrony scorer",
    "temperature": "sampling temperature: lower is cleaner, higher gives more varied takes",
    "sample_rate": "WAV sample rate in Hz",
}


class UsageError(Exception):
    """Bad command-line usage: exit code 2."""


def param_default(name: str):
    """The default of GenerationParams field ``name``."""
    return next(f.default for f in dataclasses.fields(GenerationParams) if f.name == name)


def add_params(p, *names: str, **defaults) -> None:
    """``--NAME`` options for GenerationParams fields, typed and defaulted from the dataclass;
    ``defaults`` overrides a default where a command means another value (a benchmark's one take)."""
    types = {f.name: f.type for f in dataclasses.fields(GenerationParams)}
    for name in names:
        kind = {"int": int, "float": float}[str(types[name])]
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=defaults.get(name, param_default(name)),
                       help=PARAM_HELP[name])


def add_model(p, help: str = MODEL_HELP) -> None:
    p.add_argument("--model", metavar="DIR", help=help)


def add_device(p, default: str = "auto") -> None:
    p.add_argument("--device", default=default, help=DEVICE_HELP)


def add_media_root(p) -> None:
    p.add_argument("--media-root", action="append", default=[], metavar="DIR",
                   help="find missing media by file name under DIR; repeatable")


def at_least(value: int, name: str, least: int = 1) -> None:
    if value < least:
        raise UsageError(f"--{name} must be at least {least}")


def size_arg(text: str) -> tuple[int, int]:
    """A WxH size (``--size 96x96``)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 96x96, got {text!r}") from None
    return w, h
