"""The panel's file dialogs (open, export, relink).

Only the dialogs live here. What they lead to is the panel's scriptable API (open_timeline,
export_to, relink_folder), handed in as callables, which tests and hosts call without a dialog.
"""
from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from maskvat_foley.core.timeline.from_media import MEDIA_SUFFIXES

EXPORT_FILTERS = {"OpenTimelineIO (*.otio)": ".otio", "OpenTimelineIO bundle with media (*.otioz)": ".otioz",
                  "Final Cut Pro 7 XML (*.xml)": ".xml", "AAF (*.aaf)": ".aaf",
                  "Shotcut / MLT XML (*.mlt)": ".mlt", "GStreamer Editing Services, Pitivi (*.xges)": ".xges",
                  "CMX 3600 EDL, picture only (*.edl)": ".edl"}
# A video file opens as a one-clip timeline at its timecode (core/timeline/from_media.py).
OPEN_FILTER = ("Timelines (*.otio *.otioz *.otiod *.xml *.aaf *.edl);;"
               f"Video files ({' '.join('*' + s for s in sorted(MEDIA_SUFFIXES))});;All files (*)")


class FileDialogs:
    def __init__(self, parent: QWidget, *, session: Callable, open_timeline: Callable[[str], object],
                 export_to: Callable[[str], object], relink_folder: Callable[[str], object]):
        self.parent, self._session = parent, session
        self.open_timeline, self.export_to, self.relink_folder = open_timeline, export_to, relink_folder

    def open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open timeline or video", "", OPEN_FILTER)
        if path:
            try:
                self.open_timeline(path)
            except Exception as exc:  # noqa: BLE001 - a file the adapters cannot read: say why
                QMessageBox.warning(self.parent, "Open timeline", str(exc))

    def export(self) -> None:
        session = self._session()
        if session is None:
            return
        stem = os.path.splitext(session.path)[0] + "_foley.otio"
        path, chosen = QFileDialog.getSaveFileName(self.parent, "Export timeline", stem, ";;".join(EXPORT_FILTERS))
        if not path:
            return
        if not os.path.splitext(path)[1]:
            path += EXPORT_FILTERS.get(chosen, ".otio")
        try:
            self.export_to(path)
        except Exception as exc:  # noqa: BLE001 - never over the opened timeline, bad formats, ...: say why
            QMessageBox.warning(self.parent, "Export", str(exc))

    def relink(self) -> None:
        if self._session() is not None:
            folder = QFileDialog.getExistingDirectory(self.parent, "Find missing media in")
            if folder:
                self.relink_folder(folder)
