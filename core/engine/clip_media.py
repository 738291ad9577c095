"""A clip's media, checked before the engine spends anything on it.

Order matters: the job's numbers are bounded first (limits), then the media must be a regular
file (never opened otherwise: a named pipe would block the engine's only worker), then its real
length, from the container, must hold the span asked for; only then are frames listed and decoded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from maskvat_foley.core.engine.limits import ClipOutOfBounds, check_clip
from maskvat_foley.core.jobs import ClipJob


class ClipFailed(Exception):
    """This clip cannot be generated (bad media, unusable range); others go on."""


def check_clip_media(job: ClipJob) -> str:
    """The clip's media path once the job is in bounds and the media is a regular file."""
    from maskvat_foley.core.media.video import MediaError, regular_file

    try:
        check_clip(job)
    except ClipOutOfBounds as exc:
        raise ClipFailed(f"clip {job.clip_id}: {exc}") from None
    if job.media_path is None:
        raise ClipFailed(f"clip {job.clip_id} ({job.name}) has no media file")
    try:
        return regular_file(job.media_path)
    except MediaError as exc:
        raise ClipFailed(str(exc)) from None


@dataclass(frozen=True)
class ClipSpan:
    """Where a clip's frames are: its media (probed) and the source frame of the file's start."""

    path: str
    info: object  # core.media.video.VideoInfo
    origin: int


def clip_span(job: ClipJob) -> ClipSpan:
    """Probe the clip's media and check that it is long enough for the clip's frames."""
    from maskvat_foley.core.media.video import MediaError, file_origin, probe

    path = check_clip_media(job)
    try:
        info = probe(path)
    except MediaError as exc:
        raise ClipFailed(str(exc)) from None
    origin = file_origin(info, job.media_rate, job.media_origin, job.source_start)
    check_span(job, info, origin)
    return ClipSpan(path, info, origin)


def read_clip_frames(job: ClipJob, span: ClipSpan, size: tuple[int, int]):
    """The clip's source frames (core.media.video.Frames) at ``size``."""
    from maskvat_foley.core.media.video import MediaError, read_frames

    try:
        return read_frames(span.path, job.source_start, job.source_duration, job.media_rate,
                           size=size, time_scalar=job.time_scalar, origin_frame=span.origin)
    except MediaError as exc:
        raise ClipFailed(str(exc)) from None


def check_span(job: ClipJob, info, origin: int) -> None:
    """ClipFailed when the last frame the clip samples lies past the media's end (by more than
    one frame of the file, which absorbs containers that round their duration)."""
    if not info.duration_frames:
        return  # the container does not say; decoding will tell
    from maskvat_foley.core.media.video import runs_past_end

    last = Fraction(job.source_start - origin + (job.source_duration - 1) * job.time_scalar)
    last_seconds = last / job.media_rate
    media_seconds = Fraction(info.duration_frames) / info.rate
    if runs_past_end(last_seconds, info.duration_frames, info.rate):
        last_frame = math.ceil(last_seconds * info.rate)
        raise ClipFailed(f"{info.path}: the clip samples up to media frame {last_frame} "
                         f"({float(last_seconds):.3f} s) but the file holds {info.duration_frames} "
                         f"frames ({float(media_seconds):.3f} s)")
