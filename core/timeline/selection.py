"""Choosing clips: by id, by name, by video track, by a record range (In/Out marks), or all."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.clips import ClipInfo
from maskvat_foley.core.timeline.io import TimelineError


class SelectionError(TimelineError):
    """A selection naming clips, tracks or timecodes the timeline does not have."""


def _frame(tc: str | int, clips: Sequence[ClipInfo]) -> int:
    if isinstance(tc, int):
        return tc
    return rates.from_timecode(tc, clips[0].rate)


def _listing(values: Iterable[str], limit: int = 40) -> str:
    values = list(dict.fromkeys(values))
    more = f", ... ({len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def select(clips: Sequence[ClipInfo], ids: Iterable[str] = (), names: Iterable[str] = (), track: int | None = None,
           tc_range: tuple[str | int, str | int] | None = None, all_: bool = False) -> list[ClipInfo]:
    """The chosen clips in listing order (track, then position), each once.

    ``ids`` and ``names`` pick clips (a name picks every clip so named); without them, ``all_``,
    ``track`` or ``tc_range`` start from every clip. ``track`` (1-based video track) and
    ``tc_range`` ((in, out) timecodes at the timeline rate, or frame numbers; out exclusive; a clip
    is chosen when its record range overlaps) then narrow the choice.
    """
    ids, names = list(ids), list(names)
    if not (ids or names or all_ or track is not None or tc_range is not None):
        raise SelectionError("nothing selected: give clip ids, clip names, a track, a timecode range or all")
    if not clips:
        raise SelectionError("the timeline has no video clips")
    known_ids = {c.id for c in clips}
    unknown = [i for i in ids if i not in known_ids]
    if unknown:
        raise SelectionError(f"unknown clip id(s) {', '.join(unknown)}; "
                             f"the timeline has {_listing(c.id for c in clips)}")
    known_names = {c.name for c in clips}
    unknown = [n for n in names if n not in known_names]
    if unknown:
        raise SelectionError(f"unknown clip name(s) {', '.join(map(repr, unknown))}; the timeline has "
                             f"{_listing(repr(c.name) for c in clips)}")
    if ids or names:
        chosen = [c for c in clips if c.id in ids or c.name in names]
    else:
        chosen = list(clips)
    if track is not None:
        tracks = {c.track: c.track_name for c in clips}
        if track not in tracks:
            have = ", ".join(f"{n} ({name!r})" for n, name in sorted(tracks.items()))
            raise SelectionError(f"no video track {track} with clips; the timeline has video tracks {have}")
        chosen = [c for c in chosen if c.track == track]
    if tc_range is not None:
        start, end = (_frame(t, clips) for t in tc_range)
        if end <= start:
            raise SelectionError(f"timecode range {tc_range[0]} - {tc_range[1]} is empty (out must be after in)")
        chosen = [c for c in chosen if c.record_start < end and start < c.record_end
                  or c.record_duration == 0 and start <= c.record_start < end]
    return list({c.id: c for c in chosen}.values())
