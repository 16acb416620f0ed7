"""The refurbishment station: detection, diagnostics, certified wipes, grading, sync."""

__version__ = "0.1.0"
