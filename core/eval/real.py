"""Evaluation on real camera footage (``maskvat-foley eval --set real --media PATH``).

Real footage has no true events, so takes are measured against the picture itself. Each video is cut
into segments of ``segment_seconds`` (a video shorter than that is one segment; a tail shorter than half
a segment joins the one before), and each segment gets a ClipJob through the real Engine with
``seeds`` consecutive seeds (default 2; a seed gives its take whatever else is in the batch, so
``--seeds 10`` measures what five runs of ``--seed 0, 2, 4, 6, 8`` do). Per take:

- AV-Align of its onsets against the segment's motion peaks (metrics.motion_signal / video_peaks;
  a peak must reach the still line, ``STILL_MOTION``, so a still picture has none: a silent take
  there has nothing to agree on and is left out of the means, a take with onsets there scores 0),
  beside the same score against the motion curve played backwards (take unchanged): the reversed
  picture has the same amount and rhythm of motion but not its timing, so it is what chance scores.
  ``av_align_ratio`` is the two means' ratio (above 1: the take follows this picture's timing; None
  when the reversed score is 0, an unbounded ratio: read the two scores).
- Level following motion (``envelope_motion``, metrics.envelope_motion_corr), on segments that move: the
  rank correlation of the take's level in each frame with the motion curve, beside the same against the
  curve played backwards. AV-Align counts attacks only; a sound that swells with a movement and no hit
  (a sleeve, a passing bike) is heard by this one.
- Rattle (core.eval.rattle): the share of the take's time spent in click trains, 8 clicks a second or
  faster. The onset detector hears a rattle through a movement as one onset, so a take of noise
  bursts can look calm in ``onsets_per_second``; ``rattling_takes`` counts takes rattling for a
  quarter of their time or more.
- Broadband blocks (core.eval.broadband): the share of the take's time in loud near-white noise of a
  tenth of a second or more, the hiss-like blocks that click trains do not catch; ``noisy_takes``
  counts takes in blocks for a quarter of their time or more.
- Sounds at shot changes: the cuts of the segment (core.media.cuts) with a take onset within one frame;
  ``onset_coverage`` (the share of the take's time within one frame of one of its onsets) is what that
  share would be if cuts fell at random. A cut on a segment's first frame is not counted: the segment
  holds no frame of the shot before it.
- Loudness: BS.1770 integrated loudness, or RMS dBFS for a take shorter than one 400 ms block; a take
  at or below ``SILENT_DB`` (BS.1770's absolute gate) is silent.
- Per segment: whether two of its seeds gave bit-identical audio, and the mean mel distance between
  consecutive seeds' takes, and
  ``motion``: the RMS of its motion curve (grey-level change per frame, 0-255, on the analysis
  picture). Summaries give the rank correlation of take loudness with that motion
  (``loudness_motion_spearman``): a model whose level comes from hearing motion scores near 1.
- Quiet takes on moving pictures: the same model's takes on FoleyWorld test clips give the level it
  plays events at (their median, ``foleyworld``); a take on a segment that moves (``STILL_MOTION``)
  more than ``QUIET_LU`` under it counts in ``quiet_takes_on_motion``. ``targets`` says which of
  issue #11's real-footage numbers are met.

Segments, videos and the whole run are summarised the same way (``summarise``; the measures, summaries
and targets are in core.eval.real_measures); ``eval.json`` is
written to ``out_dir``. With ``figure``, a PNG per video shows its frames, motion curve and the first seed's
take on one time axis (core.eval.real_figure). Bad input raises RealInputError before the model is loaded; a
segment that cannot be decoded or generated is recorded with its ``error`` and left out of the summaries.
"""
from __future__ import annotations

import logging
import math
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskvat_foley.core.eval import CLASSIC_SIZE, DEVICE, FOLEYWORLD_LEVEL_CLIPS, REAL_SEEDS, SEED, SEGMENT_SECONDS
from maskvat_foley.core.eval.aggregate import clean, write_json
from maskvat_foley.core.eval.real_measures import (  # noqa: F401 (callers import the measures from here too)
    QUIET_LU, SILENT_DB, STILL_MOTION, TARGET_AV_ALIGN, TARGET_AV_ALIGN_RATIO, TARGET_CUT_SHARE, loudness,
    mean_finite, measure_take, near_cut, onset_coverage, safe_ratio, summarise, take_means, targets)
from maskvat_foley.core.jobs import GenerationParams, fraction_str

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100  # as the FoleyWorld eval: onset detector settings suit 44.1 kHz
MAX_SEEDS = 32
ANALYSIS_LONG_SIDE = 160  # motion and cuts need coarse pictures only; decoding HD frames costs memory
MAX_SEGMENT_SECONDS = 60.0  # a segment is one engine job; long ones only blur the per-segment numbers


class RealInputError(ValueError):
    """A --media path that cannot be evaluated (missing, unreadable, no frames, no videos)."""


@dataclass(frozen=True)
class Video:
    path: str
    info: Any  # core.media.video.VideoInfo
    n_frames: int
    origin: int  # source frame number of the file's first frame (its timecode), as the engine counts

    @property
    def name(self) -> str:
        return Path(self.path).name


def find_videos(media: Sequence[str | os.PathLike]) -> list[Video]:
    """The videos of ``media`` (files, and folders searched recursively by video suffix), probed."""
    from maskvat_foley.core.train.video_folder import EXTENSIONS

    if not media:
        raise RealInputError("no real footage given: name one or more videos or folders with --media PATH")
    paths: list[Path] = []
    for m in media:
        p = Path(m)
        if p.is_dir():
            # os.walk skips folders it cannot list (or that vanish meanwhile) instead of failing the run
            found = sorted(Path(d, f) for d, _, files in os.walk(p) for f in files
                           if Path(f).suffix.lower() in EXTENSIONS and Path(d, f).is_file())
            if not found:
                raise RealInputError(f"{p}: the folder holds no videos ({', '.join(EXTENSIONS)})")
            paths += found
        else:
            paths.append(p)
    return [_open_video(str(p)) for p in dict.fromkeys(paths)]  # each file once, in order


def _open_video(path: str) -> Video:
    from maskvat_foley.core.media.video import MediaError, media_frame_offset, probe

    try:
        info = probe(path)
        n = info.duration_frames or _count_frames(path)
    except MediaError as exc:
        raise RealInputError(str(exc)) from None
    if n < 2:  # motion is a change between frames
        raise RealInputError(f"{path}: the video holds {n} frame(s); at least 2 are needed")
    return Video(path, info, n, media_frame_offset(info, info.rate))


def _count_frames(path: str) -> int:
    """Frames of a file whose container does not say: its video packets, counted without decoding."""
    import av

    from maskvat_foley.core.media.video import MediaError

    try:
        with av.open(path) as c:
            return sum(1 for pkt in c.demux(c.streams.video[0]) if pkt.size)
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise MediaError(f"{path}: cannot read its frames ({exc})") from None


def split_segments(n_frames: int, rate: Fraction, seconds: float) -> list[tuple[int, int]]:
    """(start frame, frames) of each segment: see the module docstring."""
    size = max(2, round(Fraction(str(seconds)) * rate))
    if n_frames <= size:
        return [(0, n_frames)]
    k, tail = divmod(n_frames, size)
    out = [(i * size, size) for i in range(k)]
    if 2 * tail >= size:
        out.append((k * size, tail))
    elif tail:
        out[-1] = (out[-1][0], size + tail)
    return out


def analysis_size(width: int, height: int, long_side: int = ANALYSIS_LONG_SIDE) -> tuple[int, int] | None:
    """(width, height) to decode at for motion and cuts: None (as is) when small, else scaled, even."""
    if max(width, height) <= long_side:
        return None
    s = long_side / max(width, height)
    return max(2, round(width * s / 2) * 2), max(2, round(height * s / 2) * 2)


# -- the run ------------------------------------------------------------------------------------------
def evaluate_real(media: Sequence[str | os.PathLike], model_dir: str | os.PathLike | None = None, *,
                  device: str = DEVICE, steps: int = GenerationParams.steps,
                  guidance: float = GenerationParams.guidance,
                  temperature: float = GenerationParams.temperature, beam: int = GenerationParams.beam,
                  seed: int = SEED, segment_seconds: float = SEGMENT_SECONDS,
                  out_dir: str | os.PathLike | None = None, progress: bool = True,
                  figure: str | os.PathLike | None = None,
                  foleyworld_clips: int = FOLEYWORLD_LEVEL_CLIPS, seeds: int = REAL_SEEDS) -> dict[str, Any]:
    """Evaluate a model folder on real footage; see the module docstring. ``out_dir`` None uses a new
    temporary folder (its path is in the result). ``figure``: write each video's figure there (PNG; with
    several videos, the path with each video's stem appended: real_figure.figure_paths).
    ``foleyworld_clips``: FoleyWorld test clips whose median take sets the level quiet takes are
    counted against (0: not counted). ``seeds``: takes per segment (2 to MAX_SEEDS)."""
    from tqdm import tqdm

    from maskvat_foley.core.engine.engine import Engine, default_model_dir
    from maskvat_foley.core.eval import onsets as on
    from maskvat_foley.core.media import cuts as cu
    from maskvat_foley.core.eval.real_figure import FigureTrack

    if not 2 <= seeds <= MAX_SEEDS:
        raise RealInputError(f"seeds per segment must be 2 to {MAX_SEEDS} (two show whether takes differ), "
                             f"got {seeds}")
    if foleyworld_clips < 0:
        raise RealInputError(f"FoleyWorld clips must be 0 or more, got {foleyworld_clips}")
    if not 0 < segment_seconds <= MAX_SEGMENT_SECONDS:
        raise RealInputError(f"segment length must be above 0 and at most {MAX_SEGMENT_SECONDS:g} s, "
                             f"got {segment_seconds:g}")
    videos = find_videos(media)  # every input checked before the model loads
    figures = _figure_paths(figure, videos) if figure is not None else None
    model_dir = str(model_dir or default_model_dir())
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="maskvat-eval-real-"))
    out.mkdir(parents=True, exist_ok=True)
    engine = Engine(model_dir, device=device, cache_dir=str(out / "feature_cache"))
    params = GenerationParams(seed=seed, takes=seeds, steps=steps, guidance=guidance, beam=beam,
                              temperature=temperature, sample_rate=SAMPLE_RATE, channels=1)
    work = [(vi, v, i, span) for vi, v in enumerate(videos)
            for i, span in enumerate(split_segments(v.n_frames, v.info.rate, segment_seconds))]
    tracks = [FigureTrack(v.n_frames, v.info.rate) for v in videos] if figures is not None else None
    segments = [_segment(engine, params, v, vi, i, start, n, out, tracks[vi] if tracks else None)
                for vi, v, i, (start, n) in tqdm(work, desc="eval real", unit="segment", disable=not progress)]
    if all(s["error"] is not None for s in segments):
        raise RuntimeError(f"no segment could be measured; the first failed with: {segments[0]['error']}")
    fw_levels = foleyworld_levels(engine, params, out, foleyworld_clips, progress)
    fw_median = float(np.median(fw_levels)) if fw_levels else None
    per_video = []
    for vi, v in enumerate(videos):
        mine = [s for s in segments if s["video_index"] == vi]
        per_video.append({"video": v.name, "path": v.path, "rate": fraction_str(v.info.rate),
                          "width": v.info.width, "height": v.info.height, "n_frames": v.n_frames,
                          "seconds": fraction_str(Fraction(v.n_frames) / v.info.rate),
                          "analysis_size": analysis_size(v.info.width, v.info.height),
                          **summarise(mine, fw_median)})
    if figures is not None:
        _write_figures(figures, tracks, per_video, engine.ckpt.name)
    results = clean({
        "set": "real",
        "model": {"name": engine.ckpt.name, "sha256": engine.ckpt.sha256, "path": model_dir,
                  "codec": engine.ckpt.tokenizer.name, "extractor": engine.ckpt.extractor.name,
                  "scorer": getattr(engine.scorer, "name", None) if engine.scorer is not None else None},
        "config": {"media": [str(m) for m in media], "segment_seconds": segment_seconds, "seeds_per_segment": seeds,
                   "seed": seed, "device": str(engine.device), "steps": steps, "guidance": guidance,
                   "temperature": temperature, "beam": beam, "sample_rate": SAMPLE_RATE,
                   "silent_db": SILENT_DB, "analysis_long_side": ANALYSIS_LONG_SIDE,
                   "onset_params": vars(on.DEFAULT),
                   "cut_params": {"bins": cu.BINS, "min_change": cu.MIN_CHANGE, "ratio": cu.RATIO,
                                  "window": cu.WINDOW},
                   "tolerance": "one video frame of each video's rate"},
        "overall": summarise(segments, fw_median),
        "videos": per_video,
        "foleyworld": {"clips": foleyworld_clips, "takes_lufs": fw_levels, "median_lufs": fw_median,
                       "quiet_below_lufs": fw_median - QUIET_LU if fw_median is not None else None,
                       "still_motion": STILL_MOTION},
        "segments": segments,
        "out_dir": str(out),
        "files": {"eval_json": "eval.json", "takes": "takes"},
        **({"figure": {"paths": [v["figure"] for v in per_video]}} if figures is not None else {}),
    })
    results["targets"] = targets(results["overall"], results["videos"])
    write_json(out / "eval.json", results)
    o = results["overall"]
    log.info("evaluated %d segment(s) of %d real video(s): AV-Align %s vs %s reversed; results in %s",
             o["segments"], len(videos), _fmt(o["av_align"]), _fmt(o["av_align_reversed"]), out)
    return results


def _figure_paths(figure: str | os.PathLike, videos: Sequence[Video]) -> list[Path]:
    """Each video's figure path, its folder made now: a path that cannot be written fails before the run."""
    from maskvat_foley.core.eval.real_figure import figure_paths

    paths = figure_paths(figure, [Path(v.path).stem for v in videos])
    for p in paths:
        if p.is_dir():
            raise RealInputError(f"--figure {p}: is a folder; name the PNG file to write")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RealInputError(f"--figure {p}: cannot make its folder ({exc.strerror or exc})") from None
    return paths


def _write_figures(paths: Sequence[Path], tracks: Sequence[Any], per_video: list[dict[str, Any]],
                   model: str) -> None:
    """Each video's figure, its path (or None, when it could not be written) in its record: a figure
    that fails must not lose the measured run."""
    from maskvat_foley.core.eval.real_figure import write_real_figure

    for path, track, rec in zip(paths, tracks, per_video):
        try:
            rec["figure"] = str(write_real_figure(path, track, model=model, summary=rec))
        except OSError as exc:
            log.error("figure %s not written: %s", path, exc)
            rec["figure"] = None


def segment_picture(video: Video, start: int, n: int) -> tuple[np.ndarray, list[int], np.ndarray]:
    """A segment's frames at the analysis size, the frames that start a new shot in it, and its motion
    curve (cuts are not motion). MediaError when it cannot be decoded."""
    from maskvat_foley.core.eval.metrics import motion_signal
    from maskvat_foley.core.media import cuts as cu
    from maskvat_foley.core.media.video import read_frames

    rgb = read_frames(video.path, start, n, video.info.rate,
                      size=analysis_size(video.info.width, video.info.height)).rgb
    cut_frames = cu.detect_cuts(rgb)
    return rgb, cut_frames, motion_signal(rgb, shots=cut_frames)


def _segment(engine: Any, params: GenerationParams, video: Video, vi: int, index: int, start: int, n: int,
             out: Path, track: Any = None) -> dict[str, Any]:
    """Generate one segment's takes and measure them; a failed segment is recorded with its error. A figure's
    ``track`` (real_figure.FigureTrack) is given the segment's picture and its first seed's take."""
    from maskvat_foley.core.eval.metrics import mel_distance, video_peaks
    from maskvat_foley.core.jobs import ClipJob
    from maskvat_foley.core.media.video import MediaError

    rate = video.info.rate
    clip_id = f"{vi:02d}_{Path(video.path).stem}_seg{index:03d}"
    rec: dict[str, Any] = {"video": video.name, "video_index": vi, "segment": index, "clip_id": clip_id,
                           "start_frame": start, "n_frames": n, "start_s": fraction_str(Fraction(start) / rate),
                           "seconds": fraction_str(Fraction(n) / rate), "error": None,
                           # filled below; a failed segment keeps these (same keys in every record)
                           "n_video_peaks": None, "n_video_peaks_reversed": None, "motion": None,
                           "cuts": [], "takes": [], **take_means([]),
                           "cut_onset_share": None, "seeds_identical": None, "seed_mel_distance": None}
    try:
        rgb, cut_frames, motion = segment_picture(video, start, n)
    except MediaError as exc:
        log.warning("segment %s skipped: %s", clip_id, exc)
        return {**rec, "error": str(exc)}
    peaks, reversed_peaks = (video_peaks(m, rate, floor=STILL_MOTION) for m in (motion, motion[::-1]))
    cuts = [Fraction(c) / rate for c in cut_frames]
    if track is not None:
        track.add_picture(start, rgb, motion, peaks, cut_frames)
    del rgb  # the picture is not needed past here; the engine decodes its own frames
    rec.update(n_video_peaks=len(peaks), n_video_peaks_reversed=len(reversed_peaks),
               motion=float(np.sqrt(np.mean(np.square(motion)))), cuts=cut_frames)
    follow = motion if rec["motion"] >= STILL_MOTION else None
    # source frames count from the file's timecode, as a timeline's clip would; the record span is the
    # segment's place in the video, so each take's time reference says where it belongs
    job = ClipJob(clip_id=clip_id, name=clip_id, media_path=video.path, media_rate=rate,
                  source_start=video.origin + start, source_duration=n, timeline_rate=rate, record_start=start,
                  record_duration=n, timeline_name="real_eval", media_origin=video.origin)
    result = engine.generate([job], params, out_dir=str(out / "takes"))[0]
    if not result.ok or len(result.takes) != params.takes:
        log.warning("segment %s: generation failed: %s", clip_id, result.error)
        return {**rec, "error": f"generation failed: {result.error}"}
    takes, audios = [], []
    for take in sorted(result.takes, key=lambda t: t.seed):
        audio = _read_mono(take.path)
        audios.append(audio)
        takes.append({"seed": take.seed, "path": os.path.relpath(take.path, out), "sync_score": take.sync_score,
                      **measure_take(audio, SAMPLE_RATE, rate, peaks, reversed_peaks, cuts, follow)})
    if track is not None:
        track.add_take(start, n, audios[0], SAMPLE_RATE, takes[0]["onsets_s"], takes[0]["seed"],
                       (takes[0]["loudness"] if math.isfinite(takes[0]["loudness"]) else None,
                        takes[0]["loudness_measure"]))
    rec.update(takes=takes, **take_means(takes),
               cut_onset_share=(sum(t["cuts_with_onset"] for t in takes) / (len(cuts) * len(takes))
                                if cuts else None),
               seeds_identical=any(np.array_equal(a, b) for i, a in enumerate(audios) for b in audios[i + 1:]),
               seed_mel_distance=mean_finite([mel_distance(a, b, SAMPLE_RATE) for a, b in zip(audios, audios[1:])]))
    return rec


def foleyworld_levels(engine: Any, params: GenerationParams, out: Path, n: int, progress: bool) -> list[float]:
    """Loudness of the model's take (the first seed) on each of the first ``n`` FoleyWorld test clips,
    at ``params``: the level its takes have where it hears events (finite values only)."""
    import dataclasses

    from tqdm import tqdm

    from maskvat_foley.core.data import generate_clip, split_seeds
    from maskvat_foley.core.eval.run import clip_job

    one = dataclasses.replace(params, takes=1)
    levels = []
    for seed in tqdm(split_seeds("test", n), desc="FoleyWorld level", unit="clip", disable=not progress or n == 0):
        job = clip_job(generate_clip(seed, size=CLASSIC_SIZE), out / "foleyworld" / "media", "real_eval_foleyworld")
        result = engine.generate([job], one, out_dir=str(out / "foleyworld" / "takes"))[0]
        if not result.ok or not result.takes:
            log.warning("FoleyWorld clip %s: generation failed: %s", job.clip_id, result.error)
            continue
        lufs = loudness(_read_mono(result.takes[0].path), SAMPLE_RATE)[0]
        if math.isfinite(lufs):
            levels.append(lufs)
    return levels


def _read_mono(path: str) -> np.ndarray:
    import soundfile

    audio, sr = soundfile.read(path, dtype="float32", always_2d=True)
    if sr != SAMPLE_RATE:
        raise ValueError(f"take {path} is at {sr} Hz, not the {SAMPLE_RATE} Hz asked for")
    return audio.mean(axis=1)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


