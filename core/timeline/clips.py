"""The video clips of a timeline with exact record and source ranges, and the jobs made from them.

Record frames are counted from the timecode origin at the exact timeline rate: the timeline's
global start plus the clip's range in ``timeline.tracks``. OTIO's ``transformed_time_range`` does
not cut a clip that a trimmed nested stack only partly shows, so the walk up through the parents
below also clips the range to each parent's trim (the part that is actually on the record).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import opentimelineio as otio

from maskvat_foley.core.jobs import ClipJob
from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.io import TimelineError, media_path

STATUSES = ("ok", "missing", "unsupported", "offline", "short")  # short: see media_check
FLAGS = ("speed_effect", "freeze_frame", "transition", "nested", "zero_length")


class ClipNotUsable(TimelineError):
    """A clip that Foley cannot be generated for (speed effect, missing media, zero length, ...)."""


@dataclass(frozen=True)
class MediaExtent:
    """What a clip reads of its media file against what the file holds (core.timeline.media_check).

    ``first``/``end``: the file frames the clip reads, [first, end) at the clip's media rate with 0
    the file's first frame; ``frames`` at ``file_rate``: the file's own length.
    """

    first: int
    end: int
    rate: Fraction
    frames: int
    file_rate: Fraction

    @property
    def short(self) -> bool:
        """The clip reads before the file's start, or its last frame lies past the file's end by
        the rule the engine refuses a clip with (core.media.video.runs_past_end)."""
        from maskvat_foley.core.media.video import runs_past_end

        return self.first < 0 or runs_past_end(Fraction(self.end - 1) / self.rate, self.frames, self.file_rate)

    def describe(self) -> str:
        def secs(frames: int, rate: Fraction) -> str:
            return f"{float(Fraction(frames) / rate):.3f} s"

        return (f"it reads file frames {self.first}-{self.end} at {rates.rate_str(self.rate)} fps "
                f"(to {secs(self.end, self.rate)}) but the file holds {self.frames} frames at "
                f"{rates.rate_str(self.file_rate)} fps ({secs(self.frames, self.file_rate)})")

    def to_json(self) -> dict[str, Any]:
        return {"first_frame": self.first, "end_frame": self.end, "rate": rates.rate_str(self.rate),
                "media_frames": self.frames, "media_rate": rates.rate_str(self.file_rate)}


@dataclass(frozen=True)
class ClipInfo:
    """One video clip. Record/visible frames are at ``rate`` from the timecode origin; source
    frames are media time at ``media_rate`` (``media_start`` is where the media's own range begins)."""

    id: str
    name: str
    track: int
    track_name: str
    rate: Fraction
    record_start: int
    record_duration: int
    visible_start: int
    visible_duration: int
    source_start: int
    source_duration: int
    media_rate: Fraction
    media_start: int = 0
    visible_source_start: int = 0
    visible_source_duration: int = 0
    media: str | None = None
    status: str = "ok"
    flags: tuple[str, ...] = ()
    time_scalar: Fraction = Fraction(1)
    media_url: str | None = None
    extent: MediaExtent | None = None  # set once the media file was probed (media_check)

    @property
    def record_end(self) -> int:
        return self.record_start + self.record_duration

    @property
    def visible_end(self) -> int:
        return self.visible_start + self.visible_duration

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "track": self.track, "track_name": self.track_name,
            "rate": rates.rate_str(self.rate),
            "record_start": self.record_start, "record_duration": self.record_duration,
            "record_in": rates.to_timecode(self.record_start, self.rate),
            "record_out": rates.to_timecode(self.record_end, self.rate),
            "visible_start": self.visible_start, "visible_duration": self.visible_duration,
            "source_start": self.source_start, "source_duration": self.source_duration,
            "media_rate": rates.rate_str(self.media_rate), "media": self.media, "status": self.status,
            "flags": list(self.flags), "time_scalar": rates.rate_str(self.time_scalar),
            "media_extent": self.extent.to_json() if self.extent is not None else None,
        }


def timeline_rate(timeline: otio.schema.Timeline) -> Fraction:
    """The exact edit rate: the global start's rate, else the first video item's rate."""
    if timeline.global_start_time is not None:
        return rates.exact_rate(timeline.global_start_time.rate)
    for track in timeline.video_tracks() or list(timeline.tracks):
        for item in track.find_children(descended_from_type=otio.core.Item):
            if not isinstance(item, otio.core.Composition) or item.source_range is not None:
                try:
                    return rates.exact_rate(item.trimmed_range().duration.rate)
                except Exception:
                    continue
    raise TimelineError(f"timeline {timeline.name!r} has no global start time and no items to take a rate from")


def timeline_origin(timeline: otio.schema.Timeline, rate: Fraction | None = None) -> int:
    """The record frame of the timeline's first frame at ``rate`` (default: its edit rate): its
    global start counted from the timecode origin, 0 when it has none."""
    if timeline.global_start_time is None:
        return 0
    return rates.frames(timeline.global_start_time, rate if rate is not None else timeline_rate(timeline))


def _span(r: otio.opentime.TimeRange) -> tuple[Fraction, Fraction]:
    start = rates.seconds(r.start_time)
    return start, start + rates.seconds(r.duration)


def _to_root(clip: otio.schema.Clip, src: tuple[Fraction, Fraction], root: otio.core.Composition
             ) -> tuple[Fraction, Fraction, Fraction, Fraction]:
    """Map a span in the clip's source time (seconds) to ``root`` time, cut by every parent's trim.

    Returns (start, end, cut_head, cut_tail): the part on the record and how much of the span's
    head and tail the parents hide.
    """
    t_start, _ = _span(clip.trimmed_range())
    offset = rates.seconds(clip.range_in_parent().start_time) - t_start
    start, end = src[0] + offset, src[1] + offset
    head = tail = Fraction(0)
    hidden = False
    parent = clip.parent()
    while parent is not None and parent is not root:
        p_start, p_end = _span(parent.trimmed_range())
        if parent.parent() is root:
            # A top-level track's source_range is no editing trim; the EDL reader uses its (negative)
            # start to carry the first record timecode. Shift by it, cut nothing.
            p_start, p_end = min(p_start, start), max(p_end, end)
        if start < p_start:
            head += p_start - start
            start = p_start
        if end > p_end:
            tail += end - p_end
            end = p_end
        if end < start:
            hidden, end = True, start
        shift = rates.seconds(parent.range_in_parent().start_time) - p_start
        start, end = start + shift, end + shift
        parent = parent.parent()
    if hidden:  # entirely outside a parent's trim: nothing of it is on the record
        length = src[1] - src[0]
        head = min(head, length)
        tail, end = length - head, start
    return start, end, head, tail


def _status(ref: otio.core.MediaReference, path: str | None) -> str:
    if isinstance(ref, otio.schema.MissingReference) or ref is None:
        return "missing"
    if not isinstance(ref, otio.schema.ExternalReference) or path is None:
        return "unsupported"  # generators, image sequences, remote URLs
    return "ok" if os.path.isfile(path) else "offline"


def _effects(clip: otio.schema.Clip, root: otio.core.Composition) -> tuple[set[str], Fraction]:
    """Speed flags and the product of time scalars of the clip and its nested parents."""
    flags: set[str] = set()
    scalar = Fraction(1)
    item: Any = clip
    while item is not None and item is not root:
        for effect in getattr(item, "effects", []):
            if isinstance(effect, otio.schema.FreezeFrame):
                flags.add("freeze_frame")
                scalar = Fraction(0)
            elif isinstance(effect, otio.schema.LinearTimeWarp):
                s = Fraction(effect.time_scalar).limit_denominator(10_000)
                if s != 1:
                    flags.add("speed_effect")
                scalar *= s
        item = item.parent()
    return flags, scalar


def clip_info(clip: otio.schema.Clip, clip_id: str, track_number: int, track: otio.schema.Track,
              timeline: otio.schema.Timeline, rate: Fraction, timeline_dir: str | None = None) -> ClipInfo:
    """Describe one clip of ``timeline`` (see ``list_clips``)."""
    root = timeline.tracks
    origin = timeline_origin(timeline, rate)
    trimmed = clip.trimmed_range()
    visible = clip.visible_range()
    rec_s, rec_e, head, tail = _to_root(clip, _span(trimmed), root)
    vis_s, vis_e, v_head, v_tail = _to_root(clip, _span(visible), root)

    def rec(t: Fraction) -> int:
        return origin + rates.round_half_up(t * rate)

    ref = clip.media_reference
    avail = ref.available_range if ref is not None else None
    media_rate = rates.exact_rate((avail or trimmed).start_time.rate)
    media_start = rates.frames(avail.start_time, media_rate) if avail is not None else 0

    def src(start: Fraction, end: Fraction) -> tuple[int, int]:
        a, b = (rates.round_half_up(x * media_rate) for x in (start, end))
        return a, b - a

    t_s, t_e = _span(trimmed)
    v_s, v_e = _span(visible)
    source_start, source_duration = src(t_s + head, t_e - tail)
    vsrc_start, vsrc_duration = src(v_s + v_head, v_e - v_tail)

    flags, scalar = _effects(clip, root)
    record_start, record_duration = rec(rec_s), rec(rec_e) - rec(rec_s)
    visible_start, visible_duration = rec(vis_s), rec(vis_e) - rec(vis_s)
    if (visible_start, visible_duration) != (record_start, record_duration):
        flags.add("transition")
    if clip.parent() is not track:
        flags.add("nested")
    if record_duration <= 0:
        flags.add("zero_length")
    path = media_path(ref, timeline_dir)
    return ClipInfo(
        id=clip_id, name=clip.name, track=track_number, track_name=track.name, rate=rate,
        record_start=record_start, record_duration=record_duration,
        visible_start=visible_start, visible_duration=visible_duration,
        source_start=source_start, source_duration=source_duration, media_rate=media_rate,
        media_start=media_start, visible_source_start=vsrc_start, visible_source_duration=vsrc_duration,
        media=path, status=_status(ref, path), flags=tuple(f for f in FLAGS if f in flags),
        time_scalar=scalar, media_url=getattr(ref, "target_url", None))


def list_clips(timeline: otio.schema.Timeline, timeline_dir: str | os.PathLike | None = None) -> list[ClipInfo]:
    """Every video clip, track by track (``V<track>.<n>``, depth first, nested stacks included).

    Gaps, transitions, markers and audio tracks are not listed. ``timeline_dir`` resolves relative
    media URLs (``read_timeline`` has already made them absolute).
    """
    rate = timeline_rate(timeline)
    folder = os.fspath(timeline_dir) if timeline_dir is not None else None
    result = []
    for t, track in enumerate(timeline.video_tracks(), start=1):
        clips = track.find_clips()
        for n, clip in enumerate(clips, start=1):
            try:  # first, so that the clip at fault is named (its neighbours' ranges depend on it)
                clip.trimmed_range()
            except otio.exceptions.OTIOError as exc:
                raise TimelineError(f"clip V{t}.{n} ({clip.name!r}) of timeline {timeline.name!r} has no usable"
                                    f" range: {exc}") from exc
        for n, clip in enumerate(clips, start=1):
            result.append(clip_info(clip, f"V{t}.{n}", t, track, timeline, rate, folder))
    return result


def clip_job(info: ClipInfo, timeline_name: str) -> ClipJob:
    """The generation job for a clip: its visible range (a dissolve is covered) and the media
    frames seen there (media time; ``media_origin`` is the media's first frame).

    Raises ClipNotUsable for speed effects, freeze frames, unusable media and zero length.
    """
    where = f"clip {info.id} ({info.name!r})"
    if "freeze_frame" in info.flags:
        raise ClipNotUsable(f"{where} has a freeze frame; Foley for held frames is not generated "
                            "(remove the effect or render the clip)")
    if "speed_effect" in info.flags:
        raise ClipNotUsable(f"{where} has a speed effect (time scalar {rates.rate_str(info.time_scalar)}); "
                            "it is refused rather than generating audio that drifts from the picture")
    if info.status != "ok":
        reason = {"missing": "has no media reference", "offline": f"media file not found: {info.media}",
                  "short": f"runs past the end of its media {info.media}: "
                           f"{info.extent.describe() if info.extent else 'the file is shorter'}",
                  "unsupported": f"has a media reference Foley cannot read ({info.media_url or 'not a file'})"}
        raise ClipNotUsable(f"{where} {reason.get(info.status, info.status)}")
    if info.visible_duration <= 0 or info.visible_source_duration <= 0:
        raise ClipNotUsable(f"{where} has zero length on the record")
    return ClipJob(
        clip_id=info.id, name=info.name, media_path=info.media,
        media_rate=rates.exact_rate(info.media_rate),
        source_start=info.visible_source_start, source_duration=info.visible_source_duration,
        media_origin=info.media_start,
        timeline_rate=rates.exact_rate(info.rate), record_start=info.visible_start,
        record_duration=info.visible_duration, timeline_name=timeline_name, flags=info.flags,
        time_scalar=info.time_scalar)
