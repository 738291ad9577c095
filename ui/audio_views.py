"""Pictures of a take: a waveform you can drag a region on (snapped to timeline frames), and a
spectrogram (core.media.spectrogram)."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from maskvat_foley.core.jobs import GenerationParams
from maskvat_foley.ui import theme


def read_mono(path: str) -> tuple[np.ndarray, int]:
    import soundfile

    audio, sr = soundfile.read(path, dtype="float32", always_2d=True)
    return audio.mean(axis=1), sr


class WaveformView(QWidget):
    """Min/max envelope of a take over the clip's frames; drag to select a region [a, b) in frames
    from the clip's start."""

    regionChanged = Signal(object)  # (start, end) frames or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(70)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.audio = np.zeros(0, np.float32)
        self.frames, self.rate = 0, Fraction(24)
        self.region: tuple[int, int] | None = None
        self.cursor: float | None = None  # playback position, 0..1
        self._drag_from: int | None = None
        self._env: tuple[int, np.ndarray, np.ndarray] | None = None

    def set_audio(self, audio: np.ndarray | None, frames: int = 0, rate: Fraction = Fraction(24)) -> None:
        self.audio = np.zeros(0, np.float32) if audio is None else np.asarray(audio, np.float32)
        self.frames, self.rate = int(frames), Fraction(rate)
        self.region, self._env, self.cursor = None, None, None
        self.update()

    def set_region(self, region: tuple[int, int] | None) -> None:
        if region is not None:
            a, b = max(0, int(region[0])), min(self.frames, int(region[1]))
            region = (a, b) if b > a else None
        self.region = region
        self.update()
        self.regionChanged.emit(region)

    def set_cursor(self, fraction: float | None) -> None:
        self.cursor = fraction
        self.update()

    def _frame_at(self, x: float, up: bool) -> int:
        pos = max(0.0, min(1.0, x / max(self.width(), 1))) * self.frames
        return min(self.frames, math.ceil(pos) if up else math.floor(pos))

    def mousePressEvent(self, event) -> None:
        if self.frames and event.button() == Qt.LeftButton:
            self._drag_from = self._frame_at(event.position().x(), False)
            self.set_region((self._drag_from, self._drag_from + 1))

    def mouseMoveEvent(self, event) -> None:
        if self._drag_from is not None:
            x = event.position().x()
            here = self._frame_at(x, True)
            a, b = sorted((self._drag_from, here))
            self.set_region((a, max(b, a + 1)))

    def mouseReleaseEvent(self, event) -> None:
        self._drag_from = None

    def _envelope(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        if self._env is None or self._env[0] != width:
            n = len(self.audio)
            edges = np.linspace(0, n, width + 1).astype(int)
            lo, hi = np.zeros(width), np.zeros(width)
            for i in range(width):
                seg = self.audio[edges[i]:max(edges[i + 1], edges[i] + 1)]
                if len(seg):
                    lo[i], hi[i] = seg.min(), seg.max()
            self._env = (width, lo, hi)
        return self._env[1], self._env[2]

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), QColor("#151618"))
        mid = h / 2
        p.setPen(QColor("#33363c"))
        p.drawLine(0, int(mid), w, int(mid))
        if self.region is not None and self.frames:
            a, b = (x * w / self.frames for x in self.region)
            p.fillRect(QRectF(a, 0, b - a, h), QColor(224, 160, 48, 70))
            p.setPen(QPen(QColor(theme.ACCENT), 1))
            p.drawLine(QPointF(a, 0), QPointF(a, h))
            p.drawLine(QPointF(b, 0), QPointF(b, h))
        if len(self.audio):
            lo, hi = self._envelope(max(w, 1))
            peak = max(float(np.abs(self.audio).max()), 1e-4)
            p.setPen(QColor("#6fd08f"))
            for x in range(w):
                p.drawLine(QPointF(x, mid - hi[x] / peak * mid * 0.92), QPointF(x, mid - lo[x] / peak * mid * 0.92))
        else:
            p.setPen(QColor(theme.TEXT_DIM))
            p.drawText(self.rect(), Qt.AlignCenter, "no take selected")
        if self.cursor is not None:
            p.setPen(QPen(QColor(theme.PLAYHEAD_COLOUR), 1.5))
            p.drawLine(QPointF(self.cursor * w, 0), QPointF(self.cursor * w, h))
        p.end()


class SpectrogramView(QWidget):
    """The take's spectrogram, low frequencies at the bottom."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(70)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.image: QImage | None = None

    def set_audio(self, audio: np.ndarray | None, sample_rate: int = GenerationParams.sample_rate) -> None:
        from maskvat_foley.core.media.spectrogram import spectrogram_rgb

        if audio is None or not len(audio):
            self.image = None
        else:
            rgb = np.ascontiguousarray(spectrogram_rgb(audio, sample_rate, width=640, height=128))
            h, w, _ = rgb.shape
            self.image = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()  # own the pixels
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#151618"))
        if self.image is not None:
            p.setRenderHint(QPainter.SmoothPixmapTransform, True)
            p.drawImage(QRectF(self.rect()), self.image)
        else:
            p.setPen(QColor(theme.TEXT_DIM))
            p.drawText(self.rect(), Qt.AlignCenter, "spectrogram")
        p.end()
