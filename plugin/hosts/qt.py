"""Qt inside hosts: a binding shim (PySide6, else PySide2 for Nuke 15 and older) and the panel as
a take chooser for ``session.run``.

The panel contract this module relies on (ui/main_window.py):
    FoleyPanel.choose_takes(timeline_path, clip_ids, *, engine, params, media_dir, parent=None)
        -> dict[clip_id, Take] | None     (modal; None when closed without Apply)
When the panel or Qt is not usable, callers fall back to the headless path.
"""
from __future__ import annotations

import importlib
import logging
import os
import sys
from types import ModuleType

log = logging.getLogger(__name__)

BINDINGS = ("PySide6", "PySide2")


def binding() -> tuple[str, ModuleType, ModuleType, ModuleType]:
    """(name, QtCore, QtGui, QtWidgets) of the first importable binding; the host's own one wins
    when already loaded (Nuke ships its PySide)."""
    order = sorted(BINDINGS, key=lambda b: b not in sys.modules)
    errors = []
    for name in order:
        try:
            mods = [importlib.import_module(f"{name}.{m}") for m in ("QtCore", "QtGui", "QtWidgets")]
            return (name, *mods)
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise ImportError("no Qt binding (PySide6 or PySide2): " + "; ".join(errors))


def qt_usable() -> bool:
    """A panel can be shown: not forced headless, a display exists, a binding imports."""
    if os.environ.get("MASKVAT_FOLEY_HEADLESS"):
        return False
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) \
            and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        return False
    try:
        binding()
    except ImportError:
        return False
    return True


def panel_chooser(engine, params, media_dir: str, parent=None):
    """A ``session.Chooser`` that opens the panel, or None (use the headless path)."""
    if not qt_usable():
        return None
    try:
        from maskvat_foley.ui.main_window import FoleyPanel
    except ImportError as exc:
        log.info("panel not available (%s); generating headless", exc)
        return None
    choose = getattr(FoleyPanel, "choose_takes", None)
    if choose is None:
        log.info("this panel has no choose_takes(); generating headless")
        return None

    def chooser(timeline_path, clip_ids):
        name, QtCore, QtGui, QtWidgets = binding()
        if QtWidgets.QApplication.instance() is None:  # hosts without Qt of their own (Resolve)
            QtWidgets.QApplication([])
        return choose(timeline_path, list(clip_ids), engine=engine, params=params,
                      media_dir=media_dir, parent=parent)

    return chooser
