"""Parsing real recorded tool output (tests/data/station, see SOURCES.md) into station facts."""

from __future__ import annotations

import json

import pytest

from station.errors import ParseError, RecordingMissing
from station.hw import hdparm, nvme, smart
from station.hw.blockdev import BlockDevice
from station.hw.runner import Recording, ReplayRunner
from station.methods import USB_BRIDGE_NOTE, ata_options, detect


def read(data_dir, rel: str) -> str:
    return (data_dir / rel).read_text()


@pytest.mark.parametrize(
    ("fixture", "verdict", "facts"),
    [
        ("smartctl/sata-hdd-healthy-wd140edfz.json", "passed",
         {"power_on_hours": 1730, "reallocated_sectors": 0, "pending_sectors": 0}),
        ("smartctl/sata-hdd-usb-jmicron-failing-reallocated.json", "failed",
         {"reallocated_sectors": 1975, "pending_sectors": 8, "power_on_hours": 65592,
          "behind_usb_bridge": True, "serial": "MSK423Y20S3HBC"}),
        ("smartctl/sata-hdd-reallocated-304-passed-st3500418as.json", "warning",
         {"smart_passed": True, "reallocated_sectors": 304, "smartctl_version": "7.3"}),
        ("smartctl/sata-ssd-kingston-a400-life-left-98.json", "passed",
         {"ssd_life_left_pct": 98, "reallocated_sectors": None, "exit_status": 4}),
        ("smartctl/nvme-healthy-corsair-mp510.json", "passed",
         {"nvme_percentage_used": 1, "nvme_media_errors": 0, "temperature_c": 38}),
        ("smartctl/nvme-media-errors-samsung-970evo.json", "warning", {"nvme_media_errors": 7}),
        ("smartctl/nvme-worn-75pct-used-intel-ssdpe2kx020t7.json", "passed",
         {"nvme_percentage_used": 75, "power_on_hours": 49441}),
        ("smartctl/nvme-critical-warning-16-failed-samsung-mzwll3t2hajq.json", "failed",
         {"nvme_critical_warning": 16, "smart_passed": False}),
        ("smartctl/scsi-hdd-grown-defects-260-seagate-st373453lc.json", "warning",
         {"grown_defects": 260, "protocol": "SCSI"}),
        ("smartctl/sas-hdd-healthy-hitachi-600g-10k.json", "passed", {"grown_defects": 0}),
        ("captured/smartctl-json-a-loop-device.json", "unknown",
         {"exit_status": 1, "messages": ("/dev/loop0: Unable to detect device type",)}),
    ],
)  # fmt: skip
def test_smartctl_json_is_summarised(data_dir, fixture, verdict, facts):
    summary = smart.parse_smartctl(read(data_dir, fixture))
    assert summary.verdict == verdict, summary.reasons
    for key, value in facts.items():
        assert getattr(summary, key) == value, key


@pytest.mark.parametrize(
    ("fixture", "codes", "english"),
    [
        ("smartctl/sata-hdd-usb-jmicron-failing-reallocated.json",
         ["smart_failed", "reallocated_sectors", "pending_sectors"],
         ("SMART overall health: FAILED", "reallocated sectors: 1975", "pending sectors: 8")),
        ("smartctl/nvme-critical-warning-16-failed-samsung-mzwll3t2hajq.json",
         ["smart_failed", "nvme_critical_warning"],
         ("SMART overall health: FAILED", "NVMe critical warning 16")),
        ("smartctl/nvme-media-errors-samsung-970evo.json", ["nvme_media_errors"],
         ("NVMe media errors: 7",)),
        ("smartctl/scsi-hdd-grown-defects-260-seagate-st373453lc.json", ["grown_defects"],
         ("grown defects: 260",)),
        ("captured/smartctl-json-a-loop-device.json", ["smart_no_status"],
         ("no SMART health status",)),
    ],
)  # fmt: skip
def test_smart_findings_are_codes_with_their_english_kept_for_records(
    data_dir, fixture, codes, english
):
    summary = smart.parse_smartctl(read(data_dir, fixture))
    assert [r.code for r in summary.why] == codes
    assert summary.reasons == english


def test_wear_and_life_left_warnings_are_codes_too(data_dir):
    worn = json.loads(read(data_dir, "smartctl/nvme-worn-75pct-used-intel-ssdpe2kx020t7.json"))
    worn["nvme_smart_health_information_log"]["percentage_used"] = 85
    summary = smart.parse_smartctl(json.dumps(worn))
    assert [r.code for r in summary.why] == ["nvme_wear"]
    assert summary.reasons == ("NVMe wear 85 % used",)
    ssd = json.loads(read(data_dir, "smartctl/sata-ssd-kingston-a400-life-left-98.json"))
    life = next(a for a in ssd["ata_smart_attributes"]["table"] if a["id"] == 231)
    life["value"] = 7
    summary = smart.parse_smartctl(json.dumps(ssd))
    assert [r.code for r in summary.why] == ["ssd_life_left"]
    assert summary.reasons == ("SSD life left 7 %",)


def test_smartctl_scan_lists_devices(data_dir):
    devices = smart.parse_scan(read(data_dir, "smartctl/scan-sata-and-nvme.json"))
    assert ("/dev/sda", "scsi") in devices and ("/dev/nvme0", "nvme") in devices
    assert smart.parse_scan('{"smartctl": {"exit_status": 0}}') == []


def test_nvme_id_ctrl_gives_identity_and_purge_support(data_dir):
    ctrl = nvme.parse_id_ctrl(read(data_dir, "nvme/id-ctrl-samsung-980pro-1tb.json"))
    assert ctrl.model == "Samsung SSD 980 PRO 1TB"
    assert ctrl.serial == "S5P2NG0R824326R"
    assert ctrl.total_capacity == 1000204886016
    assert ctrl.format_supported and ctrl.format_crypto_erase  # oacs 23, fna 4
    assert not (ctrl.sanitize_crypto or ctrl.sanitize_block)  # sanicap 0


def test_hdparm_identify_gives_security_state(data_dir):
    ident = hdparm.parse_identify(
        read(data_dir, "hdparm/hdparm-I-samsung-850evo-2tb-security-not-frozen.txt")
    )
    assert ident.model == "Samsung SSD 850 EVO 2TB" and ident.serial == "S2RLNX0H700433B"
    assert ident.sectors == 3907029168 and ident.solid_state
    sec = ident.security
    assert sec.supported and not sec.enabled and not sec.locked and not sec.frozen
    assert sec.enhanced_erase and sec.erase_minutes == 2 and sec.enhanced_erase_minutes == 8
    assert ident.hpa_feature and ident.dco_feature and not ident.sanitize


def test_frozen_drive_offers_no_security_erase_and_says_what_to_do(data_dir):
    ident = hdparm.parse_identify(
        read(data_dir, "hdparm/hdparm-I-samsung-850evo-2tb-security-not-frozen.txt")
    )
    frozen = ident.__class__(**{**ident.__dict__, "security": ident.security.__class__(
        **{**ident.security.__dict__, "frozen": True})})  # fmt: skip
    options = {o.name: o for o in ata_options(frozen)}
    assert not options["ata-security-erase-enhanced"].available
    assert "suspend" in str(options["ata-security-erase-enhanced"].note)


def test_hdparm_max_sectors_line():
    assert hdparm.parse_max_sectors(" max sectors   = 1953523055/1953525168, HPA is enabled") == (
        1953523055, 1953525168, True)  # fmt: skip
    with pytest.raises(ParseError):
        hdparm.parse_max_sectors("\n/dev/loop0:\n")


def test_bad_tool_output_is_a_parse_error():
    for parse in (smart.parse_smartctl, nvme.parse_id_ctrl, hdparm.parse_identify):
        with pytest.raises(ParseError):
            parse("this is not what the tool prints")


def _disk(transport: str, name: str) -> BlockDevice:
    return BlockDevice(name=name, path=f"/dev/{name}", major_minor="8:0", size_bytes=1 << 30,
                       transport=transport)  # fmt: skip


def test_sata_drive_auto_picks_enhanced_security_erase_and_reads_hidden_areas(data_dir):
    hdparm_i = Recording("hdparm/hdparm-I-samsung-850evo-2tb-security-not-frozen.txt")
    runner = ReplayRunner(data_dir, {"hdparm -I /dev/sda": hdparm_i})
    caps = detect(_disk("sata", "sda"), runner)
    assert caps.choose("auto").name == "ata-security-erase-enhanced"
    assert caps.choose("auto").category == "Purge"
    assert caps.drive_serial == "S2RLNX0H700433B"
    # No recording of hdparm -N exists: the hidden-area check says it was not done.
    assert not caps.hidden_areas.checked
    assert "no recording" in caps.hidden_areas.note


def test_nvme_drive_auto_picks_format_with_crypto_erase(data_dir):
    runner = ReplayRunner(data_dir, {
        "nvme id-ctrl /dev/nvme0 -o json": Recording("nvme/id-ctrl-samsung-980pro-1tb.json"),
    })  # fmt: skip
    caps = detect(_disk("nvme", "nvme0n1"), runner)
    assert caps.choose("auto").name == "nvme-format-crypto"
    assert [o.name for o in caps.options][-2:] == ["overwrite", "zeroout"]


def test_usb_bridge_is_never_trusted_for_purge(data_dir):
    runner = ReplayRunner(data_dir, {})
    caps = detect(_disk("usb", "sdc"), runner)
    assert caps.choose("auto").category == "Clear"
    assert caps.purge_note == USB_BRIDGE_NOTE
    assert runner.calls == []  # no Purge probing through the bridge at all


def test_replay_names_the_missing_recording(data_dir):
    with pytest.raises(RecordingMissing, match="smartctl --json -a /dev/sdz"):
        ReplayRunner(data_dir, {}).run(["smartctl", "--json", "-a", "/dev/sdz"])
