"""Selection, playhead and In/Out marks of the timeline view.

An object of its own, handed the view it works on: it reads the view's clips and clip items,
repaints its viewport, and emits the view's selectionChanged / playheadMoved / marksChanged
signals. It owns the playhead, the marks and the shift-click anchor.
"""
from __future__ import annotations


class TimelineSelection:
    def __init__(self, view):
        self.view = view
        self.playhead = 0
        self.mark_in: int | None = None
        self.mark_out: int | None = None  # exclusive: the end of the frame marked Out
        self.anchor: str | None = None  # where a shift-click range starts
        self.quiet = False  # while True, item changes emit no selectionChanged

    # -- selection ------------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        items = self.view.items
        return [c.id for c in self.view.clips if items[c.id].isSelected()]

    def select_ids(self, ids) -> None:
        wanted = set(ids)
        self.quiet = True  # one selectionChanged for the whole change, not one per item
        for cid, item in self.view.items.items():
            item.setSelected(cid in wanted)
        self.quiet = False
        self.emit_selection()

    def select_track(self, track: int) -> None:
        self.select_ids([c.id for c in self.view.clips if c.track == track])

    def select_all(self) -> None:
        self.select_ids(self.view.items)

    def emit_selection(self) -> None:
        if not self.quiet:
            self.view.selectionChanged.emit(self.selected_ids())

    def range_on_track(self, clip_id: str) -> list[str]:
        """Clips between the anchor and ``clip_id`` on the anchor's track (shift-click)."""
        items = self.view.items
        anchor = items.get(self.anchor or "")
        target = items[clip_id]
        if anchor is None or anchor.info.track != target.info.track:
            return [clip_id]
        lo, hi = sorted((anchor.start, target.start))
        return [c.id for c in self.view.clips if c.track == target.info.track and lo <= c.record_start <= hi]

    def clicked(self, clip_id: str, shift: bool, ctrl: bool, was_selected: bool) -> bool:
        """A click on a clip; True when it was handled here (shift: the range on its track), False
        to let the scene select as usual after the anchor moved."""
        if shift:
            self.select_ids(set(self.selected_ids()) | set(self.range_on_track(clip_id)))
            return True
        if not ctrl or not was_selected:
            self.anchor = clip_id
        elif self.anchor == clip_id:  # toggled off: the range starts from what stays selected
            rest = [i for i in self.selected_ids() if i != clip_id]
            self.anchor = rest[0] if rest else None
        return False

    # -- playhead and marks ---------------------------------------------------------------------
    def set_playhead(self, frame: int) -> None:
        self.playhead = int(frame)
        self.view.viewport().update()
        self.view.playheadMoved.emit(self.playhead)

    def set_mark_in(self) -> None:
        self.mark_in = self.playhead
        if self.mark_out is not None and self.mark_out <= self.mark_in:
            self.mark_out = None
        self._marks_changed()

    def set_mark_out(self) -> None:
        """Out is the end of the frame under the playhead (marks are inclusive, as in an NLE)."""
        self.mark_out = self.playhead + 1
        if self.mark_in is not None and self.mark_in >= self.mark_out:
            self.mark_in = None
        self._marks_changed()

    def clear_marks(self) -> None:
        self.mark_in = self.mark_out = None
        self._marks_changed()

    def _marks_changed(self) -> None:
        self.view.viewport().update()
        self.view.marksChanged.emit(self.mark_in, self.mark_out)
        if self.mark_in is not None and self.mark_out is not None and self.view.clips:
            from maskvat_foley.core.timeline.selection import select

            chosen = select(self.view.clips, tc_range=(self.mark_in, self.mark_out))
            self.select_ids([c.id for c in chosen])
