"""The window's look: Qt's Fusion style with a dark palette.

Dark, because the video is the point: a light frame around a picture makes it look washed out
and draws the eye away from it.  Fusion renders the same on every platform (and offscreen), so the
screenshots the tests take match what users see.
"""

from __future__ import annotations

from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication

_ROLES = {
    QPalette.ColorRole.Window: QColor(37, 37, 41),
    QPalette.ColorRole.WindowText: QColor(225, 225, 230),
    QPalette.ColorRole.Base: QColor(27, 27, 30),
    QPalette.ColorRole.AlternateBase: QColor(45, 45, 50),
    QPalette.ColorRole.Text: QColor(225, 225, 230),
    QPalette.ColorRole.Button: QColor(50, 50, 56),
    QPalette.ColorRole.ButtonText: QColor(225, 225, 230),
    QPalette.ColorRole.Highlight: QColor(74, 144, 226),
    QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
    QPalette.ColorRole.ToolTipBase: QColor(50, 50, 56),
    QPalette.ColorRole.ToolTipText: QColor(225, 225, 230),
    QPalette.ColorRole.PlaceholderText: QColor(130, 130, 140),
}

STYLE_SHEET = """
QGroupBox { font-weight: 600; border: 1px solid #3a3a40; border-radius: 6px; margin-top: 12px; padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; color: #c8c8d0; }
QFrame#styleCard { background: #2c2c31; border: 1px solid #34343a; border-radius: 6px; }
QFrame#styleCard[selected="true"] { border: 1px solid #4a90e2; background: #2f3440; }
QFrame#faultBanner { background: #5a2a22; border-bottom: 1px solid #8a3b2e; }
QFrame#faultBanner QLabel { color: #ffe2dc; }
QLabel#hint { color: #9a9aa5; }
QLabel#readout { color: #b8e0b8; font-family: monospace; padding: 0 8px; }
QToolBar { spacing: 6px; padding: 4px; border: none; }
QToolButton { padding: 3px 8px; }
QToolButton:checked { background: #3d4a5e; border-radius: 4px; }
QToolButton#recordButton { color: #ff7b72; }
QToolButton#recordButton:checked { background: #7a2525; color: #ffffff; border-radius: 4px; }
"""


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in _ROLES.items():
        palette.setColor(role, colour)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(110, 110, 118))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)
