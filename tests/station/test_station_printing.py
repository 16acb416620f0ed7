"""Labels reach the printer through CUPS (``lp``) when ``label_printer`` is set; else files only."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.cli import main
from station.config import StationConfig, load_config
from station.errors import ConfigError
from station.hw.runner import SubprocessRunner
from station.printing import PrintError, lp_argv, parse_request_id
from station.service import Station
from station.ui.reason_texts import say
from tests.station.fake_lp import NO_SUCH_QUEUE, install_fake_lp

QUEUE = "Brother_QL-800"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGIBANK_STATION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DIGIBANK_STATION_TOOL_PATH", str(tmp_path / "bin"))
    for name in ("LABEL_PRINTER", "LABEL_PRINTER_OPTIONS", "CONFIG"):
        monkeypatch.delenv(f"DIGIBANK_STATION_{name}", raising=False)
    return tmp_path


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


def test_the_lp_command_line_names_the_queue_each_option_and_the_file():
    argv = lp_argv(QUEUE, ("media=Custom.62x29mm", "fit-to-page"), Path("/l/DB-1.pdf"))
    assert argv == ["lp", "-d", QUEUE, "-o", "media=Custom.62x29mm", "-o", "fit-to-page",
                    "/l/DB-1.pdf"]  # fmt: skip


def test_the_label_pdf_goes_to_the_configured_queue_with_its_options(env, monkeypatch, capsys):
    """End to end through the CLI and the real command runner, with a stand-in ``lp``
    (tests/station/fake_lp.py: this machine has no printer) first on the runner's search
    path through the station's ``tool_path`` setting."""
    lp = install_fake_lp(env / "bin")
    monkeypatch.setenv("DIGIBANK_STATION_LABEL_PRINTER", QUEUE)
    monkeypatch.setenv("DIGIBANK_STATION_LABEL_PRINTER_OPTIONS", "media=Custom.62x29mm fit-to-page")

    assert main(["label", "DB-000010", "--line", "Lenovo T480"]) == 0
    out, err = capsys.readouterr()
    png, pdf = (Path(line) for line in out.split())
    assert png.name == "DB-000010.png" and pdf.name == "DB-000010.pdf"
    assert lp.argv == ["-d", QUEUE, "-o", "media=Custom.62x29mm", "-o", "fit-to-page", str(pdf)]
    assert lp.printed.read_bytes() == pdf.read_bytes()
    assert lp.printed.read_bytes().startswith(b"%PDF")
    assert err.strip() == f"label sent to printer {QUEUE} (job id {QUEUE}-17)"


def test_a_refused_job_says_lps_words_and_exits_1_the_files_stay(env, monkeypatch, capsys):
    """The stand-in ``lp`` (no printer here) refuses as lp does for a queue CUPS lacks."""
    lp = install_fake_lp(env / "bin", refuse=True)
    monkeypatch.setenv("DIGIBANK_STATION_LABEL_PRINTER", "Ghost")

    assert main(["label", "DB-000011"]) == 1
    out, err = capsys.readouterr()
    png, pdf = (Path(line) for line in out.split())
    assert png.is_file() and pdf.is_file() and lp.argv == ["-d", "Ghost", str(pdf)]
    assert err.strip() == (
        f"error: label not printed: printer Ghost did not take the label: lp failed (1): "
        f"{NO_SUCH_QUEUE}"
    )


def test_without_a_printer_or_with_no_print_only_the_files_are_written(env, monkeypatch, capsys):
    lp = install_fake_lp(env / "bin")
    assert main(["label", "DB-000012"]) == 0
    out, err = capsys.readouterr()
    assert len(out.split()) == 2 and err == "" and not lp.called

    monkeypatch.setenv("DIGIBANK_STATION_LABEL_PRINTER", QUEUE)
    assert main(["label", "DB-000012", "--no-print"]) == 0
    out, err = capsys.readouterr()
    assert len(out.split()) == 2 and err == "" and not lp.called


def test_without_lp_the_reason_says_to_install_the_cups_client(tmp_path):
    cfg = StationConfig(data_dir=tmp_path / "data", label_printer=QUEUE)
    nothing = tmp_path / "no-tools"
    nothing.mkdir()
    station = Station(cfg, runner=SubprocessRunner(search_path=str(nothing)))
    pdf = tmp_path / "DB-000013.pdf"
    pdf.write_bytes(b"%PDF-1.3\n")

    with pytest.raises(PrintError) as caught:
        station.print_label(pdf)
    assert caught.value.reason is not None and caught.value.reason.code == "print_no_lp"
    assert "install cups-client" in str(caught.value) and QUEUE in str(caught.value)
    assert "installeer cups-client" in say("nl", caught.value)


def test_no_printer_set_sends_nothing(tmp_path):
    station = Station(StationConfig(data_dir=tmp_path / "data"))
    assert station.print_label(tmp_path / "DB-000014.pdf") is None


def test_printer_and_tool_settings_are_read_and_checked():
    cfg = load_config(env={"DIGIBANK_STATION_LABEL_PRINTER": QUEUE,
                           "DIGIBANK_STATION_LABEL_PRINTER_OPTIONS": "media=Custom.62x29mm  "
                                                                     "fit-to-page"})  # fmt: skip
    assert cfg.label_printer == QUEUE
    assert cfg.label_options == ("media=Custom.62x29mm", "fit-to-page")
    for bad in ("-o evil", "my printer", "a/b", "x#1"):
        with pytest.raises(ConfigError, match="not a CUPS queue name"):
            load_config(env={"DIGIBANK_STATION_LABEL_PRINTER": bad})
    with pytest.raises(ConfigError, match="each is passed as -o"):
        load_config(env={"DIGIBANK_STATION_LABEL_PRINTER_OPTIONS": "-o media=A4"})
    with pytest.raises(ConfigError, match="label_printer_options"):
        load_config(env={"DIGIBANK_STATION_LABEL_PRINTER_OPTIONS": 'media="A4'})
    with pytest.raises(ConfigError, match="tool_path: folders must be absolute, got bin"):
        load_config(env={"DIGIBANK_STATION_TOOL_PATH": "/opt/cups/bin:bin"})
