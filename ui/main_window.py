"""The panel: ``FoleyPanel`` (a QWidget a host can dock) and ``MainWindow`` around it for standalone use.

The panel owns a Session (timeline, takes, placed Foley) and talks to the engine only through an
object with the core.engine.api contract; every engine call runs on an EngineCall thread.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QLabel, QMainWindow, QMenuBar, QSplitter, QStatusBar, QVBoxLayout, QWidget

from maskvat_foley.core.timeline import rates
from maskvat_foley.ui.actions import build_actions
from maskvat_foley.ui.audition import Audition
from maskvat_foley.ui.file_dialogs import FileDialogs
from maskvat_foley.ui.generation import GenerationRuns
from maskvat_foley.ui.inspector import Inspector
from maskvat_foley.ui.progress import ProgressPanel
from maskvat_foley.ui.reference_field import ReferenceField
from maskvat_foley.ui.references import References
from maskvat_foley.ui.session import Session
from maskvat_foley.ui.settings_panel import SettingsPanel
from maskvat_foley.ui.takes_panel import TakesPanel
from maskvat_foley.ui.timeline_view import TimelineView
from maskvat_foley.ui.undo import ChooseTake, RemoveTake
from maskvat_foley.ui.worker import EngineCall

log = logging.getLogger(__name__)


def engine_summary(info: dict) -> str:
    mem = info.get("device_memory") or {}
    memory = f"{mem['free_mb'] / 1024:.1f}/{mem['total_mb'] / 1024:.1f} GB free" if "total_mb" in mem else "memory n/a"
    return f"Engine: {info.get('device', '?')} ({info.get('dtype', '?')}) · {memory} · model {info.get('model', '?')}"


class FoleyPanel(QWidget):
    """Runs: ``self.runs`` (ui/generation.py); dialogs: ``self.dialogs`` (ui/file_dialogs.py); menus:
    ui/actions.py."""

    engineReady = Signal(dict)
    runFinished = Signal(str)  # "done", "cancelled" or the error message

    def __init__(self, engine=None, *, engine_factory: Callable[[str | None], object] | None = None,
                 settings: QSettings | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("MaskVAT Foley")
        self.engine, self.engine_factory, self.engine_info = None, engine_factory, {}
        self.session: Session | None = None
        self.undo_stack = QUndoStack(self)
        self.view = TimelineView()
        self.inspector = Inspector()
        self.settings_panel = SettingsPanel(settings)
        self.takes_panel = TakesPanel()
        self.progress = ProgressPanel()
        self.audition = Audition(self)
        self.status = QStatusBar()
        self.engine_label = QLabel("Engine: not connected")
        self.status.addPermanentWidget(self.engine_label)
        self.reference_field = ReferenceField()
        self.references = References(self.reference_field, session=lambda: self.session,
                                     selected=self.view.selected_ids, progress=self.progress, status=self.status,
                                     audition=self.audition, engine_info=lambda: self.engine_info, parent=self)
        self.runs = GenerationRuns(session=lambda: self.session, engine=lambda: self.engine, view=self.view,
                                   settings_panel=self.settings_panel, takes_panel=self.takes_panel,
                                   progress=self.progress, status=self.status, audition=self.audition,
                                   references=self.references, parent=self)
        self.dialogs = FileDialogs(self, session=lambda: self.session, open_timeline=self.open_timeline,
                                   export_to=self.export_to, relink_folder=self.relink_folder)
        self._build_layout()
        build_actions(self)
        self._connect()
        if engine is not None:
            self.set_engine(engine)
        elif engine_factory is not None:
            self.start_engine()

    # -- construction ---------------------------------------------------------------------------
    def _build_layout(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.menu_bar = QMenuBar(self)
        lay.setMenuBar(self.menu_bar)
        left = QWidget()
        col = QVBoxLayout(left)
        col.setContentsMargins(6, 0, 0, 6)
        col.addWidget(self.inspector)
        col.addWidget(self.settings_panel)
        col.addStretch(1)
        # The reference sound sits above the progress, whose log and clip list can give up height:
        # in view at every panel size without pushing Generate out of the left column.
        right = QWidget()
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.reference_field)
        col.addWidget(self.progress, 1)
        bottom = QSplitter(Qt.Horizontal)
        for w, stretch in ((left, 3), (self.takes_panel, 5), (right, 3)):
            bottom.addWidget(w)
            bottom.setStretchFactor(bottom.count() - 1, stretch)
        bottom.setSizes([380, 640, 380])
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.view)
        split.addWidget(bottom)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([280, 520])
        lay.addWidget(split, 1)
        lay.addWidget(self.status)

    def _connect(self) -> None:
        self.runs.takesAdded.connect(self._takes_added)
        self.runs.regionDone.connect(self._region_done)
        self.runs.finished.connect(self.runFinished.emit)
        self.engineReady.connect(self.references.engine_ready)
        self.view.selectionChanged.connect(self._selection_changed)
        self.settings_panel.run.connect(self.generate)
        self.settings_panel.cancelRequested.connect(self.cancel)
        self.settings_panel.modelChanged.connect(lambda _m: self.start_engine())
        self.progress.clipFailed.connect(self.view.set_clip_error)
        self.takes_panel.activateRequested.connect(self.choose_take)
        self.takes_panel.removeRequested.connect(self.remove_take)
        self.takes_panel.regionRequested.connect(self.regenerate_region)
        self.takes_panel.playRequested.connect(self.play)
        self.audition.frameShown.connect(self.takes_panel.show_frame)
        self.audition.positionChanged.connect(self.takes_panel.waveform.set_cursor)
        self.audition.stopped.connect(lambda: self.takes_panel.waveform.set_cursor(None))
        self.audition.started.connect(self.progress.append)

    # -- runs (GenerationRuns) -------------------------------------------------------------------
    @property
    def call(self) -> EngineCall | None:
        """The run going on (hosts and screenshots wait on it), or None."""
        return self.runs.call

    @property
    def busy(self) -> bool:
        return self.runs.busy

    def generate(self, mode: str = "generate") -> bool:
        """Start a run on the selected clips: "generate", "regenerate" (new seed) or "rerun" (same
        seed); False, with the reason in the status bar, when it cannot start."""
        return self.runs.generate(mode)

    def regenerate_region(self, clip_id: str, seed: int, start: int, end: int) -> bool:
        return self.runs.regenerate_region(clip_id, seed, start, end)

    def cancel(self) -> None:
        self.runs.cancel()

    def _takes_added(self, clip_ids: list[str]) -> None:
        self.view.set_placed(self.session.placed)
        if self.takes_panel.clip_id in clip_ids:
            self._show_takes(self.takes_panel.clip_id)

    def _region_done(self, clip_id: str, seed: int) -> None:
        self._takes_changed(clip_id)
        if self.takes_panel.clip_id == clip_id:
            self.takes_panel.select_seed(seed)

    # -- engine ---------------------------------------------------------------------------------
    def start_engine(self) -> None:
        """(Re)connect through the factory off the UI thread, with the model of the settings."""
        if self.engine_factory is None:
            return
        model, factory = self.settings_panel.model_dir(), self.engine_factory
        self.engine_label.setText("Engine: starting…")
        call = EngineCall(lambda _p, _c: factory(model), "starting the engine", self)
        call.succeeded.connect(self.set_engine)
        call.failed.connect(lambda msg: (self.engine_label.setText("Engine: unavailable"), self.progress.append(msg)))
        call.start()
        self._engine_call = call  # keep a reference while it runs

    def set_engine(self, engine) -> None:
        self.engine = engine
        call = EngineCall(lambda _p, _c: engine.info(), "asking the engine for its status", self)
        call.succeeded.connect(self._engine_info)
        call.failed.connect(self.progress.append)
        call.start()
        self._info_call = call

    def _engine_info(self, info: dict) -> None:
        self.engine_info = info
        self.engine_label.setText(engine_summary(info))
        self.engine_label.setToolTip(f"{info.get('model_path', '')}\nsha256 {info.get('sha256', '')}")
        self.engineReady.emit(info)

    # -- timeline -------------------------------------------------------------------------------
    def open_timeline(self, path: str, media_dir: str | None = None) -> None:
        session = Session.open(path, media_dir=media_dir)
        self.audition.stop()
        self.session = session
        self.undo_stack.clear()
        self.view.set_timeline(session.clips, session.rate, session.origin, session.placed)
        self.view.set_playhead(session.origin)
        self.view.fit()
        self.setWindowTitle(f"MaskVAT Foley — {os.path.basename(path)}")
        self._selection_changed([])
        problems = [c for c in session.clips if c.status != "ok"]
        note = f", {len(problems)} with media problems" if problems else ""
        self.progress.append(f"opened {path}: {len(session.clips)} video clip(s) at {rates.rate_str(session.rate)} fps"
                             + note)
        if len(session.clips) == 1 and not problems:  # a lone camera clip: nothing to choose
            self.view.select_ids([session.clips[0].id])
            self.status.showMessage("1 clip, selected; press Generate", 8000)
        else:
            self.status.showMessage(f"{len(session.clips)} clips; select clips and press Generate", 8000)

    def export_to(self, path: str) -> str:
        if self.session is None:
            raise RuntimeError("open a timeline before exporting")
        written = self.session.export(path)
        self.progress.append(f"exported {written}")
        self.status.showMessage(f"exported {written}", 8000)
        return written

    def relink_folder(self, folder: str) -> int:
        changes = self.session.relink(folder)
        self.view.set_timeline(self.session.clips, self.session.rate, self.view.origin, self.session.placed)
        self.view.fit()
        self.progress.append(f"relinked {len(changes)} media reference(s) under {folder}")
        return len(changes)

    # -- selection and takes --------------------------------------------------------------------
    def _selection_changed(self, ids: list[str]) -> None:
        s = self.session
        infos = [s.clip(i) for i in ids] if s else []
        self.inspector.show_clips(infos, s.errors.get(ids[0]) if s and len(ids) == 1 else None)
        self.references.show_selection(ids)
        self._show_takes(ids[0] if ids else None)

    def _show_takes(self, clip_id: str | None, keep_seed: int | None = None) -> None:
        s = self.session
        if s is None or clip_id is None:
            self.takes_panel.show_clip(None, [], None)
            return
        self.takes_panel.show_clip(s.clip(clip_id), s.takes.get(clip_id, []), s.active.get(clip_id), keep_seed)

    def _takes_changed(self, clip_id: str) -> None:
        self.view.set_placed(self.session.placed)
        if self.takes_panel.clip_id == clip_id:
            self._show_takes(clip_id, self.takes_panel.current_seed())

    def choose_take(self, clip_id: str, seed: int) -> None:
        if self.session.active.get(clip_id) != seed:
            self.undo_stack.push(ChooseTake(self.session, clip_id, seed, self._takes_changed))

    def remove_take(self, clip_id: str, seed: int) -> None:
        self.undo_stack.push(RemoveTake(self.session, clip_id, seed, self._takes_changed))

    def _remove_current(self) -> None:
        seed = self.takes_panel.current_seed()
        if self.takes_panel.clip_id is not None and seed is not None:
            self.remove_take(self.takes_panel.clip_id, seed)

    def _select_track(self) -> None:
        ids = self.view.selected_ids()
        if ids:
            self.view.select_track(self.session.clip(ids[0]).track)

    # -- audition -------------------------------------------------------------------------------
    def play(self, clip_id: str, seed: int) -> None:
        self.audition.play(self.session.take(clip_id, seed).path, self.session.job(clip_id))

    def toggle_play(self) -> None:
        if self.audition.playing:
            self.audition.stop()
        elif self.takes_panel.current_seed() is not None:
            self.play(self.takes_panel.clip_id, self.takes_panel.current_seed())

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stop playback and any run; wait for worker threads (call before the app quits)."""
        self.audition.stop()
        if self.call is not None:
            self.call.cancel()
            self.call.wait(timeout_ms)
        self.references.shutdown(timeout_ms)
        for name in ("_engine_call", "_info_call"):
            call = getattr(self, name, None)
            if call is not None:
                call.wait(timeout_ms)

    @staticmethod
    def choose_takes(timeline_path: str, clip_ids, *, engine, params=None, media_dir=None,
                     parent=None):
        """Modal chooser for host bridges: the active take per clip on Apply, else None."""
        from maskvat_foley.ui.take_chooser import choose_takes

        return choose_takes(timeline_path, clip_ids, engine=engine, params=params,
                            media_dir=media_dir, parent=parent)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


class MainWindow(QMainWindow):
    """The panel on its own, for standalone use."""

    def __init__(self, panel: FoleyPanel):
        super().__init__()
        self.panel = panel
        self.setCentralWidget(panel)
        self.setWindowTitle("MaskVAT Foley")
        self.resize(1480, 900)

    def closeEvent(self, event) -> None:
        self.panel.shutdown()
        super().closeEvent(event)
