"""`maskvat-foley eval --set real --media PATH`: takes measured on real footage (core/eval/real.py).

Its options live with `eval` (plugin/cli_eval.py adds them with ``add_real_options`` and hands a
``--set real`` run to ``cmd_eval_real``; ``--figure PATH`` draws each video's frames, motion and take:
core/eval/real_figure.py); bad input is a usage error (exit 2, one line).
"""
from __future__ import annotations

import argparse
import json

from maskvat_foley.plugin.cli_options import UsageError


def add_real_options(ev: argparse.ArgumentParser) -> None:
    from maskvat_foley.core import eval as evaluation  # constants only

    ev.add_argument("--media", action="append", default=[], metavar="PATH",
                    help=f"--set {evaluation.REAL_SET}: a video, or a folder of videos; repeatable")
    ev.add_argument("--segment-seconds", type=float, default=evaluation.SEGMENT_SECONDS,
                    help=f"--set {evaluation.REAL_SET}: length of the segments each video is cut into")
    ev.add_argument("--seeds", type=int, default=evaluation.REAL_SEEDS, metavar="N",
                    help=f"--set {evaluation.REAL_SET}: takes per segment, seeds --seed to --seed + N - 1 "
                         "(10 measures five seed pairs in one run)")
    ev.add_argument("--foleyworld-clips", type=int, default=evaluation.FOLEYWORLD_LEVEL_CLIPS, metavar="N",
                    help=f"--set {evaluation.REAL_SET}: FoleyWorld test clips whose median take is the level "
                         "quiet takes on moving pictures are counted against (0: not counted)")


def cmd_eval_real(args: argparse.Namespace) -> int:
    from maskvat_foley.core import eval as evaluation

    if args.split != evaluation.REAL_SET:
        raise UsageError(f"--media is for --set {evaluation.REAL_SET}; FoleyWorld sets render their own clips")
    if not args.media:
        raise UsageError(f"--set {evaluation.REAL_SET} measures real footage: give one or more videos or "
                         "folders with --media PATH")
    if getattr(args, "card", None):  # the card reports FoleyWorld's measures against the true sound
        raise UsageError(f"--card is for FoleyWorld sets; --set {evaluation.REAL_SET} writes eval.json "
                         "(and --figure's PNGs)")
    if getattr(args, "look", "classic") != "classic":
        raise UsageError(f"--look is how FoleyWorld films its clips; --set {evaluation.REAL_SET} is real footage")

    from maskvat_foley.core.eval.real import RealInputError, evaluate_real

    try:
        results = evaluate_real(args.media, args.model, device=args.device, steps=args.steps,
                                guidance=args.guidance, temperature=args.temperature, beam=args.beam,
                                seed=args.seed, segment_seconds=args.segment_seconds, out_dir=args.out,
                                figure=args.figure, foleyworld_clips=args.foleyworld_clips,
                                seeds=args.seeds)
    except RealInputError as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(results, indent=1))
    return 0
