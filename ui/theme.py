"""The panel's dark look (NLE-style), and the colours that carry meaning (clip status, selection)."""
from __future__ import annotations

# Clip fill by ClipInfo.status; "flagged" (speed effect, transition, nested) and "error" (a failed
# generation) take precedence over a plain "ok".
STATUS_COLOURS = {
    "ok": "#3b6f9c", "missing": "#8e3b3b", "offline": "#9a6428", "unsupported": "#5f5480",
    "flagged": "#7d6a34", "error": "#b83a3a", "short": "#8a4f6d",
}
FOLEY_COLOUR = "#3f8a5a"
AUDIO_COLOUR = "#4a5560"
SELECTED_OUTLINE = "#ffcc33"
PLAYHEAD_COLOUR = "#ff5a4a"
MARK_COLOUR = "#2f8fd8"
BACKGROUND = "#1e1f22"
PANEL = "#26282c"
TRACK_EVEN = "#232529"
TRACK_ODD = "#292b30"
RULER = "#2e3035"
TEXT = "#d8dadf"
TEXT_DIM = "#9096a0"
ACCENT = "#e0a030"

STYLE_SHEET = f"""
QWidget {{ background: {PANEL}; color: {TEXT}; font-size: 12px; }}
QMainWindow, QMenuBar, QStatusBar {{ background: {BACKGROUND}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: #3a3d44; }}
QMenu {{ background: {PANEL}; border: 1px solid #3a3d44; }}
QGroupBox {{ border: 1px solid #3a3d44; border-radius: 4px; margin-top: 14px; padding: 6px 6px 4px 6px;
            font-weight: bold; color: {TEXT_DIM}; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; }}
QLabel#value {{ color: {TEXT}; font-weight: normal; }}
QLineEdit, QSpinBox, QDoubleSpinBox, QPlainTextEdit, QTreeWidget, QListWidget {{
    background: #1b1c1f; border: 1px solid #3a3d44; border-radius: 3px; padding: 2px;
    selection-background-color: #3d5f86; }}
QHeaderView::section {{ background: #2e3035; color: {TEXT_DIM}; border: 0; padding: 3px 6px; }}
QPushButton, QToolButton {{ background: #363940; border: 1px solid #4a4e57; border-radius: 3px;
    padding: 4px 10px; }}
QPushButton:hover, QToolButton:hover {{ background: #40444c; }}
QPushButton:disabled {{ color: #666a72; background: #2c2e33; }}
QPushButton#primary {{ background: #a06a14; border-color: {ACCENT}; color: #fff; font-weight: bold; }}
QPushButton#primary:disabled {{ background: #4a3a20; color: #8a7a60; }}
QToolButton:checked {{ background: #6a4a14; border-color: {ACCENT}; }}
QProgressBar {{ background: #1b1c1f; border: 1px solid #3a3d44; border-radius: 3px; text-align: center;
    height: 14px; }}
QProgressBar::chunk {{ background: #3f8a5a; border-radius: 2px; }}
QSplitter::handle {{ background: {BACKGROUND}; }}
QScrollBar:horizontal {{ background: {BACKGROUND}; height: 12px; margin: 0; }}
QScrollBar:vertical {{ background: {BACKGROUND}; width: 12px; margin: 0; }}
QScrollBar::handle {{ background: #474a52; border-radius: 4px; min-width: 30px; min-height: 30px; margin: 2px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
QGraphicsView {{ border: 0; background: {BACKGROUND}; }}
"""


def apply_dark(app) -> None:
    """Fusion style + the dark sheet: consistent on every platform and offscreen."""
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    pal = QPalette()
    for role, colour in ((QPalette.Window, PANEL), (QPalette.WindowText, TEXT), (QPalette.Base, "#1b1c1f"),
                         (QPalette.AlternateBase, TRACK_ODD), (QPalette.Text, TEXT), (QPalette.Button, "#363940"),
                         (QPalette.ButtonText, TEXT), (QPalette.Highlight, "#3d5f86"),
                         (QPalette.HighlightedText, "#ffffff"), (QPalette.ToolTipBase, PANEL),
                         (QPalette.ToolTipText, TEXT)):
        pal.setColor(role, QColor(colour))
    app.setPalette(pal)
    app.setStyleSheet(STYLE_SHEET)
