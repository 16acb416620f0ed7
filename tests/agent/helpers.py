"""Agent test helpers: fake sysfs folders built from real captures, device accounts, threads."""

from __future__ import annotations

import secrets
import shutil
import threading
from pathlib import Path

from agent.collect.device import DeviceCollector
from agent.config import AgentConfig
from agent.runner import Recording, ReplayRunner
from agent.service import Agent
from server.broker import MosquittoBroker
from server.dynsec import DynsecClient

DATA = Path(__file__).resolve().parent.parent / "data" / "agent"
SMARTCTL = DATA / "smartctl"
POWER = DATA / "power_supply"


def fake_power_supply(root: Path, battery: str, mains: str | None = None) -> Path:
    """A /sys/class/power_supply look-alike holding recorded uevent files."""
    folder = root / "power_supply"
    (folder / "BAT0").mkdir(parents=True)
    shutil.copy(POWER / battery, folder / "BAT0" / "uevent")
    if mains:
        (folder / "AC").mkdir()
        shutil.copy(POWER / mains, folder / "AC" / "uevent")
    return folder


def fake_sys_block(root: Path, disks: dict[str, int]) -> Path:
    """A /sys/block look-alike: each disk a folder with `size` (sectors) and a `device` link."""
    folder = root / "block"
    for name, sectors in disks.items():
        (folder / name / "device").mkdir(parents=True)
        (folder / name / "size").write_text(f"{sectors}\n")
        (folder / name / "removable").write_text("0\n")
    return folder


def smartctl_replay(recordings: dict[str, str]) -> ReplayRunner:
    """A runner answering `smartctl --json -a -n standby /dev/NAME` with recorded captures."""
    from agent.collect.smart import smartctl_argv

    return ReplayRunner(
        {
            smartctl_argv(f"/dev/{name}"): Recording(SMARTCTL / file)
            for name, file in recordings.items()
        }
    )


def fixture_collector(tmp_path: Path) -> DeviceCollector:
    """The real collector on recorded hardware: a laptop battery and an NVMe disk."""
    return DeviceCollector(
        smartctl_replay({"nvme0n1": "nvme-healthy-corsair-mp510.json"}),
        power_supply_dir=fake_power_supply(
            tmp_path, "BAT0-uevent-lenovo-lnv45n1-discharging-81pct", "AC-uevent-mains-offline"
        ),
        sys_block=fake_sys_block(tmp_path, {"nvme0n1": 937703088}),
        sys_class_block=tmp_path / "class-block",
        mounted=lambda: [],
        temperatures=lambda: {"coretemp": [48.0, 51.0]},
        linux=True,
    )


def provision(broker: MosquittoBroker, device_id: str) -> str:
    """Create the device's broker account through the real dynamic-security plugin."""
    password = secrets.token_urlsafe(16)
    with DynsecClient(broker.host, broker.port, broker.admin_credentials) as dynsec:
        dynsec.provision_device(device_id, password)
    return password


def device_config(
    state_dir: Path, broker: MosquittoBroker, device_id: str, password: str
) -> AgentConfig:
    """An enrolled agent config pointing at a test broker, with short reconnect delays."""
    host, port = broker.device_endpoint
    return AgentConfig(
        state_dir=state_dir,
        device_id=device_id,
        mqtt_host=host,
        mqtt_port=port,
        mqtt_tls=False,
        username=f"device-{device_id}",
        password=password,
        backoff_initial_s=0.1,
        backoff_max_s=0.5,
        keepalive_s=5,
    )


class RunningAgent:
    """An Agent's `run()` in a thread, stopped and joined on exit."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.thread = threading.Thread(target=agent.run, name=f"agent-{agent.device_id}")

    def __enter__(self) -> Agent:
        self.thread.start()
        return self.agent

    def __exit__(self, *exc: object) -> None:
        self.agent.stop()
        self.thread.join(10)
        assert not self.thread.is_alive(), "agent did not stop"
