"""`maskvat-foley generate` and `maskvat-foley demo`."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import secrets

from maskvat_foley.plugin.cli import UsageError

log = logging.getLogger(__name__)

MAX_SEED = 2**31 - 1  # the engine's bound (core.engine.engine.MAX_SEED), without importing torch here


def params_from_args(args: argparse.Namespace):
    from maskvat_foley.core.jobs import GenerationParams

    for name in ("takes", "steps", "beam"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name} must be at least 1")
    if args.sample_rate < 8000:
        raise UsageError("--sample-rate must be at least 8000")
    return GenerationParams(seed=args.seed, takes=args.takes, steps=args.steps,
                            guidance=args.guidance, beam=args.beam, temperature=args.temperature,
                            sample_rate=args.sample_rate, device=args.device)


def open_engine(model: str | None, device: str, url: str | None):
    """The in-process engine, or the client of a running one when a URL is given."""
    if url:
        from maskvat_foley.core.engine.client import EngineClient

        return EngineClient(url)
    from maskvat_foley.core.engine.engine import Engine

    return Engine(model, device=device)


class ClipProgressBar:
    """A tqdm bar over clips, fed by the engine's Progress reports (sized by the first one)."""

    def __init__(self):
        self.bar = None
        self.label = ""
        self.done: set[str] = set()

    def __call__(self, p) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=p.total, unit="clip", desc="Foley")
        label = f"{p.clip_id} {p.stage}"
        if label != self.label:  # one update per stage keeps logs of non-tty runs short
            self.label = label
            self.bar.set_postfix_str(label)
        if p.stage in ("done", "failed") and p.clip_id not in self.done:
            self.done.add(p.clip_id)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_generate(args: argparse.Namespace) -> int:
    from maskvat_foley.core.pipeline import Selection, check_outputs, generate_timeline, prepare

    chosen = [bool(args.clip), args.track is not None, bool(args.range), args.all]
    if sum(chosen) != 1:
        raise UsageError("choose exactly one of --clip, --track, --range or --all")
    selection = Selection(clips=tuple(args.clip), track=args.track,
                          tc_range=tuple(args.range) if args.range else None, all=args.all)
    params = params_from_args(args)
    # Everything that can be checked is checked before a model is loaded: bad input fails fast.
    try:
        check_outputs(args.timeline, args.output, args.media_dir)
    except ValueError as exc:  # an output not to write: the input itself, a picture-only format
        raise UsageError(str(exc)) from None
    prepared = prepare(args.timeline, selection, media_roots=args.media_root)
    if not prepared.jobs:
        reasons = "; ".join(f"{c}: {r}" for c, r in prepared.skipped) or "no clips selected"
        raise RuntimeError(f"nothing to generate ({reasons})")
    if params.seed is None:
        params = dataclasses.replace(params, seed=secrets.randbelow(MAX_SEED - params.takes))
        print(f"seed {params.seed} (random; --seed {params.seed} makes these takes again)", flush=True)
    engine = open_engine(args.model, args.device, args.engine)
    bar = ClipProgressBar()
    try:
        summary = generate_timeline(prepared, args.output, params, engine,
                                    media_dir=args.media_dir, progress=bar)
    finally:
        bar.close()
    for line in summary.lines():
        print(line)
    return 0 if summary.takes else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from maskvat_foley.core.demo import run_demo

    if args.takes < 1:
        raise UsageError("--takes must be at least 1")
    bar = ClipProgressBar()
    try:
        lines = run_demo(args.output, model=args.model, device=args.device, takes=args.takes,
                         progress=bar)
    finally:
        bar.close()
    for line in lines:
        print(line)
    return 0
