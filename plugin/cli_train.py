"""`maskvat-foley train codec|avsync|maskvat|bundle`: the training command line.

    maskvat-foley train codec   --config default --out runs/codec
    maskvat-foley train avsync  --config default --out runs/avsync
    maskvat-foley train transfer --config footage-transfer --out runs/transfer   (a tower for camera pictures)
    maskvat-foley train maskvat --config default --out runs/maskvat --codec runs/codec --avsync runs/avsync
    maskvat-foley train bundle  --codec runs/codec --avsync runs/avsync --maskvat runs/maskvat --out DIR
    maskvat-foley train level   --model DIR   (measure the training audio's level into a bundle)
    maskvat-foley train swap-tower --model DIR --transfer runs/transfer --out DIR2

Several GPUs: ``torchrun --nproc_per_node N -m maskvat_foley train maskvat ...``. The stages are
core/train/stages.py; ``--config`` is a JSON file or the name of one in resources/train_configs.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from maskvat_foley.plugin.cli_help import Parser
from maskvat_foley.plugin.cli_options import at_least

STAGES = ("codec", "avsync", "transfer", "maskvat")  # core.train.stages.STAGES, without importing torch here
BUNDLED = ("codec", "avsync", "maskvat")  # the runs a bundle is made of (a transfer run counts as avsync)


def add_parser(sub) -> None:
    tr = sub.add_parser("train", description="Train the MaskVAT Foley models.",
                        help="train the codec, the audio-visual encoder, its transfer to camera pictures or MaskVAT "
                             "(codec|avsync|transfer|maskvat|bundle|swap-tower|level)")
    _add_actions(tr)
    tr.set_defaults(handler=cmd_train)


def _add_actions(tr: argparse.ArgumentParser) -> None:
    acts = tr.add_subparsers(dest="action", metavar="ACTION", required=True)
    for stage in STAGES:
        p = acts.add_parser(stage, help=f"train the {stage} stage")
        p.add_argument("--config", required=True,
                       help="JSON file, or tiny|default|paper|continue (resources/train_configs)")
        p.add_argument("--out", required=True, help="run folder (state, metrics, outputs)")
        p.add_argument("--resume", action="store_true", help="continue from <out>/state")
        p.add_argument("--max-steps", type=int, help="stop at this step (LR schedule unchanged)")
        p.add_argument("--max-minutes", type=float, help="stop cleanly after this many minutes")
        p.add_argument("--until", type=float, metavar="EPOCH_SECONDS",
                       help="stop cleanly at this wall-clock time (seconds since 1970), whatever the data "
                            "took before the loop: for a machine lent for a fixed time")
        p.add_argument("--device", default="auto", help="auto, cpu, cuda")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        if stage == "maskvat":
            p.add_argument("--codec", help="codec run folder (or a codec folder / preset)")
            p.add_argument("--avsync", help="avsync or transfer run folder (features/ and scorer/)")
    b = acts.add_parser("bundle", help="assemble codec + avsync + maskvat runs into one checkpoint")
    for k in BUNDLED:
        b.add_argument(f"--{k}", required=True, help=f"{k} run folder" + {
            "codec": " (or a bundled model folder, whose codec is reused)",
            "avsync": " (or a transfer run, or a bundled model folder)"}.get(k, ""))
    b.add_argument("--out", required=True, help="checkpoint folder to write")
    b.add_argument("--name", help="model name (default: the MaskVAT run's)")
    b.add_argument("--overwrite", action="store_true", help="replace a checkpoint already in --out")
    b.add_argument("--level-clips", type=int, default=200,
                   help="FoleyWorld clips whose level through the codec the takes are brought to "
                        "(default 200; 0: none)")
    sw = acts.add_parser("swap-tower", help="a bundle with the visual tower of a transfer run (its MaskVAT, "
                                            "codec and scorer unchanged)")
    sw.add_argument("--model", required=True, help="model folder (a bundle) whose tower taught the run")
    sw.add_argument("--transfer", required=True, help="transfer run folder")
    sw.add_argument("--out", required=True, help="model folder to write")
    sw.add_argument("--overwrite", action="store_true", help="replace a folder already in --out")
    lv = acts.add_parser("level", help="measure the output level into a model folder (the training "
                                       "audio's level through its codec; the weights are unchanged)")
    lv.add_argument("--model", required=True, help="model folder (a bundle)")
    lv.add_argument("--clips", type=int, default=200,
                    help="FoleyWorld train clips to measure through the codec (default 200; 0: keep the "
                         "model's codec measurement)")
    lv.add_argument("--takes", type=int, default=0,
                    help="then generate takes on this many training clips and move the level by the median "
                         "loudness they miss (default 0: none; 40 takes about 2 minutes on a CPU)")
    lv.add_argument("--device", default="cpu", help="device for the codec and the takes (default cpu)")


def train(args: argparse.Namespace, argv: list[str]) -> dict[str, Any] | Path:
    """Run the action; ``argv`` (the arguments after ``train``) is recorded in the run."""
    from maskvat_foley.core.train.common import RunOptions

    command = "maskvat-foley train " + shlex.join(argv)
    if args.action == "bundle":
        from maskvat_foley.core.train.bundle import bundle

        at_least(args.level_clips, "level-clips", 0)

        return bundle(args.codec, args.avsync, args.maskvat, args.out, name=args.name, overwrite=args.overwrite,
                      command=command, level_clips=args.level_clips)
    if args.action == "swap-tower":
        from maskvat_foley.core.train.retower import swap_tower

        return swap_tower(args.model, args.transfer, args.out, overwrite=args.overwrite, command=command)
    if args.action == "level":
        from maskvat_foley.core.train.level import measure_into, measure_takes_into

        at_least(args.clips, "clips", 0)
        at_least(args.takes, "takes", 0)
        at_least(args.clips + args.takes, "clips or --takes")  # something to measure
        cal = measure_into(args.model, args.clips, args.device) if args.clips else None
        if args.takes:
            cal = measure_takes_into(args.model, args.takes, args.device, progress=True)
        return {"stage": "level", **cal.to_dict()}
    from maskvat_foley.core.train.stages import run_stage

    opts = RunOptions(out=Path(args.out), resume=args.resume, stop_at=args.max_steps, max_minutes=args.max_minutes,
                      until=args.until, device=args.device, progress=not args.no_progress, command=command)
    return run_stage(args.action, args.config, opts, codec=getattr(args, "codec", None),
                     avsync=getattr(args, "avsync", None))


def cmd_train(args: argparse.Namespace) -> int:
    """Exit 2 for a config or run folder that is not there or not valid."""
    # The arguments after the command word (global options before it take no values).
    argv = args.argv[args.argv.index("train") + 1:]
    try:
        result = train(args, argv)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"maskvat-foley train: error: {exc}", file=sys.stderr)
        return 2
    if isinstance(result, dict) and result:
        keys = ("stage", "step", "stopped", "train_seconds", "steps_per_s", "val")
        print(json.dumps(result if result.get("stage") == "level" else {k: result.get(k) for k in keys},
                         default=str))
    elif isinstance(result, Path):
        print(result)
    return 0


def run(argv: list[str]) -> dict[str, Any] | Path:
    """The result of ``maskvat-foley train ARGV`` (a run's summary, or a bundle's folder), for
    scripts and tests; errors are raised, not turned into exit codes."""
    parser = Parser(prog="maskvat-foley train")
    _add_actions(parser)
    return train(parser.parse_args(list(argv)), list(argv))


def main(argv: list[str] | None = None) -> int:
    """``maskvat-foley train ARGV`` with its exit code."""
    from maskvat_foley.plugin.cli import main as cli_main

    return cli_main(["train", *(argv or [])])
