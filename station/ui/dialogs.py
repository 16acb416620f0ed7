"""Modal dialogs for the destructive and identifying actions: wipe and intake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from station.methods import Capabilities
from station.reasons import Reason
from station.ui.i18n import text
from station.ui.reason_texts import say


@dataclass(frozen=True)
class WipeRequest:
    """What the technician chose in the wipe dialog."""

    method: str
    confirm: str


class WipeDialog(ModalScreen[WipeRequest | None]):
    """Method (strongest first), refusal reasons, and the typed confirmation."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Cancel / Annuleren")]

    def __init__(
        self,
        device_name: str,
        has_serial: bool,
        caps: Capabilities,
        refusals: list[Reason],
        language: str,
    ) -> None:
        super().__init__()
        self.device_name, self.has_serial, self.caps = device_name, has_serial, caps
        self.refusals, self.language = refusals, language

    def t(self, key: str, **values: object) -> str:
        """Text in the dialog's language."""
        return text(self.language, key, **values)

    def compose(self) -> ComposeResult:
        """Title, refusals or method choice, confirmation input, buttons."""
        available = [o for o in self.caps.options if o.available]
        with VerticalScroll(id="dialog"):
            yield Label(self.t("wipe_title", dev=self.device_name), classes="title")
            if self.refusals:
                lines = "\n".join(f"• {say(self.language, r)}" for r in self.refusals)
                yield Static(f"{self.t('wipe_refusals')}\n{lines}", id="refusals", markup=False)
            yield Label(self.t("wipe_method"))
            yield Select(
                [(f"{o.category}: {o.name}", o.name) for o in available],
                value=available[0].name if available else Select.NULL,
                allow_blank=not available,
                id="method",
            )
            notes = [
                f"× {o.name}: {say(self.language, o.note or '?')}"
                for o in self.caps.options
                if not o.available
            ]
            if self.caps.purge_note:
                notes.append(say(self.language, self.caps.purge_note))
            if notes:
                yield Static("\n".join(notes), id="method-notes", markup=False)
            what = (
                self.t("confirm_serial")
                if self.has_serial
                else self.t("confirm_name", name=self.device_name)
            )
            yield Label(self.t("wipe_confirm", what=what))
            yield Input(id="confirm", max_length=64, disabled=bool(self.refusals))
            with Horizontal(classes="buttons"):
                yield Button(
                    self.t("wipe_start"),
                    variant="error",
                    id="start",
                    disabled=bool(self.refusals) or not available,
                )
                yield Button(self.t("cancel"), id="cancel")

    def on_mount(self) -> None:
        """Focus the confirmation (or Cancel when refused)."""
        if self.refusals:
            self.query_one("#cancel", Button).focus()
        else:
            self.query_one("#confirm", Input).focus()

    def _submit(self) -> None:
        if self.refusals:
            return
        method = self.query_one("#method", Select).value
        if not isinstance(method, str):
            return
        self.dismiss(WipeRequest(method, self.query_one("#confirm", Input).value))

    @on(Input.Submitted, "#confirm")
    def _confirmed(self) -> None:
        self._submit()

    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        self._submit()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        """Escape: wipe nothing."""
        self.dismiss(None)


@dataclass(frozen=True)
class IntakeRequest:
    """Register on the server, or keep a typed asset tag."""

    register: bool
    asset_tag: str


class IntakeDialog(ModalScreen[IntakeRequest | None]):
    """Shows the identity and where the serial came from; registers or takes a known tag."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Cancel / Annuleren")]

    def __init__(self, identity: str, asset_tag: str, can_register: bool, language: str) -> None:
        super().__init__()
        self.identity, self.asset_tag = identity, asset_tag
        self.can_register, self.language = can_register, language

    def compose(self) -> ComposeResult:
        """Identity, tag input, buttons."""
        lang = self.language
        with VerticalScroll(id="dialog"):
            yield Label(text(lang, "intake_title", dev=""), classes="title")
            yield Static(self.identity, id="identity", markup=False)
            if not self.can_register:
                yield Static(text(lang, "no_server"))
            yield Label(text(lang, "intake_tag"))
            yield Input(self.asset_tag, id="tag", max_length=64)
            with Horizontal(classes="buttons"):
                yield Button(
                    text(lang, "intake_register"),
                    variant="primary",
                    id="register",
                    disabled=not self.can_register,
                )
                yield Button(text(lang, "save"), id="save")
                yield Button(text(lang, "cancel"), id="cancel")

    def on_mount(self) -> None:
        """Focus the asset tag."""
        self.query_one("#tag", Input).focus()

    @on(Button.Pressed, "#register")
    def _register(self) -> None:
        self.dismiss(IntakeRequest(True, self.query_one("#tag", Input).value.strip()))

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#tag")
    def _save(self) -> None:
        self.dismiss(IntakeRequest(False, self.query_one("#tag", Input).value.strip()))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        """Escape: change nothing."""
        self.dismiss(None)
