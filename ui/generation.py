"""Generation runs of the panel: start a run (or a region regenerate) on an EngineCall thread,
take its results into the session, and end it (done, cancelled or failed).

A QObject handed the widgets it drives, so the worker thread's signals are queued onto the UI
thread. The session and the engine change while the panel lives (another timeline, another
model), so it is handed getters for those. A run goes through core.pipeline.run_jobs, the same
step the command line and the hosts use, once per reference sound among the selected clips.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from maskvat_foley.ui.worker import EngineCall

log = logging.getLogger(__name__)


class GenerationRuns(QObject):
    takesAdded = Signal(list)  # clip ids whose takes changed (a run, or a cancelled run's finished clips)
    regionDone = Signal(str, int)  # clip id, seed of the new take
    finished = Signal(str)  # "done: ...", "cancelled" or the error message

    def __init__(self, *, session: Callable, engine: Callable, view, settings_panel, takes_panel, progress,
                 status, audition, references=None, parent=None):
        super().__init__(parent)
        self._session, self._engine = session, engine
        self.view, self.settings_panel, self.takes_panel = view, settings_panel, takes_panel
        self.progress, self.status, self.audition = progress, status, audition
        self.references = references  # ui.references.References: each clip's reference sound
        self.call: EngineCall | None = None

    @property
    def busy(self) -> bool:
        return self.call is not None

    def _refuse(self, why: str) -> bool:
        self.status.showMessage(why, 6000)
        return False

    def generate(self, mode: str = "generate") -> bool:
        """Start a run on the selected clips; False (with the reason shown) when it cannot start."""
        s, engine = self._session(), self._engine()
        why = ("open a timeline first" if s is None else "a run is already going" if self.busy
               else "the engine is not ready yet" if engine is None
               else "select clips first (click, shift-click, I/O marks)" if not self.view.selected_ids() else None)
        if why:
            return self._refuse(why)
        jobs, skipped = s.jobs(self.view.selected_ids())
        for clip_id, reason in skipped:
            self.view.set_clip_error(clip_id, reason)
            self.progress.append(f"SKIPPED {clip_id}: {reason}")
        if not jobs:
            return self._refuse("none of the selected clips can be generated; see the log")
        avoid = {t.seed for j in jobs for t in s.takes.get(j.clip_id, [])} if mode == "regenerate" else set()
        params = self.settings_panel.params(mode, avoid)
        out = s.media_dir
        for j in jobs:
            self.view.set_clip_error(j.clip_id, None)
        groups = self._by_reference(jobs, params)
        refs = sum(g[0].reference is not None for g in groups)
        note = f", {refs} reference sound(s)" if refs else ""
        self.progress.start([(j.clip_id, j.name) for j in jobs], f"{mode.capitalize()} (seed {params.seed}{note})")
        self._run(EngineCall(lambda p, c: run_groups(engine, groups, out, progress=p, cancel=c), mode, self),
                  self._generated)
        return True

    def _by_reference(self, jobs: list, params) -> list[tuple]:
        """One (params, jobs) run per reference sound (clips without one together), listing order."""
        if self.references is None:
            return [(params, jobs)]
        groups: dict = {}
        for job in jobs:
            p = self.references.params_for(job.clip_id, params)
            groups.setdefault(p, []).append(job)
        return list(groups.items())

    def regenerate_region(self, clip_id: str, seed: int, start: int, end: int) -> bool:
        s, engine = self._session(), self._engine()
        if self.busy or engine is None:
            return self._refuse("wait for the current run to end" if self.busy else "the engine is not ready")
        job, take = s.job(clip_id), s.take(clip_id, seed)
        avoid = {t.seed for t in s.takes.get(clip_id, [])}
        params = dataclasses.replace(self.settings_panel.params("regenerate", avoid), takes=1)
        if self.references is not None:
            params = self.references.params_for_take(take, params)
        out = s.media_dir
        self.progress.start([(clip_id, job.name)], f"Region {start}-{end} of take {seed}")
        self._run(EngineCall(lambda p, c: engine.regenerate_region(job, take, start, end, params, out_dir=out,
                                                                   progress=p, cancel=c), "region regenerate", self),
                  lambda new: self._region_done(clip_id, new))
        return True

    def cancel(self) -> None:
        if self.call is not None:
            self.call.cancel()
            self.progress.append("cancelling…")
        self.audition.stop()

    def _run(self, call: EngineCall, on_success) -> None:
        self.call = call
        self.settings_panel.set_busy(True)
        self.takes_panel.set_busy(True)
        call.progressed.connect(self.progress.update_progress)
        call.succeeded.connect(on_success)
        call.cancelled.connect(self._cancelled)
        call.failed.connect(self._ended)
        call.start()

    def _ended(self, message: str) -> None:
        if self.call is not None:
            self.call.wait()
        self.call = None
        self.settings_panel.set_busy(False)
        self.takes_panel.set_busy(False)
        self.progress.finish(message)
        self.status.showMessage(message, 8000)
        self.finished.emit(message)

    def _add(self, results) -> int:
        """Takes of ``results`` into the session (placed on the timeline); returns how many."""
        from maskvat_foley.core.pipeline import level_notes

        changed = self._session().add_results(results)
        for r in results:
            if r.error:
                self.progress.mark_failed(r.clip_id, r.error)
        for line in level_notes([t for r in results for t in r.takes]):  # near-silent takes, say
            self.progress.append(line)
        self.takesAdded.emit(changed)
        return len(changed)

    def _generated(self, results) -> None:
        clips = self._add(results)
        n = sum(len(r.takes) for r in results)
        failed = [r for r in results if r.error]
        why = f"; {len(failed)} clip(s) failed: {failed[0].error}" if failed else ""
        self._ended(f"done: {n} take(s) for {clips} clip(s) in {self._session().media_dir}{why}")

    def _cancelled(self, results) -> None:
        # The clips finished before the cancel cost their sampling already: keep them as takes.
        if results:
            clips = self._add(results)
            self.progress.append(f"kept {sum(len(r.takes) for r in results)} take(s) of the {clips} "
                                 "clip(s) finished before the cancel")
        self._ended("cancelled")

    def _region_done(self, clip_id: str, take) -> None:
        from maskvat_foley.core.pipeline import level_notes

        self._session().add_takes(clip_id, [take])
        for line in level_notes([take]):
            self.progress.append(line)
        self.regionDone.emit(clip_id, take.seed)
        self._ended(f"done: region regenerated as take {take.seed}")


def run_groups(engine, groups: list[tuple], media_dir: str, *, progress=None, cancel=None) -> list:
    """core.pipeline.run_jobs for each (params, jobs) group in turn. A group with a reference sound
    that cannot be used (checked here first), or that the engine refuses (a model without
    reference frames), fails its clips with the one-line reason and the other groups still run,
    so the takes they make are kept. A cancel carries every finished clip; a write failure
    (OutputError) stops the run as it does without references."""
    from maskvat_foley.core.engine.api import Cancelled
    from maskvat_foley.core.jobs import ClipResult
    from maskvat_foley.core.media.reference import check_reference
    from maskvat_foley.core.outputs import OutputError
    from maskvat_foley.core.pipeline import run_jobs

    done: list = []
    for params, jobs in groups:
        try:
            if params.reference is not None:
                check_reference(params.reference)
            done += run_jobs(engine, jobs, params, media_dir, progress=progress, cancel=cancel)
        except Cancelled as stopped:
            stopped.results = done + stopped.results
            raise
        except OutputError:
            raise
        except Exception as exc:  # noqa: BLE001 - this group's clips fail with the reason, not the run
            if params.reference is None and len(groups) == 1:
                raise  # a run without references fails as it always has
            log.warning("clips %s failed: %s", ", ".join(j.clip_id for j in jobs), exc)
            done += [ClipResult(j.clip_id, error=str(exc)) for j in jobs]
    return done
