"""An OTIO timeline built from a host's own clip list, for hosts without an OTIO export we can
call (Hiero from a script, Blender). Record frames are exact; a clip whose media plays at another
speed than the timeline carries a LinearTimeWarp, so the pipeline refuses it instead of drifting.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import opentimelineio as otio

from maskvat_foley.core.timeline import rates
from maskvat_foley.plugin.hosts import HostError


@dataclass(frozen=True)
class HostVideoClip:
    """track: 1-based video track; record_start: record frame at the timeline rate; source_start:
    media frame (absolute, media_start included) at media_rate; speed: media frames per record frame
    relative to the rates (1 = plays as recorded)."""

    name: str
    track: int
    record_start: int
    duration: int
    media_path: str
    media_rate: Fraction
    source_start: int
    media_start: int = 0
    media_duration: int | None = None
    speed: Fraction = Fraction(1)


def build_timeline(name: str, rate: Fraction, origin: int, clips: Sequence[HostVideoClip],
                   track_names: dict[int, str] | None = None) -> otio.schema.Timeline:
    fr = float(rate)

    def rt(v: int, r: float = fr) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(v, r)

    tl = otio.schema.Timeline(name=name, global_start_time=rt(origin))
    last = max((c.track for c in clips), default=0)
    for t in range(1, last + 1):
        track = otio.schema.Track(name=(track_names or {}).get(t, f"V{t}"), kind=otio.schema.TrackKind.Video)
        pos = origin
        for c in sorted((c for c in clips if c.track == t), key=lambda c: c.record_start):
            if c.record_start < pos:
                raise HostError(f"clip {c.name!r} on video track {t} starts at record frame {c.record_start},"
                                f" inside the previous clip (ends at {pos})")
            if c.record_start > pos:
                track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(c.record_start - pos))))
            mr = float(c.media_rate)
            avail = None
            if c.media_duration is not None:
                avail = otio.opentime.TimeRange(rt(c.media_start, mr), rt(c.media_duration, mr))
            ref = otio.schema.ExternalReference(
                target_url=otio.url_utils.url_from_filepath(os.path.abspath(c.media_path)), available_range=avail)
            # OTIO's convention: the source duration is the record duration, in media time.
            dur = rates.round_half_up(Fraction(c.duration) * c.media_rate / rate)
            clip = otio.schema.Clip(name=c.name, media_reference=ref, source_range=otio.opentime.TimeRange(
                rt(c.source_start, mr), rt(dur, mr)))
            if c.speed != 1:
                clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=float(c.speed)))
            track.append(clip)
            pos = c.record_start + c.duration
        tl.tracks.append(track)
    return tl


def write_timeline(timeline: otio.schema.Timeline, folder: str, stem: str) -> str:
    from maskvat_foley.core.timeline.io import write_timeline as write

    os.makedirs(folder, exist_ok=True)
    return write(timeline, os.path.join(os.path.abspath(folder), f"{stem}.otio"))
