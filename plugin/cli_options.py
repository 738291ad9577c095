"""Pieces the command modules share: the usage error, and options several commands take.

Generation options read their defaults from core.jobs.GenerationParams (one set of defaults for the
command line, the panel, eval and the benchmarks); ``--help`` shows them (cli_help).
"""
from __future__ import annotations

import argparse
import dataclasses
import os

from maskvat_foley.core.jobs import (GAIN_RANGE, LOUDNESS_RANGE, REF_GUIDANCE_RANGE, REFERENCE_SYNTAX,
                                     GenerationParams, ReferenceSpec)

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
    "loudness": "normalise each take to this integrated loudness (EBU R128, e.g. -23), true peak kept "
                "under -1 dBTP; near-silent takes are reported, not raised (default: off, the model's level)",
    "gain_db": "gain in dB on each take, added after --loudness, true peak kept under -1 dBTP",
}
# Options spelled otherwise than their field, and the metavar of those that have units.
PARAM_OPTION = {"gain_db": "--gain"}
PARAM_METAVAR = {"loudness": "LUFS", "gain_db": "DB"}


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
        # "float | None": an option that is off (None) unless given
        kind = {"int": int, "float": float, "float | None": float}[str(types[name])]
        option = PARAM_OPTION.get(name, f"--{name.replace('_', '-')}")
        p.add_argument(option, dest=name, type=kind, default=defaults.get(name, param_default(name)),
                       metavar=PARAM_METAVAR.get(name), help=PARAM_HELP[name])


def check_level(args: argparse.Namespace) -> None:
    """--loudness and --gain in their ranges (GenerationParams' own check, spelled as options)."""
    for name, option, (lo, hi), unit in (("loudness", "--loudness", LOUDNESS_RANGE, "LUFS"),
                                         ("gain_db", "--gain", GAIN_RANGE, "dB")):
        v = getattr(args, name, None)
        if v is not None and not lo <= v <= hi:  # NaN ("--gain nan") fails too
            raise UsageError(f"{option} must be between {lo:g} and {hi:g} {unit}, got {v:g}")


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


def add_reference(p) -> None:
    """--reference FILE[:START-END] and --ref-guidance G ("make it sound like this")."""
    p.add_argument("--reference", metavar="FILE[:START-END]",
                   help="make the takes sound like this sound (the picture still decides when): any "
                        "WAV, AIFF, FLAC ... or the audio of a video, mono or stereo, any sample rate; "
                        f"{REFERENCE_SYNTAX}; trimmed to the model's reference length (said when it is); "
                        "the file is only read, never modified or copied")
    lo, hi = REF_GUIDANCE_RANGE
    p.add_argument("--ref-guidance", type=float, metavar="G",
                   help=f"guidance toward the reference (models trained to hear one), {lo:g} to {hi:g}: "
                        f"0 ignores it (default: {param_default('ref_guidance'):g})")
    p.add_argument("--ref-mix", type=float, metavar="MIX",
                   help="how much of the reference's own sound goes into the takes, 0 to 1 (wet/dry): its hits "
                        "on the takes' hits, at their time and level, or for a steady sound (rain, an engine) "
                        "its texture under the takes' envelope; 0 leaves the takes as the model made them; "
                        f"works with any model (default: {param_default('ref_mix'):g})")


def reference_from_args(args: argparse.Namespace) -> dict:
    """``reference`` (its path made absolute), ``ref_guidance`` and ``ref_mix`` as GenerationParams
    fields."""
    text, guidance = getattr(args, "reference", None), getattr(args, "ref_guidance", None)
    mix = getattr(args, "ref_mix", None)
    if text is None:
        if guidance is not None or mix is not None:
            raise UsageError(f"{'--ref-guidance' if guidance is not None else '--ref-mix'} needs --reference")
        return {}
    lo, hi = REF_GUIDANCE_RANGE
    if guidance is not None and not lo <= guidance <= hi:  # NaN fails too
        raise UsageError(f"--ref-guidance must be between {lo:g} and {hi:g}, got {guidance:g}")
    if mix is not None and not 0 <= mix <= 1:
        raise UsageError(f"--ref-mix must be between 0 and 1, got {mix:g}")
    try:
        spec = ReferenceSpec.parse(text)
    except ValueError as exc:
        raise UsageError(f"--reference {text}: {exc}") from None
    if ":" in os.path.basename(spec.path) and not os.path.exists(spec.path):
        raise UsageError(f"--reference {text}: no such file (a range is {REFERENCE_SYNTAX})")
    spec = dataclasses.replace(spec, path=os.path.abspath(spec.path))
    return {"reference": spec, "ref_guidance": param_default("ref_guidance") if guidance is None else guidance,
            "ref_mix": param_default("ref_mix") if mix is None else mix}


def shown_path(path: str) -> str:
    """A path as a person (or a model card) reads it: relative when it lies under the current
    folder, as given otherwise, so nothing written carries this machine's absolute paths."""
    rel = os.path.relpath(path)
    return path if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel
