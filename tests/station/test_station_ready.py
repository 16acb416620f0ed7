"""Grade, ready and label from the CLI: never ready after an interrupted wipe."""

from __future__ import annotations

import threading

import pytest

from station.cli import main
from station.config import load_config
from station.service import Station


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGIBANK_STATION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DIGIBANK_STATION_TECHNICIAN", "An")
    return tmp_path


GRADE = ["grade", "--asset-tag", "DB-000007", "--cosmetic", "B", "--battery-health", "88",
         "--ok", "screen,keyboard_touch,trackpad,camera,audio,ports,hinges_case,charger_present"]  # fmt: skip


@pytest.mark.root
def test_never_ready_after_an_interrupted_wipe_ready_after_a_passed_one(env, make_loop, capsys):
    station = Station(load_config())
    dev = station.resolve(make_loop(16))
    cancelled = threading.Event()
    cancelled.set()
    station.wipe(dev, "overwrite", dev.name, cancel=cancelled, asset_tag="DB-000007")

    assert main(["ready", "--asset-tag", "DB-000007"]) == 1
    assert "not graded yet" in capsys.readouterr().err
    assert main(GRADE) == 0
    assert main(["ready", "--asset-tag", "DB-000007"]) == 1
    assert "incomplete" in capsys.readouterr().err

    station.wipe(dev, "zeroout", dev.name, asset_tag="DB-000007")
    assert main(["ready", "--asset-tag", "DB-000007"]) == 0
    assert capsys.readouterr().out.strip().endswith("DB-000007: ready")


def test_grade_says_why_a_device_is_not_lendable(env, capsys):
    args = ["grade", "--asset-tag", "DB-000008", "--cosmetic", "E", "--ok", "screen",
            "--faulty", "keyboard_touch"]  # fmt: skip
    assert main(args) == 1
    out = capsys.readouterr().out
    assert '"functional_grade": "D"' in out and "cosmetic E" in out
    assert main(["grade", "--asset-tag", "X", "--cosmetic", "A", "--ok", "toaster"]) == 2
    assert "unknown checklist item" in capsys.readouterr().err


def test_label_writes_png_and_pdf(env, capsys):
    assert main(["label", "DB-000009", "--line", "Lenovo T480"]) == 0
    png, pdf = capsys.readouterr().out.split()
    assert png.endswith("DB-000009.png") and pdf.endswith("DB-000009.pdf")
    assert main(["label", "bad tag!"]) == 2
