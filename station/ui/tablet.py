"""The tablet reset dialog: refused while an account would lock the tablet, else guided steps."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from station.reasons import Reason
from station.ui.i18n import text
from station.ui.reason_texts import say


class TabletResetDialog(ModalScreen[bool | None]):
    """Dismisses with True (reset confirmed), False (not done: recorded incomplete), None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Cancel / Annuleren")]

    def __init__(
        self, tablet: str, refusals: tuple[Reason, ...], steps: tuple[Reason, ...], language: str
    ) -> None:
        super().__init__()
        self.tablet, self.refusals, self.steps, self.language = tablet, refusals, steps, language

    def compose(self) -> ComposeResult:
        """Refusals, or the steps and the technician's confirmation."""
        lang = self.language
        with VerticalScroll(id="dialog"):
            yield Label(text(lang, "reset_title", dev=self.tablet), classes="title")
            if self.refusals:
                lines = "\n".join(f"• {say(lang, r)}" for r in self.refusals)
                yield Static(f"{text(lang, 'wipe_refusals')}\n{lines}", id="refusals", markup=False)
            else:
                steps = "\n".join(f"{i}. {say(lang, s)}" for i, s in enumerate(self.steps, 1))
                yield Static(steps, id="steps", markup=False)
                yield Static(text(lang, "reset_question"))
            with Horizontal(classes="buttons"):
                if not self.refusals:
                    yield Button(text(lang, "reset_done"), variant="error", id="done")
                    yield Button(text(lang, "reset_not_done"), id="not-done")
                yield Button(text(lang, "cancel"), id="cancel")

    @on(Button.Pressed, "#done")
    def _done(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#not-done")
    def _not_done(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        """Escape: record nothing."""
        self.dismiss(None)
