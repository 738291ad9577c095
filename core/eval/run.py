"""The evaluation run: FoleyWorld clips -> real videos -> Engine takes -> metrics vs the truth.

    results = evaluate("resources/default_model", split="test", n=20)
    maskvat-foley eval --model DIR --set test --n 20 --out eval/      (plugin/cli_eval.py)

Per clip: render the FoleyWorld clip, write it as .mp4 (so the engine's real PyAV path is used),
generate one take through the Engine, read the WAV back and score it (onsets, AV-Align, spectral
distances, level error and envelope correlation, core.eval.levels), the trivial baselines
(core.eval.baselines) and the codec's round trip of the true audio. Aggregates (core.eval.aggregate):
onset counts are pooled over clips (micro average, so clips with many events weigh more); level
errors are medians, the other metrics means over clips; the Frechet distance is over the set of
clips. ``eval.json`` and a model card section (``MODEL_CARD_eval.md``) are written to ``out_dir``,
and with ``figure`` a PNG of spectrograms of takes beside their truth (core.eval.figure).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskvat_foley.core.eval import CLASSIC_SIZE, CLIPS, DEVICE, LOOKS, SEED, SPLITS, levels as lv, onsets as on
from maskvat_foley.core.eval.aggregate import aggregate, clean as _clean, model_metrics, per_kind, write_json
from maskvat_foley.core.eval.card import write_model_card
from maskvat_foley.core.jobs import GenerationParams, fraction_str

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100  # FoleyWorld's truth; takes are requested and scored at this rate

__all__ = ["evaluate", "write_model_card", "score_audio", "ClipTruth"]


@dataclass
class ClipTruth:
    """What a clip's audio is scored against."""

    clip: Any  # FoleyClip (frames dropped once the motion signal is computed)
    motion: np.ndarray
    truth: list[Fraction]
    truth_kinds: list[str]
    kinds: list[str]
    level: lv.Level  # the true audio's, measured once for every system scored against it

    @classmethod
    def of(cls, clip: Any) -> "ClipTruth":
        from maskvat_foley.core.eval.metrics import motion_signal

        times, kinds = on.truth_onsets(clip)
        return cls(clip, motion_signal(clip.frames), times, kinds,
                   sorted({e.kind for e in clip.events}), lv.measure_level(clip.audio, clip.sample_rate))


@dataclass
class Scored:
    """One system's scores on one clip."""

    values: dict[str, Any]
    match: on.OnsetMatch
    per_kind: dict[str, on.OnsetMatch]
    embedding: np.ndarray = field(repr=False)


def score_audio(audio: np.ndarray, truth: ClipTruth, sample_rate: int = SAMPLE_RATE) -> Scored:
    """Onset, AV-Align, spectral, level and envelope metrics of ``audio`` against one clip."""
    from maskvat_foley.core.eval import metrics as m

    clip = truth.clip
    pred = on.detect_onsets(audio, sample_rate)
    match = on.match_onsets(pred, truth.truth, on.frame_tolerance(clip.rate))
    values = {k: v for k, v in match.summary().items()}
    values.update(
        av_align=m.av_align_score(pred, m.video_peaks(truth.motion, clip.rate), clip.rate),
        mel_distance=m.mel_distance(audio, clip.audio, sample_rate),
        stft_distance=m.stft_distance(audio, clip.audio, sample_rate),
        envelope_corr=lv.envelope_corr(audio, clip.audio, sample_rate),
        silence_dbfs=lv.silence_level_dbfs(audio, clip.audio, sample_rate),
        n_predicted=len(pred))
    values.update(lv.compare_levels(lv.measure_level(audio, sample_rate), truth.level).values())
    if not clip.events:  # only room noise to compare with: no level error of a sound
        values["level_diff_db"] = None
    return Scored(values, match, on.per_kind_matches(match, truth.truth_kinds, truth.kinds),
                  m.logmel_embedding(audio, sample_rate))


def evaluate(model_dir: str | os.PathLike | None = None, *, split: str = "test", n: int = CLIPS,
             device: str = DEVICE, steps: int = GenerationParams.steps,
             guidance: float = GenerationParams.guidance, temperature: float = GenerationParams.temperature,
             beam: int = GenerationParams.beam, seed: int = SEED,
             out_dir: str | os.PathLike | None = None, seconds: Fraction | float | None = None,
             size: tuple[int, int] | None = None, look: str = "classic", commands: Sequence[str] = (),
             progress: bool = True, figure: str | os.PathLike | None = None,
             sampler: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate a model folder on the first ``n`` FoleyWorld clips of ``split``; see the module
    docstring. ``seconds`` fixes the clip length (default: FoleyWorld's random 2-12 s); ``look``:
    FoleyWorld's "classic" flat shapes (the test the card reports) or its "footage" look, the same
    events filmed like camera footage (textures, a moving camera, silent distractors, cuts: the
    real-footage issue's picture with its true events); ``size`` (W, H): None is the look's own,
    96x96 classic and a random camera size for footage;
    ``out_dir`` None uses a new temporary folder (its path is in the result); ``figure``: write
    the spectrogram figure (PNG) there; ``sampler``: SamplerSettings changes to measure."""
    from tqdm import tqdm

    from maskvat_foley.core.data import split_seeds
    from maskvat_foley.core.engine.engine import Engine, default_model_dir
    from maskvat_foley.core.eval import baselines as bl
    from maskvat_foley.core.model.sampler import sampler_settings
    from maskvat_foley.core.eval.figure import FigurePicker, write_figure

    if split not in SPLITS:
        raise ValueError(f"evaluation split must be one of {', '.join(SPLITS)}, got {split!r}")
    if n < 1:
        raise ValueError(f"number of evaluation clips must be at least 1, got {n}")
    if look not in LOOKS:
        raise ValueError(f"FoleyWorld look must be one of {', '.join(LOOKS)}, got {look!r}")
    if size is None and look == "classic":
        size = CLASSIC_SIZE
    seeds = split_seeds(split, n)
    model_dir = str(model_dir or default_model_dir())
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="maskvat-eval-"))
    (out / "media").mkdir(parents=True, exist_ok=True)
    engine = Engine(model_dir, device=device, cache_dir=str(out / "feature_cache"))
    # One mono take per clip, at the truth's rate: scored sample for sample against it.
    params = GenerationParams(seed=seed, takes=1, steps=steps, guidance=guidance, beam=beam,
                              temperature=temperature, sample_rate=SAMPLE_RATE, channels=1)
    clips, model_scores = [], []
    base_scores: dict[str, list[Scored]] = {name: [] for name in bl.BASELINES}
    picker = FigurePicker() if figure is not None else None
    with sampler_settings(**(sampler or {})) as settings:
        for s in tqdm(seeds, desc=f"eval {split}", unit="clip", disable=not progress):
            rec, scored = _evaluate_clip(engine, s, params, out, seconds, size, look, base_scores, picker)
            model_scores.append(scored)
            clips.append(rec)
    truth_emb = np.stack([sc.embedding for sc in base_scores["true_audio"]])
    baselines = {b: {"metrics": aggregate(sc, truth_emb), "per_kind": per_kind(sc)} for b, sc in base_scores.items()}
    metrics = model_metrics(model_scores, clips, truth_emb, baselines["true_audio"]["metrics"]["onset_f1"])
    config = {"split": split, "n": n, "seeds": [seeds.start, seeds.stop], "device": str(engine.device),
              "steps": steps, "guidance": guidance, "temperature": temperature, "beam": beam,
              "seed": seed, "sample_rate": SAMPLE_RATE,
              "seconds": None if seconds is None else fraction_str(Fraction(str(seconds))),
              "size": list(size) if size is not None else None, "look": look, "onset_params": _clean(vars(on.DEFAULT)),
              "tolerance": "one video frame of each clip's rate",
              "sampler": {**dataclasses.asdict(settings), "window": settings.window or engine.ckpt.model.config.window}}
    results: dict[str, Any] = {
        "model": {"name": engine.ckpt.name, "sha256": engine.ckpt.sha256, "path": model_dir,
                  "codec": engine.ckpt.tokenizer.name, "extractor": engine.ckpt.extractor.name,
                  "scorer": getattr(engine.scorer, "name", None) if engine.scorer is not None else None,
                  "level": engine.ckpt.level.to_dict() if engine.ckpt.level is not None else None},
        "config": config,
        "metrics": metrics,
        "per_kind": per_kind(model_scores),
        "baselines": baselines,
        "clips": clips,
        "out_dir": str(out),
        "files": {"eval_json": "eval.json", "model_card": "MODEL_CARD_eval.md",
                  "media": "media", "takes": "takes"},
    }
    if picker is not None:
        shown = picker.pick()
        path = write_figure(figure, shown)
        results["figure"] = {"path": str(path), "clips": [c.name for c in shown]}
    results = _clean(results)
    write_json(out / "eval.json", results)
    write_model_card(results, out / "MODEL_CARD_eval.md", commands=list(commands))
    log.info("evaluated %d %s clips: onset F1 %.3f; results in %s", n, split,
             metrics["onset_f1"], out)
    return results


def _evaluate_clip(engine, seed: int, params, out: Path, seconds, size: tuple[int, int] | None, look: str,
                   base_scores: dict[str, list[Scored]], picker: Any = None) -> tuple[dict[str, Any], Scored]:
    """Render FoleyWorld clip ``seed`` as a video, generate its take, score it and the baselines
    (appended to ``base_scores``), offer it to the figure's ``picker``; returns the clip's record
    and the model's scores."""
    from maskvat_foley.core.data import generate_clip, onset_times
    from maskvat_foley.core.eval import baselines as bl, metrics as m
    from maskvat_foley.core.eval.figure import FigureClip

    clip = generate_clip(seed, seconds=seconds, size=size, look=look)
    job = clip_job(clip, out / "media", "foleyworld_eval")
    name = job.clip_id
    truth = ClipTruth.of(clip)
    clip.frames = None  # the motion signal is all that is needed from the picture
    result = engine.generate([job], params, out_dir=str(out / "takes"))[0]
    if not result.ok or not result.takes:
        raise RuntimeError(f"evaluation clip {name}: generation failed: {result.error}")
    take = result.takes[0]
    audio = _read_take(take.path, len(clip.audio))
    scored = score_audio(audio, truth)
    rec = _clip_record(clip, name, truth, scored)
    rec.update(take=os.path.relpath(take.path, out), sync_score=take.sync_score, sync_scorer_offset=None)
    if "model_gain_db" in take.metadata:  # the model's level calibration: what it did, and the level without it
        gain = take.metadata["model_gain_db"]
        rec["model_gain_db"] = gain
        if rec["level_diff_db"] is not None:
            # minus the gain: exact for RMS, within BS.1770's gating for LUFS
            rec["level_diff_uncalibrated_db"] = rec["level_diff_db"] - (gain or 0.0)
    tok, scorer = engine.ckpt.tokenizer, getattr(engine, "scorer", None)
    if scorer is not None:
        rec["sync_scorer_offset"] = m.scorer_offset_ms(scorer, audio, SAMPLE_RATE, engine.features(job),
                                                       round(Fraction(SAMPLE_RATE) / tok.frame_rate))
    rec.update(m.codec_quality(tok, clip.audio, clip.sample_rate, truth.truth, on.frame_tolerance(clip.rate)))
    if picker is not None:
        picker.offer(FigureClip(name, truth.kinds, audio, clip.audio, clip.sample_rate, onset_times(clip)))
    rec["baselines"] = {}
    for b in bl.BASELINES:
        sc = score_audio(bl.baseline_audio(b, clip, SAMPLE_RATE), truth)
        base_scores[b].append(sc)
        rec["baselines"][b] = _clean(sc.values)
    return rec, scored


def clip_job(clip: Any, media_dir: Path, timeline_name: str) -> Any:
    """A FoleyWorld clip written as a real video in ``media_dir`` and its ClipJob (whole clip)."""
    from maskvat_foley.core.data.make import clip_name, write_clip
    from maskvat_foley.core.jobs import ClipJob

    return ClipJob.whole_media(clip_name(clip.spec.seed), str(write_clip(clip, media_dir)), clip.rate,
                               clip.spec.n_frames, timeline_name)


def _read_take(path: str, num_samples: int) -> np.ndarray:
    import soundfile

    from maskvat_foley.core.media.resample import resample

    audio, sr = soundfile.read(path, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if sr != SAMPLE_RATE:
        return resample(mono, sr, SAMPLE_RATE, num_samples=num_samples)
    if mono.size != num_samples:
        raise ValueError(f"take {path} holds {mono.size} samples but its clip needs {num_samples}")
    return mono


def _clip_record(clip: Any, name: str, truth: ClipTruth, scored: Scored) -> dict[str, Any]:
    spec = clip.spec
    return {"clip_id": name, "seed": spec.seed, "rate": fraction_str(spec.rate),
            "n_frames": spec.n_frames, "seconds": fraction_str(spec.seconds), "kinds": truth.kinds,
            "n_onsets": len(truth.truth), **scored.values}

