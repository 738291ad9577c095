"""Engine calls off the UI thread: a QThread runs one call and reports back through signals,
which Qt queues onto the UI thread, so the event loop keeps turning while the engine works."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

from maskvat_foley.core.engine.api import Cancelled
from maskvat_foley.core.jobs import Progress

log = logging.getLogger(__name__)

# fn(progress_callback, cancel_event) -> result
EngineFn = Callable[[Callable[[Progress], None], threading.Event], Any]


class EngineCall(QThread):
    """Runs ``fn`` once on its own thread. Exactly one of succeeded / cancelled / failed is emitted."""

    progressed = Signal(object)  # core.jobs.Progress
    succeeded = Signal(object)  # what fn returned
    cancelled = Signal(object)  # Cancelled.results: the clips finished before the cancel
    failed = Signal(str)

    def __init__(self, fn: EngineFn, label: str, parent=None):
        super().__init__(parent)
        self.fn, self.label = fn, label
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:  # on the worker thread: only emit, never touch widgets
        try:
            result = self.fn(self.progressed.emit, self.cancel_event)
        except Cancelled as stopped:
            self.cancelled.emit(stopped.results)
        except Exception as exc:  # shown in the log area and the status bar, never a crash
            log.debug("%s failed", self.label, exc_info=True)
            self.failed.emit(f"{self.label} failed: {exc}")
        else:  # finished before a cancel took effect: keep what was made
            self.succeeded.emit(result)
