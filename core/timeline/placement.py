"""Foley takes placed on their own audio tracks, under the video clips they were made for.

The editor's tracks are never touched: each function returns a new timeline. Foley clips carry
ranges at the timeline's edit rate (FCP XML and AAF cannot take 48 kHz ranges); the sample-exact
truth (TimeReference, sample count, sample rate) lives in the WAV and in the metadata. A Foley
clip's media range starts at its record frame, the same timecode its Broadcast WAV carries.
"""
from __future__ import annotations

import ast
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import opentimelineio as otio

from maskvat_foley.core.jobs import FOLEY_TRACK, Take, take_key
from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.clips import ClipInfo, timeline_origin, timeline_rate
from maskvat_foley.core.timeline.io import TimelineError, file_url

FOLEY_KEY = "maskvat_foley"
DEFAULT_MEDIA = "DEFAULT_MEDIA"


class PlacementError(TimelineError):
    """Takes that cannot be placed as asked (wrong clip, wrong length, unknown seed, ...)."""


@dataclass
class _Entry:
    """A Foley clip and where it goes: record frames from the timeline's start (global start = 0)."""

    key: str
    start: int
    duration: int
    clip: otio.schema.Clip


def _plain(value: Any) -> Any:
    """Metadata OTIO can serialize: Fractions as exact strings, tuples as lists."""
    if isinstance(value, Fraction):
        return rates.rate_str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        # OTIO hands lists back as AnyVector, which is no list: str() would make it a string.
        return [_plain(v) for v in value]
    return str(value)


def take_keys(clip: otio.schema.Clip) -> list[str]:
    """The take keys of a Foley clip, best first, as a list: also from files that stored them as one
    string (``"['seed-1', 'seed-2']"``), and from the media references when the metadata has none."""
    meta = clip.metadata.get(FOLEY_KEY)
    stored = meta.get("take_keys") if isinstance(meta, Mapping) else None
    refs = [k for k in clip.media_references() if k != DEFAULT_MEDIA]
    if isinstance(stored, str):
        try:  # "['seed-1', 'seed-2']": a list written through str()
            stored = ast.literal_eval(stored)
        except (ValueError, SyntaxError):
            stored = re.split(r"[,\s]+", stored)
    if isinstance(stored, Sequence) and not isinstance(stored, str):
        keys = [str(k) for k in stored if str(k) in refs]
        if keys:
            return keys + [k for k in refs if k not in keys]
    return refs


def _take_info(take: Take) -> dict[str, Any]:
    info = _plain(take.metadata)
    info.update(seed=take.seed, key=take.key, clip_id=take.clip_id, path=take.path, sync_score=take.sync_score,
                time_reference=take.time_reference, num_samples=take.num_samples, sample_rate=take.sample_rate)
    return info


def _check_takes(info: ClipInfo, takes: Sequence[Take], active_seed: int, rate: Fraction) -> None:
    where = f"clip {info.id} ({info.name!r})"
    if info.rate != rate:
        raise PlacementError(f"{where} was listed at {rates.rate_str(info.rate)} fps, the timeline is at "
                             f"{rates.rate_str(rate)} fps: list the clips of this timeline again")
    if info.visible_duration <= 0:
        raise PlacementError(f"{where} has zero length; there is nothing to place")
    if not takes:
        raise PlacementError(f"{where}: no takes to place")
    seeds = [t.seed for t in takes]
    if len(set(seeds)) != len(seeds):
        raise PlacementError(f"{where}: takes with the same seed: {seeds}")
    if active_seed not in seeds:
        raise PlacementError(f"{where}: active seed {active_seed} is not one of the takes' seeds {seeds}")
    for take in takes:
        if take.clip_id != info.id:
            raise PlacementError(f"take {take.path} was made for clip {take.clip_id}, not {info.id}")
        if not os.path.isfile(take.path):
            raise PlacementError(f"{where}: take file not found: {take.path}")
        expected = rates.sample_span(info.visible_start, info.visible_end, rate, take.sample_rate)
        if (take.time_reference, take.num_samples) != expected:
            raise PlacementError(
                f"{where}: take {take.path} has TimeReference {take.time_reference} and {take.num_samples} samples;"
                f" record frames {info.visible_start}-{info.visible_end} at {rates.rate_str(rate)} fps need"
                f" {expected[0]} and {expected[1]} at {take.sample_rate} Hz")


def foley_clip(info: ClipInfo, takes: Sequence[Take], active_seed: int, rate: Fraction) -> otio.schema.Clip:
    """The audio clip for one source clip, every take a media reference, the active one also DEFAULT_MEDIA."""
    _check_takes(info, takes, active_seed, rate)
    fr = float(rate)
    span = otio.opentime.TimeRange(otio.opentime.RationalTime(info.visible_start, fr),
                                   otio.opentime.RationalTime(info.visible_duration, fr))
    refs: dict[str, otio.core.MediaReference] = {}
    for take in takes:
        ref = otio.schema.ExternalReference(target_url=file_url(take.path), available_range=span)
        ref.name = os.path.basename(take.path)
        ref.metadata[FOLEY_KEY] = _take_info(take)
        refs[take.key] = ref
    active = next(t for t in takes if t.seed == active_seed)
    refs[DEFAULT_MEDIA] = refs[active.key].clone()
    clip = otio.schema.Clip(name=f"{info.name} Foley", source_range=span)
    clip.set_media_references(refs, DEFAULT_MEDIA)
    clip.metadata[FOLEY_KEY] = _clip_metadata(info.id, info.name, [t.key for t in takes], refs[DEFAULT_MEDIA])
    return clip


def _clip_metadata(clip_id: str, clip_name: str, keys: list[str], active: otio.core.MediaReference) -> dict:
    meta = dict(_plain(dict(active.metadata.get(FOLEY_KEY, {}))))
    meta.update(source_clip_id=clip_id, source_clip_name=clip_name, take_keys=list(keys), active_key=meta.get("key"))
    return meta


def is_foley_track(track: otio.core.Composable, track_name: str = FOLEY_TRACK) -> bool:
    """An audio track placement made: marked in its metadata, or named ``track_name`` or
    ``track_name N`` (files that lost the metadata, such as FCP XML read back)."""
    if not isinstance(track, otio.schema.Track) or track.kind != otio.schema.TrackKind.Audio:
        return False
    mark = track.metadata.get(FOLEY_KEY)
    if isinstance(mark, Mapping) and mark.get("foley_track"):
        return True
    return re.fullmatch(re.escape(track_name) + r"( \d+)?", track.name or "") is not None


def _take_out_foley(timeline: otio.schema.Timeline, track_name: str, rate: Fraction) -> dict[str, _Entry]:
    """Remove the Foley tracks, returning their clips keyed by source clip id."""
    entries: dict[str, _Entry] = {}
    for track in [t for t in timeline.tracks if is_foley_track(t, track_name)]:
        for n, item in enumerate(track):
            if not isinstance(item, otio.schema.Clip):
                continue
            rng = item.range_in_parent()
            meta = item.metadata.get(FOLEY_KEY, {})
            key = str(meta.get("source_clip_id") or f"{track.name}#{n}")  # keep clips we did not make
            clip = item.deepcopy()
            if isinstance(meta, Mapping) and "take_keys" in meta:
                clip.metadata[FOLEY_KEY]["take_keys"] = take_keys(clip)  # older files: a string
            entries[key] = _Entry(key, rates.frames(rng.start_time, rate), rates.frames(rng.duration, rate), clip)
        timeline.tracks.remove(track)
    return entries


def _order(key: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key))


def _lay_out(timeline: otio.schema.Timeline, entries: Mapping[str, _Entry], track_name: str, rate: Fraction) -> None:
    """Append Foley tracks holding the entries, a new track whenever a clip would overlap."""
    fr = float(rate)
    lanes: list[tuple[otio.schema.Track, int]] = []
    for entry in sorted(entries.values(), key=lambda e: (e.start, e.duration, _order(e.key))):
        if entry.start < 0:
            raise PlacementError(f"Foley for {entry.key} would start before the timeline's start")
        lane = next((i for i, (_, end) in enumerate(lanes) if end <= entry.start), None)
        if lane is None:
            name = track_name if not lanes else f"{track_name} {len(lanes) + 1}"
            track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio,
                                      metadata={FOLEY_KEY: {"foley_track": True}})
            lanes.append((track, 0))
            lane = len(lanes) - 1
        track, end = lanes[lane]
        if entry.start > end:
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, fr), otio.opentime.RationalTime(entry.start - end, fr))))
        track.append(entry.clip)
        lanes[lane] = (track, entry.start + entry.duration)
    for track, _ in lanes:
        timeline.tracks.append(track)


def place_takes(timeline: otio.schema.Timeline, clip_takes: Mapping[str, tuple[ClipInfo, Sequence[Take], int]], *,
                track_name: str = FOLEY_TRACK) -> otio.schema.Timeline:
    """A copy of ``timeline`` with a Foley clip under each listed clip (clip id -> (info, takes, active seed)).

    A clip that already has Foley on the timeline gets its Foley clip replaced, not doubled.
    """
    result = timeline.deepcopy()
    rate = timeline_rate(result)
    origin = timeline_origin(result, rate)
    entries = _take_out_foley(result, track_name, rate)
    for clip_id, (info, takes, active_seed) in clip_takes.items():
        if clip_id != info.id:
            raise PlacementError(f"takes given under clip id {clip_id} are for clip {info.id}")
        clip = foley_clip(info, takes, active_seed, rate)
        entries[clip_id] = _Entry(clip_id, info.visible_start - origin, info.visible_duration, clip)
    _lay_out(result, entries, track_name, rate)
    return result


def find_foley_clip(timeline: otio.schema.Timeline, clip_id: str, track_name: str = FOLEY_TRACK) -> otio.schema.Clip:
    """The Foley clip made for source clip ``clip_id``."""
    found = []
    for track in timeline.tracks:
        if is_foley_track(track, track_name):
            for item in track:
                meta = item.metadata.get(FOLEY_KEY, {}) if isinstance(item, otio.schema.Clip) else {}
                if meta.get("source_clip_id") == clip_id:
                    return item
                if meta.get("source_clip_id"):
                    found.append(str(meta["source_clip_id"]))
    raise PlacementError(f"no Foley clip for clip {clip_id} on timeline {timeline.name!r}"
                         f" (Foley exists for: {', '.join(found) or 'no clip'})")


def set_active_take(timeline: otio.schema.Timeline, clip_id: str, seed: int, *,
                    track_name: str = FOLEY_TRACK) -> otio.schema.Timeline:
    """A copy of ``timeline`` where the Foley clip of ``clip_id`` plays the take with ``seed``."""
    result = timeline.deepcopy()
    clip = find_foley_clip(result, clip_id, track_name)
    refs = dict(clip.media_references())
    key = take_key(seed)
    if key not in refs:
        takes = [k for k in refs if k != DEFAULT_MEDIA]
        raise PlacementError(f"clip {clip_id} has no take with seed {seed} (takes: {', '.join(takes)})")
    refs[DEFAULT_MEDIA] = refs[key].clone()
    _set_refs(clip, refs)
    return result


def _set_refs(clip: otio.schema.Clip, refs: dict[str, otio.core.MediaReference]) -> None:
    clip.set_media_references(refs, DEFAULT_MEDIA)
    old = dict(clip.metadata.get(FOLEY_KEY, {}))
    keys = [k for k in refs if k != DEFAULT_MEDIA]
    clip.metadata[FOLEY_KEY] = _clip_metadata(str(old.get("source_clip_id")), str(old.get("source_clip_name")),
                                              keys, refs[DEFAULT_MEDIA])


def remove_take(timeline: otio.schema.Timeline, clip_id: str, seed: int | None = None, *,
                track_name: str = FOLEY_TRACK) -> otio.schema.Timeline:
    """A copy without one take (``seed``) of the Foley clip of ``clip_id``, or without the whole Foley
    clip when ``seed`` is None or it was the last take. Removing the active take activates the next."""
    result = timeline.deepcopy()
    rate = timeline_rate(result)
    clip = find_foley_clip(result, clip_id, track_name)
    refs = dict(clip.media_references())
    if seed is not None:
        key = take_key(seed)
        if key not in refs:
            takes = [k for k in refs if k != DEFAULT_MEDIA]
            raise PlacementError(f"clip {clip_id} has no take with seed {seed} (takes: {', '.join(takes)})")
        was_active = clip.metadata.get(FOLEY_KEY, {}).get("active_key") == key
        del refs[key]
        keys = [k for k in refs if k != DEFAULT_MEDIA]
        if keys:
            if was_active:
                refs[DEFAULT_MEDIA] = refs[keys[0]].clone()
            _set_refs(clip, refs)
            return result
    entries = _take_out_foley(result, track_name, rate)
    del entries[clip_id]
    _lay_out(result, entries, track_name, rate)
    return result
