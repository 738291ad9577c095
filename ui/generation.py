"""Generation runs of the panel: start a run (or a region regenerate) on an EngineCall thread, take
its results into the session, and end it (done, cancelled or failed). A mixin of FoleyPanel.

A mixin rather than a separate controller object so the slots stay bound to the panel widget (the
worker's signals are queued onto it, as before) and the panel's public API (generate,
regenerate_region, cancel, busy, the ``call`` attribute hosts wait on) is unchanged. The panel
provides: session, engine, call, view, status, progress, settings_panel, takes_panel, audition,
the runFinished signal and _show_takes / _takes_changed.
"""
from __future__ import annotations

import dataclasses
import os

from maskvat_foley.ui.worker import EngineCall


class GenerationMixin:
    @property
    def busy(self) -> bool:
        return self.call is not None

    def generate(self, mode: str = "generate") -> bool:
        """Start a run on the selected clips; False (with the reason shown) when it cannot start."""
        s = self.session
        why = ("open a timeline first" if s is None else "a run is already going" if self.busy
               else "the engine is not ready yet" if self.engine is None
               else "select clips first (click, shift-click, I/O marks)" if not self.view.selected_ids() else None)
        if why:
            self.status.showMessage(why, 6000)
            return False
        jobs, skipped = s.jobs(self.view.selected_ids())
        for clip_id, reason in skipped:
            self.view.set_clip_error(clip_id, reason)
            self.progress.append(f"SKIPPED {clip_id}: {reason}")
        if not jobs:
            self.status.showMessage("none of the selected clips can be generated; see the log", 6000)
            return False
        avoid = {t.seed for j in jobs for t in s.takes.get(j.clip_id, [])} if mode == "regenerate" else set()
        params = self.settings_panel.params(mode, avoid)
        engine, out = self.engine, s.media_dir
        os.makedirs(out, exist_ok=True)
        for j in jobs:
            self.view.set_clip_error(j.clip_id, None)
        self.progress.start([(j.clip_id, j.name) for j in jobs], f"{mode.capitalize()} (seed {params.seed})")
        self._run(EngineCall(lambda p, c: engine.generate(jobs, params, out_dir=out, progress=p, cancel=c),
                             mode, self), self._generated)
        return True

    def regenerate_region(self, clip_id: str, seed: int, start: int, end: int) -> bool:
        s = self.session
        if self.busy or self.engine is None:
            self.status.showMessage("wait for the current run to end" if self.busy else "the engine is not ready", 6000)
            return False
        job, take = s.job(clip_id), s.take(clip_id, seed)
        avoid = {t.seed for t in s.takes.get(clip_id, [])}
        params = dataclasses.replace(self.settings_panel.params("regenerate", avoid), takes=1)
        engine, out = self.engine, s.media_dir
        self.progress.start([(clip_id, job.name)], f"Region {start}-{end} of take {seed}")
        self._run(EngineCall(lambda p, c: engine.regenerate_region(job, take, start, end, params, out_dir=out,
                                                                   progress=p, cancel=c), "region regenerate", self),
                  lambda new: self._region_done(clip_id, new))
        return True

    def _run(self, call: EngineCall, on_success) -> None:
        self.call = call
        self.settings_panel.set_busy(True)
        self.takes_panel.region_btn.setEnabled(False)
        call.progressed.connect(self.progress.update_progress)
        call.succeeded.connect(on_success)
        call.cancelled.connect(lambda: self._ended("cancelled"))
        call.failed.connect(self._ended)
        call.start()

    def _ended(self, message: str) -> None:
        if self.call is not None:
            self.call.wait()
        self.call = None
        self.settings_panel.set_busy(False)
        self.takes_panel._update_buttons()
        self.progress.finish(message)
        self.status.showMessage(message, 8000)
        self.runFinished.emit(message)

    def _generated(self, results) -> None:
        changed = self.session.add_results(results)
        for r in results:
            if r.error:
                self.progress.mark_failed(r.clip_id, r.error)
        self.view.set_placed(self.session.placed)
        if self.takes_panel.clip_id in changed:
            self._show_takes(self.takes_panel.clip_id)
        n = sum(len(r.takes) for r in results)
        self._ended(f"done: {n} take(s) for {len(changed)} clip(s) in {self.session.media_dir}")

    def _region_done(self, clip_id: str, take) -> None:
        self.session.add_takes(clip_id, [take])
        self._takes_changed(clip_id)
        if self.takes_panel.clip_id == clip_id:
            self.takes_panel.select_seed(take.seed)
        self._ended(f"done: region regenerated as take {take.seed}")

    def cancel(self) -> None:
        if self.call is not None:
            self.call.cancel()
            self.progress.append("cancelling…")
        self.audition.stop()
