"""Shared pieces of the host bridge tests: a tiny real engine, real short videos, and the OTIO a
host stand-in exports (built from the stand-in's own clips, the way the host would)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import opentimelineio as otio
import soundfile
import wavinfo

from maskvat_foley.core.jobs import GenerationParams
from maskvat_foley.core.timeline import rates

FAST = GenerationParams(seed=11, takes=2, steps=2, guidance=1.0)


def tiny_engine(folder):
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.model.checkpoint import init_random

    model = init_random(os.path.join(folder, "model"), "tiny")
    return Engine(str(model), device="cpu", cache_dir=os.path.join(folder, "cache"))


def video(path, n_frames: int, rate: Fraction, shade: int = 60) -> str:
    from maskvat_foley.core.media.video_writer import write_video

    frames = [np.full((32, 48, 3), (shade + 7 * i) % 256, np.uint8) for i in range(n_frames)]
    return str(write_video(path, frames, rate))


@dataclass
class HostClip:
    """A video clip as a host stand-in holds it: record frames from the timeline start."""

    name: str
    track: int  # 1-based video track
    offset: int  # record frames after the timeline's first frame
    duration: int
    media: str
    source_start: int = 0
    media_frames: int = 0


def write_otio(path, name: str, rate: Fraction, start_record: int, clips: list[HostClip]) -> str:
    """A real .otio as an NLE exports it: global start time, one track per video track, gaps."""
    fr = float(rate)

    def rt(v):
        return otio.opentime.RationalTime(v, fr)

    tl = otio.schema.Timeline(name=name, global_start_time=rt(start_record))
    for t in range(1, max(c.track for c in clips) + 1):
        track = otio.schema.Track(name=f"Video {t}", kind=otio.schema.TrackKind.Video)
        pos = 0
        for c in sorted((c for c in clips if c.track == t), key=lambda c: c.offset):
            if c.offset > pos:
                track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(c.offset - pos))))
            ref = otio.schema.ExternalReference(
                target_url=otio.url_utils.url_from_filepath(os.path.abspath(c.media)),
                available_range=otio.opentime.TimeRange(rt(0), rt(c.media_frames or c.source_start + c.duration)))
            track.append(otio.schema.Clip(name=c.name, media_reference=ref,
                                          source_range=otio.opentime.TimeRange(rt(c.source_start), rt(c.duration))))
            pos = c.offset + c.duration
        tl.tracks.append(track)
    otio.adapters.write_to_file(tl, str(path))
    return str(path)


def check_take_file(take, rate: Fraction, record_start: int, record_duration: int) -> None:
    """The WAV holds exactly the samples of record frames [a, b) and starts at round(a*SR/r)."""
    ref, count = rates.sample_span(record_start, record_start + record_duration, rate, take.sample_rate)
    assert soundfile.info(take.path).frames == count == take.num_samples
    assert wavinfo.WavInfoReader(take.path).bext.time_reference == ref == take.time_reference
