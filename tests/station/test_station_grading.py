"""Grading keeps three grades apart; the lendable rule is configurable; labels carry the tag."""

from __future__ import annotations

import contextlib
import zlib
from pathlib import Path

import pytest

from station.errors import ConfigError, StationError
from station.grading import (
    CHECKLIST_ITEMS,
    Checklist,
    LendableRule,
    battery_grade,
    condition_record,
    grade,
    load_rule,
    ready_blockers,
)
from station.label import label_pdf, qr_png
from station.reasons import english

ALL_OK = {item: True for item in CHECKLIST_ITEMS}


def test_functional_grade_from_the_checklist():
    assert grade("A", Checklist(ALL_OK), 90).functional == "A"
    assert grade("A", Checklist({**ALL_OK, "camera": False}), 90).functional == "B"
    assert grade("A", Checklist({**ALL_OK, "camera": False, "audio": False}), 90).functional == "C"
    assert grade("A", Checklist({**ALL_OK, "screen": False}), 90).functional == "D"
    assert grade("A", Checklist({**ALL_OK, "trackpad": None}), 90).functional == "A"  # a tablet


def test_battery_grade_from_health_and_cycles():
    assert [battery_grade(h) for h in (99.7, 70, 45, 20)] == ["A", "B", "C", "D"]
    assert battery_grade(85, cycles=1200) == "B"
    assert battery_grade(None) == "unknown"


def test_lendable_follows_the_rule_and_says_why_not():
    good = grade("C", Checklist(ALL_OK), 85)
    assert good.lendable and good.reasons == ()
    scratched = grade("E", Checklist(ALL_OK), 85)
    assert not scratched.lendable and "cosmetic E" in str(scratched.reasons[0])
    no_charger = grade("B", Checklist({**ALL_OK, "charger_present": False}), 85)
    assert no_charger.functional == "B" and not no_charger.lendable
    lenient = LendableRule(max_cosmetic="E", require_charger=False)
    assert grade("E", Checklist({**ALL_OK, "charger_present": False}), 85, rule=lenient).lendable
    unchecked = grade("A", Checklist({"screen": True}), 85)
    assert not unchecked.lendable and any("not checked" in str(r) for r in unchecked.reasons)


def test_never_ready_without_a_passed_wipe_of_every_disk():
    lendable = grade("A", Checklist(ALL_OK), 90)
    assert ready_blockers(lendable, ["passed"]) == []
    assert english(ready_blockers(lendable, [])) == ["no wipe recorded"]
    assert "incomplete" in str(ready_blockers(lendable, ["passed", "incomplete"])[0])


def test_rule_from_toml_and_bad_rules_are_clear_errors(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text('[grading]\nmax_cosmetic = "B"\nallow_unknown_battery = true\n')
    rule = load_rule(path)
    assert rule.max_cosmetic == "B" and rule.allow_unknown_battery
    path.write_text('[grading]\nmax_cosmetic = "Z"\n')
    with pytest.raises(ConfigError, match="not one of"):
        load_rule(path)
    path.write_text("[grading]\nlendable_if_shiny = true\n")
    with pytest.raises(ConfigError, match="unknown grading setting"):
        load_rule(path)
    with pytest.raises(ValueError, match="unknown checklist item"):
        Checklist({"coffee_stains": False})


def test_condition_record_matches_the_server_contract():
    checklist = Checklist(ALL_OK)
    record = condition_record(grade("B", checklist, 75), checklist, "small dent", "An")
    expected = {"cosmetic_grade", "functional_grade", "battery_grade", "checklist", "notes"}
    assert set(record) == expected | {"technician"}
    assert record["battery_grade"] == "B"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_label_png_and_pdf(tmp_path: Path):
    png = qr_png("DB-000042", tmp_path / "tag.png", scale=8)
    width, height = _png_size(png.read_bytes())
    assert width == height == (21 + 2 * 4) * 8  # a version-1 QR code, quiet zone 4
    pdf = label_pdf("DB-000042", tmp_path / "tag.pdf", ("Lenovo ThinkPad T480",)).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert b"DB-000042" in pdf or b"DB-000042" in _inflate_all(pdf)
    with pytest.raises(StationError, match="not printable"):
        qr_png("DB 42; rm -rf", tmp_path / "x.png")


def _inflate_all(pdf: bytes) -> bytes:
    out = b""
    for part in pdf.split(b"stream\n")[1:]:
        with contextlib.suppress(zlib.error):
            out += zlib.decompress(part.split(b"endstream")[0])
    return out
