"""Selection, playhead and In/Out marks of the timeline view, as a mixin of TimelineView.

A mixin rather than a helper object so the methods stay bound to the view itself: the public API,
the signals they emit and the attributes the tests read (mark_in_frame, playhead, ...) are unchanged.
The view provides: clips, items, playhead, mark_in_frame, mark_out_frame, _anchor, _quiet and the
selectionChanged / playheadMoved / marksChanged signals.
"""
from __future__ import annotations


class SelectionMixin:
    # -- selection ------------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        return [c.id for c in self.clips if self.items[c.id].isSelected()]

    def select_ids(self, ids) -> None:
        wanted = set(ids)
        self._quiet = True  # one selectionChanged for the whole change, not one per item
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
