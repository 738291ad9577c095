"""What the timeline view paints over its viewport, in viewport coordinates so it stays put while
the clips scroll under it: the timecode ruler (tick spacing and labels at the exact rate), the In/Out
marks band, the track headers and the playhead.

Functions of the view rather than methods, so the painting lives apart from the view's state and
events; they only read the view (rate, ppf, origin, rows, marks, playhead) and its public mapping helpers
(frame_to_x, x_frame).
"""
from __future__ import annotations

from fractions import Fraction

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

from maskvat_foley.core.timeline import rates
from maskvat_foley.ui import theme
from maskvat_foley.ui.timeline_rows import HEADER_W, ROW_H, RULER_H


def tick_step(rate: Fraction, ppf: float) -> tuple[int, int]:
    """(label step, minor step) in frames: labels at least ~110 px apart, on round values."""
    fps = max(1, round(rate))
    steps = [1, 2, 5, 10, fps, 2 * fps, 5 * fps, 10 * fps, 30 * fps, 60 * fps, 300 * fps, 600 * fps, 3600 * fps]
    label = next((s for s in steps if s * ppf >= 110), steps[-1])
    minor = next((s for s in reversed(steps) if s < label and s * ppf >= 8 and label % s == 0), label)
    return label, minor


def ruler_ticks(view) -> list[tuple[int, str | None]]:
    """(frame, timecode label or None for a minor tick) across the visible width of ``view``."""
    w = view.viewport().width()
    first = max(view.origin, view.x_frame(view.mapToScene(HEADER_W, 0).x()))
    last = view.x_frame(view.mapToScene(w, 0).x()) + 1
    label, minor = tick_step(view.rate, view.ppf)
    # Ticks count from the timeline's start, so labels fall on whole seconds of the edit.
    start = first - ((first - view.origin) % minor)
    return [(f, rates.to_timecode(f, view.rate) if (f - view.origin) % label == 0 else None)
            for f in range(start, last + minor, minor) if view.frame_to_x(f) >= HEADER_W]


def paint_marks(view, painter: QPainter, h: int) -> None:
    if view.mark_in_frame is None and view.mark_out_frame is None:
        return
    a = view.frame_to_x(view.mark_in_frame if view.mark_in_frame is not None else view.origin)
    b = view.frame_to_x(view.mark_out_frame if view.mark_out_frame is not None else view.end)
    colour = QColor(theme.MARK_COLOUR)
    colour.setAlpha(40)
    painter.fillRect(QRectF(a, RULER_H, b - a, h), colour)
    colour.setAlpha(200)
    painter.fillRect(QRectF(a, RULER_H - 6, b - a, 6), colour)


def paint_ruler(view, painter: QPainter, w: int) -> None:
    painter.fillRect(QRectF(0, 0, w, RULER_H), QColor(theme.RULER))
    painter.setPen(QColor("#17181a"))
    painter.drawLine(0, RULER_H, w, RULER_H)
    font = QFont(painter.font())
    font.setPixelSize(10)
    painter.setFont(font)
    for frame, text in view.ruler_ticks():
        x = view.frame_to_x(frame)
        painter.setPen(QColor(theme.TEXT_DIM if text else "#5a5e66"))
        painter.drawLine(QPointF(x, RULER_H - (12 if text else 5)), QPointF(x, RULER_H))
        if text:
            painter.setPen(QColor(theme.TEXT))
            painter.drawText(QPointF(x + 3, 12), text)
    if view.mark_in_frame is not None or view.mark_out_frame is not None:
        painter.setPen(QColor(theme.MARK_COLOUR))
        for frame, glyph in ((view.mark_in_frame, "{"), (view.mark_out_frame, "}")):
            if frame is not None:
                painter.drawText(QPointF(view.frame_to_x(frame) - 3, RULER_H - 8), glyph)


def paint_headers(view, painter: QPainter, h: int) -> None:
    painter.fillRect(QRectF(0, 0, HEADER_W, h), QColor(theme.PANEL))
    painter.setPen(QColor(theme.TEXT))
    font = QFont(painter.font())
    font.setPixelSize(11)
    font.setBold(True)
    painter.setFont(font)
    tc = rates.to_timecode(view.playhead, view.rate)
    painter.setPen(QColor(theme.ACCENT))
    painter.drawText(QRectF(8, 0, HEADER_W - 8, RULER_H), Qt.AlignVCenter | Qt.AlignLeft, tc)
    for i, row in enumerate(view.rows):
        top = view.mapFromScene(QPointF(0, view.row_top[i])).y()
        r = QRectF(0, top, HEADER_W - 1, ROW_H[row.kind])
        if r.bottom() < RULER_H:
            continue
        painter.fillRect(r, QColor(theme.TRACK_EVEN if i % 2 == 0 else theme.TRACK_ODD).lighter(112))
        stripe = {"video": "#3b6f9c", "audio": theme.AUDIO_COLOUR, "foley": theme.FOLEY_COLOUR}[row.kind]
        painter.fillRect(QRectF(0, top, 4, ROW_H[row.kind]), QColor(stripe))
        painter.setPen(QColor(theme.TEXT))
        fm = painter.fontMetrics()
        painter.drawText(r.adjusted(10, 0, -4, 0), Qt.AlignVCenter | Qt.AlignLeft,
                         fm.elidedText(row.label, Qt.ElideRight, int(r.width() - 14)))
    painter.setPen(QColor("#17181a"))
    painter.drawLine(HEADER_W - 1, 0, HEADER_W - 1, h)


def paint_playhead(view, painter: QPainter, h: int) -> None:
    x = view.frame_to_x(view.playhead)
    if x >= HEADER_W:  # hidden while it is scrolled under the track headers
        painter.setPen(QPen(QColor(theme.PLAYHEAD_COLOUR), 1.5))
        painter.drawLine(QPointF(x, 0), QPointF(x, h))
        painter.setBrush(QColor(theme.PLAYHEAD_COLOUR))
        painter.drawPolygon([QPointF(x - 6, 0), QPointF(x + 6, 0), QPointF(x, 9)])
