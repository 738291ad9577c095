"""Do the clips' media files hold the frames the clips read? One probe per file (PyAV).

``list_clips`` reads only the timeline; a clip whose range runs past its media (a 10-minute range
over a 10 s file) then looks fine until decoding fails halfway through a generation run. This
module probes each media file once and marks such clips ``short`` with the numbers. PyAV is
imported only when a file is probed, so listing stays fast.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable

from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.clips import ClipInfo, MediaExtent

log = logging.getLogger(__name__)

# Clips whose media time is not simply their source range: refused for their own reason anyway.
_NOT_CHECKED_FLAGS = ("speed_effect", "freeze_frame")


def media_extent(info: ClipInfo, video_info) -> MediaExtent | None:
    """The file frames ``info`` reads (trimmed and visible range) against the file's length."""
    if video_info.duration_frames is None:
        return None
    spans = [(info.source_start, info.source_duration)]
    if info.visible_source_duration > 0:  # under a transition the engine reads the visible range
        spans.append((info.visible_source_start, info.visible_source_duration))
    start = min(s for s, _ in spans)
    end = max(s + d for s, d in spans)
    from maskvat_foley.core.media.video import file_origin

    origin = file_origin(video_info, info.media_rate, info.media_start, spans[-1][0])
    return MediaExtent(first=start - origin, end=end - origin, rate=rates.exact_rate(info.media_rate),
                       frames=video_info.duration_frames, file_rate=video_info.rate)


def check_media(clips: Iterable[ClipInfo], probe: Callable | None = None) -> list[ClipInfo]:
    """``clips`` with ``extent`` filled in and status ``short`` where the media ends too early.

    Each media file is probed once however many clips use it. A file that cannot be probed is left
    to the engine, which reports it when the clip is generated.
    """
    if probe is None:
        from maskvat_foley.core.media.video import probe
    probed: dict[str, object] = {}
    out = []
    for info in clips:
        if info.status != "ok" or info.media is None or any(f in info.flags for f in _NOT_CHECKED_FLAGS):
            out.append(info)
            continue
        if info.media not in probed:
            try:
                probed[info.media] = probe(info.media)
            except Exception as exc:  # MediaError and PyAV's own: the engine says why, per clip
                log.debug("cannot probe %s: %s", info.media, exc)
                probed[info.media] = None
        video = probed[info.media]
        extent = media_extent(info, video) if video is not None else None
        if extent is None:
            out.append(info)
            continue
        out.append(dataclasses.replace(info, extent=extent, status="short" if extent.short else info.status))
    return out
