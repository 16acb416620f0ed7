"""The tablet reset dialog: refused while an account would lock the tablet, else the steps.

The steps are either the guided procedure (the technician answers whether it worked) or,
for an iPad the station erases itself, what will happen (the technician starts the erase).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from station.diagnostics import IpadDiagnosis, TabletDiagnosis
from station.reasons import Reason
from station.ui.i18n import text
from station.ui.reason_texts import say


class TabletResetDialog(ModalScreen[bool | None]):
    """Dismisses with True (reset confirmed, or: erase now), False (not done), None (cancel)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Cancel / Annuleren")]

    def __init__(
        self,
        tablet: str,
        refusals: tuple[Reason, ...],
        steps: tuple[Reason, ...],
        language: str,
        *,
        erase: bool = False,
    ) -> None:
        super().__init__()
        self.tablet, self.refusals, self.steps, self.language = tablet, refusals, steps, language
        self.erase = erase  # the station erases: ask to start it, not whether it worked

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
                if not self.erase:
                    yield Static(text(lang, "reset_question"))
            with Horizontal(classes="buttons"):
                if not self.refusals and self.erase:
                    yield Button(text(lang, "reset_erase"), variant="error", id="erase")
                elif not self.refusals:
                    yield Button(text(lang, "reset_done"), variant="error", id="done")
                    yield Button(text(lang, "reset_not_done"), id="not-done")
                yield Button(text(lang, "cancel"), id="cancel")

    @on(Button.Pressed, "#done")
    @on(Button.Pressed, "#erase")
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


def tablet_detail(
    result: TabletDiagnosis | IpadDiagnosis, say_it: Callable[[Reason], str]
) -> tuple[str, int | None, float | None, str]:
    """A tablet diagnosis for the table and log: battery cell, cycles, health %, one line."""
    health_pct = None
    if isinstance(result, TabletDiagnosis):
        bat = result.info.battery
        cell = f"{bat.level_pct}% {bat.health}" if bat else "?"
        cycles = bat.cycle_count if bat else None
        what = (
            f"{result.info.manufacturer} {result.info.model}, Android {result.info.android_version}"
        )
    else:
        ipad = result.info.battery
        health_pct = ipad.health_pct if ipad else None
        health = f", {health_pct:g}% max" if health_pct is not None else ""
        cell = f"{ipad.level_pct}%{health}" if ipad and ipad.level_pct is not None else "?"
        cycles = ipad.cycle_count if ipad else None
        what = f"Apple {result.info.product_type}, iPadOS {result.info.ios_version}"
    detail = f"{what}; " + "; ".join(map(say_it, result.reasons))
    return cell, cycles, health_pct, detail.rstrip("; ")
