"""A device's history view: earlier wipes, diagnoses, grades and state changes, across sessions.

The history comes from the server when it answers (whatever station did the work),
else from this station's own records, and the view says which.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from station.history import (
    LOCAL_NO_SERVER,
    LOCAL_NOT_ON_SERVER,
    LOCAL_UNREACHABLE,
    DeviceHistory,
    load_history,
)
from station.ui.i18n import text

HISTORY_COLUMNS = ("when", "what", "status", "detail", "cert")
_SOURCE_TEXT = {
    LOCAL_UNREACHABLE: "hist_unreachable",
    LOCAL_NOT_ON_SERVER: "hist_not_on_server",
    LOCAL_NO_SERVER: "hist_no_server",
}


def history_source(history: DeviceHistory, language: str) -> str:
    """Where the history came from, in words (the server's error kept as it said it)."""
    if history.from_server:
        state = f" ({history.state})" if history.state else ""
        line = text(language, "hist_server") + state
    else:
        line = text(language, _SOURCE_TEXT.get(history.source, "hist_no_server"))
        if history.error:
            line += f": {history.error}"
    if history.queued:
        line += " · " + text(language, "hist_queued", n=history.queued)
    return line


def history_summary(history: DeviceHistory, language: str) -> str:
    """A few words for the detail line: how many entries, from where."""
    where = text(language, "hist_from_server" if history.from_server else "hist_local")
    return f"{text(language, 'b_history')}: {len(history.entries)} ({where})"


class HistoryScreen(Screen[None]):
    """The selected device's history, reloaded from the server when opened."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h", "close", "Close / Sluiten"),
        Binding("u", "reload", "Reload / Vernieuwen"),
    ]

    def __init__(
        self, engine: Any, device: str, serial: str, asset_tag: str, cached: DeviceHistory | None,
        language: str,
    ) -> None:  # fmt: skip
        super().__init__()
        self.engine, self.device, self.serial, self.asset_tag = engine, device, serial, asset_tag
        self.history, self.language = cached, language

    def compose(self) -> ComposeResult:
        """Title, where the history comes from, the entries."""
        yield Label(text(self.language, "history_title", dev=self.device), classes="title")
        yield Static(text(self.language, "checking"), id="history-source", markup=False)
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        """Show what is known already, then ask the server again."""
        table = self.query_one("#history", DataTable)
        for key in HISTORY_COLUMNS:
            table.add_column(text(self.language, f"hcol_{key}"), key=key)
        if self.history is not None:
            self.show(self.history)
        if self.serial or self.asset_tag:
            self.action_reload()
        else:  # nothing to look up by (a loop device, the simulation): nothing recorded
            self.show(self.history or DeviceHistory(LOCAL_NO_SERVER))

    def action_reload(self) -> None:
        """Load the history again (server first)."""
        if self.serial or self.asset_tag:
            self._load()

    @work(thread=True, exclusive=True, group="history")
    def _load(self) -> None:
        history = load_history(self.engine, self.serial, self.asset_tag)
        self.app.call_from_thread(self.show, history)

    def show(self, history: DeviceHistory) -> None:
        """Fill the view with ``history``."""
        self.history = history
        self.query_one("#history-source", Static).update(history_source(history, self.language))
        table = self.query_one("#history", DataTable)
        table.clear()
        lang = self.language
        for entry in history.entries:
            table.add_row(
                entry.at.replace("T", " ")[:16],
                text(lang, f"hist_{entry.kind}") if entry.kind in _KINDS else entry.kind,
                entry.status,
                entry.detail,
                "✓" if entry.certificate else "",
            )

    def action_close(self) -> None:
        """Back to the devices."""
        self.dismiss(None)


_KINDS = ("wipe", "diagnostics", "condition", "event")
