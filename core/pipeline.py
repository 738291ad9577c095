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

from maskvat_foley.core.engine.api import Cancelled, ProgressCallback
from maskvat_foley.core.jobs import ClipJob, ClipResult, GenerationParams, Take
from maskvat_foley.core.outputs import NewFiles, OutputError, StopOnWriteFailure, ensure_writable, write_failure

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
    output: str | None  # None: no clip got Foley, so no timeline was written
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
               f"timeline written to {self.output}" if self.output else "no timeline written"]
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
    from maskvat_foley.core.timeline.media_check import check_media
    from maskvat_foley.core.timeline.selection import select

    if selection.is_empty():
        raise ValueError("nothing selected: give clip ids, a track, a timecode range or --all")
    timeline = read_timeline(timeline_path, media_roots=media_roots)
    clips = list_clips(timeline, timeline_dir=os.path.dirname(os.path.abspath(timeline_path)))
    chosen = select(clips, ids=selection.clips, track=selection.track,
                    tc_range=selection.tc_range, all_=selection.all)
    chosen = check_media(chosen)  # a range past its media is refused now, not halfway through a run
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


def check_outputs(input_path: str, output: str, media_dir: str | None = None) -> str:
    """Before any work: the output is not the input (through links too), its format is known, and
    the timeline's folder and the media folder can be written. Returns the media folder."""
    from maskvat_foley.core.timeline.conform import FOLEY_FORMATS
    from maskvat_foley.core.timeline.export import NAMES, PICTURE_ONLY, export_format
    from maskvat_foley.core.timeline.io import same_file

    if same_file(output, input_path):
        raise ValueError(f"refusing to overwrite the input timeline {input_path}; choose another output")
    fmt = export_format(output)
    if fmt in PICTURE_ONLY:
        raise ValueError(f"{output}: {NAMES[fmt]} keeps only the picture, so the Foley tracks would be lost; "
                         f"write .otio, {FOLEY_FORMATS}, and `maskvat-foley export` it to {fmt.upper()} "
                         "for the picture")
    if os.path.isdir(output):
        raise OutputError(f"cannot write the timeline {output}: it is a folder")
    media_dir = os.path.abspath(media_dir or os.path.dirname(os.path.abspath(output)))
    for folder in dict.fromkeys((os.path.dirname(os.path.abspath(output)), media_dir)):
        ensure_writable(folder)
    return media_dir


def generate_timeline(prepared: Prepared, output: str, params: GenerationParams, engine, *,
                      media_dir: str | None = None, progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None) -> Summary:
    """Generate takes for the prepared clips and write a new timeline with them placed.

    When the outputs cannot be written (checked first; a full disk is noticed at the first take
    that fails) it raises OutputError, writes no timeline and removes the files this run made.
    No timeline is written either when no clip got Foley.
    """
    from maskvat_foley.core.engine.takes import SIDECAR_DIR

    media_dir = check_outputs(prepared.path, output, media_dir)
    for clip_id, reason in prepared.skipped:
        log.warning("skipping %s: %s", clip_id, reason)
    made = NewFiles(media_dir, os.path.join(media_dir, SIDECAR_DIR))
    stop = StopOnWriteFailure(media_dir, cancel, progress)
    try:
        try:
            results = engine.generate(prepared.jobs, params, out_dir=media_dir, progress=stop.progress,
                                      cancel=stop) if prepared.jobs else []
        except Cancelled:
            if stop.failure is None:
                raise  # the caller cancelled: finished takes stay (core.engine.api)
            results = []
        except OSError as exc:  # a client copying takes from a remote engine, say
            if not write_failure(str(exc), media_dir):
                raise
            stop.failure = str(exc)
            results = []
        failed = stop.failure or next((f"{r.clip_id}: {r.error}" for r in results
                                       if write_failure(r.error, media_dir)), None)
        if failed:
            raise OutputError(f"cannot write the takes in {media_dir} ({failed}); stopped, no timeline written")
        summary = Summary(output=None, media_dir=media_dir, results=results, skipped=list(prepared.skipped))
        for r in results:
            if r.error:
                log.warning("clip %s failed: %s", r.clip_id, r.error)
        summary.output = _write(prepared, output, results)
        return summary
    except OutputError:
        made.remove()
        raise


def _write(prepared: Prepared, output: str, results: list[ClipResult]) -> str | None:
    """The timeline with the takes placed, or None when no clip got Foley (nothing to write)."""
    from maskvat_foley.core.timeline.export import export
    from maskvat_foley.core.timeline.placement import place_takes

    by_id = {c.id: c for c in prepared.clips}
    placed = {r.clip_id: (by_id[r.clip_id], r.takes, r.takes[0].seed) for r in results if r.ok and r.takes}
    if not placed:
        return None
    try:
        export(place_takes(prepared.timeline, placed), output, None, input_path=prepared.path)
    except Exception as exc:  # the takes are orphans without their timeline
        raise OutputError(f"cannot write the timeline {output}: {exc}") from exc
    return output
