"""Shared pieces of the TUI's Pilot tests: a hardware source with nothing attached (the test
posts the device events itself) and the job log's text."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Log

from station.ui.app import StationApp


class NoHardware:
    """A source with nothing attached: the device events are posted by the test."""

    on_event: Callable[[object], None] = staticmethod(lambda event: None)

    def start(self) -> list[object]:
        """Nothing attached."""
        return []

    def stop(self) -> None:
        """Nothing to stop."""


def log_text(app: StationApp) -> str:
    """Everything in the job log pane."""
    return "\n".join(app.query_one("#log", Log).lines)
