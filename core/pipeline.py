"""The one workflow from a timeline to placed takes, shared by the command line, the demo, the panel
and the host bridges:

    open_timeline(path)               read the timeline, list its video clips, probe their media
    Opened.select(selection)          the chosen clips (ids, names, a track, a timecode range, all)
    jobs_for(clips, timeline_name)    a ClipJob per usable clip; the others with the reason
    run_jobs(engine, jobs, ...)       the takes; stops at the first take that cannot be written
    place(timeline, clips, takes)     a copy of the timeline with the takes on Foley tracks

``generate_timeline`` runs the last two and writes the new timeline (the CLI, the demo, a host's
headless path); the panel keeps the takes in its Session and places them as the editor chooses.
The engine is anything with the core.engine.api contract (the in-process Engine or the server's
client), so this module never imports torch itself.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from maskvat_foley.core.engine.api import Cancelled, ProgressCallback
from maskvat_foley.core.jobs import ClipJob, ClipResult, GenerationParams, Take
from maskvat_foley.core.outputs import (OutputError, StopOnWriteFailure, check_outputs, ensure_writable,
                                       removed_on_output_error, write_failure)

log = logging.getLogger(__name__)

TIMELINE_EXTENSIONS = (".otioz", ".otiod", ".otio", ".xml", ".aaf", ".edl")


@dataclass
class Selection:
    """Which clips: ids or names, a track number, a timecode range, or all."""

    clips: tuple[str, ...] = ()
    track: int | None = None
    tc_range: tuple[str, str] | None = None
    all: bool = False

    def is_empty(self) -> bool:
        return not (self.clips or self.track is not None or self.tc_range or self.all)


# -- read and list ------------------------------------------------------------------------------
def timeline_stem(path: str) -> str:
    """The timeline's file name without its extension: the prefix of its take files."""
    base = os.path.basename(path)
    for ext in TIMELINE_EXTENSIONS:
        if base.lower().endswith(ext):
            return base[: -len(ext)]
    return os.path.splitext(base)[0]


def list_checked_clips(timeline, timeline_dir: str) -> list:
    """The video clips (ClipInfo, listing order), each media file probed once: a range that runs
    past its media is marked ``short`` now, not found halfway through a run."""
    from maskvat_foley.core.timeline.clips import list_clips
    from maskvat_foley.core.timeline.media_check import check_media

    return check_media(list_clips(timeline, timeline_dir=timeline_dir))


@dataclass
class Opened:
    """A timeline as read (media URLs made absolute) and its video clips in listing order."""

    path: str
    timeline: object  # otio.schema.Timeline
    clips: list  # ClipInfo

    @property
    def name(self) -> str:
        return timeline_stem(self.path)

    @property
    def folder(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))

    @property
    def rate(self):
        from maskvat_foley.core.timeline.clips import timeline_rate

        return timeline_rate(self.timeline)

    @property
    def origin(self) -> int:
        """The record frame of the timeline's first frame (its global start)."""
        from maskvat_foley.core.timeline.clips import timeline_origin

        return timeline_origin(self.timeline)

    def clip(self, clip_id: str):
        for c in self.clips:
            if c.id == clip_id:
                return c
        raise KeyError(f"clip {clip_id} is not on timeline {self.path}")

    def select(self, selection: Selection) -> list:
        from maskvat_foley.core.timeline.selection import select

        return select(self.clips, ids=selection.clips, track=selection.track, tc_range=selection.tc_range,
                      all_=selection.all)

    def prepare(self, clip_ids: Iterable[str]) -> Prepared:
        """The clips with these ids (in listing order), their jobs, and the clips refused with why."""
        wanted = set(clip_ids)
        chosen = [c for c in self.clips if c.id in wanted]
        jobs, skipped = jobs_for(chosen, self.name)
        return Prepared(self.path, self.timeline, chosen, jobs, skipped)

    def jobs(self, clip_ids: Iterable[str]) -> tuple[list[ClipJob], list[tuple[str, str]]]:
        prepared = self.prepare(clip_ids)
        return prepared.jobs, prepared.skipped

    def job(self, clip_id: str) -> ClipJob:
        """The job of one clip; ClipNotUsable says why there is none."""
        from maskvat_foley.core.timeline.clips import clip_job

        return clip_job(self.clip(clip_id), self.name)

    def list_again(self) -> None:
        """List the clips again (after relinking media)."""
        self.clips = list_checked_clips(self.timeline, self.folder)


def open_timeline(path: str, *, media_roots: Sequence[str] = ()) -> Opened:
    """Read ``path`` (OTIO or anything an adapter reads) and list its video clips, media checked."""
    from maskvat_foley.core.timeline.io import read_timeline

    timeline = read_timeline(path, media_roots=media_roots)
    return Opened(path, timeline, list_checked_clips(timeline, os.path.dirname(os.path.abspath(path))))


# -- jobs ---------------------------------------------------------------------------------------
def jobs_for(clips: Iterable, timeline_name: str) -> tuple[list[ClipJob], list[tuple[str, str]]]:
    """A job per clip Foley can be made for, and (clip id, reason) for each one it cannot (a speed
    effect, missing or short media, zero length)."""
    from maskvat_foley.core.timeline.clips import ClipNotUsable, clip_job

    jobs, skipped = [], []
    for info in clips:
        try:
            jobs.append(clip_job(info, timeline_name))
        except ClipNotUsable as exc:
            skipped.append((info.id, str(exc)))
    return jobs, skipped


@dataclass
class Prepared:
    """A read timeline, the selected clips, their jobs, and the clips that cannot be processed."""

    path: str
    timeline: object  # otio.schema.Timeline
    clips: list  # ClipInfo of the selected clips, in timeline order
    jobs: list[ClipJob]
    skipped: list[tuple[str, str]]


def prepare(timeline_path: str, selection: Selection, *, media_roots=()) -> Prepared:
    """Read the timeline and turn the selection into jobs; unusable clips are listed, not raised."""
    if selection.is_empty():
        raise ValueError("nothing selected: give clip ids, a track, a timecode range or --all")
    opened = open_timeline(timeline_path, media_roots=media_roots)
    return opened.prepare(c.id for c in opened.select(selection))


# -- run ----------------------------------------------------------------------------------------
def run_jobs(engine, jobs: Sequence[ClipJob], params: GenerationParams, media_dir: str, *,
             progress: ProgressCallback | None = None,
             cancel: threading.Event | None = None) -> list[ClipResult]:
    """The takes of ``jobs``, written to ``media_dir``: one ClipResult per job, a failed clip with
    its error. A take that cannot be written (a full disk) stops the run: OutputError, and the
    run's files are removed. A cancel raises Cancelled whose ``results`` hold the finished clips."""
    ensure_writable(media_dir)
    stop = StopOnWriteFailure(media_dir, cancel, progress)
    with removed_on_output_error(media_dir):
        try:
            results = engine.generate(list(jobs), params, out_dir=media_dir, progress=stop.progress,
                                      cancel=stop) if jobs else []
        except Cancelled:
            if stop.failure is None:
                raise  # the caller cancelled: the finished clips ride on the exception
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
    for r in results:
        if r.error:
            log.warning("clip %s failed: %s", r.clip_id, r.error)
    return results


# -- place --------------------------------------------------------------------------------------
def place(timeline, clips: Sequence, takes: Mapping[str, Sequence[Take]],
          active: Mapping[str, int] | None = None):
    """A copy of ``timeline`` with a Foley clip under each clip id of ``takes`` holding all its
    takes; the take playing is the seed in ``active``, else the first (best) one."""
    from maskvat_foley.core.timeline.placement import place_takes

    by_id = {c.id: c for c in clips}
    active = active or {}
    return place_takes(timeline, {cid: (by_id[cid], list(ts), active.get(cid, ts[0].seed))
                                  for cid, ts in takes.items() if ts})


def results_takes(results: Iterable[ClipResult]) -> dict[str, list[Take]]:
    """The takes of the clips that got some, by clip id (best first, as the engine orders them)."""
    return {r.clip_id: r.takes for r in results if r.ok and r.takes}


# -- the whole run, written to a new timeline -----------------------------------------------------
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
        out += level_notes(self.takes)
        return out


def level_notes(takes: Sequence[Take]) -> list[str]:
    """One line per take whose level is not what was asked (a near-silent take left as it was, a
    gain lowered by the true-peak ceiling) or that the model left quiet (core.model.level_calibration):
    the editor must hear these before using them."""
    return [f"level of {t.clip_id} take {t.seed}: {note}" for t in takes
            for note in (t.metadata.get("model_level_note"), t.metadata.get("level_note")) if note]


def generate_timeline(prepared: Prepared, output: str, params: GenerationParams, engine, *,
                      media_dir: str | None = None, progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None) -> Summary:
    """Generate takes for the prepared clips and write a new timeline with them placed, the best
    take of each clip playing.

    When the outputs cannot be written (checked first; a full disk is noticed at the first take
    that fails) it raises OutputError, writes no timeline and removes the files this run made.
    No timeline is written either when no clip got Foley, or when the caller cancels (Cancelled
    carries the clips finished before it; their takes stay on disk).
    """
    media_dir = check_outputs(prepared.path, output, media_dir)
    for clip_id, reason in prepared.skipped:
        log.warning("skipping %s: %s", clip_id, reason)
    with removed_on_output_error(media_dir):
        results = run_jobs(engine, prepared.jobs, params, media_dir, progress=progress, cancel=cancel)
        summary = Summary(output=None, media_dir=media_dir, results=results, skipped=list(prepared.skipped))
        summary.output = _write(prepared, output, results)
    return summary


def _write(prepared: Prepared, output: str, results: list[ClipResult]) -> str | None:
    """The timeline with the takes placed, or None when no clip got Foley (nothing to write)."""
    from maskvat_foley.core.timeline.export import export

    takes = results_takes(results)
    if not takes:
        return None
    try:
        export(place(prepared.timeline, prepared.clips, takes), output, None, input_path=prepared.path)
    except Exception as exc:  # the takes are orphans without their timeline
        raise OutputError(f"cannot write the timeline {output}: {exc}") from exc
    return output
