"""Progress of a run: one bar per clip, an overall bar with the time left, and a log area where
errors name the clip concerned."""
from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from maskvat_foley.core.jobs import Progress

STAGE_NAMES = {"decode": "decoding video", "features": "visual features", "sampling": "sampling",
               "codec": "decoding audio", "write": "writing WAV", "done": "done", "failed": "failed",
               "queued": "queued"}


def format_seconds(s: float) -> str:
    s = max(0, round(s))
    return f"{s // 60}:{s % 60:02d}"


class ProgressPanel(QGroupBox):
    clipFailed = Signal(str, str)  # clip id, message

    def __init__(self, parent=None):
        super().__init__("Progress", parent)
        lay = QVBoxLayout(self)
        self.overall = QProgressBar(maximum=1000)
        self.overall.setFormat("idle")
        self.eta = QLabel("")
        self.eta.setObjectName("value")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Clip", "Stage", "Progress"])
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 130)
        self.tree.setColumnWidth(1, 110)
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(2000)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.Monospace)
        mono.setPixelSize(11)
        self.log.setFont(mono)
        lay.addWidget(self.overall)
        lay.addWidget(self.eta)
        lay.addWidget(self.tree, 2)
        lay.addWidget(QLabel("Log"))
        lay.addWidget(self.log, 1)
        self.rows: dict[str, tuple[QTreeWidgetItem, QProgressBar]] = {}
        self.fractions: dict[str, float] = {}
        self.started = 0.0

    def start(self, clips: list[tuple[str, str]], label: str = "Generating") -> None:
        """A new run over (clip id, name) pairs."""
        self.tree.clear()
        self.rows, self.fractions = {}, {}
        for clip_id, name in clips:
            item = QTreeWidgetItem([f"{clip_id}  {name}", STAGE_NAMES["queued"], ""])
            item.setToolTip(0, f"{name} ({clip_id})")
            bar = QProgressBar(maximum=100)
            bar.setValue(0)
            self.tree.addTopLevelItem(item)
            self.tree.setItemWidget(item, 2, bar)
            self.rows[clip_id] = (item, bar)
            self.fractions[clip_id] = 0.0
        self.started = time.monotonic()
        self.overall.setValue(0)
        self.overall.setFormat(f"{label}: %p%")
        self.eta.setText("starting…")
        self.append(f"{label} {len(clips)} clip(s): {', '.join(c for c, _ in clips)}")

    def update_progress(self, p: Progress) -> None:
        if p.clip_id not in self.rows:
            return
        item, bar = self.rows[p.clip_id]
        fraction = 1.0 if p.stage in ("done", "failed") else max(self.fractions[p.clip_id], float(p.fraction))
        self.fractions[p.clip_id] = fraction
        bar.setValue(int(fraction * 100))
        item.setText(1, STAGE_NAMES.get(p.stage, p.stage))
        if p.stage == "failed":
            self.mark_failed(p.clip_id, p.message or "failed")
        total = sum(self.fractions.values()) / max(len(self.fractions), 1)
        self.overall.setValue(int(total * 1000))
        elapsed = time.monotonic() - self.started
        if 0.02 < total < 1:
            left = format_seconds(elapsed * (1 - total) / total)
            self.eta.setText(f"elapsed {format_seconds(elapsed)}, about {left} left")
        elif total >= 1:
            self.eta.setText(f"finished in {format_seconds(elapsed)}")

    def mark_failed(self, clip_id: str, message: str) -> None:
        row = self.rows.get(clip_id)
        if row is not None:
            row[0].setText(1, "failed")
            row[0].setToolTip(1, message)
            row[1].setStyleSheet("QProgressBar::chunk { background: #b83a3a; }")
            row[1].setValue(100)
        self.append(f"ERROR {clip_id}: {message}")
        self.clipFailed.emit(clip_id, message)

    def finish(self, message: str) -> None:
        self.overall.setFormat(message)
        if message.startswith(("done", "finished")):
            self.overall.setValue(1000)
        self.eta.setText(f"{message} after {format_seconds(time.monotonic() - self.started)}")
        self.append(message)

    def append(self, line: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {line}")
