"""rtstyle: real-time video stylization (runtime core)."""

__version__ = "0.1.0"
