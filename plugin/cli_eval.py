"""`maskvat-foley eval`: a model evaluated on FoleyWorld clips, the results printed as JSON (and
written to its output folder, optionally into a model card)."""
from __future__ import annotations

import argparse
import json
import shlex

from maskvat_foley.plugin.cli_eval_real import add_real_options, cmd_eval_real
from maskvat_foley.plugin.cli_options import add_device, add_params, shown_path


def add_parser(sub) -> None:
    from maskvat_foley.core import eval as evaluation  # its constants only: running it imports numpy, torch

    ev = sub.add_parser("eval", help="evaluate a model on FoleyWorld (onset F1, AV-Align, baselines) as JSON",
                        description="Evaluate a MaskVAT model on FoleyWorld clips (onset F1, AV-Align, spectral "
                                    "distances, baselines).")
    ev.add_argument("--model", help="model folder (default: the bundled model)")
    ev.add_argument("--set", dest="split", choices=(*evaluation.SPLITS, evaluation.REAL_SET), default="test",
                    help=f"FoleyWorld split, or {evaluation.REAL_SET}: real footage given with --media")
    ev.add_argument("--n", type=int, default=evaluation.CLIPS, help="number of clips")
    add_device(ev, evaluation.DEVICE)
    ev.add_argument("--out", help="output folder (default: a new temporary folder)")
    add_params(ev, "steps", "guidance", "temperature", "beam")
    ev.add_argument("--seed", type=int, default=evaluation.SEED, help="generation seed")
    ev.add_argument("--seconds", type=float, help="clip length (default: random 2-12 s)")
    ev.add_argument("--look", choices=evaluation.LOOKS, default="classic",
                    help="how FoleyWorld films the clips: classic flat shapes at 96x96 (the model card's test), or "
                         "footage: the same events filmed like camera footage, at camera sizes with textures, a "
                         "moving camera, silent distractors and cuts (default: classic)")
    ev.add_argument("--card", help="also write the results section into this model card (e.g. the model's "
                                   "MODEL_CARD.md)")
    ev.add_argument("--figure", metavar="PATH",
                    help="also write a PNG of spectrograms: the takes of three clips of different kinds beside "
                         f"their true sound, true event times marked; with --set {evaluation.REAL_SET}, per video its "
                         "frames, motion curve (peaks, cuts) and take (onsets) on one time axis (several videos: PATH "
                         "with each video's name appended); with --reference-pairs, one impact clip generated with "
                         "two different references beside the take without one, true event times marked")
    ev.add_argument("--sampler", action="append", default=[], metavar="KEY=VALUE",
                    help="a sampler setting to measure (choice_temperature, anneal, window); repeatable")
    ev.add_argument("--reference-pairs", action="store_true",
                    help="evaluate reference sounds (any model; one trained with ref_frames > 0 also hears "
                         "them): impact, strike and footstep test clips, each with a reference rendered from "
                         "another clip as another material or surface; reports how often the take's timbre "
                         "follows the reference and onset F1 with and without it (--n pairs)")
    ev.add_argument("--ref-guidance", type=float, default=None,
                    help="with --reference-pairs: guidance toward the reference (default: the generation default)")
    ev.add_argument("--ref-mix", type=float, default=None,
                    help="with --reference-pairs: how much of the reference's own sound goes into the takes, 0 to 1 "
                         "(default: the generation default)")
    ev.add_argument("--ref-seconds", type=float, default=2.0,
                    help="with --reference-pairs: length of each reference in seconds (default: 2)")
    add_real_options(ev)
    ev.set_defaults(handler=cmd_eval)


def sampler_changes(items: list[str]) -> dict:
    """--sampler KEY=VALUE items as SamplerSettings changes (checked by SamplerSettings)."""
    import dataclasses

    from maskvat_foley.core.model.sampler import SamplerSettings
    from maskvat_foley.plugin.cli_options import UsageError

    kinds = {f.name: f.type for f in dataclasses.fields(SamplerSettings)}
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in kinds:
            raise UsageError(f"--sampler {item!r}: expected KEY=VALUE with KEY one of {', '.join(kinds)}")
        try:
            out[key] = None if value == "none" else (value if key == "anneal" else
                                                     int(value) if key == "window" else float(value))
        except ValueError:
            raise UsageError(f"--sampler {item!r}: {value!r} is not a number") from None
    try:
        SamplerSettings(**out)
    except ValueError as e:
        raise UsageError(f"--sampler: {e}") from None
    return out


def cmd_eval(args: argparse.Namespace) -> int:
    if args.reference_pairs:
        return cmd_eval_reference(args)
    if args.ref_guidance is not None:
        from maskvat_foley.plugin.cli_options import UsageError

        raise UsageError("--ref-guidance needs --reference-pairs")
    if args.ref_mix is not None:
        from maskvat_foley.plugin.cli_options import UsageError

        raise UsageError("--ref-mix needs --reference-pairs")
    if args.split == "real" or args.media:  # real footage has its own run (plugin/cli_eval_real.py)
        return cmd_eval_real(args)
    from maskvat_foley.core.engine.engine import default_model_dir
    from maskvat_foley.core.eval.run import evaluate, write_model_card
    from maskvat_foley.plugin.cli_options import UsageError

    if args.card and args.look != "classic":
        raise UsageError("--card writes the card's FoleyWorld test, which is the classic look; evaluate the "
                         "footage look without --card (its MODEL_CARD_eval.md is in --out)")
    model = args.model or default_model_dir()
    # The card records the full command, defaults spelled out, however it was invoked.
    spelled = ["--model", shown_path(model), "--set", args.split, "--n", str(args.n), "--device", args.device,
               "--steps", str(args.steps), "--guidance", str(args.guidance), "--temperature", str(args.temperature),
               "--beam", str(args.beam), "--seed", str(args.seed)]
    spelled += ["--seconds", str(args.seconds)] if args.seconds is not None else []
    spelled += ["--look", args.look] if args.look != "classic" else []
    spelled += ["--out", args.out] if args.out is not None else []
    spelled += ["--figure", args.figure] if args.figure is not None else []
    for item in args.sampler:
        spelled += ["--sampler", item]
    commands = ["maskvat-foley eval " + shlex.join(spelled)]
    results = evaluate(model, split=args.split, n=args.n, device=args.device, steps=args.steps,
                       guidance=args.guidance, temperature=args.temperature, beam=args.beam, seed=args.seed,
                       out_dir=args.out, seconds=args.seconds, look=args.look, commands=commands, figure=args.figure,
                       sampler=sampler_changes(args.sampler))
    if args.card:
        write_model_card(results, args.card, commands=commands)
    print(json.dumps(results, indent=1))
    return 0


def cmd_eval_reference(args: argparse.Namespace) -> int:
    """`eval --reference-pairs` (core.eval.reference)."""
    from maskvat_foley.core.engine.engine import default_model_dir
    from maskvat_foley.core.eval.reference import evaluate_reference
    from maskvat_foley.core.jobs import GenerationParams
    from maskvat_foley.plugin.cli_options import UsageError

    if args.split != "test" or args.media or args.sampler or args.card or args.look != "classic":
        raise UsageError("--reference-pairs runs on FoleyWorld's test clips; it takes no --set, --media, "
                         "--sampler, --card or --look")
    model = args.model or default_model_dir()
    ref_guidance = GenerationParams.ref_guidance if args.ref_guidance is None else args.ref_guidance
    ref_mix = GenerationParams.ref_mix if args.ref_mix is None else args.ref_mix
    spelled = ["--reference-pairs", "--model", shown_path(model), "--n", str(args.n), "--device", args.device,
               "--steps", str(args.steps), "--guidance", str(args.guidance), "--ref-guidance", str(ref_guidance),
               "--ref-mix", str(ref_mix),
               "--temperature", str(args.temperature), "--beam", str(args.beam), "--seed", str(args.seed),
               "--ref-seconds", str(args.ref_seconds)]
    spelled += ["--seconds", str(args.seconds)] if args.seconds is not None else []
    spelled += ["--out", args.out] if args.out is not None else []
    spelled += ["--figure", args.figure] if args.figure is not None else []
    try:
        results = evaluate_reference(model, n=args.n, device=args.device, steps=args.steps, guidance=args.guidance,
                                     ref_guidance=ref_guidance, ref_mix=ref_mix, temperature=args.temperature,
                                     beam=args.beam,
                                     seed=args.seed, out_dir=args.out, seconds=args.seconds,
                                     ref_seconds=args.ref_seconds,
                                     commands=["maskvat-foley eval " + shlex.join(spelled)])
        if args.figure:
            from pathlib import Path

            from maskvat_foley.core.eval.aggregate import write_json
            from maskvat_foley.core.eval.reference_figure import reference_figure

            results["figure"] = reference_figure(
                model, args.figure, device=args.device, seed=args.seed, steps=args.steps, guidance=args.guidance,
                ref_guidance=ref_guidance, ref_mix=ref_mix, temperature=args.temperature,
                ref_seconds=args.ref_seconds,
                out_dir=Path(results["out_dir"]) / "figure")
            write_json(Path(results["out_dir"]) / "eval_reference.json", results)
    except ValueError as e:  # a model without reference support, bad numbers: one line
        raise UsageError(str(e)) from None
    print(json.dumps(results, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``maskvat-foley eval ARGS``, for scripts and tests that call it with a list."""
    from maskvat_foley.plugin.cli import main as cli_main

    return cli_main(["eval", *(argv or [])])
