"""The flag rules as pure functions, at and around each threshold; presence states."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from server.presence import LATE, MISSING, NEVER, ONLINE, SILENT, PresenceRules, presence
from server.rules import Thresholds, evaluate_loan, evaluate_report
from tests.telemetry.fleet import report

TH = Thresholds()


def reasons(found: list[Any]) -> dict[str, str]:
    return {f.reason: f.severity for f in found}


def data(**changes: Any) -> dict[str, Any]:
    return report(1, 1, **changes).to_dict()


def disk(**fields: Any) -> dict[str, Any]:
    base = dict(data()["disks"][0])
    base.update(fields)
    return base


def test_a_healthy_report_raises_nothing() -> None:
    assert evaluate_report(data(), data(), TH) == []


@pytest.mark.parametrize(
    ("full", "expected"),
    [(40.5, None), (39.5, "warning"), (30.5, "warning"), (29.5, "critical")],
)
def test_battery_health_warns_under_80_and_asks_repair_under_60(
    full: float, expected: str | None
) -> None:
    payload = data()
    payload["battery"] = {"design_capacity_wh": 50.0, "full_capacity_wh": full}
    found = reasons(evaluate_report(payload, None, TH))
    assert found.get("battery_health") == expected


def test_reported_health_pct_wins_and_thresholds_come_from_configuration() -> None:
    payload = data()
    payload["battery"] = {"health_pct": 85.0, "design_capacity_wh": 50.0, "full_capacity_wh": 20.0}
    assert evaluate_report(payload, None, TH) == []
    stricter = Thresholds(battery_warn_pct=90.0)
    (finding,) = evaluate_report(payload, None, stricter)
    assert finding.evidence["health_pct"] == 85.0 and finding.severity == "warning"


def test_smart_failed_nvme_warning_and_wear() -> None:
    payload = data()
    payload["disks"] = [disk(smart_passed=False, nvme_critical_warning=4, percentage_used=90)]
    found = reasons(evaluate_report(payload, None, TH))
    assert found == {
        "smart_failed": "critical",
        "nvme_critical_warning": "critical",
        "nvme_wear": "warning",
    }
    payload["disks"] = [disk(percentage_used=89)]
    assert evaluate_report(payload, None, TH) == []


def test_sectors_above_zero_warn_and_growing_is_critical() -> None:
    before = data()
    before["disks"] = [disk(kind="ata", reallocated_sectors=2, pending_sectors=0)]
    now = data()
    now["disks"] = [disk(kind="ata", reallocated_sectors=2, pending_sectors=0)]
    (steady,) = evaluate_report(now, before, TH)
    assert (steady.reason, steady.severity, steady.evidence["growing"]) == (
        "disk_sectors",
        "warning",
        False,
    )
    now["disks"] = [disk(kind="ata", reallocated_sectors=5, pending_sectors=1)]
    (grown,) = evaluate_report(now, before, TH)
    assert grown.severity == "critical"
    assert grown.evidence["disks"][0]["previous"] == {
        "reallocated_sectors": 2,
        "pending_sectors": 0,
    }


def test_disk_free_under_ten_percent() -> None:
    payload = data()
    payload["disks"] = [disk(size_bytes=1000, free_bytes=99)]
    (finding,) = evaluate_report(payload, None, TH)
    assert finding.reason == "disk_full" and finding.evidence["disks"][0]["free_pct"] == 9.9
    payload["disks"] = [disk(size_bytes=1000, free_bytes=100)]
    assert evaluate_report(payload, None, TH) == []


def test_temperature_needs_two_reports_in_a_row_at_or_above_90() -> None:
    hot = data()
    hot["temperatures"] = {"cpu_c": 90.0}
    cool = data()
    assert evaluate_report(hot, cool, TH) == []
    assert evaluate_report(hot, None, TH) == []
    (finding,) = evaluate_report(hot, hot, TH)
    assert finding.reason == "overheating" and finding.evidence["previous_c"] == 90.0


def test_a_retired_device_reporting_is_a_return_flag() -> None:
    (finding,) = evaluate_report(data(), None, TH, device_state="retired")
    assert (finding.kind, finding.reason) == ("return", "retired_reporting")


NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("due_in_days", "expected"),
    [(8, {}), (7, {"due_soon": "info"}), (0, {"due_soon": "info"}), (-1, {"overdue": "warning"})],
)
def test_loan_due_soon_and_overdue(due_in_days: int, expected: dict[str, str]) -> None:
    due = TODAY + timedelta(days=due_in_days)
    found = evaluate_loan(due, NOW - timedelta(days=3), NOW - timedelta(hours=1), TODAY, NOW, TH)
    assert reasons(found) == expected


def test_on_loan_and_silent_for_more_than_14_days_is_possibly_lost() -> None:
    due = TODAY + timedelta(days=60)
    started = NOW - timedelta(days=40)
    assert evaluate_loan(due, started, NOW - timedelta(days=14), TODAY, NOW, TH) == []
    (lost,) = evaluate_loan(due, started, NOW - timedelta(days=15), TODAY, NOW, TH)
    assert (lost.reason, lost.severity, lost.evidence["silent_days"]) == (
        "silent_on_loan",
        "critical",
        15,
    )
    # Never heard from at all: silent since the loan started.
    assert reasons(evaluate_loan(due, started, None, TODAY, NOW, TH)) == {
        "silent_on_loan": "critical"
    }
    assert evaluate_loan(due, NOW - timedelta(days=2), None, TODAY, NOW, TH) == []


def test_presence_states_from_last_seen_and_interval() -> None:
    rules = PresenceRules(grace_s=300, missing_days=30)
    interval = 900

    def at(age_s: float) -> str:
        return presence(NOW - timedelta(seconds=age_s), interval, NOW, rules)

    assert presence(None, interval, NOW, rules) == NEVER
    assert at(interval + 300) == ONLINE
    assert at(interval + 301) == LATE
    assert at(3 * interval + 300) == LATE
    assert at(3 * interval + 301) == SILENT
    assert at(30 * 86400) == MISSING
