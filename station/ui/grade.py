"""The grading dialog: cosmetic, functional checklist and battery, graded by the engine's rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from station.grading import (
    CHECKLIST_ITEMS,
    COSMETIC_GRADES,
    Checklist,
    Grades,
    LendableRule,
    grade,
)
from station.ui.choice import Choice
from station.ui.i18n import text
from station.ui.reason_texts import say


@dataclass(frozen=True)
class GradeResult:
    """The technician's grading, with the engine's conclusion."""

    grades: Grades
    checklist: Checklist
    battery_health_pct: float | None
    battery_cycles: int | None


def _number(raw: str, kind: type[float] | type[int]) -> float | int | None:
    raw = raw.strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = kind(float(raw)) if kind is int else float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


class GradeDialog(ModalScreen[GradeResult | None]):
    """Three grades kept apart; 'lendable' comes from the configurable rule."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save / Opslaan"),
        Binding("escape", "close", "Cancel / Annuleren"),
    ]

    def __init__(
        self,
        device: str,
        rule: LendableRule,
        language: str,
        previous: GradeResult | None = None,
    ) -> None:
        super().__init__()
        self.device, self.rule, self.language, self.previous = device, rule, language, previous

    def t(self, key: str, **values: object) -> str:
        """Text in the dialog's language."""
        return text(self.language, key, **values)

    def compose(self) -> ComposeResult:
        """One screen at 80x24: cosmetic and checklist choices, battery, live verdict, buttons."""
        prev = self.previous
        states = [
            (self.t("works"), "ok"),
            (self.t("faulty"), "bad"),
            (self.t("not_applicable"), "na"),
        ]
        with Vertical(id="dialog", classes="grade"):
            yield Label(self.t("grade_title", dev=self.device), classes="title")
            with Grid(id="checklist"):
                yield Label(self.t("cosmetic"))
                yield Choice(
                    [(g, g) for g in COSMETIC_GRADES],
                    prev.grades.cosmetic if prev else None,
                    id="cosmetic",
                )
                for item in CHECKLIST_ITEMS:
                    yield Label(self.t(f"item_{item}"))
                    yield Choice(states, _state(prev, item), id=f"item-{item}")
            with Horizontal(id="battery-row"):
                yield Label(self.t("battery_health"))
                yield Input(
                    _fmt(prev.battery_health_pct if prev else None),
                    id="health",
                    compact=True,
                    placeholder="-",
                )
                yield Label(self.t("battery_cycles"))
                yield Input(
                    _fmt(prev.battery_cycles if prev else None),
                    id="cycles",
                    compact=True,
                    placeholder="-",
                )
            yield Static("", id="verdict", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self.t("save"), variant="primary", id="save", compact=True)
                yield Button(self.t("cancel"), id="cancel", compact=True)
                yield Static(self.t("grade_keys"), id="grade-keys", markup=False)

    def on_mount(self) -> None:
        """Show the verdict for what is filled in already; start at the cosmetic grade."""
        self._refresh_verdict()
        self.query_one("#cosmetic", Choice).focus()

    def result(self) -> GradeResult | None:
        """The grading as filled in now (None until a cosmetic grade is chosen)."""
        cosmetic = self.query_one("#cosmetic", Choice).value
        if not isinstance(cosmetic, str):
            return None
        results: dict[str, bool | None] = {}
        for item in CHECKLIST_ITEMS:
            value = self.query_one(f"#item-{item}", Choice).value
            if value in ("ok", "bad", "na"):
                results[item] = {"ok": True, "bad": False, "na": None}[str(value)]
        checklist = Checklist(results)
        health = _number(self.query_one("#health", Input).value, float)
        cycles = _number(self.query_one("#cycles", Input).value, int)
        grades = grade(
            cosmetic, checklist, health, int(cycles) if cycles is not None else None, self.rule
        )
        return GradeResult(grades, checklist, health, int(cycles) if cycles is not None else None)

    def _refresh_verdict(self) -> None:
        res = self.result()
        verdict = self.query_one("#verdict", Static)
        if res is None:
            verdict.update(self.t("cosmetic") + " ?")
            return
        g = res.grades
        battery = self.t("unknown") if g.battery == "unknown" else g.battery
        head = (
            f"{self.t('cosmetic_short')} {g.cosmetic} · {self.t('functional')} "
            f"{g.functional} · {self.t('battery')} {battery} → "
            f"{self.t('lendable') if g.lendable else self.t('not_lendable')}"
        )
        # One wrapped paragraph, not a line per reason: the dialog must fit 24 rows.
        reasons = "; ".join(say(self.language, r) for r in g.reasons)
        verdict.update(head + (f"\n{reasons}" if reasons else ""))

    @on(Choice.Changed)
    @on(Input.Changed)
    def _changed(self) -> None:
        self._refresh_verdict()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Keep the grading (ctrl+s or the Save button)."""
        res = self.result()
        if res is None:
            self.notify(self.t("cosmetic") + " ?", severity="warning")
            return
        self.dismiss(res)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        """Escape: keep the previous grading."""
        self.dismiss(None)


def _state(prev: GradeResult | None, item: str) -> str | None:
    """The choice of one checklist item as graded before (None if unchecked)."""
    if prev is None or item not in prev.checklist.results:
        return None
    return {True: "ok", False: "bad", None: "na"}[prev.checklist.results[item]]


def _fmt(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"
