"""Full screens and simple modals: help and the certificates view."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import get_current_worker

from station.errors import CertificateError
from station.ui.i18n import text
from station.ui.reason_texts import say

log = logging.getLogger(__name__)


class HelpScreen(ModalScreen[None]):
    """Key bindings and the rules that matter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close / Sluiten")
    ]

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    def compose(self) -> ComposeResult:
        """The help text."""
        with Vertical(id="dialog"):
            yield Label(text(self.language, "help_title"), classes="title")
            yield Static(text(self.language, "help_text"), id="help")

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)


CERT_COLUMNS = ("media", "status", "method", "signature", "file")


class CertificatesScreen(Screen[None]):
    """Every certificate this station issued, each verified against the station's key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,c", "close", "Close / Sluiten"),
        Binding("v", "verify", "Verify / Controleren"),
    ]

    def __init__(self, engine: Any, directory: Path, language: str) -> None:
        super().__init__()
        self.engine, self.directory, self.language = engine, directory, language

    def compose(self) -> ComposeResult:
        """A table of certificates and the key bindings."""
        yield Label(text(self.language, "certs_title"), classes="title")
        yield DataTable(id="certificates", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        """Fill the table and verify every certificate in a worker."""
        table = self.query_one("#certificates", DataTable)
        for key in CERT_COLUMNS:
            label = "S/N / media" if key == "media" else text(self.language, f"col_{key}")
            table.add_column(label, key=key)
        self.action_verify()

    def action_verify(self) -> None:
        """(Re)verify every certificate file."""
        self.query_one("#certificates", DataTable).clear()
        self._verify_all()

    @work(thread=True, exclusive=True, group="certificates")
    def _verify_all(self) -> None:
        worker = get_current_worker()
        files = sorted(self.directory.glob("*.json"), reverse=True)
        for path in files:
            if worker.is_cancelled:
                return
            self.app.call_from_thread(self._add_row, path.name, self._describe(path))

    def _describe(self, path: Path) -> list[str]:
        try:
            verified = self.engine.verify_file(path)
        except CertificateError as exc:
            log.warning("certificate %s does not verify: %s", path, exc)
            why = say(self.language, exc)
            return ["?", "?", "?", f"{text(self.language, 'invalid')}: {why}", path.name]
        body = verified.body
        media = body.get("media", {})
        san = body.get("sanitization", {})
        return [
            str(media.get("serial_number") or media.get("device_name") or "-"),
            str(body.get("status", "?")),
            f"{san.get('category', '?')} {san.get('method', '')}",
            f"{text(self.language, 'valid')} ({verified.key_id})",
            path.name,
        ]

    def _add_row(self, name: str, row: list[str]) -> None:
        self.query_one("#certificates", DataTable).add_row(*row, key=name)

    def action_close(self) -> None:
        """Back to the devices."""
        self.dismiss(None)
