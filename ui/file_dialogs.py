"""The panel's file dialogs (open, export, relink), as a mixin of FoleyPanel.

Only the dialogs live here; the work they lead to is the panel's scriptable API (open_timeline,
export_to, relink_folder), which tests and hosts call without any dialog.
"""
from __future__ import annotations

import os

from PySide6.QtWidgets import QFileDialog, QMessageBox

EXPORT_FILTERS = {"OpenTimelineIO (*.otio)": ".otio", "OpenTimelineIO bundle with media (*.otioz)": ".otioz",
                  "Final Cut Pro 7 XML (*.xml)": ".xml", "AAF (*.aaf)": ".aaf",
                  "Shotcut / MLT XML (*.mlt)": ".mlt", "GStreamer Editing Services, Pitivi (*.xges)": ".xges",
                  "CMX 3600 EDL, picture only (*.edl)": ".edl"}
OPEN_FILTER = "Timelines (*.otio *.otioz *.otiod *.xml *.aaf *.edl);;All files (*)"


class FileDialogsMixin:
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open timeline", "", OPEN_FILTER)
        if path:
            try:
                self.open_timeline(path)
            except Exception as exc:  # noqa: BLE001 -
                QMessageBox.warning(self, "Open timeline", str(exc))

    def export_dialog(self) -> None:
        if self.session is None:
            return
        stem = os.path.splitext(self.session.path)[0] + "_foley.otio"
        path, chosen = QFileDialog.getSaveFileName(self, "Export timeline", stem, ";;".join(EXPORT_FILTERS))
        if not path:
            return
        if not os.path.splitext(path)[1]:
            path += EXPORT_FILTERS.get(chosen, ".otio")
        try:
            self.export_to(path)
        except Exception as exc:  # noqa: BLE001 - never over the opened timeline, bad formats, ...: say why
            QMessageBox.warning(self, "Export", str(exc))

    def relink_dialog(self) -> None:
        if self.session is not None:
            folder = QFileDialog.getExistingDirectory(self, "Find missing media in")
            if folder:
                self.relink_folder(folder)
