"""Waiting for the TUI in Pilot tests: on conditions, never on fixed delays.

The deadline is a guard against a hang, not a claim about speed: on a loaded 2-core
machine a worker thread, a layout pass or a server round trip can take seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.css.query import NoMatches
from textual.errors import NoWidget
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget

DEADLINE_S = 60.0


async def wait_for(
    pilot: Pilot[int], predicate: Callable[[], object], timeout: float = DEADLINE_S
) -> None:
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` (a guard)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        await pilot.pause(0.05)


def _laid_out(pilot: Pilot[int], widget: Widget | None) -> bool:
    """``widget`` has its place on the screen and is what a click at its centre would hit."""
    if widget is None or widget.region.area == 0:
        return False
    try:
        return pilot.app.get_widget_at(*widget.region.center)[0] is widget
    except NoWidget:
        return False


async def dialog(pilot: Pilot[int], kind: type[Screen[object]]) -> Screen[object]:
    """Wait until a screen of ``kind`` is on top, mounted, laid out and has its focus set
    (keys pressed before that would go elsewhere); a screen with nothing to focus, until
    it is laid out."""

    def ready() -> bool:
        screen = pilot.app.screen
        if not isinstance(screen, kind):
            return False
        if screen.focus_chain:
            return screen.focused is not None and screen.focused.region.area > 0
        return any(child.region.area for child in screen.children)

    await wait_for(pilot, ready)
    return pilot.app.screen


async def click(pilot: Pilot[int], selector: str) -> None:
    """Click a widget of the top screen once it is laid out where the click will land
    (a screen just pushed may not be: the click would hit whatever is there)."""

    def target() -> Widget | None:
        try:
            return pilot.app.screen.query_one(selector)
        except NoMatches:
            return None

    await wait_for(pilot, lambda: _laid_out(pilot, target()))
    assert await pilot.click(selector), f"the click missed {selector}"
