"""Shared pieces of the TUI's Pilot tests: a hardware source with nothing attached (the test
posts the device events itself), attaching a tablet, and the job log's text."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Log

from station.hw.udev import TabletAttached
from station.hw.usb import UsbTablet
from station.ui.app import StationApp
from station.ui.messages import DeviceEvent
from tests.station.tui_waits import wait_for


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


async def attach_tablet(pilot: Pilot[int], app: StationApp, tablet: UsbTablet) -> None:
    """Plug a tablet in (as detection would report it) and wait until its row is selected."""
    app.post_message(DeviceEvent(TabletAttached(tablet)))
    await wait_for(pilot, lambda: app.selected() is not None)
