"""Generation settings (model, seed and its lock, takes, steps, guidance, beam) and the run
buttons; values persist between runs in QSettings."""
from __future__ import annotations

import secrets

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
)

from maskvat_foley.core.jobs import GenerationParams

MAX_SEED = 2**31 - 2
ORGANISATION, APPLICATION = "MaskVAT", "MaskVAT Foley"
DEFAULTS = {"model": "", "seed": 1234, "seed_locked": False, "takes": 2, "steps": 16, "guidance": 3.0, "beam": 1}


def default_settings() -> QSettings:
    return QSettings(ORGANISATION, APPLICATION)


class SettingsPanel(QGroupBox):
    """Emits ``run(mode)`` with mode "generate", "regenerate" (new seed) or "rerun" (same seed)."""

    run = Signal(str)
    cancelRequested = Signal()
    modelChanged = Signal(str)

    def __init__(self, settings: QSettings | None = None, parent=None):
        super().__init__("Generation", parent)
        self.settings = settings if settings is not None else default_settings()
        lay = QVBoxLayout(self)
        form = QFormLayout()
        form.setVerticalSpacing(4)
        self.model = QLineEdit()
        self.model.setPlaceholderText("bundled default model")
        browse = QToolButton(text="…")
        browse.setToolTip("Choose a model folder")
        browse.clicked.connect(self._choose_model)
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        row.addWidget(browse)
        form.addRow("Model", row)
        self.seed = QSpinBox(minimum=0, maximum=MAX_SEED)
        self.lock = QToolButton(text="Lock", checkable=True)
        self.lock.setToolTip("Keep this seed for Generate (unlocked: a new seed each run)")
        row = QHBoxLayout()
        row.addWidget(self.seed, 1)
        row.addWidget(self.lock)
        form.addRow("Seed", row)
        self.takes = QSpinBox(minimum=1, maximum=16)
        self.steps = QSpinBox(minimum=1, maximum=128)
        self.guidance = QDoubleSpinBox(minimum=0.0, maximum=20.0, singleStep=0.5, decimals=1)
        self.beam = QSpinBox(minimum=1, maximum=16)
        self.beam.setToolTip("Candidates per take, ranked by the synchrony scorer")
        for label, w in (("Takes", self.takes), ("Steps", self.steps), ("Guidance", self.guidance), ("Beam", self.beam)):
            form.addRow(label, w)
        lay.addLayout(form)
        self.generate_btn = QPushButton("Generate")
        self.generate_btn.setObjectName("primary")
        self.regenerate_btn = QPushButton("Regenerate")
        self.regenerate_btn.setToolTip("New takes with a new seed")
        self.rerun_btn = QPushButton("Re-run")
        self.rerun_btn.setToolTip("Run again with the same seed")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.generate_btn.clicked.connect(lambda: self.run.emit("generate"))
        self.regenerate_btn.clicked.connect(lambda: self.run.emit("regenerate"))
        self.rerun_btn.clicked.connect(lambda: self.run.emit("rerun"))
        self.cancel_btn.clicked.connect(self.cancelRequested.emit)
        lay.addWidget(self.generate_btn)
        buttons = QHBoxLayout()
        for b in (self.regenerate_btn, self.rerun_btn, self.cancel_btn):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.load()
        for w in (self.seed, self.takes, self.steps, self.beam):
            w.valueChanged.connect(self.save)
        self.guidance.valueChanged.connect(self.save)
        self.lock.toggled.connect(self.save)
        self.model.editingFinished.connect(self._model_edited)

    # -- persistence ----------------------------------------------------------------------------
    def _value(self, key: str):
        default = DEFAULTS[key]
        value = self.settings.value(key, default)
        if isinstance(default, bool):  # INI files give back "true"/"false" strings
            return value if isinstance(value, bool) else str(value).lower() == "true"
        try:
            return type(default)(value)
        except (TypeError, ValueError):
            return default

    def load(self) -> None:
        self.model.setText(self._value("model"))
        self.seed.setValue(self._value("seed"))
        self.lock.setChecked(self._value("seed_locked"))
        self.takes.setValue(self._value("takes"))
        self.steps.setValue(self._value("steps"))
        self.guidance.setValue(self._value("guidance"))
        self.beam.setValue(self._value("beam"))

    def save(self, *_args) -> None:
        for key, value in (("model", self.model.text().strip()), ("seed", self.seed.value()),
                           ("seed_locked", self.lock.isChecked()), ("takes", self.takes.value()),
                           ("steps", self.steps.value()), ("guidance", self.guidance.value()),
                           ("beam", self.beam.value())):
            self.settings.setValue(key, value)
        self.settings.sync()

    def _model_edited(self) -> None:
        if self.model.text().strip() != self._value("model"):
            self.save()
            self.modelChanged.emit(self.model.text().strip())

    def _choose_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder", self.model.text())
        if folder:
            self.model.setText(folder)
            self._model_edited()

    # -- runs -----------------------------------------------------------------------------------
    def model_dir(self) -> str | None:
        return self.model.text().strip() or None

    def params(self, mode: str, avoid: set[int] = frozenset()) -> GenerationParams:
        """Parameters of a run. generate: the seed when locked, else a new one; regenerate: always a
        new seed (the locked one is kept in the box); rerun: the seed in the box."""
        if mode not in ("generate", "regenerate", "rerun"):
            raise ValueError(f"unknown run mode {mode!r} (generate, regenerate or rerun)")
        seed = self.seed.value()
        if mode == "regenerate" or (mode == "generate" and not self.lock.isChecked()):
            seed = new_seed(self.takes.value(), avoid)
            if not self.lock.isChecked():
                self.seed.setValue(seed)
        return GenerationParams(seed=seed, takes=self.takes.value(), steps=self.steps.value(),
                                guidance=self.guidance.value(), beam=self.beam.value())

    def set_params(self, params: GenerationParams) -> None:
        """Show a host's parameters (a given seed is locked so Generate uses it)."""
        if params.seed is not None:
            self.seed.setValue(params.seed)
            self.lock.setChecked(True)
        self.takes.setValue(params.takes)
        self.steps.setValue(params.steps)
        self.guidance.setValue(params.guidance)
        self.beam.setValue(params.beam)

    def set_busy(self, busy: bool) -> None:
        for b in (self.generate_btn, self.regenerate_btn, self.rerun_btn):
            b.setEnabled(not busy)
        self.cancel_btn.setEnabled(busy)


def new_seed(takes: int = 1, avoid: set[int] = frozenset()) -> int:
    """A random seed whose run (seed .. seed+takes-1) uses none of ``avoid``."""
    while True:
        seed = secrets.randbelow(MAX_SEED - takes)
        if not avoid.intersection(range(seed, seed + takes)):
            return seed
