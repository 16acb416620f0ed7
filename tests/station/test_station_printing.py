"""Labels reach the printer through CUPS (``lp``) when ``label_printer`` is set; else files only.

The end-to-end tests print through the real ``digibank-station label`` CLI and the real command
runner to the tests' own cupsd (tests/station/cups_server.py), reached with the station's
``label_print_server`` setting (``lp -h``); its queues write what they get to a file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from station.cli import main
from station.config import StationConfig, load_config
from station.errors import ConfigError
from station.hw.runner import SubprocessRunner
from station.printing import PrintError, lp_argv, lpstat_argv, parse_request_id, parse_stopped
from station.service import Station
from station.ui.reason_texts import say
from tests.station.cups_server import CupsServer

QUEUE = "Brother_QL-800"
# lp's words (CUPS 2.4, C locale) for a queue its server does not have.
NO_SUCH_QUEUE = "lp: Error - The printer or class does not exist."


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGIBANK_STATION_DATA_DIR", str(tmp_path / "data"))
    for name in ("LABEL_PRINTER", "LABEL_PRINTER_OPTIONS", "LABEL_PRINT_SERVER", "TOOL_PATH",
                 "CONFIG"):  # fmt: skip
        monkeypatch.delenv(f"DIGIBANK_STATION_{name}", raising=False)
    return tmp_path


@pytest.fixture
def printer(env, monkeypatch, cups: CupsServer) -> tuple[str, Path]:
    """A fresh queue on the tests' cupsd, set as the station's label printer and server."""
    queue, out = cups.new_queue()
    monkeypatch.setenv("DIGIBANK_STATION_LABEL_PRINTER", queue)
    monkeypatch.setenv("DIGIBANK_STATION_LABEL_PRINT_SERVER", cups.server)
    return queue, out


def label_files(out: str) -> tuple[Path, Path]:
    png, pdf = (Path(line) for line in out.split())
    return png, pdf


@pytest.mark.parametrize(
    ("said", "job_id"),
    [
        # lp.c (CUPS 2.x) on stdout: _("request id is %s-%d (%d file(s))"), then a newline.
        (f"request id is {QUEUE}-42 (1 file(s))\n", f"{QUEUE}-42"),
        ("request id is DYMO_LabelWriter_450-7 (1 file(s))\n", "DYMO_LabelWriter_450-7"),
        ("request id is labels-1234 (2 file(s))", "labels-1234"),
        (NO_SUCH_QUEUE + "\n", ""),
        ("", ""),
    ],
)
def test_the_job_id_is_read_from_lps_request_id_line(said, job_id):
    assert parse_request_id(said) == job_id


def test_the_lp_command_line_names_server_queue_each_option_and_the_file():
    argv = lp_argv(QUEUE, ("media=Custom.62x29mm", "fit-to-page"), Path("/l/DB-1.pdf"))
    assert argv == ["lp", "-d", QUEUE, "-o", "media=Custom.62x29mm", "-o", "fit-to-page",
                    "/l/DB-1.pdf"]  # fmt: skip
    # lp acts on -h where it stands: before -d, or -d asks the default server.
    assert lp_argv(QUEUE, (), Path("/l/DB-1.pdf"), "print.hub.example:631") == [
        "lp", "-h", "print.hub.example:631", "-d", QUEUE, "/l/DB-1.pdf"]  # fmt: skip
    assert lpstat_argv(QUEUE, "[::1]:631") == ["lpstat", "-h", "[::1]:631", "-p", QUEUE]


def test_a_stopped_queue_is_read_from_lpstat_p():
    # lpstat -p of CUPS 2.4.2 (C locale), a stopped and an enabled queue.
    stopped = (
        "printer labels_1 disabled since Fri Nov 27 21:49:02 2026 -\n\tlabel roll empty\n"
        "printer labels_2 is idle.  enabled since Fri Nov 27 21:49:02 2026\n"
    )
    assert parse_stopped(stopped, "labels_1") == "label roll empty"
    assert parse_stopped(stopped, "labels_2") == ""
    assert parse_stopped("printer q disabled since Fri Nov 27 2026 -\n", "q") == "reason unknown"


def test_the_label_pdf_is_printed_through_the_real_cups(printer, cups, monkeypatch, capsys):
    """End to end: the CLI, the command runner, lp -h to the tests' cupsd, the queue's file."""
    queue, out = printer
    monkeypatch.setenv("DIGIBANK_STATION_LABEL_PRINTER_OPTIONS", "media=Custom.62x29mm fit-to-page")

    assert main(["label", "DB-000010", "--line", "Lenovo T480"]) == 0
    stdout, err = capsys.readouterr()
    png, pdf = label_files(stdout)
    assert png.name == "DB-000010.png" and pdf.name == "DB-000010.pdf"
    match = re.fullmatch(rf"label sent to printer {queue} \(job id ({queue}-\d+)\)", err.strip())
    assert match, err
    job_id = match.group(1)
    assert cups.jobs(queue) == [job_id]  # lp's id is the id CUPS gave the job
    cups.wait_completed(job_id)
    assert out.read_bytes() == pdf.read_bytes()
    assert out.read_bytes().startswith(b"%PDF")


def test_a_queue_the_server_lacks_is_refused_with_lps_words(env, cups, monkeypatch, capsys):
    monkeypatch.setenv("DIGIBANK_STATION_LABEL_PRINTER", "Ghost")
    monkeypatch.setenv("DIGIBANK_STATION_LABEL_PRINT_SERVER", cups.server)

    assert main(["label", "DB-000011"]) == 1
    stdout, err = capsys.readouterr()
    png, pdf = label_files(stdout)
    assert png.is_file() and pdf.is_file()  # the files stay
    assert err.strip() == (
        f"error: label not printed: printer Ghost did not take the label: lp failed (1): "
        f"{NO_SUCH_QUEUE}"
    )


def test_a_queue_that_rejects_jobs_is_refused_with_its_reason(printer, cups, capsys):
    queue, out = printer
    cups.tool("cupsreject", "-r", "out of labels", queue)

    assert main(["label", "DB-000012"]) == 1
    _, err = capsys.readouterr()
    assert err.strip() == (
        f"error: label not printed: printer {queue} did not take the label: lp failed (1): "
        f'lp: Destination "{queue}" is not accepting jobs.'
    )
    assert cups.jobs(queue) == [] and not out.exists()


def test_a_stopped_queue_takes_the_label_and_the_station_warns(printer, cups, capsys):
    """A stopped queue (cupsdisable; CUPS stops one itself when its printer fails) still takes
    jobs: the label waits there, so the station says so, and exits 0 (printing it again would
    print it twice once the queue is resumed)."""
    queue, out = printer
    cups.tool("cupsdisable", "-r", "label roll empty", queue)

    assert main(["label", "DB-000013"]) == 0
    stdout, err = capsys.readouterr()
    _, pdf = label_files(stdout)
    [job_id] = cups.pending(queue)
    assert err.strip() == (
        f"warning: label queued for printer {queue} (job id {job_id}), but the printer is "
        f"stopped: label roll empty; it prints once the queue is resumed (cupsenable {queue})"
    )
    assert not out.exists()

    cups.tool("cupsenable", queue)
    cups.wait_completed(job_id)
    assert out.read_bytes() == pdf.read_bytes()


def test_without_a_printer_or_with_no_print_only_the_files_are_written(
    printer, cups, monkeypatch, capsys
):
    queue, _ = printer
    assert main(["label", "DB-000014", "--no-print"]) == 0
    stdout, err = capsys.readouterr()
    assert len(stdout.split()) == 2 and err == ""

    monkeypatch.delenv("DIGIBANK_STATION_LABEL_PRINTER")
    assert main(["label", "DB-000014"]) == 0
    stdout, err = capsys.readouterr()
    assert len(stdout.split()) == 2 and err == ""
    assert cups.jobs(queue) == []


def test_without_lp_the_reason_says_to_install_the_cups_client(tmp_path):
    cfg = StationConfig(data_dir=tmp_path / "data", label_printer=QUEUE)
    nothing = tmp_path / "no-tools"
    nothing.mkdir()
    station = Station(cfg, runner=SubprocessRunner(search_path=str(nothing)))
    pdf = tmp_path / "DB-000015.pdf"
    pdf.write_bytes(b"%PDF-1.3\n")

    with pytest.raises(PrintError) as caught:
        station.print_label(pdf)
    assert caught.value.reason is not None and caught.value.reason.code == "print_no_lp"
    assert "install cups-client" in str(caught.value) and QUEUE in str(caught.value)
    assert "installeer cups-client" in say("nl", caught.value)


def test_no_printer_set_sends_nothing(tmp_path):
    station = Station(StationConfig(data_dir=tmp_path / "data"))
    assert station.print_label(tmp_path / "DB-000016.pdf") is None


def test_printer_and_tool_settings_are_read_and_checked():
    cfg = load_config(env={"DIGIBANK_STATION_LABEL_PRINTER": QUEUE,
                           "DIGIBANK_STATION_LABEL_PRINTER_OPTIONS": "media=Custom.62x29mm  "
                                                                     "fit-to-page",
                           "DIGIBANK_STATION_LABEL_PRINT_SERVER": "print.hub.example:631"})  # fmt: skip
    assert cfg.label_printer == QUEUE
    assert cfg.label_options == ("media=Custom.62x29mm", "fit-to-page")
    assert cfg.label_print_server == "print.hub.example:631"
    for good in ("127.0.0.1:631", "printhub", "[::1]:631", "[fe80::1]"):
        env = {"DIGIBANK_STATION_LABEL_PRINT_SERVER": good}
        assert load_config(env=env).label_print_server == good
    for bad in ("-h evil", "hub:0", "hub:65536", "hub:", "a b", "/run/cups/cups.sock", "h_x"):
        with pytest.raises(ConfigError, match=r"label_print_server .* is not host\[:port\]"):
            load_config(env={"DIGIBANK_STATION_LABEL_PRINT_SERVER": bad})
    for bad in ("-o evil", "my printer", "a/b", "x#1"):
        with pytest.raises(ConfigError, match="not a CUPS queue name"):
            load_config(env={"DIGIBANK_STATION_LABEL_PRINTER": bad})
    with pytest.raises(ConfigError, match="each is passed as -o"):
        load_config(env={"DIGIBANK_STATION_LABEL_PRINTER_OPTIONS": "-o media=A4"})
    with pytest.raises(ConfigError, match="label_printer_options"):
        load_config(env={"DIGIBANK_STATION_LABEL_PRINTER_OPTIONS": 'media="A4'})
    with pytest.raises(ConfigError, match="tool_path: folders must be absolute, got bin"):
        load_config(env={"DIGIBANK_STATION_TOOL_PATH": "/opt/cups/bin:bin"})
