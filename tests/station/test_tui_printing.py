"""'p' in the TUI sends the label to the label printer and says what the printer did, in the
technician's language; without a printer set it writes the files only, as before.

The printer is a queue on the tests' own cupsd (tests/station/cups_server.py), reached by the
real command runner's ``lp -h`` through the station's ``label_print_server`` setting.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.pilot import Pilot

from station.config import StationConfig
from station.service import Station
from station.ui.app import StationApp, build_app
from station.ui.dialogs import IntakeDialog
from tests.station.cups_server import CupsServer
from tests.station.tui_app import log_text
from tests.station.tui_waits import dialog, wait_for

pytestmark = pytest.mark.asyncio

# lp's words (CUPS 2.4, C locale) for a queue its server does not have.
NO_SUCH_QUEUE = "lp: Error - The printer or class does not exist."


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
    cfg: StationConfig, cups: CupsServer
) -> None:
    queue, out = cups.new_queue()
    cfg = replace(cfg, label_printer=queue, label_printer_options="media=Custom.62x29mm",
                  label_print_server=cups.server)  # fmt: skip
    app = build_app(Station(cfg), simulate=True, language="nl")
    async with app.run_test(size=(80, 24)) as pilot:
        await label_demo_disk(pilot, app, "DB-000020")
        await wait_for(pilot, lambda: "naar printer" in log_text(app))
        [job_id] = cups.jobs(queue)
        assert f"sdb: label naar printer {queue} gestuurd (taak-id {job_id})" in log_text(app)
    cups.wait_completed(job_id)
    pdf = cfg.data_dir / "simulated" / "labels" / "DB-000020.pdf"
    assert out.read_bytes() == pdf.read_bytes()


async def test_a_refused_label_is_a_warning_with_lps_words_in_english(
    cfg: StationConfig, cups: CupsServer
) -> None:
    cfg = replace(cfg, label_printer="Ghost", label_print_server=cups.server)
    app = build_app(Station(cfg), simulate=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await label_demo_disk(pilot, app, "DB-000021")
        await wait_for(pilot, lambda: "did not take" in log_text(app))
        assert (
            f"! sdb: printer Ghost did not take the label: lp failed (1): {NO_SUCH_QUEUE}"
            in log_text(app)
        )
        assert "label written" in log_text(app)  # the files are there all the same


async def test_a_stopped_queue_is_a_warning_that_the_label_waits(
    cfg: StationConfig, cups: CupsServer
) -> None:
    queue, out = cups.new_queue()
    cups.tool("cupsdisable", "-r", "label roll empty", queue)
    cfg = replace(cfg, label_printer=queue, label_print_server=cups.server)
    app = build_app(Station(cfg), simulate=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await label_demo_disk(pilot, app, "DB-000023")
        await wait_for(pilot, lambda: "stopped" in log_text(app))
        [job_id] = cups.pending(queue)
        assert (
            f"! sdb: label queued for printer {queue} (job id {job_id}), but the printer is "
            f"stopped: label roll empty; it prints once the queue is resumed (cupsenable {queue})"
        ) in log_text(app)
    assert not out.exists()


async def test_without_a_printer_the_log_shows_the_files_only(
    cfg: StationConfig, cups: CupsServer
) -> None:
    cfg = replace(cfg, label_print_server=cups.server)  # a server, but no label_printer
    app = build_app(Station(cfg), simulate=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await label_demo_disk(pilot, app, "DB-000022")
        await wait_for(pilot, lambda: "label written" in log_text(app))
        await pilot.pause()
        assert "DB-000022.pdf" in log_text(app) and "sent to printer" not in log_text(app)
