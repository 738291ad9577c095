"""Graphics items of the timeline view: a video clip (coloured by status, selectable) and an audio
clip (the editor's audio or a placed Foley clip). Geometry is set by the view from exact frames."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QStyle

from maskvat_foley.core.timeline import rates
from maskvat_foley.ui import theme

FLAG_LABELS = {"speed_effect": "speed", "freeze_frame": "freeze", "transition": "dissolve",
               "nested": "nested", "zero_length": "empty"}
_REFUSING_FLAGS = ("speed_effect", "freeze_frame", "zero_length")


class _Block(QGraphicsRectItem):
    """A rounded block with a title and a second line, elided to fit."""

    def __init__(self, title: str, start: int, duration: int, row: int):
        super().__init__()
        self.title, self.start, self.duration, self.row = title, start, duration, row
        self.subtitle = ""
        self.setPen(Qt.NoPen)

    @property
    def end(self) -> int:
        return self.start + self.duration

    def fill(self) -> QColor:
        raise NotImplementedError

    def paint(self, painter, option, widget=None) -> None:
        r = self.rect().adjusted(0.5, 1.5, -0.5, -1.5)
        selected = bool(option.state & QStyle.State_Selected)
        base = self.fill()
        painter.setRenderHint(painter.RenderHint.Antialiasing, True)
        painter.setBrush(QBrush(base.lighter(135) if selected else base))
        painter.setPen(QPen(QColor(theme.SELECTED_OUTLINE), 2) if selected else QPen(base.darker(150), 1))
        painter.drawRoundedRect(r, 3, 3)
        if r.width() < 14:
            return
        font = QFont(painter.font())
        font.setPixelSize(11)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        text_r = r.adjusted(5, 2, -4, 0)
        fm = QFontMetrics(font)
        painter.drawText(text_r, Qt.AlignLeft | Qt.AlignTop,
                         fm.elidedText(self.title, Qt.ElideRight, int(text_r.width())))
        if self.subtitle and r.height() > 30:
            font.setBold(False)
            font.setPixelSize(10)
            painter.setFont(font)
            painter.setPen(QColor(255, 255, 255, 190))
            fm = QFontMetrics(font)
            painter.drawText(text_r.adjusted(0, 15, 0, 0), Qt.AlignLeft | Qt.AlignTop,
                             fm.elidedText(self.subtitle, Qt.ElideRight, int(text_r.width())))


class ClipItem(_Block):
    """A video clip of the timeline; selectable; an error from generation turns it red."""

    def __init__(self, info, row: int):
        super().__init__(info.name, info.record_start, info.record_duration, row)
        self.info = info
        self.error: str | None = None
        self.setFlag(QGraphicsItem.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        self.subtitle = self._subtitle()
        self.setToolTip(self._tooltip())

    @property
    def clip_id(self) -> str:
        return self.info.id

    def kind(self) -> str:
        if self.error:
            return "error"
        if self.info.status != "ok":
            return self.info.status
        return "flagged" if any(f in self.info.flags for f in _REFUSING_FLAGS + ("transition",)) else "ok"

    def fill(self) -> QColor:
        return QColor(theme.STATUS_COLOURS[self.kind()])

    def set_error(self, message: str | None) -> None:
        self.error = message
        self.setToolTip(self._tooltip())
        self.update()

    def _subtitle(self) -> str:
        parts = [self.info.id, rates.to_timecode(self.info.record_start, self.info.rate)]
        if self.info.status != "ok":
            parts.append(self.info.status.upper())
        parts += [FLAG_LABELS[f] for f in self.info.flags if f in FLAG_LABELS]
        return "  ".join(parts)

    def _tooltip(self) -> str:
        i = self.info
        lines = [f"{i.name} ({i.id})",
                 f"record {rates.to_timecode(i.record_start, i.rate)} - {rates.to_timecode(i.record_end, i.rate)}",
                 f"media: {i.media or i.media_url or 'none'} [{i.status}]"]
        if i.flags:
            lines.append("flags: " + ", ".join(i.flags))
        if self.error:
            lines.append(f"error: {self.error}")
        return "\n".join(lines)


class AudioItem(_Block):
    """An audio clip: the editor's own (grey) or a placed Foley clip (green, with its active take)."""

    def __init__(self, title: str, start: int, duration: int, row: int, foley: bool, subtitle: str = "",
                 source_clip_id: str | None = None):
        super().__init__(title, start, duration, row)
        self.foley, self.subtitle, self.source_clip_id = foley, subtitle, source_clip_id
        self.setToolTip(f"{title}\n{subtitle}" if subtitle else title)

    def fill(self) -> QColor:
        return QColor(theme.FOLEY_COLOUR if self.foley else theme.AUDIO_COLOUR)


def scene_rect(x: float, row_top: float, width: float, height: float) -> QRectF:
    return QRectF(x, row_top, max(width, 1.0), height)
