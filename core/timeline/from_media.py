"""A one-clip timeline from a video file, so a camera clip can be given Foley without an edit.

What an editor gets by dropping a clip onto an empty sequence: the timeline runs at the file's
frame rate and starts at the file's start timecode (00:00:00:00 when it has none), V1 holds the
whole clip, and A1 its production sound when the file has any. Times are exact: the rate is the
file's snapped rational rate, the ranges are whole frames.
"""
from __future__ import annotations

import logging
import os
import pathlib

import opentimelineio as otio

from maskvat_foley.core.timeline.io import TimelineError, adapter_for_path, file_url
from maskvat_foley.core.timeline.rates import rate_str, to_timecode

log = logging.getLogger(__name__)

# Files these suffixes name are read as media, not handed to an OTIO adapter. A file no adapter
# claims is tried as a video too (io.read_timeline, ``reads_as_media``): a camera's own suffix.
MEDIA_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mov", ".qt", ".mxf", ".mkv", ".webm", ".avi", ".mts", ".m2ts", ".ts",
    ".mpg", ".mpeg", ".dv", ".wmv", ".flv", ".3gp", ".y4m",
})


def is_media_suffix(path: str | os.PathLike) -> bool:
    return pathlib.Path(path).suffix.lower() in MEDIA_SUFFIXES


def timeline_from_media(path: str | os.PathLike) -> otio.schema.Timeline:
    """The timeline of one video file (see the module's docstring); TimelineError says why not."""
    from maskvat_foley.core.media.video import MediaError, probe

    p = os.path.abspath(os.fspath(path))
    try:
        info = probe(p)
    except MediaError as exc:
        raise TimelineError(str(exc)) from None
    frames = info.duration_frames if info.duration_frames else _count_frames(p)
    if frames < 1:
        raise TimelineError(f"{p}: the video stream holds no frames")
    rate = info.rate
    start = info.timecode_frame or 0
    r = float(rate)
    span = otio.opentime.TimeRange(otio.opentime.RationalTime(start, r), otio.opentime.RationalTime(frames, r))
    name = pathlib.Path(p).stem
    timeline = otio.schema.Timeline(name=name)
    timeline.global_start_time = otio.opentime.RationalTime(start, r)
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    video.append(_clip(name, p, span))
    timeline.tracks.append(video)
    if info.has_audio:
        audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
        audio.append(_clip(name, p, span))
        timeline.tracks.append(audio)
    log.info("%s: read as a one-clip timeline, %d frames at %s fps from %s%s", p, frames, rate_str(rate),
             to_timecode(start, rate), " (with its sound on A1)" if info.has_audio else "")
    return timeline


def _clip(name: str, path: str, span: otio.opentime.TimeRange) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(target_url=file_url(path), available_range=span)
    return otio.schema.Clip(name=name, media_reference=ref, source_range=span)


def _count_frames(path: str) -> int:
    """Frames of a file whose header does not say: its video packets, demuxed, not decoded."""
    import av

    try:
        with av.open(path) as container:
            return sum(1 for pkt in container.demux(video=0) if pkt.size)
    except (av.error.FFmpegError, OSError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise TimelineError(f"{path}: cannot count the video's frames ({why})") from None


def reads_as_media(path: str | os.PathLike) -> bool:
    """Whether ``read_timeline`` takes this file as a video: a video suffix, or a file no
    adapter claims that opens as a video (a camera's own suffix)."""
    if is_media_suffix(path):
        return True
    try:
        adapter_for_path(path)
        return False
    except TimelineError:
        pass
    from maskvat_foley.core.media.video import MediaError, probe

    try:
        probe(path)
    except MediaError:
        return False
    return True
