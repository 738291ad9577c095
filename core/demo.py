"""`maskvat-foley demo`: a FoleyWorld edit at mixed frame rates, given Foley end to end.

The demo timeline runs at 24000/1001 from 01:00:00:00 and holds FoleyWorld clips whose media are
at 23.976 and 29.97 (29.97 clips last a multiple of 5 media frames, so they fill whole timeline
frames), a gap, and a dissolve. It writes the input timeline, the timeline with its Foley track,
the Broadcast WAV takes, a preview video per clip with the chosen take muxed in, and a
spectrogram picture per take.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction

from maskvat_foley.core.jobs import GenerationParams

log = logging.getLogger(__name__)

TIMELINE_RATE = Fraction(24000, 1001)
START_TIMECODE = "01:00:00:00"
DEMO_SEED = 1000  # generation seed: the demo gives the same takes on every run


@dataclass(frozen=True)
class DemoClip:
    name: str
    seed: int  # FoleyWorld seed (from the test split, never trained on)
    kinds: tuple[str, ...]
    rate: Fraction
    media_frames: int  # length of the rendered media
    trim: int  # first media frame used (leaves a handle for the dissolve)
    frames: int  # media frames used


DEMO_CLIPS = (
    DemoClip("bouncing glass", 2_000_011, ("impact",), Fraction(24000, 1001), 120, 12, 96),
    DemoClip("footsteps", 2_000_012, ("footstep",), Fraction(30000, 1001), 150, 0, 150),
    DemoClip("drops", 2_000_013, ("water",), Fraction(24000, 1001), 120, 0, 96),
    DemoClip("door", 2_000_014, ("door",), Fraction(24000, 1001), 120, 12, 96),
    DemoClip("clock and rain", 2_000_015, ("tick", "rain"), Fraction(30000, 1001), 150, 0, 125),
)
GAP_FRAMES = 24  # timeline frames between "footsteps" and "drops"
DISSOLVE = (6, 6)  # in/out offsets of the dissolve between "drops" and "door"


def build_demo_timeline(out_dir: str, size: tuple[int, int] = (128, 96)) -> str:
    """Write the demo media and demo.otio into ``out_dir``; returns the timeline's path."""
    import opentimelineio as otio

    from maskvat_foley.core.data import generate_clip
    from maskvat_foley.core.data.make import write_clip
    from maskvat_foley.core.timeline.io import write_timeline
    from maskvat_foley.core.timeline.rates import from_timecode

    media_dir = os.path.join(out_dir, "media")
    os.makedirs(media_dir, exist_ok=True)
    rt = otio.opentime.RationalTime
    tl = otio.schema.Timeline(name="MaskVAT Foley demo")
    tl.global_start_time = rt(from_timecode(START_TIMECODE, TIMELINE_RATE), float(TIMELINE_RATE))
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    tl.tracks.append(track)
    for i, c in enumerate(DEMO_CLIPS):
        fw = generate_clip(c.seed, rate=c.rate, seconds=Fraction(c.media_frames) / c.rate,
                           size=size, kinds=list(c.kinds))
        video = write_clip(fw, media_dir)
        r = float(c.rate)
        ref = otio.schema.ExternalReference(
            target_url=f"media/{video.name}",  # relative: the demo folder can be moved
            available_range=otio.opentime.TimeRange(rt(0, r), rt(c.media_frames, r)))
        clip = otio.schema.Clip(name=c.name, media_reference=ref,
                                source_range=otio.opentime.TimeRange(rt(c.trim, r), rt(c.frames, r)))
        if c.name == "door":
            track.append(otio.schema.Transition(
                name="dissolve", transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                in_offset=rt(DISSOLVE[0], float(TIMELINE_RATE)),
                out_offset=rt(DISSOLVE[1], float(TIMELINE_RATE))))
        track.append(clip)
        if i == 1:
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                rt(0, float(TIMELINE_RATE)), rt(GAP_FRAMES, float(TIMELINE_RATE)))))
    path = os.path.join(out_dir, "demo.otio")
    write_timeline(tl, path)
    return path


def run_demo(out_dir: str, *, model: str | None = None, device: str = "auto",
             takes: int = GenerationParams.takes, loudness: float | None = GenerationParams.loudness,
             gain_db: float = GenerationParams.gain_db, progress=None) -> list[str]:
    """Build the demo, generate ``takes`` takes per clip (at the level ``loudness`` and ``gain_db``
    ask, core.media.gain), write previews; returns report lines."""
    from maskvat_foley.core.engine.engine import Engine, default_model_dir
    from maskvat_foley.core.pipeline import Selection, generate_timeline, prepare

    params = GenerationParams(seed=DEMO_SEED, takes=takes, loudness=loudness, gain_db=gain_db)  # checked first
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    log.info("building the demo timeline in %s", out_dir)
    timeline_path = build_demo_timeline(out_dir)
    notes = []
    if model is None and not os.path.isdir(default_model_dir()):
        # No trained model is bundled in this build yet: run the whole real path with an
        # untrained one, and say so wherever the result is reported.
        from maskvat_foley.core.model.checkpoint import init_random

        model = str(init_random(os.path.join(out_dir, "untrained_model"), preset="tiny",
                                name="untrained (no bundled model in this build)", overwrite=True))
        notes.append("NOTE: this build has no trained default model (resources/default_model); the "
                     "demo used an UNTRAINED model, so the takes are noise. Train one with "
                     "`make default-model` or pass --model DIR.")
        log.warning(notes[-1])
    model = model or default_model_dir()
    if not os.path.isdir(model):
        raise FileNotFoundError(f"model folder not found: {model}")
    engine = Engine(model, device=device)
    prepared = prepare(timeline_path, Selection(all=True))
    summary = generate_timeline(prepared, os.path.join(out_dir, "demo_foley.otio"), params,
                                engine, media_dir=os.path.join(out_dir, "foley"), progress=progress)
    jobs = {j.clip_id: j for j in prepared.jobs}
    previews = write_previews(summary.results, jobs, out_dir)
    pictures = write_spectrograms(summary.results, out_dir)
    info = engine.info()
    return [f"model: {info['model']} ({info['sha256'][:12]}) on {info['device']}",
            f"demo timeline: {timeline_path}", *summary.lines(),
            f"previews (video with the best take): {os.path.join(out_dir, 'preview')} ({len(previews)} files)",
            f"spectrograms: {os.path.join(out_dir, 'spectrograms')} ({len(pictures)} files)", *notes]


def write_previews(results, jobs, out_dir: str) -> list[str]:
    """Each clip's frames with its first (best) take muxed in, as preview/<clip>.mp4."""
    import soundfile

    from maskvat_foley.core.engine.takes import safe_name
    from maskvat_foley.core.media.video import read_frames
    from maskvat_foley.core.media.video_writer import write_video

    folder = os.path.join(out_dir, "preview")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for r in results:
        if not r.takes:
            continue
        job, take = jobs[r.clip_id], r.takes[0]
        frames = read_frames(job.media_path, job.source_start, job.source_duration, job.media_rate,
                             origin_frame=job.media_origin)
        audio, sr = soundfile.read(take.path, dtype="float32", always_2d=True)
        path = os.path.join(folder, f"{safe_name(job.clip_id)}_{safe_name(job.name)}.mp4")
        write_video(path, frames.rgb, job.media_rate, audio=audio.T, sample_rate=sr)
        paths.append(path)
    return paths


def write_spectrograms(results, out_dir: str) -> list[str]:
    import soundfile

    from maskvat_foley.core.media.spectrogram import write_spectrogram_png

    folder = os.path.join(out_dir, "spectrograms")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for take in (t for r in results for t in r.takes):
        audio, sr = soundfile.read(take.path, dtype="float32")
        stem = os.path.splitext(os.path.basename(take.path))[0]
        paths.append(write_spectrogram_png(os.path.join(folder, stem + ".png"), audio, sr))
    return paths
