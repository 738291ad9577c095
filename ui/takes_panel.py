"""Takes of the current clip, best first: choose the active one, remove one, audition it, look at
its waveform and spectrogram, and regenerate a region dragged on the waveform."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from maskvat_foley.core.jobs import Take
from maskvat_foley.core.timeline import rates
from maskvat_foley.ui.audio_views import SpectrogramView, WaveformView, read_mono
from maskvat_foley.ui.audition import PREVIEW_SIZE


def _button(row: QHBoxLayout, text: str, tip: str, slot) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    row.addWidget(button)
    return button


class TakesPanel(QGroupBox):
    activateRequested = Signal(str, int)  # clip id, seed
    removeRequested = Signal(str, int)
    regionRequested = Signal(str, int, int, int)  # clip id, seed, start frame, end frame
    playRequested = Signal(str, int)

    def __init__(self, parent=None):
        super().__init__("Takes", parent)
        self.clip_id: str | None = None
        self.info = None
        self.takes: list[Take] = []
        self.active: int | None = None
        lay = QVBoxLayout(self)
        self.title = QLabel("select a clip")
        self.title.setObjectName("value")
        lay.addWidget(self.title)
        top = QHBoxLayout()
        self.list = QTreeWidget()
        self.list.setHeaderLabels(["", "Seed", "Sync", "Take"])
        self.list.setRootIsDecorated(False)
        self.list.setColumnWidth(0, 22)
        self.list.setColumnWidth(1, 90)
        self.list.setColumnWidth(2, 60)
        self.list.itemDoubleClicked.connect(lambda *_: self._activate())
        self.list.currentItemChanged.connect(lambda *_: self._show_current())
        top.addWidget(self.list, 1)
        self.preview = QLabel()
        self.preview.setFixedSize(*PREVIEW_SIZE)
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setStyleSheet("background: #000; color: #777; border: 1px solid #3a3d44;")
        self.preview.setText("picture")
        top.addWidget(self.preview)
        lay.addLayout(top, 2)
        buttons = QHBoxLayout()
        self.use_btn = _button(buttons, "Use take", "Make the selected take the one on the Foley track (double-click)",
                               self._activate)
        self.remove_btn = _button(buttons, "Remove", "Remove the selected take (Del)", self._remove)
        self.play_btn = _button(buttons, "Play", "Audition the take with the clip's picture (Space)", self._play)
        self.region_btn = _button(buttons, "Regenerate region",
                                  "Drag on the waveform to choose the frames to regenerate", self._region)
        lay.addLayout(buttons)
        self.region_label = QLabel("region: drag on the waveform")
        self.region_label.setObjectName("value")
        lay.addWidget(self.region_label)
        self.waveform = WaveformView()
        self.waveform.regionChanged.connect(self._region_changed)
        self.spectrogram = SpectrogramView()
        lay.addWidget(self.waveform, 1)
        lay.addWidget(self.spectrogram, 1)
        self.update_buttons()

    # -- content --------------------------------------------------------------------------------
    def show_clip(self, info, takes: list[Take], active: int | None, keep_seed: int | None = None) -> None:
        """The takes of one clip (None: nothing selected); ``keep_seed`` stays the current row."""
        self.info, self.clip_id = info, (info.id if info is not None else None)
        self.takes, self.active = list(takes), active
        if info is None:
            self.title.setText("select a clip")
        else:
            self.title.setText(f"{info.name}  ({info.id})   {len(takes)} take(s)")
        self.list.clear()
        bold = QFont(self.list.font())
        bold.setBold(True)
        current = None
        for take in self.takes:
            note = "region " + "-".join(map(str, take.metadata["region"])) if take.metadata.get("region") else ""
            score = f"{take.sync_score:.3f}" if take.sync_score is not None else "—"
            item = QTreeWidgetItem(["●" if take.seed == active else "", str(take.seed), score,
                                    note or os.path.basename(take.path)])
            item.setData(0, Qt.UserRole, take.seed)
            item.setToolTip(3, take.path)
            if take.seed == active:
                for c in range(4):
                    item.setFont(c, bold)
                item.setForeground(0, Qt.yellow)
            self.list.addTopLevelItem(item)
            if take.seed == (keep_seed if keep_seed is not None else active):
                current = item
        if current is None and self.list.topLevelItemCount():
            current = self.list.topLevelItem(0)
        self.list.setCurrentItem(current)
        if current is None:
            self._show_current()
        self.update_buttons()

    def current_seed(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(0, Qt.UserRole))

    def select_seed(self, seed: int) -> None:
        for i in range(self.list.topLevelItemCount()):
            if int(self.list.topLevelItem(i).data(0, Qt.UserRole)) == seed:
                self.list.setCurrentItem(self.list.topLevelItem(i))
                return
        raise KeyError(f"no take with seed {seed} in the list")

    def current_take(self) -> Take | None:
        seed = self.current_seed()
        return next((t for t in self.takes if t.seed == seed), None)

    def _show_current(self) -> None:
        take = self.current_take()
        if take is None or not os.path.isfile(take.path):
            self.waveform.set_audio(None)
            self.spectrogram.set_audio(None)
        else:
            audio, sr = read_mono(take.path)
            self.waveform.set_audio(audio, self.info.visible_duration, self.info.rate)
            self.spectrogram.set_audio(audio, sr)
        self.update_buttons()

    def _region_changed(self, region) -> None:
        if region is None or self.info is None:
            self.region_label.setText("region: drag on the waveform")
        else:
            a, b = region
            start = self.info.visible_start
            self.region_label.setText(f"region: frames {a}-{b} ({rates.to_timecode(start + a, self.info.rate)} - "
                                      f"{rates.to_timecode(start + b, self.info.rate)})")
        self.update_buttons()

    def set_busy(self, busy: bool) -> None:
        """During a run a region cannot be regenerated (the run holds the engine)."""
        if busy:
            self.region_btn.setEnabled(False)
        else:
            self.update_buttons()

    def update_buttons(self) -> None:
        has = self.current_take() is not None
        for b in (self.use_btn, self.remove_btn, self.play_btn):
            b.setEnabled(has)
        self.region_btn.setEnabled(has and self.waveform.region is not None)

    def show_frame(self, image) -> None:
        self.preview.setPixmap(QPixmap.fromImage(image))

    # -- requests -------------------------------------------------------------------------------
    def _activate(self) -> None:
        seed = self.current_seed()
        if self.clip_id is not None and seed is not None:
            self.activateRequested.emit(self.clip_id, seed)

    def _remove(self) -> None:
        seed = self.current_seed()
        if self.clip_id is not None and seed is not None:
            self.removeRequested.emit(self.clip_id, seed)

    def _play(self) -> None:
        seed = self.current_seed()
        if self.clip_id is not None and seed is not None:
            self.playRequested.emit(self.clip_id, seed)

    def _region(self) -> None:
        seed, region = self.current_seed(), self.waveform.region
        if self.clip_id is not None and seed is not None and region is not None:
            self.regionRequested.emit(self.clip_id, seed, region[0], region[1])
