"""The panel's menus, actions and keyboard shortcuts (File, Edit, Generate, View).

Every action is added to the panel as well as to its menu, with a widget-with-children context, so
the shortcuts work when a host docks the panel without showing its menu bar.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence


def add_action(panel, menu, text: str, slot, shortcut=None) -> QAction:
    act = QAction(text, panel)
    if shortcut is not None:
        act.setShortcut(QKeySequence(shortcut))
        act.setShortcutContext(Qt.WidgetWithChildrenShortcut)  # works docked inside a host
    act.triggered.connect(lambda *_: slot())  # drop the checked flag: slots take no arguments
    menu.addAction(act)
    panel.addAction(act)
    return act


def build_actions(panel) -> None:
    """Fill ``panel.menu_bar``; slots are the panel's (and its timeline view's) methods."""
    view = panel.view
    f = panel.menu_bar.addMenu("&File")
    add_action(panel, f, "Open timeline or video…", panel.dialogs.open, QKeySequence.Open)
    add_action(panel, f, "Export…", panel.dialogs.export, "Ctrl+E")
    add_action(panel, f, "Relink missing media…", panel.dialogs.relink)
    e = panel.menu_bar.addMenu("&Edit")
    undo = panel.undo_stack.createUndoAction(panel, "Undo")
    undo.setShortcut(QKeySequence("Ctrl+Z"))
    redo = panel.undo_stack.createRedoAction(panel, "Redo")
    redo.setShortcut(QKeySequence("Ctrl+Shift+Z"))
    for act in (undo, redo):
        act.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        e.addAction(act)
        panel.addAction(act)
    e.addSeparator()
    add_action(panel, e, "Select all clips", view.select_all, "Ctrl+A")
    add_action(panel, e, "Select clips of the track of the selection", panel._select_track)
    add_action(panel, e, "Mark In", view.mark_in, "I")
    add_action(panel, e, "Mark Out", view.mark_out, "O")
    add_action(panel, e, "Clear marks", view.clear_marks, "Alt+X")
    add_action(panel, e, "Remove take", panel._remove_current, QKeySequence.Delete)
    g = panel.menu_bar.addMenu("&Generate")
    add_action(panel, g, "Generate", lambda: panel.generate("generate"), "Ctrl+G")
    add_action(panel, g, "Regenerate (new seed)", lambda: panel.generate("regenerate"), "Ctrl+Shift+G")
    add_action(panel, g, "Re-run (same seed)", lambda: panel.generate("rerun"))
    add_action(panel, g, "Cancel", panel.cancel, "Esc")
    v = panel.menu_bar.addMenu("&View")
    add_action(panel, v, "Zoom in", view.zoom_in, "+")
    add_action(panel, v, "Zoom out", view.zoom_out, "-")
    add_action(panel, v, "Zoom to fit", view.fit, "\\")
    add_action(panel, v, "Play / stop take", panel.toggle_play, "Space")
