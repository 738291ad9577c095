"""Generation settings (model, seed and its lock, takes, steps, guidance, beam, the takes' level:
loudness target and gain) and the run buttons; values persist between runs in QSettings. Until the
editor changes them they are GenerationParams' defaults, the command line's too."""
from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
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

from maskvat_foley.core.jobs import GAIN_RANGE, LOUDNESS_RANGE, MAX_SEED, GenerationParams, random_seed

ORGANISATION, APPLICATION = "MaskVAT", "MaskVAT Foley"
SHOWN_PARAMS = ("takes", "steps", "guidance", "beam")
# The seed box needs a number before the first run; unlocked, every Generate picks a new seed anyway.
FIRST_SEED = 1234
# The target the loudness box offers when first switched on: EBU R128's broadcast level.
FIRST_LOUDNESS = -23.0
DEFAULTS = {"model": "", "seed": FIRST_SEED, "seed_locked": False,
            **{name: getattr(GenerationParams, name) for name in SHOWN_PARAMS},
            "loudness_on": GenerationParams.loudness is not None,
            "loudness": FIRST_LOUDNESS if GenerationParams.loudness is None else GenerationParams.loudness,
            "gain_db": GenerationParams.gain_db}


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
        self.seed = QSpinBox(minimum=0, maximum=MAX_SEED - 1)
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
        for name, w in self._boxes().items():
            form.addRow(name.capitalize(), w)
        self._add_level(form)
        lay.addLayout(form)
        self._add_buttons(lay)
        self.load()
        for w in (self.seed, self.takes, self.steps, self.beam):
            w.valueChanged.connect(self.save)
        for w in (self.guidance, self.loudness, self.gain):
            w.valueChanged.connect(self.save)
        self.lock.toggled.connect(self.save)
        self.loudness_on.toggled.connect(self.save)
        self.model.editingFinished.connect(self._model_edited)

    def _add_level(self, form: QFormLayout) -> None:
        """Loudness (off, or a target in LUFS) and gain in dB, as `generate --loudness/--gain`."""
        self.loudness_on = QCheckBox()
        self.loudness_on.setToolTip("Normalise each take to an integrated loudness (EBU R128); off: the "
                                    "model's own level. Near-silent takes are reported, not raised.")
        self.loudness = QDoubleSpinBox(minimum=LOUDNESS_RANGE[0], maximum=LOUDNESS_RANGE[1], singleStep=1.0,
                                       decimals=1, suffix=" LUFS")
        self.loudness.setEnabled(False)
        self.loudness_on.toggled.connect(self.loudness.setEnabled)
        row = QHBoxLayout()
        row.addWidget(self.loudness_on)
        row.addWidget(self.loudness, 1)
        form.addRow("Loudness", row)
        self.gain = QDoubleSpinBox(minimum=GAIN_RANGE[0], maximum=GAIN_RANGE[1], singleStep=0.5, decimals=1,
                                   suffix=" dB")
        self.gain.setToolTip("Gain on each take, after the loudness target; the true peak stays under -1 dBTP")
        form.addRow("Gain", self.gain)

    def _add_buttons(self, lay: QVBoxLayout) -> None:
        self.generate_btn = QPushButton("Generate")
        self.generate_btn.setObjectName("primary")
        self.regenerate_btn = QPushButton("Regenerate")
        self.regenerate_btn.setToolTip("New takes with a new seed")
        self.rerun_btn = QPushButton("Re-run")
        self.rerun_btn.setToolTip("Run again with the same seed")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        for button, mode in ((self.generate_btn, "generate"), (self.regenerate_btn, "regenerate"),
                             (self.rerun_btn, "rerun")):
            button.clicked.connect(lambda _checked=False, mode=mode: self.run.emit(mode))
        self.cancel_btn.clicked.connect(self.cancelRequested.emit)
        lay.addWidget(self.generate_btn)
        buttons = QHBoxLayout()
        for b in (self.regenerate_btn, self.rerun_btn, self.cancel_btn):
            buttons.addWidget(b)
        lay.addLayout(buttons)

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

    def _boxes(self) -> dict:
        return {name: getattr(self, name) for name in SHOWN_PARAMS}

    def load(self) -> None:
        self.model.setText(self._value("model"))
        self.seed.setValue(self._value("seed"))
        self.lock.setChecked(self._value("seed_locked"))
        for name, box in self._boxes().items():
            box.setValue(self._value(name))
        self.loudness.setValue(self._value("loudness"))
        self.loudness_on.setChecked(self._value("loudness_on"))
        self.gain.setValue(self._value("gain_db"))

    def save(self, *_args) -> None:
        values = {"model": self.model.text().strip(), "seed": self.seed.value(), "seed_locked": self.lock.isChecked(),
                  **{name: box.value() for name, box in self._boxes().items()},
                  "loudness_on": self.loudness_on.isChecked(), "loudness": self.loudness.value(),
                  "gain_db": self.gain.value()}
        for key, value in values.items():
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
            seed = random_seed(self.takes.value(), avoid)
            if not self.lock.isChecked():
                self.seed.setValue(seed)
        return GenerationParams(seed=seed, **{name: box.value() for name, box in self._boxes().items()},
                                **self.level())

    def level(self) -> dict:
        """The takes' level as GenerationParams fields: the loudness target (None when off) and gain."""
        return {"loudness": self.loudness.value() if self.loudness_on.isChecked() else None,
                "gain_db": self.gain.value()}

    def set_params(self, params: GenerationParams) -> None:
        """Show a host's parameters (a given seed is locked so Generate uses it)."""
        if params.seed is not None:
            self.seed.setValue(params.seed)
            self.lock.setChecked(True)
        for name, box in self._boxes().items():
            box.setValue(getattr(params, name))
        if params.loudness is not None:
            self.loudness.setValue(params.loudness)
        self.loudness_on.setChecked(params.loudness is not None)
        self.gain.setValue(params.gain_db)

    def set_busy(self, busy: bool) -> None:
        for b in (self.generate_btn, self.regenerate_btn, self.rerun_btn):
            b.setEnabled(not busy)
        self.cancel_btn.setEnabled(busy)
