"""The timeline: tracks and clips to scale, a timecode ruler at the exact rate, a playhead, In/Out
marks, and editor-style selection (click, shift-click range on a track, ctrl-click toggle, rubber
band, whole track by double-clicking its header).

Scene x is ``HEADER_W + (frame - origin) * px_per_frame`` with frames counted from the timecode
origin, so every edge is an exact frame. The ruler and the track headers are painted over the
viewport (they stay put while the clips scroll under them).
"""
from __future__ import annotations

import math
from fractions import Fraction

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView

from maskvat_foley.ui import theme
from maskvat_foley.ui import timeline_overlays as overlays
from maskvat_foley.ui.timeline_items import AudioItem, ClipItem, scene_rect
from maskvat_foley.ui.timeline_rows import HEADER_W, MAX_PPF, MIN_PPF, ROW_H, RULER_H, Row, audio_tracks
from maskvat_foley.ui.timeline_selection import TimelineSelection


class TimelineView(QGraphicsView):
    """Selection, playhead and marks live in ``self.selection`` (TimelineSelection); the overlays
    are painted by timeline_overlays."""

    selectionChanged = Signal(list)  # selected clip ids in listing order
    playheadMoved = Signal(int)
    marksChanged = Signal(object, object)  # in frame or None, out frame (exclusive) or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.Antialiasing, True)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.setViewportUpdateMode(QGraphicsView.FullViewportUpdate)  # overlays follow scrolling
        self.setFocusPolicy(Qt.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOn)
        self.clips: list = []
        self.rate = Fraction(24)
        self.origin = 0
        self.end = 0
        self.rows: list[Row] = []
        self.row_top: list[float] = []
        self.items: dict[str, ClipItem] = {}
        self.audio_items: list[AudioItem] = []
        self.ppf = 4.0
        self.selection = TimelineSelection(self)
        self._scrubbing = False
        self.auto_fit = True  # fit the whole edit on resize until the user zooms
        # Through a method of the view: Qt drops the connection when the view goes, before its
        # scene deselects the items it deletes.
        self.scene().selectionChanged.connect(self._scene_selection_changed)

    # -- selection, playhead and marks (TimelineSelection) --------------------------------------
    @property
    def playhead(self) -> int:
        return self.selection.playhead

    @property
    def mark_in_frame(self) -> int | None:
        return self.selection.mark_in

    @property
    def mark_out_frame(self) -> int | None:
        """Exclusive: the end of the frame marked Out."""
        return self.selection.mark_out

    def _scene_selection_changed(self) -> None:
        self.selection.emit_selection()

    def selected_ids(self) -> list[str]:
        return self.selection.selected_ids()

    def select_ids(self, ids) -> None:
        self.selection.select_ids(ids)

    def select_track(self, track: int) -> None:
        self.selection.select_track(track)

    def select_all(self) -> None:
        self.selection.select_all()

    def set_playhead(self, frame: int) -> None:
        self.selection.set_playhead(frame)

    def mark_in(self) -> None:
        self.selection.set_mark_in()

    def mark_out(self) -> None:
        self.selection.set_mark_out()

    def clear_marks(self) -> None:
        self.selection.clear_marks()

    # -- content --------------------------------------------------------------------------------
    def set_timeline(self, clips: list, rate: Fraction, origin: int, placed=None) -> None:
        """Show ``clips`` (ClipInfo) and the audio tracks of ``placed`` (Foley as it will export)."""
        sel = self.selection
        sel.quiet = True
        self.scene().clear()
        self.items, self.audio_items = {}, []
        self.clips, self.rate, self.origin = list(clips), Fraction(rate), origin
        sel.playhead = max(sel.playhead, origin) if sel.playhead else origin
        sel.mark_in = sel.mark_out = None
        self.auto_fit = True
        tracks = sorted({(c.track, c.track_name) for c in self.clips}, reverse=True)  # V1 lowest
        self.rows = [Row("video", f"V{n}  {name}" if name and name != f"V{n}" else f"V{n}", n) for n, name in tracks]
        row_of = {r.track: i for i, r in enumerate(self.rows)}
        for c in self.clips:
            item = ClipItem(c, row_of[c.track])
            self.scene().addItem(item)
            self.items[c.id] = item
        self.end = max([c.record_end for c in self.clips] + [origin + 1])
        sel.quiet = False
        self.set_placed(placed)

    def set_placed(self, placed) -> None:
        """Redraw the audio rows from a (placed) timeline; video rows and selection stay."""
        for item in self.audio_items:
            self.scene().removeItem(item)
        self.audio_items = []
        self.rows = [r for r in self.rows if r.kind == "video"]
        if placed is not None:
            for label, foley, blocks in audio_tracks(placed, self.rate, self.origin):
                self.rows.append(Row("foley" if foley else "audio", label))
                for title, start, duration, sub, source in blocks:
                    item = AudioItem(title, start, duration, len(self.rows) - 1, foley, sub, source)
                    self.scene().addItem(item)
                    self.audio_items.append(item)
                    self.end = max(self.end, start + duration)
        self._layout()

    def set_clip_error(self, clip_id: str, message: str | None) -> None:
        if clip_id in self.items:
            self.items[clip_id].set_error(message)

    # -- geometry -------------------------------------------------------------------------------
    def frame_x(self, frame: float) -> float:
        return HEADER_W + (frame - self.origin) * self.ppf

    def x_frame(self, x: float) -> int:
        return self.origin + math.floor((x - HEADER_W) / self.ppf + 1e-9)

    def _layout(self) -> None:
        self.row_top, y = [], float(RULER_H + 4)
        for r in self.rows:
            self.row_top.append(y)
            y += ROW_H[r.kind] + 2
        for item in list(self.items.values()) + self.audio_items:
            x = self.frame_x(item.start)
            height = ROW_H[self.rows[item.row].kind]
            item.setRect(scene_rect(x, self.row_top[item.row], item.duration * self.ppf, height))
        width = self.frame_x(self.end) + 200
        self.scene().setSceneRect(QRectF(0, 0, max(width, self.viewport().width()), y + 20))
        self.viewport().update()

    def set_zoom(self, ppf: float, anchor_x: float | None = None) -> None:
        """Pixels per frame; the frame under ``anchor_x`` (viewport x) stays where it is."""
        ppf = min(MAX_PPF, max(MIN_PPF, ppf))
        anchor_x = self.viewport().width() / 2 if anchor_x is None else anchor_x
        frame = (self.mapToScene(int(anchor_x), 0).x() - HEADER_W) / self.ppf
        self.ppf = ppf
        self._layout()
        bar = self.horizontalScrollBar()
        bar.setValue(int(HEADER_W + frame * ppf - anchor_x))

    def zoom_in(self) -> None:
        self.auto_fit = False
        self.set_zoom(self.ppf * 1.5)

    def zoom_out(self) -> None:
        self.auto_fit = False
        self.set_zoom(self.ppf / 1.5)

    def fit(self) -> None:
        span = max(self.end - self.origin, 1)
        self.set_zoom(max(MIN_PPF, (self.viewport().width() - HEADER_W - 40) / span), 0)
        self.horizontalScrollBar().setValue(0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.auto_fit and self.clips:
            self.fit()

    def clip_item(self, clip_id: str) -> ClipItem:
        return self.items[clip_id]

    def clip_viewport_pos(self, clip_id: str):
        """Viewport point at the middle of a clip's block (scrolls it into view first)."""
        item = self.items[clip_id]
        self.ensureVisible(item, 10, 10)
        return self.mapFromScene(item.rect().center())

    # -- events ---------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        pos = event.position()
        if pos.y() < RULER_H and pos.x() >= HEADER_W and event.button() == Qt.LeftButton:
            self._scrubbing = True
            self.set_playhead(self.x_frame(self.mapToScene(pos.toPoint()).x()))
            return
        if pos.x() < HEADER_W:
            return
        item = self.itemAt(pos.toPoint())
        if isinstance(item, ClipItem) and event.button() == Qt.LeftButton:
            mods = event.modifiers()
            if self.selection.clicked(item.clip_id, bool(mods & Qt.ShiftModifier), bool(mods & Qt.ControlModifier),
                                      item.isSelected()):
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._scrubbing:
            self.set_playhead(max(self.origin, self.x_frame(self.mapToScene(event.position().toPoint()).x())))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._scrubbing:
            self._scrubbing = False
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        pos = event.position()
        if pos.x() < HEADER_W:
            row = self._row_at(self.mapToScene(pos.toPoint()).y())
            if row is not None and self.rows[row].kind == "video":
                self.select_track(self.rows[row].track)
            return
        super().mouseDoubleClickEvent(event)

    def _row_at(self, scene_y: float) -> int | None:
        for i, top in enumerate(self.row_top):
            if top <= scene_y < top + ROW_H[self.rows[i].kind]:
                return i
        return None

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.ControlModifier:
            steps = event.angleDelta().y() / 120
            self.auto_fit = False
            self.set_zoom(self.ppf * (1.25 ** steps), event.position().x())
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event) -> None:
        key, mods = event.key(), event.modifiers()
        step = 10 if mods & Qt.ShiftModifier else 1
        actions = {
            Qt.Key_I: self.mark_in, Qt.Key_O: self.mark_out, Qt.Key_Plus: self.zoom_in,
            Qt.Key_Equal: self.zoom_in, Qt.Key_Minus: self.zoom_out, Qt.Key_Backslash: self.fit,
            Qt.Key_Left: lambda: self.set_playhead(max(self.origin, self.playhead - step)),
            Qt.Key_Right: lambda: self.set_playhead(self.playhead + step),
            Qt.Key_Home: lambda: self.set_playhead(self.origin),
            Qt.Key_End: lambda: self.set_playhead(self.end),
        }
        if key == Qt.Key_A and mods & Qt.ControlModifier:
            self.select_all()
        elif key in actions and not mods & Qt.ControlModifier:
            actions[key]()
        else:
            super().keyPressEvent(event)

    # -- painting -------------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, QColor(theme.BACKGROUND))
        for i, top in enumerate(self.row_top):
            colour = theme.TRACK_EVEN if i % 2 == 0 else theme.TRACK_ODD
            painter.fillRect(QRectF(rect.left(), top, rect.width(), ROW_H[self.rows[i].kind]), QColor(colour))

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        painter.save()
        painter.resetTransform()  # viewport coordinates: overlays do not scroll
        w, h = self.viewport().width(), self.viewport().height()
        overlays.paint_marks(self, painter, h)
        overlays.paint_ruler(self, painter, w)
        overlays.paint_headers(self, painter, h)
        overlays.paint_playhead(self, painter, h)
        painter.restore()

    def frame_to_x(self, frame: int) -> float:
        """Viewport x of a frame's left edge (what the overlays paint at)."""
        return self.mapFromScene(QPointF(self.frame_x(frame), 0)).x()

    def ruler_ticks(self) -> list[tuple[int, str | None]]:
        """(frame, timecode label or None for a minor tick) across the visible width."""
        return overlays.ruler_ticks(self)
