"""'p' in the TUI sends the label to the label printer and says what the printer did, in the
technician's language; without a printer set it writes the files only, as before.

``lp`` is a stand-in script (tests/station/fake_lp.py: this machine has no printer), found
through the station's ``tool_path`` setting by the real command runner.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Log

from station.config import StationConfig
from station.service import Station
from station.ui.app import StationApp, build_app
from station.ui.dialogs import IntakeDialog
from tests.station.fake_lp import NO_SUCH_QUEUE, install_fake_lp
from tests.station.tui_waits import dialog, wait_for

pytestmark = pytest.mark.asyncio

QUEUE = "Brother_QL-800"


def log_text(app: StationApp) -> str:
    return "\n".join(app.query_one("#log", Log).lines)


async def label_demo_disk(pilot: Pilot[int], app: StationApp, tag: str) -> None:
    """Give the simulated disk sdb an asset tag at intake, then press 'p'."""
    await wait_for(pilot, lambda: "sdb" in app.attached)
    rec = app.records[app.attached["sdb"]]
    app.table.move_cursor(row=app.table.get_row_index(rec.key))
    await pilot.press("i")
    await dialog(pilot, IntakeDialog)
    await pilot.press(*tag, "enter")
    await wait_for(pilot, lambda: rec.asset_tag == tag)
    await pilot.press("p")


async def test_the_label_is_printed_and_the_log_names_printer_and_job_in_dutch(
    cfg: StationConfig, tmp_path: Path
) -> None:
    lp = install_fake_lp(tmp_path / "bin", job=58)
    cfg = replace(cfg, label_printer=QUEUE, label_printer_options="media=Custom.62x29mm",
                  tool_path=str(tmp_path / "bin"))  # fmt: skip
    app = build_app(Station(cfg), simulate=True, language="nl")
    async with app.run_test(size=(80, 24)) as pilot:
        await label_demo_disk(pilot, app, "DB-000020")
        await wait_for(pilot, lambda: "naar printer" in log_text(app))
        assert f"sdb: label naar printer {QUEUE} gestuurd (taak-id {QUEUE}-58)" in log_text(app)
    pdf = cfg.data_dir / "simulated" / "labels" / "DB-000020.pdf"
    assert lp.argv == ["-d", QUEUE, "-o", "media=Custom.62x29mm", str(pdf)]
    assert lp.printed.read_bytes() == pdf.read_bytes()


async def test_a_refused_label_is_a_warning_with_lps_words_in_english(
    cfg: StationConfig, tmp_path: Path
) -> None:
    install_fake_lp(tmp_path / "bin", refuse=True)
    cfg = replace(cfg, label_printer="Ghost", tool_path=str(tmp_path / "bin"))
    app = build_app(Station(cfg), simulate=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await label_demo_disk(pilot, app, "DB-000021")
        await wait_for(pilot, lambda: "did not take" in log_text(app))
        assert (
            f"! sdb: printer Ghost did not take the label: lp failed (1): {NO_SUCH_QUEUE}"
            in log_text(app)
        )
        assert "label written" in log_text(app)  # the files are there all the same


async def test_without_a_printer_the_log_shows_the_files_only(
    cfg: StationConfig, tmp_path: Path
) -> None:
    lp = install_fake_lp(tmp_path / "bin")
    cfg = replace(cfg, tool_path=str(tmp_path / "bin"))
    app = build_app(Station(cfg), simulate=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await label_demo_disk(pilot, app, "DB-000022")
        await wait_for(pilot, lambda: "label written" in log_text(app))
        await pilot.pause()
        assert "DB-000022.pdf" in log_text(app) and "sent to printer" not in log_text(app)
    assert not lp.called
