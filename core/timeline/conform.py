"""Per-target copies of a timeline: each export adapter (and the editor behind it) gets what it reads right.

The steps work on a deep copy; the timeline the user keeps is never changed.

- explicit source ranges: the EDL writer (and others) read ``clip.source_range`` directly.
- edit rate: AAF insists every clip, gap and media range is at the timeline's edit rate, and the
  MLT writer writes raw ``RationalTime.value``s as frame numbers, so mixed-rate clips are
  re-expressed in timeline frames (record boundaries rounded once, never accumulated).
- rebase to the file start: MLT and GStreamer Editing Services ignore file timecode, so a media
  range starting at a Broadcast WAV's timecode (10 hours in) would be read as an offset into the
  file. FCP XML and AAF use file timecode and keep it.
- video only: a CMX 3600 EDL carries one video track; what it cannot carry is reported.
"""
from __future__ import annotations

import dataclasses
import logging
import pathlib
from fractions import Fraction

import opentimelineio as otio

from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.clips import timeline_origin, timeline_rate
from maskvat_foley.core.timeline.io import TimelineError, media_path
from maskvat_foley.core.timeline.placement import is_foley_track

log = logging.getLogger(__name__)

# Formats that can hold the Foley tracks, offered when a target cannot.
FOLEY_FORMATS = ".xml (FCP XML) or .aaf"


class ConformError(TimelineError):
    """A timeline the target format cannot express; the message names the item and the reason."""


@dataclasses.dataclass
class Conformed:
    """The copy to hand to the adapter, and what the target could not carry."""

    timeline: otio.schema.Timeline
    rate: Fraction
    left_out: list[str] = dataclasses.field(default_factory=list)  # names of tracks left out
    foley_left_out: bool = False


def _rt(frames: int, rate: Fraction) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, float(rate))


def _range(start: int, duration: int, rate: Fraction) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_rt(start, rate), _rt(duration, rate))


def explicit_source_ranges(timeline: otio.schema.Timeline) -> int:
    """Give every clip without a source range its media's range. Returns how many were set."""
    count = 0
    for clip in timeline.find_clips():
        if clip.source_range is not None:
            continue
        ref = clip.media_reference
        if ref is None or ref.available_range is None:
            raise ConformError(f"clip {clip.name!r} has neither a source range nor media with a known range")
        clip.source_range = ref.available_range
        count += 1
    return count


def _at_rate(r: otio.opentime.TimeRange, rate: Fraction) -> otio.opentime.TimeRange:
    start = rates.frames(r.start_time, rate)
    return _range(start, rates.frames(r.end_time_exclusive(), rate) - start, rate)


def _markers_at_rate(item: otio.core.SerializableObject, rate: Fraction) -> None:
    for marker in getattr(item, "markers", ()):
        marker.marked_range = _at_rate(marker.marked_range, rate)


def _composition_at_rate(comp: otio.core.Composition, rate: Fraction) -> None:
    """Every child of ``comp`` in whole frames at ``rate``.

    Record boundaries are rounded from their exact position in the composition, so a run of
    mixed-rate clips never drifts by more than half a frame.
    """
    position = Fraction(0)  # exact seconds from the composition's start (tracks are sequential)
    sequential = isinstance(comp, otio.schema.Track)
    for child in comp:
        if isinstance(child, otio.schema.Transition):
            child.in_offset = _rt(rates.frames(child.in_offset, rate), rate)
            child.out_offset = _rt(rates.frames(child.out_offset, rate), rate)
            continue
        trimmed = child.trimmed_range()
        length = rates.seconds(trimmed.duration)
        first = rates.round_half_up(position * rate)
        last = rates.round_half_up((position + length) * rate)
        child.source_range = _range(rates.frames(trimmed.start_time, rate), last - first, rate)
        if sequential:
            position += length
        if isinstance(child, otio.schema.Clip):
            for ref in child.media_references().values():
                if ref.available_range is not None:
                    ref.available_range = _at_rate(ref.available_range, rate)
        elif isinstance(child, otio.core.Composition):
            _composition_at_rate(child, rate)
        _markers_at_rate(child, rate)
    _markers_at_rate(comp, rate)


def to_edit_rate(timeline: otio.schema.Timeline, rate: Fraction) -> None:
    """Express every range of ``timeline`` in whole frames at the edit rate ``rate``."""
    if timeline.global_start_time is not None:
        timeline.global_start_time = _rt(timeline_origin(timeline, rate), rate)
    for track in timeline.tracks:
        if track.source_range is not None:
            track.source_range = _at_rate(track.source_range, rate)
        _composition_at_rate(track, rate)
    _markers_at_rate(timeline.tracks, rate)


def rebase_to_file_start(timeline: otio.schema.Timeline) -> int:
    """Count every media range from its file's first frame (for targets that ignore file timecode).

    A clip's source range moves with its active reference; every reference counts from its own
    file's start. Returns how many clips moved.
    """
    moved = 0
    for clip in timeline.find_clips():
        active = clip.media_reference
        offset = active.available_range.start_time if active is not None and active.available_range else None
        for ref in clip.media_references().values():
            if ref.available_range is not None and ref.available_range.start_time.value != 0:
                ar = ref.available_range
                ref.available_range = otio.opentime.TimeRange(otio.opentime.RationalTime(0, ar.start_time.rate),
                                                               ar.duration)
        if offset is None or clip.source_range is None:
            continue
        start = clip.source_range.start_time - offset
        if start.value < 0:
            raise ConformError(f"clip {clip.name!r} starts {-start.to_seconds():.3f} s before its media"
                               f" ({getattr(active, 'target_url', '')})")
        if offset.value != 0:
            clip.source_range = otio.opentime.TimeRange(start, clip.source_range.duration)
            moved += 1
    return moved


def unique_ids(timeline: otio.schema.Timeline, reserved: tuple[str, ...] = ()) -> None:
    """Track names and media reference names that are unique ids (MLT XML uses both as element ids).

    Each local file gets its base name (another file of the same name a numbered one). Clips and
    files on audio tracks get ids of their own ("audio:..."): the MLT writer takes an audio clip
    whose ids match a video clip's for that clip's sound and drops it from its track.
    """
    used = set(reserved)

    def claim(name: str) -> str:
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{name} {n}"
        used.add(candidate)
        return candidate

    for index, track in enumerate(timeline.tracks):
        track.name = claim(track.name or f"track {index + 1}")
    by_file: dict[tuple[str, bool], str] = {}
    for track in timeline.tracks:
        prefix = "audio:" if track.kind == otio.schema.TrackKind.Audio else ""
        for clip in track.find_clips():
            clip.name = prefix + (clip.name or "clip")
            for ref in clip.media_references().values():
                if not isinstance(ref, otio.schema.ExternalReference):
                    continue
                path = media_path(ref, None) or ref.target_url
                key = (path, bool(prefix))
                if key not in by_file:
                    by_file[key] = claim(prefix + (pathlib.PurePath(path).name or "media"))
                ref.name = by_file[key]


def video_only(timeline: otio.schema.Timeline) -> tuple[otio.schema.Timeline, list[str]]:
    """The one enabled video track as its own timeline (an EDL), and the names of the tracks left out."""
    video = [t for t in timeline.video_tracks() if t.enabled]
    if len(video) != 1:
        raise ConformError(f"an EDL holds exactly one video track, the timeline has {len(video)};"
                           " export a timeline with one enabled video track or use another format")
    left_out = [t.name for t in timeline.tracks if t is not video[0]]
    track = video[0].deepcopy()
    if timeline.global_start_time is not None:
        # The EDL writer counts record timecodes from zero: a leading gap carries the global start
        # (01:00:00:00 stays 01:00:00:00; the EDL reader turns it back into a track offset).
        rate = timeline_rate(timeline)
        origin = timeline_origin(timeline, rate)
        if origin > 0:
            track.insert(0, otio.schema.Gap(source_range=_range(0, origin, rate)))
    copy = otio.schema.Timeline(name=timeline.name, metadata=dict(timeline.metadata))
    copy.tracks.append(track)
    return copy, left_out


# What the AAF writer needs to write a dissolve it did not read from an AAF (an SMPTE dissolve).
_AAF_DISSOLVES = {
    otio.schema.TrackKind.Video: ("0c3bea40-fc05-11d2-8a29-0050040ef7d2", "Video Dissolve", "Picture"),
    otio.schema.TrackKind.Audio: ("0c3bea41-fc05-11d2-8a29-0050040ef7d2", "Mono Audio Dissolve", "Sound"),
}


def aaf_transitions(timeline: otio.schema.Timeline, rate: Fraction) -> None:
    """Give transitions the AAF metadata the writer insists on (they become SMPTE dissolves)."""
    for transition in timeline.find_children(descended_from_type=otio.schema.Transition):
        if "AAF" in transition.metadata:
            continue
        if transition.transition_type in ("", None):  # OTIO's default: an unspecified (cross) dissolve
            transition.transition_type = otio.schema.TransitionTypes.SMPTE_Dissolve
        if transition.transition_type != otio.schema.TransitionTypes.SMPTE_Dissolve:
            raise ConformError(f"AAF export writes dissolves only; transition {transition.name!r}"
                               f" is a {transition.transition_type}")
        kind = transition.parent().kind if transition.parent() is not None else otio.schema.TrackKind.Video
        ident, name, data = _AAF_DISSOLVES.get(kind, _AAF_DISSOLVES[otio.schema.TrackKind.Video])
        transition.metadata["AAF"] = {
            "CutPoint": rates.frames(transition.in_offset, rate),
            "PointList": [{"Value": 0, "Time": 0}, {"Value": 1, "Time": 1}],
            "OperationGroup": {"Operation": {
                "Identification": ident, "Name": name, "Description": "", "DataDefinition": {"Name": data},
                "IsTimeWarp": False, "Bypass": 1, "NumberInputs": 2, "OperationCategory": "OperationCategory_Effect",
            }},
        }


def known_media_ranges(timeline: otio.schema.Timeline) -> None:
    """Give a file of unknown length the range its clip uses: the AAF and FCP XML writers size
    each source (and its timecode) from its media range and fail without one."""
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and ref.available_range is None:
            ref.available_range = clip.source_range


# Formats whose adapters write SMPTE timecode (export.FORMATS keys).
TIMECODE_FORMATS = ("fcp_xml", "edl")


def conform(timeline: otio.schema.Timeline, fmt: str) -> Conformed:
    """A copy of ``timeline`` ready for ``fmt``'s adapter (formats as in export.FORMATS)."""
    rate = timeline_rate(timeline)
    copy = timeline.deepcopy()
    result = Conformed(copy, rate)
    if fmt in ("otio", "otioz"):
        return result  # OTIO's own formats hold everything as it is
    if fmt in TIMECODE_FORMATS and rate not in rates.SMPTE_RATES:
        # their OTIO writers put SMPTE timecode in the file, which no other rate has
        raise ConformError(f"it writes SMPTE timecode, which a {rates.rate_str(rate)} fps timeline cannot have"
                           f" (23.976, 24, 25, 29.97, 30, 47.95, 48, 50, 59.94 or 60 fps); write .otio, .otioz,"
                           f" .aaf, .mlt or .xges, or set the sequence to one of those rates in the editor")
    explicit = explicit_source_ranges(copy)
    rebased = 0
    if fmt == "edl":
        result.timeline, result.left_out = video_only(copy)
        result.foley_left_out = any(is_foley_track(t) for t in copy.tracks if t.name in result.left_out)
    elif fmt == "fcp_xml":
        known_media_ranges(copy)
    elif fmt == "aaf":
        to_edit_rate(copy, rate)
        known_media_ranges(copy)
        aaf_transitions(copy, rate)
    elif fmt == "mlt":
        to_edit_rate(copy, rate)
        rebased = rebase_to_file_start(copy)
        unique_ids(copy, reserved=("background", "black", "solid_black"))  # the MLT writer's own ids
    elif fmt == "xges":
        rebased = rebase_to_file_start(copy)
    log.debug("conformed for %s at %s fps: %d source range(s) made explicit, %d clip(s) counted from"
              " their file's start", fmt, rates.rate_str(rate), explicit, rebased)
    return result
