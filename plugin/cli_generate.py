"""`maskvat-foley generate`: Foley for the selected clips of a timeline, written to a new timeline."""
from __future__ import annotations

import argparse
import dataclasses
import os

from maskvat_foley.plugin.cli_options import (DEVICE_HELP, UsageError, add_media_root, add_model, add_params,
                                              add_reference, at_least, check_level, reference_from_args)


def add_parser(sub) -> None:
    g = sub.add_parser("generate", help="generate Foley for selected clips and write a new timeline")
    g.add_argument("timeline", help="OTIO timeline (or FCP XML, AAF, EDL, .otioz), or a video file as a "
                                    "one-clip timeline at its timecode; never modified")
    g.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output timeline (.otio, .otioz, .xml, .aaf, .edl); never the input")
    s = g.add_argument_group("selection (one of; a video file needs none)")
    s.add_argument("--clip", action="append", default=[], metavar="ID",
                   help="clip id (V1.2) or clip name; repeatable")
    s.add_argument("--track", type=int, metavar="N", help="every clip of video track N (from 1)")
    s.add_argument("--range", nargs=2, metavar=("TCIN", "TCOUT"),
                   help="every clip overlapping [TCIN, TCOUT), timecodes at the timeline rate")
    s.add_argument("--all", action="store_true", help="every video clip")
    add_media_root(g)
    g.add_argument("--media-dir", metavar="DIR",
                   help="where the WAV takes go (default: next to the output timeline)")
    o = g.add_argument_group("generation")
    add_model(o)
    o.add_argument("--seed", type=int,
                   help="seed of the first take (takes use seed, seed+1, ...; a seed gives the same takes "
                        "again) (default: a random seed, printed so the takes can be made again)")
    add_params(o, "takes", "steps", "guidance", "beam", "temperature", "sample_rate")
    add_params(g.add_argument_group("level"), "loudness", "gain_db")
    add_reference(g.add_argument_group("reference sound"))
    o.add_argument("--device", default="auto", help=DEVICE_HELP)
    o.add_argument("--engine", metavar="URL", help="send the work to a running engine (maskvat-foley engine serve)")
    g.set_defaults(handler=cmd_generate)


def params_from_args(args: argparse.Namespace):
    from maskvat_foley.core.jobs import GenerationParams

    for name in ("takes", "steps", "beam"):
        at_least(getattr(args, name), name)
    at_least(args.sample_rate, "sample-rate", 8000)
    check_level(args)
    return GenerationParams(seed=args.seed, takes=args.takes, steps=args.steps, guidance=args.guidance,
                            beam=args.beam, temperature=args.temperature, sample_rate=args.sample_rate,
                            loudness=args.loudness, gain_db=args.gain_db, **reference_from_args(args))


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
    from maskvat_foley.core import pipeline
    from maskvat_foley.core.jobs import random_seed
    from maskvat_foley.core.outputs import check_outputs
    from maskvat_foley.core.timeline.from_media import reads_as_media

    chosen = [bool(args.clip), args.track is not None, bool(args.range), args.all]
    if not any(chosen) and os.path.isfile(args.timeline) and reads_as_media(args.timeline):
        args.all = chosen[3] = True  # a video file is one clip: nothing to choose
    if sum(chosen) != 1:
        raise UsageError("choose exactly one of --clip, --track, --range or --all")
    selection = pipeline.Selection(clips=tuple(args.clip), track=args.track,
                                   tc_range=tuple(args.range) if args.range else None, all=args.all)
    params = params_from_args(args)
    # Everything that can be checked is checked before a model is loaded: bad input fails fast.
    try:
        check_outputs(args.timeline, args.output, args.media_dir)
    except ValueError as exc:  # an output not to write: the input itself, a picture-only format
        raise UsageError(str(exc)) from None
    prepared = pipeline.prepare(args.timeline, selection, media_roots=args.media_root)
    if not prepared.jobs:
        reasons = "; ".join(f"{c}: {r}" for c, r in prepared.skipped) or "no clips selected"
        raise RuntimeError(f"nothing to generate ({reasons})")
    if params.reference is not None:
        check_reference_early(params)
    if params.seed is None:
        params = dataclasses.replace(params, seed=random_seed(params.takes))
        print(f"seed {params.seed} (random; --seed {params.seed} makes these takes again)", flush=True)
    engine = open_engine(args.model, args.device, args.engine)
    if params.reference is not None:
        refuse_reference_without_support(engine, params.ref_mix)
    bar = ClipProgressBar()
    try:
        summary = pipeline.generate_timeline(prepared, args.output, params, engine, media_dir=args.media_dir,
                                             progress=bar)
    finally:
        bar.close()
    if params.reference is not None and not summary.takes:
        reasons = {r.error for r in summary.results if r.error}
        if len(reasons) == 1:  # the model or the sound refused the reference: once, not per clip
            raise RuntimeError(f"no takes: {reasons.pop()}")
    for line in summary.lines():
        print(line)
    for line in reference_lines(summary.takes):
        print(line)
    return 0 if summary.takes else 1


def check_reference_early(params) -> None:
    """A missing, unreadable, silent or too short reference (or a video without audio) is one
    line (core.media.reference.ReferenceError) before a model is loaded or a take is written."""
    from maskvat_foley.core.media.reference import check_reference

    spec = params.reference
    ref = check_reference(spec)
    span = f" {spec.range_text()} s" if spec.range_text() else ""
    print(f"reference {ref.path}{span}, sha256 {ref.sha256[:12]}", flush=True)


def refuse_reference_without_support(engine, ref_mix: float = 0.0) -> None:
    """With ``ref_mix`` 0 only a model that hears references can use one: an engine whose model
    says it hears none (info "reference_seconds" 0) is refused before a clip runs; an engine that
    does not say refuses the reference itself, per clip. Any model takes the reference's hits."""
    info = engine.info()
    if info.get("reference_seconds") == 0 and ref_mix == 0:
        raise RuntimeError(f"the model {info.get('model', '')} does not hear a reference sound itself; "
                           "use --ref-mix above 0 to put the reference's own sound in the takes, leave out "
                           "--reference, or use a model trained with references")


def reference_lines(takes) -> list[str]:
    """The reference the takes imitate, once per distinct sound and range used, with the hits
    placed over all its takes."""
    groups: dict[tuple, list[dict]] = {}
    for t in takes:
        ref = t.reference
        if ref:
            groups.setdefault((ref.get("sha256"), ref.get("start"), ref.get("end")), []).append(ref)
    lines = []
    for refs in groups.values():
        ref = refs[0]
        note = " (trimmed)" if ref.get("trimmed") else ""
        used = [f"guidance {ref.get('ref_guidance')}"] if ref.get("heard", True) else []
        takes = f"{len(refs)} take{'s' if len(refs) != 1 else ''}"
        if ref.get("ref_mix") and ref.get("applied") == "hits":
            placed = sum(int(r.get("hits_placed") or 0) for r in refs)
            used.append(f"its hits on the takes' hits at {ref.get('ref_mix'):g} ({placed} placed in {takes})")
        elif ref.get("ref_mix") and ref.get("applied") == "texture":
            used.append(f"its texture under the takes' envelope at {ref.get('ref_mix'):g} ({takes})")
        lines.append(f"reference {ref.get('name')} {ref.get('start')}-{ref.get('end')} s{note}: "
                     + ", ".join(used or ["not heard by the model"]))
    return lines
