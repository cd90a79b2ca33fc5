"""PyQt6 live stylization window (installed as ``rtstyle_gui``)."""
