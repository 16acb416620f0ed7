"""Grading, as refurbishers do it: cosmetic (A-E), functional (A-D from a checklist), battery.

The three grades stay apart; a configurable rule derives "lendable" from them, and no
device is ready without a passed (verified) wipe.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from station.errors import ConfigError
from station.reasons import Reason, reason

COSMETIC_GRADES = ("A", "B", "C", "D", "E")
FUNCTIONAL_GRADES = ("A", "B", "C", "D")
BATTERY_GRADES = ("A", "B", "C", "D")
CHECKLIST_ITEMS = (
    "screen",
    "keyboard_touch",
    "trackpad",
    "camera",
    "audio",
    "ports",
    "hinges_case",
    "charger_present",
)
# Without these the device cannot be used at all.
ESSENTIAL_ITEMS = ("screen", "keyboard_touch")


@dataclass(frozen=True)
class Checklist:
    """Functional checks: True = works, False = faulty, None = not applicable (no trackpad...)."""

    results: Mapping[str, bool | None]

    def __post_init__(self) -> None:
        unknown = set(self.results) - set(CHECKLIST_ITEMS)
        if unknown:
            raise ValueError(f"unknown checklist item(s): {', '.join(sorted(unknown))}")

    def failed(self) -> list[str]:
        """Items checked and found faulty."""
        return [k for k in CHECKLIST_ITEMS if self.results.get(k) is False]

    def unchecked(self) -> list[str]:
        """Items not yet checked (absent from the results)."""
        return [k for k in CHECKLIST_ITEMS if k not in self.results]


def functional_grade(checklist: Checklist) -> str:
    """A: all works; B: one minor fault; C: two; D: three or more, or an essential fault."""
    failed = checklist.failed()
    if any(item in ESSENTIAL_ITEMS for item in failed):
        return "D"
    return FUNCTIONAL_GRADES[min(len(failed), 3)]


def battery_grade(health_pct: float | None, cycles: int | None = None) -> str:
    """Battery grade from health % (full/design): A >= 80, B >= 60, C >= 40, else D."""
    if health_pct is None:
        return "unknown"
    index = 0 if health_pct >= 80 else 1 if health_pct >= 60 else 2 if health_pct >= 40 else 3
    if cycles is not None and cycles > 1000:
        index = min(index + 1, 3)
    return BATTERY_GRADES[index]


@dataclass(frozen=True)
class LendableRule:
    """Which grades still make a device lendable (configurable in TOML, table [grading])."""

    #: Worst cosmetic grade still lent out.
    max_cosmetic: str = "D"
    #: Worst functional grade still lent out.
    max_functional: str = "B"
    #: Worst battery grade still lent out.
    max_battery: str = "C"
    #: Lend a device whose battery could not be measured.
    allow_unknown_battery: bool = False
    #: A missing charger blocks lending (borrowers need one).
    require_charger: bool = True

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> LendableRule:
        """Build from a TOML table, refusing unknown keys and impossible grades."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown grading setting(s): {', '.join(sorted(unknown))}")
        rule = cls(**dict(data))
        for value, scale in (
            (rule.max_cosmetic, COSMETIC_GRADES),
            (rule.max_functional, FUNCTIONAL_GRADES),
            (rule.max_battery, BATTERY_GRADES),
        ):
            if value not in scale:
                raise ConfigError(f"grade {value!r} is not one of {', '.join(scale)}")
        return rule


def load_rule(path: Path | None) -> LendableRule:
    """The lendable rule from a TOML file's [grading] table, or the defaults."""
    if path is None:
        return LendableRule()
    try:
        return LendableRule.from_mapping(tomllib.loads(path.read_text()).get("grading", {}))
    except (OSError, tomllib.TOMLDecodeError, TypeError) as exc:
        raise ConfigError(f"cannot read grading rule from {path}: {exc}") from exc


@dataclass(frozen=True)
class Grades:
    """The three grades and what follows from them."""

    cosmetic: str
    functional: str
    battery: str
    lendable: bool
    reasons: tuple[Reason, ...] = field(default_factory=tuple)


def _worse(grade: str, limit: str, scale: tuple[str, ...]) -> bool:
    return scale.index(grade) > scale.index(limit)


def grade(
    cosmetic: str,
    checklist: Checklist,
    battery_health_pct: float | None = None,
    battery_cycles: int | None = None,
    rule: LendableRule | None = None,
) -> Grades:
    """Grade a device and decide, by the rule, whether it is lendable (with the reasons if not)."""
    rule = rule or LendableRule()
    if cosmetic not in COSMETIC_GRADES:
        raise ValueError(f"cosmetic grade must be one of {', '.join(COSMETIC_GRADES)}")
    functional = functional_grade(checklist)
    battery = battery_grade(battery_health_pct, battery_cycles)
    reasons: list[Reason] = []
    if _worse(cosmetic, rule.max_cosmetic, COSMETIC_GRADES):
        reasons.append(reason("cosmetic_worse", grade=cosmetic, limit=rule.max_cosmetic))
    if _worse(functional, rule.max_functional, FUNCTIONAL_GRADES):
        reasons.append(reason("functional_faulty", grade=functional, items=checklist.failed()))
    if battery == "unknown":
        if not rule.allow_unknown_battery:
            reasons.append(reason("battery_unknown"))
    elif _worse(battery, rule.max_battery, BATTERY_GRADES):
        reasons.append(reason("battery_worse", grade=battery, limit=rule.max_battery))
    if rule.require_charger and checklist.results.get("charger_present") is False:
        reasons.append(reason("no_charger"))
    if checklist.unchecked():
        reasons.append(reason("not_checked", items=checklist.unchecked()))
    return Grades(cosmetic, functional, battery, not reasons, tuple(reasons))


def ready_blockers(grades: Grades | None, wipe_statuses: list[str]) -> list[Reason]:
    """Why a device may not be marked ready: not graded or lendable, or no passed wipe per disk."""
    if grades is None:
        blockers = [reason("not_graded")]
    else:
        blockers = list(grades.reasons) if not grades.lendable else []
    if not wipe_statuses:
        blockers.append(reason("no_wipe"))
    elif any(s != "passed" for s in wipe_statuses):
        blockers.append(reason("wipe_not_passed"))
    return blockers


def condition_record(
    grades: Grades, checklist: Checklist, notes: str, technician: str
) -> dict[str, Any]:
    """The body of POST /devices/{id}/conditions."""
    return {
        "cosmetic_grade": grades.cosmetic,
        "functional_grade": grades.functional,
        "battery_grade": grades.battery,
        "checklist": dict(checklist.results),
        "notes": notes,
        "technician": technician,
    }
