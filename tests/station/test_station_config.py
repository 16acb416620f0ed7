"""Station settings: defaults, TOML, environment over TOML, and clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.config import load_config
from station.errors import ConfigError
from station.hw.blockdev import BlockDevice
from station.hw.runner import Recording, ReplayRunner
from station.service import Station


def test_defaults_are_dutch_no_server_no_loop_devices():
    cfg = load_config(env={})
    assert cfg.language == "nl" and cfg.server_url == "" and not cfg.allow_loop_devices
    assert cfg.data_dir == Path("data/station") and cfg.station_name


def test_environment_overrides_toml(tmp_path):
    toml = tmp_path / "station.toml"
    toml.write_text(
        '[station]\ntechnician = "An"\nlocation = "Brugge"\nallow_loop_devices = false\n'
    )
    env = {
        "DIGIBANK_STATION_CONFIG": str(toml),
        "DIGIBANK_STATION_ALLOW_LOOP_DEVICES": "yes",
        "DIGIBANK_STATION_LANGUAGE": "en",
        "DIGIBANK_STATION_DATA_DIR": str(tmp_path / "d"),
    }
    cfg = load_config(env=env)
    assert (cfg.technician, cfg.location, cfg.allow_loop_devices, cfg.language) == (
        "An",
        "Brugge",
        True,
        "en",
    )
    assert cfg.key_dir == tmp_path / "d" / "keys"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DIGIBANK_STATION_LANGUAGE": "fr"}, "language must be nl or en"),
        ({"DIGIBANK_STATION_ALLOW_LOOP_DEVICES": "maybe"}, "expected true/false"),
        ({"DIGIBANK_STATION_SYNC_INTERVAL_S": "soon"}, "expected a number"),
        ({"DIGIBANK_STATION_CONFIG": "/nonexistent/station.toml"}, "cannot read station config"),
    ],
)
def test_bad_settings_are_clear_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env=env)


def test_unknown_toml_setting_is_refused(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text("[station]\nwipe_everything = true\n")
    with pytest.raises(ConfigError, match="unknown station setting"):
        load_config(env={}, toml_path=toml)


def test_serial_missing_behind_usb_bridge_comes_from_the_drive(cfg, data_dir):
    runner = ReplayRunner(data_dir, {
        "smartctl --json -a /dev/sdc": Recording(
            "smartctl/sata-hdd-usb-jmicron-failing-reallocated.json", returncode=216),
    })  # fmt: skip
    bridge = BlockDevice(
        name="sdc", path="/dev/sdc", major_minor="8:32", size_bytes=1 << 30, transport="usb"
    )
    dev = Station(cfg, runner=runner).enrich(bridge)
    assert dev.serial == "MSK423Y20S3HBC"
    assert dev.serial_source == "smartctl (reported by the drive)"
    assert dev.confirm_token == "3HBC"
