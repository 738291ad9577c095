"""Reference-sound evaluation: does a take sound like the reference and still follow the picture?

    results = evaluate_reference("runs/model", n=30)
    maskvat-foley eval --reference-pairs --model DIR --n 30 --out eval_ref/      (plugin/cli_eval.py)

Pairs: FoleyWorld test clips of the impulsive kinds that have a material or surface (impact, strike,
footstep), the kinds in turn. Each clip's reference is rendered by FoleyWorld from ANOTHER test
clip of the same kind (seeds from REF_OFFSET on), sounding as a material or surface the clip does
not show (core.data.rematerial), cut to ``ref_seconds`` from just before its first hit, and written
as a WAV that the engine reads as it reads an editor's file.

Per pair, through the Engine (the clip as a real video, the reference as a real file), one take
with the reference and one without it (same seed), scored:

1. timbre: the take's embedding (core.eval.timbre: onset decay curves) is nearer the clip
   rendered as the reference's material (the same hits) than the clip's own sound. The same is
   reported for the prompt-free take (a control: it follows the picture, so it should mostly
   not) and for the reference sound itself (the ceiling: how often the embedding tells the two
   materials apart at all on these pairs, whatever the timing).
2. timing: onset F1 of both takes against the clip's events, pooled over the pairs, and the
   ratio with/without.

Whether prompt-free generation regressed is `maskvat-foley eval` on this model beside the model
trained without references (the same clips, the same numbers).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskvat_foley.core.eval import CLIPS, DEVICE, SEED, onsets as on
from maskvat_foley.core.eval.aggregate import clean, write_json
from maskvat_foley.core.eval.run import _read_take, clip_job
from maskvat_foley.core.jobs import GenerationParams, fraction_str

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100
KINDS = ("impact", "strike", "footstep")  # impulsive, with a material or surface to follow
REF_OFFSET = 5000       # reference clips: test seeds from here on (disjoint from the evaluated clips)
REF_CLIP_SECONDS = 4    # the reference clips' length before cutting
REF_LEAD = Fraction(1, 20)  # the reference starts this long before its first hit
TARGETS = {"timbre_follows_reference": 0.8, "onset_f1_ratio": 0.9}  # issue #16's acceptance


@dataclass
class Pair:
    """One evaluated clip and its reference: FoleyWorld seeds, the kind, the clip's own labels
    and the reference's label (a material or surface the clip does not use)."""

    seed: int
    kind: str
    own: tuple[str, ...]
    ref_seed: int
    label: str


def plan_pairs(n: int, seconds: Fraction | float | None = None, size: tuple[int, int] = (96, 96),
               split: str = "test") -> list[Pair]:
    """The first ``n`` usable pairs of ``split``: clips with hits, kinds in turn."""
    from maskvat_foley.core.data import plan_clip, split_seeds
    from maskvat_foley.core.data.rematerial import other_labels, timbre

    pairs: list[Pair] = []
    seeds = iter(split_seeds(split, REF_OFFSET))
    refs = iter(split_seeds(split, REF_OFFSET, offset=REF_OFFSET))
    while len(pairs) < n:
        kind = KINDS[len(pairs) % len(KINDS)]
        seed = _next_with_events(seeds, kind, seconds=seconds, size=size)
        own = timbre(plan_clip(seed, seconds=seconds, size=size, kinds=[kind]))[0][1]
        options = other_labels(kind, own)
        if not options:  # every material in one clip: nothing else to sound like
            continue
        label = options[int(np.random.default_rng([seed, 16]).integers(len(options)))]
        pairs.append(Pair(seed, kind, own, _next_with_events(refs, kind, seconds=REF_CLIP_SECONDS), label))
    return pairs


def _next_with_events(seeds, kind: str, **kw: Any) -> int:
    from maskvat_foley.core.data import plan_clip

    for seed in seeds:
        if plan_clip(seed, kinds=[kind], **kw).events:
            return int(seed)
    raise ValueError(f"no FoleyWorld clip of kind {kind!r} with events left for the evaluation")


def reference_audio(pair: Pair, seconds: float) -> np.ndarray:
    """The pair's reference: its clip sounding as ``pair.label``, ``seconds`` from just before the
    first hit (float32 mono at SAMPLE_RATE)."""
    from maskvat_foley.core.data import plan_clip, render_audio
    from maskvat_foley.core.data.rematerial import rematerial

    spec = plan_clip(pair.ref_seed, kinds=[pair.kind], seconds=REF_CLIP_SECONDS)
    audio = render_audio(rematerial(spec, pair.label), SAMPLE_RATE)
    start = max(0, round((spec.events[0].time - REF_LEAD) * SAMPLE_RATE))
    start = min(start, max(0, audio.size - round(seconds * SAMPLE_RATE)))
    return audio[start:start + round(seconds * SAMPLE_RATE)]


def write_reference(pair: Pair, seconds: float, path: Path) -> np.ndarray:
    """reference_audio(pair, seconds) written to ``path`` as a float WAV (read by the engine as an
    editor's file); returns the audio."""
    import soundfile

    ref = reference_audio(pair, seconds)
    soundfile.write(str(path), ref, SAMPLE_RATE, subtype="FLOAT")
    return ref


def generate_take(engine: Any, job: Any, params: GenerationParams, out_dir: Path, n: int) -> tuple[Any, np.ndarray]:
    """One take of ``job`` through the engine: (the Take, its audio as ``n`` mono samples)."""
    result = engine.generate([job], params, out_dir=str(out_dir))[0]
    if not result.ok or not result.takes:
        raise RuntimeError(f"reference evaluation clip {job.clip_id}: generation failed: {result.error}")
    return result.takes[0], _read_take(result.takes[0].path, n)


def evaluate_reference(model_dir: str | os.PathLike | None = None, *, n: int = CLIPS, device: str = DEVICE,
                       steps: int = GenerationParams.steps, guidance: float = GenerationParams.guidance,
                       ref_guidance: float = GenerationParams.ref_guidance,
                       ref_mix: float = GenerationParams.ref_mix,
                       temperature: float = GenerationParams.temperature, beam: int = GenerationParams.beam,
                       seed: int = SEED, out_dir: str | os.PathLike | None = None,
                       seconds: Fraction | float | None = None, size: tuple[int, int] = (96, 96),
                       ref_seconds: float = 2.0, commands: Sequence[str] = (),
                       progress: bool = True) -> dict[str, Any]:
    """Evaluate a model's takes with references on ``n`` pairs (see the module docstring);
    results in ``out_dir``/eval_reference.json (None: a new temporary folder)."""
    from tqdm import tqdm

    from maskvat_foley.core.engine.engine import Engine, default_model_dir
    from maskvat_foley.core.eval import timbre

    if n < 1:
        raise ValueError(f"number of reference pairs must be at least 1, got {n}")
    if not 0.25 <= ref_seconds <= REF_CLIP_SECONDS - 1:
        raise ValueError(f"ref_seconds must be between 0.25 and {REF_CLIP_SECONDS - 1}, got {ref_seconds}")
    model_dir = str(model_dir or default_model_dir())
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="maskvat-eval-ref-"))
    (out / "media").mkdir(parents=True, exist_ok=True)
    engine = Engine(model_dir, device=device, cache_dir=str(out / "feature_cache"))
    if ref_mix == 0:
        engine.require_reference_support()
    free = GenerationParams(seed=seed, takes=1, steps=steps, guidance=guidance, beam=beam,
                            temperature=temperature, sample_rate=SAMPLE_RATE, channels=1)
    referenced = dataclasses.replace(free, ref_guidance=ref_guidance, ref_mix=ref_mix)
    records, matches = [], {"reference": [], "free": []}
    for pair in tqdm(plan_pairs(n, seconds, size), desc="eval reference pairs", unit="pair",
                     disable=not progress):
        rec, match = _evaluate_pair(engine, pair, free, referenced, out, seconds, size, ref_seconds, timbre)
        records.append(rec)
        for k in matches:
            matches[k].append(match[k])
    summary = summarize(records, matches)
    cfg = engine.ckpt.config
    results = clean({
        "model": {"name": engine.ckpt.name, "sha256": engine.ckpt.sha256, "path": model_dir,
                  "ref_frames": cfg.ref_frames, "codec": engine.ckpt.tokenizer.name},
        "config": {"n": n, "kinds": list(KINDS), "device": str(engine.device), "steps": steps,
                   "guidance": guidance, "ref_guidance": ref_guidance, "ref_mix": ref_mix,
                   "model_hears_reference": bool(cfg.takes_reference), "temperature": temperature,
                   "beam": beam, "seed": seed, "sample_rate": SAMPLE_RATE, "size": list(size),
                   "seconds": None if seconds is None else fraction_str(Fraction(str(seconds))),
                   "ref_seconds": ref_seconds, "ref_offset": REF_OFFSET, "embedding": timbre.NAME,
                   "tolerance": "one video frame of each clip's rate", "commands": list(commands)},
        "metrics": summary,
        "targets": {k: {"target": v, "met": summary.get(k) is not None and summary[k] >= v}
                    for k, v in TARGETS.items()},
        "pairs": records, "out_dir": str(out)})
    write_json(out / "eval_reference.json", results)
    log.info("reference pairs: timbre follows the reference in %.0f%% (without it %.0f%%, ceiling %.0f%%); "
             "onset F1 %.3f with, %.3f without; results in %s", 100 * summary["timbre_follows_reference"],
             100 * summary["timbre_follows_without_reference"], 100 * summary["timbre_ceiling"],
             summary["onset_f1_reference"], summary["onset_f1_free"], out)
    return results


def summarize(records: list[dict[str, Any]], matches: dict[str, list[on.OnsetMatch]]) -> dict[str, Any]:
    """Shares of pairs whose timbre follows, pooled onset F1 and their ratio, and per kind."""
    def share(key: str, recs: list[dict[str, Any]]) -> float:
        return float(np.mean([r[key]["follows"] for r in recs]))

    f1_ref, f1_free = on.pool(matches["reference"]).f1, on.pool(matches["free"]).f1
    out: dict[str, Any] = {
        "pairs": len(records),
        "timbre_follows_reference": share("timbre", records),
        "timbre_follows_without_reference": share("timbre_free", records),
        "timbre_ceiling": share("timbre_ceiling", records),
        "onset_f1_reference": f1_ref, "onset_f1_free": f1_free,
        "onset_f1_ratio": f1_ref / f1_free if f1_free > 0 else None,
        "per_kind": {}}
    for kind in KINDS:
        idx = [i for i, r in enumerate(records) if r["kind"] == kind]
        if idx:
            recs = [records[i] for i in idx]
            out["per_kind"][kind] = {
                "pairs": len(idx), "timbre_follows_reference": share("timbre", recs),
                "timbre_follows_without_reference": share("timbre_free", recs),
                "timbre_ceiling": share("timbre_ceiling", recs),
                "onset_f1_reference": on.pool(matches["reference"][i] for i in idx).f1,
                "onset_f1_free": on.pool(matches["free"][i] for i in idx).f1}
    return out


def _evaluate_pair(engine: Any, pair: Pair, free: GenerationParams, referenced: GenerationParams, out: Path,
                   seconds, size: tuple[int, int], ref_seconds: float, timbre: Any):
    from maskvat_foley.core.data import generate_clip, render_audio
    from maskvat_foley.core.data.rematerial import rematerial
    from maskvat_foley.core.jobs import ReferenceSpec

    clip = generate_clip(pair.seed, seconds=seconds, size=size, kinds=[pair.kind])
    job = clip_job(clip, out / "media", "foleyworld_eval_reference")
    ref_path = out / "media" / f"reference_{pair.ref_seed}_{pair.label}.wav"
    ref = write_reference(pair, ref_seconds, ref_path)
    as_label = render_audio(rematerial(clip.spec, pair.label), SAMPLE_RATE)
    with_ref = dataclasses.replace(referenced, reference=ReferenceSpec(str(ref_path)))
    takes = {key: generate_take(engine, job, params, out / "takes" / key, len(clip.audio))
             for key, params in (("free", free), ("reference", with_ref))}
    name = job.clip_id
    emb = {k: timbre.decay_embedding(a, SAMPLE_RATE) for k, a in
           (("own", clip.audio), ("as_label", as_label), ("reference", ref),
            ("take", takes["reference"][1]), ("take_free", takes["free"][1]))}
    truth = on.truth_onsets(clip)[0]
    tol = on.frame_tolerance(clip.rate)
    match = {k: on.match_onsets(on.detect_onsets(a, SAMPLE_RATE), truth, tol) for k, (_, a) in takes.items()}

    def judged(key: str) -> dict[str, Any]:
        follows, d_ref, d_own = timbre.nearer(emb[key], emb["as_label"], emb["own"])
        return {"follows": follows, "distance_to_reference_material": d_ref, "distance_to_own": d_own}

    rec = {"clip_id": name, "seed": pair.seed, "kind": pair.kind, "own": list(pair.own),
           "reference_seed": pair.ref_seed, "reference_label": pair.label, "rate": fraction_str(clip.rate),
           "seconds": fraction_str(clip.spec.seconds), "n_onsets": len(truth),
           "reference_file": os.path.relpath(ref_path, out),
           "take": os.path.relpath(takes["reference"][0].path, out),
           "take_free": os.path.relpath(takes["free"][0].path, out),
           "reference_sha256": (takes["reference"][0].metadata.get("reference") or {}).get("sha256"),
           "timbre": judged("take"), "timbre_free": judged("take_free"), "timbre_ceiling": judged("reference"),
           "onsets_reference": match["reference"].summary(), "onsets_free": match["free"].summary()}
    return rec, match
