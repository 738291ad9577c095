"""The Reference field: the sound the selected clips' Foley should sound like ("make it sound like
this"). A file is dropped on it from the file browser, picked with "…", or typed; a range in
seconds narrows it; Play auditions it, Clear removes it. The field only says what the editor did
(signals); ui/references.py checks the sound and gives it to the clips.
"""
from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
)

from maskvat_foley.core.jobs import REF_GUIDANCE_RANGE, GenerationParams, ReferenceSpec

SOUND_FILTER = ("Sounds and videos (*.wav *.wave *.bwf *.aif *.aiff *.aifc *.flac *.mp3 *.ogg *.opus *.m4a "
                "*.caf *.w64 *.mp4 *.mov *.mkv *.mxf *.avi *.webm);;All files (*)")
# START-END in seconds, either side optional: the command line's --reference range.
RANGE_PATTERN = r"(\d{1,9}(\.\d{1,9})?)?-(\d{1,9}(\.\d{1,9})?)?"
ERROR_STYLE = "color: #ff7a6a;"


def local_files(mime) -> list[str]:
    """The local files a drag carries (a file browser's drag: file:// URLs)."""
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


class ReferenceField(QGroupBox):
    fileChosen = Signal(str)  # a file dropped, picked or typed
    rangeEdited = Signal()
    clearRequested = Signal()
    auditionRequested = Signal()

    def __init__(self, parent=None):
        super().__init__("Reference sound", parent)
        self.setAcceptDrops(True)
        self.setToolTip("Drop a sound (or a video with sound) from your library: the picture decides when, "
                        "the sound decides what it sounds like. It is only read, never changed or copied.")
        lay = QVBoxLayout(self)
        form = QFormLayout()
        form.setVerticalSpacing(4)
        self.path = QLineEdit()
        self.path.setPlaceholderText("drop a sound or video here")
        self.path.setAcceptDrops(False)  # a drop anywhere on the field is a file, not typed text
        self.path.editingFinished.connect(self._path_edited)
        self.browse = QToolButton(text="…")
        self.browse.setToolTip("Choose a sound or video file")
        self.browse.clicked.connect(self._choose)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        form.addRow("File", row)
        self.range = QLineEdit()
        self.range.setPlaceholderText("whole file, or 1.5-4 (s)")
        self.range.setToolTip("START-END in seconds; either may be left out (2- from 2 s on, -3 the first 3 s)")
        self.range.setValidator(QRegularExpressionValidator(QRegularExpression(RANGE_PATTERN), self.range))
        self.range.setAcceptDrops(False)
        self.range.editingFinished.connect(self._range_edited)
        lo, hi = REF_GUIDANCE_RANGE
        self.guidance = QDoubleSpinBox(minimum=lo, maximum=hi, singleStep=0.5, decimals=1)
        self.guidance.setValue(GenerationParams.ref_guidance)
        self.guidance.setToolTip("Guidance toward the reference, for models trained to hear one: how strongly "
                                 "the takes follow it (0 ignores it)")
        self.mix = QSpinBox(minimum=0, maximum=100, singleStep=10, suffix=" %")
        self.mix.setValue(round(GenerationParams.ref_mix * 100))
        self.mix.setToolTip("How much of the reference's own sound goes into the takes: at 100 % every hit the "
                            "picture gives is one of the reference's, at its time and level (a steady sound such "
                            "as rain: its texture, riding the take's level); 0 % leaves the takes as the model "
                            "made them. Works with any model.")
        row = QHBoxLayout()
        row.addWidget(self.range, 1)
        for label, box in (("Guidance", self.guidance), ("Mix", self.mix)):
            row.addSpacing(6)
            row.addWidget(QLabel(label))
            row.addWidget(box)
        form.addRow("Range", row)
        lay.addLayout(form)
        buttons = QHBoxLayout()
        self.play_btn = QPushButton("Play")
        self.play_btn.setToolTip("Audition the reference (the part the model hears)")
        self.play_btn.clicked.connect(self.auditionRequested.emit)
        self.clear_btn = QPushButton("Clear")
        self.clear_btn.setToolTip("No reference for the selected clips")
        self.clear_btn.clicked.connect(self.clearRequested.emit)
        self.scope = QLabel("select clips, then drop a sound")
        self.scope.setObjectName("value")
        self.scope.setWordWrap(True)
        buttons.addWidget(self.play_btn)
        buttons.addWidget(self.clear_btn)
        buttons.addWidget(self.scope, 1)
        lay.addLayout(buttons)
        self.message = QLabel("")
        self.message.setObjectName("value")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        self._shown = ("", "")  # path and range as last shown: editing only counts when they change
        self._update_buttons()

    # -- what the editor does ---------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        files = local_files(event.mimeData())
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.path.setText(files[0])
        self.fileChosen.emit(files[0])

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Reference sound", self.path.text(), SOUND_FILTER)
        if path:
            self.path.setText(path)
            self.fileChosen.emit(path)

    def _path_edited(self) -> None:
        text = self.path.text().strip()
        if text and text != self._shown[0]:
            self.fileChosen.emit(text)

    def _range_edited(self) -> None:
        if self.path.text().strip() and self.range.text().strip() != self._shown[1]:
            self.rangeEdited.emit()

    # -- what it shows ----------------------------------------------------------------------------
    def ref_mix(self) -> float:
        """The Mix control as GenerationParams.ref_mix (0 to 1)."""
        return self.mix.value() / 100

    def set_ref_mix(self, mix: float) -> None:
        self.mix.setValue(round(float(mix) * 100))

    def spec(self, path: str | None = None) -> ReferenceSpec | None:
        """The reference the field spells (``path`` instead of its file), None when it is empty;
        ValueError for a range that is not START-END in seconds or is empty."""
        path = (self.path.text() if path is None else path).strip()
        if not path:
            return None
        text = self.range.text().strip()
        if not text:
            return ReferenceSpec(path)
        start, _, end = text.partition("-")
        if not _:
            raise ValueError(f"range {text!r}: write START-END in seconds, such as 1.5-4")
        return ReferenceSpec(path, start or None, end or None)

    def show_spec(self, spec: ReferenceSpec | None, *, clips: int, mixed: bool = False) -> None:
        """Show the reference of the selected clips (no signal is emitted)."""
        path = spec.path if spec is not None else ""
        span = spec.range_text() if spec is not None else ""
        self.path.setText(path)
        self.range.setText(span)
        self._shown = (path, span)
        if clips == 0:
            self.scope.setText("select clips, then drop a sound")
        elif mixed:
            self.scope.setText(f"the {clips} selected clips have different references; a new one replaces them")
        else:
            which = "the selected clip" if clips == 1 else f"the {clips} selected clips"
            self.scope.setText(f"for {which}" + ("" if spec is not None else ": none"))
        self._update_buttons()

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else "")

    def _update_buttons(self) -> None:
        has = bool(self.path.text().strip())
        self.play_btn.setEnabled(has)
        self.clear_btn.setEnabled(has)
