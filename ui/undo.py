"""Undoable take choices and removals (QUndoStack). Each command records only its own clip's
change, so generation that adds takes in between does not get undone with it."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from maskvat_foley.ui.session import Session


class ChooseTake(QUndoCommand):
    def __init__(self, session: Session, clip_id: str, seed: int, changed: Callable[[str], None]):
        super().__init__(f"use take {seed} on {clip_id}")
        self.session, self.clip_id, self.changed = session, clip_id, changed
        self.old, self.new = session.active[clip_id], seed

    def redo(self) -> None:
        self.session.set_active(self.clip_id, self.new)
        self.changed(self.clip_id)

    def undo(self) -> None:
        self.session.set_active(self.clip_id, self.old)
        self.changed(self.clip_id)


class RemoveTake(QUndoCommand):
    def __init__(self, session: Session, clip_id: str, seed: int, changed: Callable[[str], None]):
        super().__init__(f"remove take {seed} of {clip_id}")
        self.session, self.clip_id, self.seed, self.changed = session, clip_id, seed, changed
        self.active = session.active[clip_id]
        self.take, self.index = None, 0

    def redo(self) -> None:
        self.take, self.index = self.session.remove_take(self.clip_id, self.seed)
        self.changed(self.clip_id)

    def undo(self) -> None:
        self.session.restore_take(self.clip_id, self.take, self.index, self.active)
        self.changed(self.clip_id)
