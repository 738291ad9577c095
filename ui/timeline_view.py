"""The timeline: tracks and clips to scale, a timecode ruler at the exact rate, a playhead, In/Out
marks, and editor-style selection (click, shift-click range on a track, ctrl-click toggle, rubber
band, whole track by double-clicking its header).

Scene x is ``HEADER_W + (frame - origin) * px_per_frame`` with frames counted from the timecode
origin, so every edge is an exact frame. The ruler and the track headers are painted over the
viewport (they stay put while the clips scroll under them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView

from maskvat_foley.core.timeline import rates
from maskvat_foley.ui import theme
from maskvat_foley.ui.timeline_items import AudioItem, ClipItem, scene_rect

HEADER_W = 132
RULER_H = 30
ROW_H = {"video": 46, "audio": 34, "foley": 40}
MIN_PPF, MAX_PPF = 0.05, 40.0


@dataclass(frozen=True)
class Row:
    kind: str  # "video", "audio" or "foley"
    label: str
    track: int | None = None  # video track number (1-based) for video rows


class TimelineView(QGraphicsView):
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
        self.playhead = 0
        self.mark_in_frame: int | None = None
        self.mark_out_frame: int | None = None
        self._anchor: str | None = None
        self._scrubbing = False
        self._quiet = False
        self.auto_fit = True  # fit the whole edit on resize until the user zooms
        self.scene().selectionChanged.connect(self._emit_selection)

    # -- content --------------------------------------------------------------------------------
    def set_timeline(self, clips: list, rate: Fraction, origin: int, placed=None) -> None:
        """Show ``clips`` (ClipInfo) and the audio tracks of ``placed`` (Foley as it will export)."""
        self._quiet = True
        self.scene().clear()
        self.items, self.audio_items = {}, []
        self.clips, self.rate, self.origin = list(clips), Fraction(rate), origin
        self.playhead = max(self.playhead, origin) if self.playhead else origin
        self.mark_in_frame = self.mark_out_frame = None
        self.auto_fit = True
        tracks = sorted({(c.track, c.track_name) for c in self.clips}, reverse=True)  # V1 lowest
        self.rows = [Row("video", f"V{n}  {name}" if name and name != f"V{n}" else f"V{n}", n) for n, name in tracks]
        row_of = {r.track: i for i, r in enumerate(self.rows)}
        for c in self.clips:
            item = ClipItem(c, row_of[c.track])
            self.scene().addItem(item)
            self.items[c.id] = item
        self.end = max([c.record_end for c in self.clips] + [origin + 1])
        self._quiet = False
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
            item.setRect(scene_rect(x, self.row_top[item.row], item.duration * self.ppf, ROW_H[self.rows[item.row].kind]))
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

    # -- selection ------------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        return [c.id for c in self.clips if self.items[c.id].isSelected()]

    def select_ids(self, ids) -> None:
        wanted = set(ids)
        self._quiet = True
        for cid, item in self.items.items():
            item.setSelected(cid in wanted)
        self._quiet = False
        self._emit_selection()

    def select_track(self, track: int) -> None:
        self.select_ids([c.id for c in self.clips if c.track == track])

    def select_all(self) -> None:
        self.select_ids(self.items)

    def _emit_selection(self) -> None:
        if not self._quiet:
            self.selectionChanged.emit(self.selected_ids())

    def _range_on_track(self, clip_id: str) -> list[str]:
        """Clips between the anchor and ``clip_id`` on the anchor's track (shift-click)."""
        anchor = self.items.get(self._anchor or "")
        target = self.items[clip_id]
        if anchor is None or anchor.info.track != target.info.track:
            return [clip_id]
        lo, hi = sorted((anchor.start, target.start))
        return [c.id for c in self.clips if c.track == target.info.track and lo <= c.record_start <= hi]

    # -- playhead and marks ---------------------------------------------------------------------
    def set_playhead(self, frame: int) -> None:
        self.playhead = int(frame)
        self.viewport().update()
        self.playheadMoved.emit(self.playhead)

    def mark_in(self) -> None:
        self.mark_in_frame = self.playhead
        if self.mark_out_frame is not None and self.mark_out_frame <= self.mark_in_frame:
            self.mark_out_frame = None
        self._marks_changed()

    def mark_out(self) -> None:
        """Out is the end of the frame under the playhead (marks are inclusive, as in an NLE)."""
        self.mark_out_frame = self.playhead + 1
        if self.mark_in_frame is not None and self.mark_in_frame >= self.mark_out_frame:
            self.mark_in_frame = None
        self._marks_changed()

    def clear_marks(self) -> None:
        self.mark_in_frame = self.mark_out_frame = None
        self._marks_changed()

    def _marks_changed(self) -> None:
        self.viewport().update()
        self.marksChanged.emit(self.mark_in_frame, self.mark_out_frame)
        if self.mark_in_frame is not None and self.mark_out_frame is not None and self.clips:
            from maskvat_foley.core.timeline.selection import select

            chosen = select(self.clips, tc_range=(self.mark_in_frame, self.mark_out_frame))
            self.select_ids([c.id for c in chosen])

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
            if mods & Qt.ShiftModifier:
                self.select_ids(set(self.selected_ids()) | set(self._range_on_track(item.clip_id)))
                return
            if not mods & Qt.ControlModifier or not item.isSelected():
                self._anchor = item.clip_id
            elif self._anchor == item.clip_id:  # toggled off: the range starts from what stays selected
                rest = [i for i in self.selected_ids() if i != item.clip_id]
                self._anchor = rest[0] if rest else None
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
        self._paint_marks(painter, h)
        self._paint_ruler(painter, w)
        self._paint_headers(painter, h)
        x = self.mapFromScene(QPointF(self.frame_x(self.playhead), 0)).x()
        if x >= HEADER_W:
            painter.setPen(QPen(QColor(theme.PLAYHEAD_COLOUR), 1.5))
            painter.drawLine(QPointF(x, 0), QPointF(x, h))
            painter.setBrush(QColor(theme.PLAYHEAD_COLOUR))
            painter.drawPolygon([QPointF(x - 6, 0), QPointF(x + 6, 0), QPointF(x, 9)])
        painter.restore()

    def _vx(self, frame: int) -> float:
        return self.mapFromScene(QPointF(self.frame_x(frame), 0)).x()

    def _paint_marks(self, painter: QPainter, h: int) -> None:
        if self.mark_in_frame is None and self.mark_out_frame is None:
            return
        a = self._vx(self.mark_in_frame if self.mark_in_frame is not None else self.origin)
        b = self._vx(self.mark_out_frame if self.mark_out_frame is not None else self.end)
        colour = QColor(theme.MARK_COLOUR)
        colour.setAlpha(40)
        painter.fillRect(QRectF(a, RULER_H, b - a, h), colour)
        colour.setAlpha(200)
        painter.fillRect(QRectF(a, RULER_H - 6, b - a, 6), colour)

    def _tick_step(self) -> tuple[int, int]:
        """(label step, minor step) in frames: labels at least ~110 px apart, on round values."""
        fps = max(1, round(self.rate))
        steps = [1, 2, 5, 10, fps, 2 * fps, 5 * fps, 10 * fps, 30 * fps, 60 * fps, 300 * fps, 600 * fps, 3600 * fps]
        label = next((s for s in steps if s * self.ppf >= 110), steps[-1])
        minor = next((s for s in reversed(steps) if s < label and s * self.ppf >= 8 and label % s == 0), label)
        return label, minor

    def ruler_ticks(self) -> list[tuple[int, str | None]]:
        """(frame, timecode label or None for a minor tick) across the visible width."""
        w = self.viewport().width()
        first = max(self.origin, self.x_frame(self.mapToScene(HEADER_W, 0).x()))
        last = self.x_frame(self.mapToScene(w, 0).x()) + 1
        label, minor = self._tick_step()
        # Ticks count from the timeline's start, so labels fall on whole seconds of the edit.
        start = first - ((first - self.origin) % minor)
        return [(f, rates.to_timecode(f, self.rate) if (f - self.origin) % label == 0 else None)
                for f in range(start, last + minor, minor) if self._vx(f) >= HEADER_W]

    def _paint_ruler(self, painter: QPainter, w: int) -> None:
        painter.fillRect(QRectF(0, 0, w, RULER_H), QColor(theme.RULER))
        painter.setPen(QColor("#17181a"))
        painter.drawLine(0, RULER_H, w, RULER_H)
        font = QFont(painter.font())
        font.setPixelSize(10)
        painter.setFont(font)
        for frame, text in self.ruler_ticks():
            x = self._vx(frame)
            painter.setPen(QColor(theme.TEXT_DIM if text else "#5a5e66"))
            painter.drawLine(QPointF(x, RULER_H - (12 if text else 5)), QPointF(x, RULER_H))
            if text:
                painter.setPen(QColor(theme.TEXT))
                painter.drawText(QPointF(x + 3, 12), text)
        if self.mark_in_frame is not None or self.mark_out_frame is not None:
            painter.setPen(QColor(theme.MARK_COLOUR))
            for frame, glyph in ((self.mark_in_frame, "{"), (self.mark_out_frame, "}")):
                if frame is not None:
                    painter.drawText(QPointF(self._vx(frame) - 3, RULER_H - 8), glyph)

    def _paint_headers(self, painter: QPainter, h: int) -> None:
        painter.fillRect(QRectF(0, 0, HEADER_W, h), QColor(theme.PANEL))
        painter.setPen(QColor(theme.TEXT))
        font = QFont(painter.font())
        font.setPixelSize(11)
        font.setBold(True)
        painter.setFont(font)
        tc = rates.to_timecode(self.playhead, self.rate)
        painter.setPen(QColor(theme.ACCENT))
        painter.drawText(QRectF(8, 0, HEADER_W - 8, RULER_H), Qt.AlignVCenter | Qt.AlignLeft, tc)
        for i, row in enumerate(self.rows):
            top = self.mapFromScene(QPointF(0, self.row_top[i])).y()
            r = QRectF(0, top, HEADER_W - 1, ROW_H[row.kind])
            if r.bottom() < RULER_H:
                continue
            painter.fillRect(r, QColor(theme.TRACK_EVEN if i % 2 == 0 else theme.TRACK_ODD).lighter(112))
            painter.fillRect(QRectF(0, top, 4, ROW_H[row.kind]),
                             QColor({"video": "#3b6f9c", "audio": theme.AUDIO_COLOUR, "foley": theme.FOLEY_COLOUR}[row.kind]))
            painter.setPen(QColor(theme.TEXT))
            fm = painter.fontMetrics()
            painter.drawText(r.adjusted(10, 0, -4, 0), Qt.AlignVCenter | Qt.AlignLeft,
                             fm.elidedText(row.label, Qt.ElideRight, int(r.width() - 14)))
        painter.setPen(QColor("#17181a"))
        painter.drawLine(HEADER_W - 1, 0, HEADER_W - 1, h)


def audio_tracks(timeline, rate: Fraction, origin: int) -> list[tuple[str, bool, list[tuple]]]:
    """(label, is Foley, [(title, record start, duration, subtitle, source clip id)]) per audio track."""
    import opentimelineio as otio

    from maskvat_foley.core.timeline.placement import FOLEY_KEY, FOLEY_TRACK

    out = []
    audio = [t for t in timeline.tracks if isinstance(t, otio.schema.Track) and t.kind == otio.schema.TrackKind.Audio]
    for n, track in enumerate(audio, start=1):
        mark = track.metadata.get(FOLEY_KEY)
        foley = bool(mark and dict(mark).get("foley_track")) or (track.name or "").startswith(FOLEY_TRACK)
        blocks = []
        for item in track:
            if not isinstance(item, otio.schema.Clip):
                continue
            rng = item.range_in_parent()
            meta = dict(item.metadata.get(FOLEY_KEY, {}))
            sub = ""
            if foley and meta:
                score = meta.get("sync_score")
                sub = f"{meta.get('active_key', '')}" + (f"  sync {float(score):.2f}" if score is not None else "") \
                    + f"  {len(meta.get('take_keys', []))} take(s)"
            blocks.append((item.name, origin + rates.frames(rng.start_time, rate), rates.frames(rng.duration, rate),
                           sub, meta.get("source_clip_id")))
        out.append((track.name or f"A{n}", foley, blocks))
    return out
