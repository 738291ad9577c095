"""The whole flow for one timeline: selection -> clip jobs -> engine -> takes placed -> new timeline.

Shared by the command line, the demo and the panel. The engine is anything with the
core.engine.api contract (the in-process Engine or the server's client), so this module never
imports torch itself.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field

from maskvat_foley.core.engine.api import ProgressCallback
from maskvat_foley.core.jobs import ClipJob, ClipResult, GenerationParams, Take

log = logging.getLogger(__name__)


@dataclass
class Selection:
    """Which clips: ids or names, a track number, a timecode range, or all."""

    clips: tuple[str, ...] = ()
    track: int | None = None
    tc_range: tuple[str, str] | None = None
    all: bool = False

    def is_empty(self) -> bool:
        return not (self.clips or self.track is not None or self.tc_range or self.all)


@dataclass
class Summary:
    output: str
    media_dir: str
    results: list[ClipResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (clip id, reason)

    @property
    def takes(self) -> list[Take]:
        return [t for r in self.results for t in r.takes]

    @property
    def failed(self) -> list[tuple[str, str]]:
        return self.skipped + [(r.clip_id, r.error) for r in self.results if r.error]

    def lines(self) -> list[str]:
        ok = [r for r in self.results if r.ok and r.takes]
        out = [f"{len(ok)} clip(s) given Foley, {len(self.takes)} take(s) in {self.media_dir}",
               f"timeline written to {self.output}"]
        for clip_id, reason in self.failed:
            out.append(f"skipped {clip_id}: {reason}")
        return out


@dataclass
class Prepared:
    """A read timeline, the selected clips, their jobs, and the clips that cannot be processed."""

    path: str
    timeline: object  # otio.schema.Timeline
    clips: list  # ClipInfo, in timeline order
    jobs: list[ClipJob]
    skipped: list[tuple[str, str]]


def prepare(timeline_path: str, selection: Selection, *, media_roots=()) -> Prepared:
    """Read the timeline and turn the selection into jobs; unusable clips are listed, not raised."""
    from maskvat_foley.core.timeline.clips import ClipNotUsable, clip_job, list_clips
    from maskvat_foley.core.timeline.io import read_timeline
    from maskvat_foley.core.timeline.selection import select

    if selection.is_empty():
        raise ValueError("nothing selected: give clip ids, a track, a timecode range or --all")
    timeline = read_timeline(timeline_path, media_roots=media_roots)
    clips = list_clips(timeline, timeline_dir=os.path.dirname(os.path.abspath(timeline_path)))
    chosen = select(clips, ids=selection.clips, track=selection.track,
                    tc_range=selection.tc_range, all_=selection.all)
    name = timeline_stem(timeline_path)
    jobs, skipped = [], []
    for info in chosen:
        try:
            jobs.append(clip_job(info, name))
        except ClipNotUsable as exc:
            skipped.append((info.id, str(exc)))
    return Prepared(timeline_path, timeline, chosen, jobs, skipped)


def timeline_stem(path: str) -> str:
    base = os.path.basename(path)
    for ext in (".otioz", ".otiod", ".otio", ".xml", ".aaf", ".edl"):
        if base.lower().endswith(ext):
            return base[: -len(ext)]
    return os.path.splitext(base)[0]


def generate_timeline(prepared: Prepared, output: str, params: GenerationParams, engine, *,
                      media_dir: str | None = None, progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None) -> Summary:
    """Generate takes for the prepared clips and write a new timeline with them placed."""
    from maskvat_foley.core.timeline.export import export
    from maskvat_foley.core.timeline.placement import place_takes

    if os.path.abspath(output) == os.path.abspath(prepared.path):
        raise ValueError(f"refusing to overwrite the input timeline {prepared.path}")
    for clip_id, reason in prepared.skipped:
        log.warning("skipping %s: %s", clip_id, reason)
    media_dir = os.path.abspath(media_dir or os.path.dirname(os.path.abspath(output)))
    os.makedirs(media_dir, exist_ok=True)
    results = engine.generate(prepared.jobs, params, out_dir=media_dir, progress=progress,
                              cancel=cancel) if prepared.jobs else []
    by_id = {c.id: c for c in prepared.clips}
    placed = {r.clip_id: (by_id[r.clip_id], r.takes, r.takes[0].seed)
              for r in results if r.ok and r.takes}
    for r in results:
        if r.error:
            log.warning("clip %s failed: %s", r.clip_id, r.error)
    export(place_takes(prepared.timeline, placed), output, None, input_path=prepared.path)
    return Summary(output=output, media_dir=media_dir, results=results,
                   skipped=list(prepared.skipped))
