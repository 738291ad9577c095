"""The panel as a modal chooser for host bridges: open an exported timeline with the host's
selection, let the editor generate and pick takes, and hand back the active take per clip on Apply.
"""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout

from maskvat_foley.core.jobs import GenerationParams, Take


class ChooserDialog(QDialog):
    def __init__(self, engine, timeline_path: str, clip_ids: list[str], *,
                 params: GenerationParams | None = None, media_dir: str | None = None, parent=None):
        from maskvat_foley.ui.main_window import FoleyPanel

        super().__init__(parent)
        self.setWindowTitle("MaskVAT Foley: choose takes, then Apply")
        self.panel = FoleyPanel(engine)
        self.panel.open_timeline(timeline_path, media_dir=media_dir)
        if params is not None:
            self.panel.settings_panel.set_params(params)
        self.panel.view.select_ids(clip_ids)
        if params is not None and params.reference is not None:  # the host's reference sound
            self.panel.reference_field.guidance.setValue(params.ref_guidance)
            self.panel.reference_field.set_ref_mix(params.ref_mix)
            self.panel.references.set_for(list(clip_ids), params.reference)
        self.clip_ids = list(clip_ids)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Apply | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Apply).clicked.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)
        layout.addWidget(self.buttons)
        self.resize(1400, 900)

    def chosen(self) -> dict[str, Take]:
        """The active take of every selected clip that has one."""
        s = self.panel.session
        return {cid: s.take(cid, s.active[cid]) for cid in self.clip_ids if cid in s.active}

    def done(self, result: int) -> None:
        if self.panel.busy:
            self.panel.cancel()
        super().done(result)


def choose_takes(timeline_path: str, clip_ids, *, engine, params: GenerationParams | None = None,
                 media_dir: str | None = None, parent=None) -> dict[str, Take] | None:
    """Modal: the chosen take per clip on Apply, None when closed without applying."""
    dialog = ChooserDialog(engine, timeline_path, list(clip_ids), params=params,
                           media_dir=media_dir, parent=parent)
    try:
        return dialog.chosen() if dialog.exec() == QDialog.Accepted else None
    finally:
        dialog.panel.shutdown()
        dialog.deleteLater()
