"""iPads over pymobiledevice3: parsing its output, and the engine from identification to erase.

The inputs are the files of tests/data/station/ios/ (see SOURCES.md there: which are real
captures, which are ideviceinfo dumps transcribed into pymobiledevice3's JSON form, and which
are hand-written because no usable capture was found). The replay runner plays them back for the
exact command lines the station runs.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from station.config import StationConfig
from station.errors import ParseError, ToolError
from station.hw import ios
from station.hw.runner import CommandResult, Recording, ReplayRunner
from station.reasons import reason
from station.service import Station
from station.tablets import check_ipad_reset, erase_ipad, record_ipad_erase, record_manual_reset

UDID = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0"  # the (redacted) UDID of the usbmux capture
FIND_MY_ON = "lockdown-info-handwritten-find-my-on.json"
FIND_MY_OFF = "lockdown-info-handwritten-find-my-off.json"
IPAD_MINI = "lockdown-info-ipad-mini-ipad2-5-ios9-transcribed.json"


def read(data_dir: Path, name: str) -> str:
    return (data_dir / "ios" / name).read_text()


def pmd3(*args: str) -> str:
    return shlex.join(["pymobiledevice3", *args])


def recordings(cfg: StationConfig, lockdown_info: str) -> dict[str, Recording]:
    """What the iPad answers each command the station runs (``ios/`` files)."""
    erase_dir = str(cfg.data_dir / "ipad-erase")
    return {
        pmd3("version"): Recording("ios/version.txt"),
        pmd3("usbmux", "list", "--usb"): Recording("ios/usbmux-list-ipad1-ios5.json"),
        pmd3("lockdown", "info", "--udid", UDID): Recording(f"ios/{lockdown_info}"),
        pmd3("lockdown", "get", "--udid", UDID, "com.apple.fmip", "IsAssociated"): Recording(
            "ios/lockdown-get-fmip-isassociated-false.txt"
        ),
        pmd3("lockdown", "get", "--udid", UDID, "com.apple.mobile.battery"): Recording(
            "ios/lockdown-get-battery-domain-tidevice.json"
        ),
        pmd3("diagnostics", "battery", "single", "--udid", UDID): Recording(
            "ios/diagnostics-battery-single-handwritten.json"
        ),
        pmd3("lockdown", "get", "--udid", UDID, "com.apple.disk_usage"): Recording(
            "ios/lockdown-get-disk-usage-handwritten.json"
        ),
        pmd3("backup2", "erase-device", "--udid", UDID, erase_dir): Recording(
            "ios/backup2-erase-device-ok.txt"
        ),
    }


def test_usbmux_list_capture_names_the_ipad_and_its_udid(data_dir: Path) -> None:
    (dev,) = ios.parse_usbmux_list(read(data_dir, "usbmux-list-ipad1-ios5.json"))
    assert (dev.udid, dev.product_type, dev.product_version, dev.device_class) == (
        UDID,
        "iPad1,1",
        "5.1.1",
        "iPad",
    )
    assert ios.parse_usbmux_list('["00008027-001A2D3C4B5E6F70"]')[0].udid.startswith("00008027")
    # usbmuxd puts a dash in the 24-character serial newer iPads give on the USB bus.
    assert ios.same_device("00008027001A2D3C4B5E6F70", "00008027-001A2D3C4B5E6F70")
    assert not ios.same_device("", "")
    assert not ios.same_device(UDID, "b" * 40)
    with pytest.raises(ParseError):
        ios.parse_usbmux_list("ERROR Failed to connect to usbmuxd socket")


def test_lockdown_info_transcriptions_give_identity_and_no_find_my_guess(data_dir: Path) -> None:
    mini = json.loads(read(data_dir, IPAD_MINI))
    info = ios.parse_identity(mini, UDID, associated=False)
    assert (info.product_type, info.ios_version, info.build, info.model_number) == (
        "iPad2,5",
        "9.3.2",
        "13F69",
        "MF432",
    )
    assert info.activation_state == "Activated"
    assert info.serial == "xxxxxxxxxxxxxxxx"  # masked by the poster
    # No NVRAM flag and IsAssociated false (which some devices say with Find My on): unknown.
    assert info.find_my == "unknown"
    old = json.loads(
        read(data_dir, "lockdown-info-ipad2-1-ios9-unactivated-partial-transcribed.json")
    )
    assert ios.nvram_text(old["NonVolatileRAM"]["auto-boot"]) == "TRUE"
    assert ios.find_my_state(old) == "unknown"
    assert ios.find_my_state(old, associated=True) == "on"
    assert ios.parse_identity(old, "", None).activation_state == "Unactivated"


def test_find_my_is_read_from_the_nvram_flags(data_dir: Path) -> None:
    on = json.loads(read(data_dir, FIND_MY_ON))
    off = json.loads(read(data_dir, FIND_MY_OFF))
    assert ios.find_my_state(on) == "on"
    assert ios.find_my_state(off) == "off"
    assert ios.find_my_state(off, associated=True) == "on"  # either flag on is enough
    # ideviceinfo shows the same data in base64 ("WUVT" is YES).
    assert ios.nvram_text("WUVT") == "YES"
    assert ios.parse_bool(read(data_dir, "lockdown-get-fmip-isassociated-false.txt")) is False
    assert ios.parse_bool("ERROR No such value") is None


def test_evidence_of_lockdown_info_keeps_identity_and_no_personal_data(data_dir: Path) -> None:
    text = read(data_dir, FIND_MY_ON)
    res = ios.redact_values(CommandResult(("pymobiledevice3", "lockdown", "info"), 0, text, ""))
    kept = json.loads(res.stdout)
    assert kept["SerialNumber"] == "HANDWRITTEN1" and kept["ProductType"] == "iPad7,5"
    assert set(kept["NonVolatileRAM"]) == {"fm-activation-locked", "fm-spstatus"}
    for private in ("Jan's iPad", "UniqueDeviceID", "WiFiAddress", "fm-account-masked"):
        assert private not in res.stdout


def test_battery_and_storage_outputs_are_parsed(data_dir: Path) -> None:
    assert (
        ios.parse_battery_level(read(data_dir, "lockdown-get-battery-domain-tidevice.json")) == 53
    )
    trimmed = ios.parse_battery_registry(
        read(data_dir, "diagnostics-battery-single-go-ios-trimmed.json")
    )
    assert (trimmed.level_pct, trimmed.cycle_count, trimmed.temperature_c) == (85, 321, 30.0)
    assert trimmed.health_pct is None  # no design capacity in that capture
    full = ios.parse_battery_registry(read(data_dir, "diagnostics-battery-single-handwritten.json"))
    assert (full.health_pct, full.design_capacity_mah, full.full_charge_capacity_mah) == (
        82.8,
        8827,
        7310,
    )
    usage = read(data_dir, "lockdown-get-disk-usage-handwritten.json")
    assert ios.parse_disk_usage(usage) == (32000000000, 21684551680)
    with pytest.raises(ParseError):
        ios.parse_battery_registry("null")


def test_ipad_from_identification_to_a_recorded_erase(cfg: StationConfig, data_dir: Path) -> None:
    """Identified, diagnosed, refused while Find My is on, allowed when off, erase recorded."""
    plays = recordings(cfg, FIND_MY_ON)
    runner = ReplayRunner(data_dir, plays)
    station = Station(cfg, runner=runner)

    diag = station.diagnose_ipad(UDID)
    info = diag.info
    assert (info.serial, info.product_type, info.ios_version) == ("HANDWRITTEN1", "iPad7,5", "17.7")
    assert info.battery is not None
    assert (info.battery.level_pct, info.battery.health_pct, info.battery.cycle_count) == (
        53,
        82.8,
        412,
    )
    assert info.battery.temperature_c == 29.6
    assert (info.storage_total_bytes, info.storage_free_bytes) == (32000000000, 21684551680)
    assert diag.status == "passed" and str(reason("find_my_on")) in diag.findings
    commands = {e.command for e in diag.evidence}
    assert pmd3("diagnostics", "battery", "single", "--udid", UDID) in commands
    assert {e.tool_version for e in diag.evidence} == {"11.45.0"}
    for ref in diag.evidence:
        kept = Path(ref.path).read_text()
        assert "Jan's iPad" not in kept and "6ae280a2" not in kept  # name, masked account
    assert diag.to_dict()["info"]["find_my"] == "on"

    refused = check_ipad_reset(station, UDID)
    assert not refused.allowed and refused.reasons == (reason("find_my_on"),)

    plays[pmd3("lockdown", "info", "--udid", UDID)] = Recording(f"ios/{FIND_MY_OFF}")
    check = check_ipad_reset(station, UDID)
    assert check.allowed and check.automatic and check.reasons == () and check.info is not None
    started = datetime.now(UTC)
    erase = erase_ipad(station, check.info)
    assert erase.accepted and erase.tool_version == "11.45.0"
    assert runner.calls[-1][:3] == ("pymobiledevice3", "backup2", "erase-device")
    report = record_ipad_erase(
        station, check.info, erase, started_at=started, confirmed=True, evidence=check.evidence
    )
    body = station.verify_file(report.json_path).body
    assert body["status"] == "passed"
    assert body["sanitization"]["category"] == "Clear"  # the station cannot read it back
    assert "pymobiledevice3 11.45.0" in body["sanitization"]["technique"]
    assert body["media"]["serial_number"] == "HANDWRITTEN1"
    assert erase.evidence.command in json.dumps(body)

    unconfirmed = record_ipad_erase(station, check.info, erase, started_at=started, confirmed=False)
    assert station.verify_file(unconfirmed.json_path).body["status"] == "incomplete"


def test_an_erase_the_ipad_refuses_is_recorded_failed_with_its_words(
    cfg: StationConfig, data_dir: Path
) -> None:
    plays = recordings(cfg, FIND_MY_OFF)
    said = "ERROR The device failed to erase: MBErrorDomain/205"
    plays[pmd3("backup2", "erase-device", "--udid", UDID, str(cfg.data_dir / "ipad-erase"))] = (
        Recording("ios/backup2-erase-device-ok.txt", returncode=1, stderr=said)
    )
    station = Station(cfg, runner=ReplayRunner(data_dir, plays))
    check = check_ipad_reset(station, UDID)
    assert check.info is not None
    erase = erase_ipad(station, check.info)
    assert not erase.accepted and erase.why is not None and said in str(erase.why)
    started = datetime.now(UTC)
    report = record_ipad_erase(station, check.info, erase, started_at=started, confirmed=True)
    body = station.verify_file(report.json_path).body
    assert body["status"] == "failed"


def test_ipad_that_does_not_say_find_my_gets_the_guided_procedure(
    cfg: StationConfig, data_dir: Path
) -> None:
    station = Station(cfg, runner=ReplayRunner(data_dir, recordings(cfg, IPAD_MINI)))
    check = check_ipad_reset(station, UDID)
    assert check.allowed and not check.automatic
    assert check.reasons == (reason("find_my_unknown"),) and check.info is not None
    started = datetime.now(UTC)
    report = record_manual_reset(station, check.info, started_at=started, confirmed=True)
    body = station.verify_file(report.json_path).body
    assert body["status"] == "passed" and body["media"]["model"] == "iPad2,5 MF432"


def test_untrusted_or_unseen_ipads_are_refused_with_what_to_do(
    cfg: StationConfig, data_dir: Path
) -> None:
    plays = recordings(cfg, FIND_MY_ON)
    plays[pmd3("lockdown", "info", "--udid", UDID)] = Recording(
        "ios/backup2-erase-device-ok.txt",
        returncode=1,
        stderr="ERROR Device is password protected. Please unlock and retry.",
    )
    station = Station(cfg, runner=ReplayRunner(data_dir, plays))
    check = check_ipad_reset(station, UDID)
    assert not check.allowed and check.reasons == (reason("ipad_not_trusted", serial=UDID),)
    assert "tap 'Trust'" in str(check.reasons[0])
    unseen = check_ipad_reset(station, "00008027001A2D3C4B5E6F70")
    assert unseen.reasons == (reason("ipad_not_seen", serial="00008027001A2D3C4B5E6F70"),)


class Unanswered:
    """A runner whose pymobiledevice3 is missing, or waits for the Trust dialog till timeout."""

    def __init__(self, data_dir: Path, missing: bool) -> None:
        self.missing = missing
        self.listing = (data_dir / "ios" / "usbmux-list-ipad1-ios5.json").read_text()

    def run(self, argv: Sequence[str], *, timeout: float = 30) -> CommandResult:
        if self.missing:
            raise ToolError("pymobiledevice3 is not installed") from FileNotFoundError(argv[0])
        if list(argv[1:3]) == ["usbmux", "list"]:
            return CommandResult(tuple(argv), 0, self.listing, "")
        raise ToolError(f"{shlex.join(argv)} timed out after {timeout:g} s")


def test_without_pymobiledevice3_or_trust_the_station_says_what_to_do(
    cfg: StationConfig, data_dir: Path
) -> None:
    missing = check_ipad_reset(Station(cfg, runner=Unanswered(data_dir, True)), UDID)
    assert missing.allowed and not missing.automatic
    assert missing.reasons == (reason("ipad_no_tool"),)
    waiting = check_ipad_reset(Station(cfg, runner=Unanswered(data_dir, False)), UDID)
    assert not waiting.allowed and waiting.reasons == (reason("ipad_not_trusted", serial=UDID),)


def test_cli_diagnoses_an_ipad_named_by_its_udid(cfg: StationConfig, data_dir: Path) -> None:
    from station.cli import diagnose_named_tablet
    from station.diagnostics import IpadDiagnosis
    from station.records import tablet_diagnostics_job

    station = Station(cfg, runner=ReplayRunner(data_dir, recordings(cfg, FIND_MY_OFF)))
    # adb has no recording here (as if not installed): the iPad is still found.
    diag = diagnose_named_tablet(station, UDID.upper())
    assert isinstance(diag, IpadDiagnosis) and diag.info.find_my == "off"
    job = tablet_diagnostics_job(diag)
    assert job["method"].startswith("pymobiledevice3") and job["details"]["findings"] == []
    assert job["details"]["info"]["battery"]["cycle_count"] == 412
    assert diagnose_named_tablet(station, "R52N10ABCDE") is None
