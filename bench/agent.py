"""Benchmark the device agent: resident memory of a running `digibank-agent run`, CPU per report.

Starts a real Mosquitto from broker_config/ on free ports, enrolls a device account through the
dynamic-security plugin, runs the real agent as a subprocess, asks it for a few reports and
measures its RSS. CPU per collection is process_time over many collect() calls in this process
(plus the CPU of the smartctl children). Each figure is compared with a baseline measured in
the same run: a bare Python process with paho and psutil imported, a bare psutil snapshot.

    .venv/bin/python bench/agent.py [--reports 5] [--collections 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.collect.device import DeviceCollector  # noqa: E402
from agent.config import AgentConfig, save_credentials  # noqa: E402
from agent.report import commands_topic, health_topic  # noqa: E402
from agent.service import Agent  # noqa: E402
from server.broker import MosquittoBroker, free_port  # noqa: E402
from server.dynsec import DynsecClient  # noqa: E402
from tests.mqtt_broker import close, server_client, subscribe  # noqa: E402

TARGET_RSS_MIB = 35.0
TARGET_CPU_MS = 50.0
MIB = 1024 * 1024


def rss_of(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def baseline_rss() -> tuple[float, float]:
    """RSS of a bare Python, and of one with paho.mqtt.client and psutil imported."""
    out = []
    for code in ("import time", "import time, paho.mqtt.client, psutil"):
        proc = subprocess.Popen(
            [sys.executable, "-c", f"{code}; print(1, flush=True); time.sleep(30)"],
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        out.append(rss_of(proc.pid)[0])
        proc.kill()
        proc.wait()
    return out[0], out[1]


def agent_rss(reports: int) -> dict[str, float]:
    """Run the real agent against a real broker and measure it after `reports` reports."""
    data_dir = Path(tempfile.mkdtemp(prefix="digibank-bench-broker-"))
    os.chmod(data_dir, 0o711)
    state = Path(tempfile.mkdtemp(prefix="digibank-bench-agent-"))
    broker = MosquittoBroker(data_dir, free_port())
    broker.start()
    proc: subprocess.Popen[bytes] | None = None
    try:
        device_id = "bench-agent"
        password = "bench-" + os.urandom(8).hex()
        with DynsecClient(broker.host, broker.port, broker.admin_credentials) as dynsec:
            dynsec.provision_device(device_id, password)
        save_credentials(
            AgentConfig(
                state_dir=state,
                device_id=device_id,
                mqtt_host=broker.host,
                mqtt_port=broker.port,
                mqtt_tls=False,
                username=f"device-{device_id}",
                password=password,
            ),
            None,
        )
        sub, got = server_client(broker)
        subscribe(sub, health_topic(device_id))
        exe = (
            shutil.which("digibank-agent", path=str(Path(sys.executable).parent))
            or "digibank-agent"
        )
        proc = subprocess.Popen(
            [exe, "--state-dir", str(state), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        got.wait_for(1, timeout=15)
        for i in range(1, reports):
            sub.publish(commands_topic(device_id), b'{"type":"report_now"}', qos=1)
            got.wait_for(i + 1, timeout=10)
        received = len(got.wait_for(reports, timeout=10))
        time.sleep(2.0)  # settle: idle between reports is where the agent spends its life
        agent_proc = psutil.Process(proc.pid)
        before = agent_proc.cpu_times()
        time.sleep(10.0)  # idle: connected, waiting for the next interval
        after = agent_proc.cpu_times()
        idle_s = (after.user + after.system) - (before.user + before.system)
        cpu = after
        rss, peak = rss_of(proc.pid)
        close(sub)
        return {
            "reports_received": received,
            "rss_mib": rss,
            "peak_rss_mib": peak,
            "agent_cpu_s_total": cpu.user + cpu.system,
            "idle_cpu_ms_per_min": idle_s * 1000 * 60 / 10.0,
        }
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        broker.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def cpu_per_call(fn: object, n: int) -> tuple[float, float]:
    """(own CPU ms, children CPU ms) per call, median of three rounds of n calls."""
    own, kids = [], []
    for _ in range(3):
        t0, c0 = time.process_time(), os.times()
        for _ in range(n):
            fn()  # type: ignore[operator]
        t1, c1 = time.process_time(), os.times()
        own.append((t1 - t0) / n * 1000)
        kids.append(
            ((c1.children_user + c1.children_system) - (c0.children_user + c0.children_system))
            / n
            * 1000
        )
    return statistics.median(own), statistics.median(kids)


def per_report_cpu(n: int) -> tuple[float, float]:
    """CPU of the agent's whole per-report path: collect, number, JSON, durable spool write."""
    state = Path(tempfile.mkdtemp(prefix="digibank-bench-spool-"))
    try:
        config = AgentConfig(
            state_dir=state,
            device_id="bench",
            username="u",
            password="p",
            mqtt_host="127.0.0.1",
            mqtt_port=1,
            spool_max_reports=10 * n,
        )
        agent = Agent(config, DeviceCollector())
        return cpu_per_call(agent.collect_once, n)
    finally:
        shutil.rmtree(state, ignore_errors=True)


def psutil_snapshot() -> None:
    """The bare minimum a health report needs from psutil, with nothing around it."""
    psutil.virtual_memory()
    psutil.disk_partitions()
    psutil.disk_usage("/")
    psutil.boot_time()
    psutil.sensors_battery()
    psutil.sensors_temperatures()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=5)
    parser.add_argument("--collections", type=int, default=200)
    args = parser.parse_args()

    bare_rss, libs_rss = baseline_rss()
    running = agent_rss(args.reports)
    collector = DeviceCollector()
    collector.collect()  # warm caches and imports
    own_ms, smartctl_ms = cpu_per_call(collector.collect, args.collections)
    base_ms, _ = cpu_per_call(psutil_snapshot, args.collections)
    report_ms, _ = per_report_cpu(args.collections)

    results = {
        "baseline_bare_python_rss_mib": round(bare_rss, 1),
        "baseline_paho_psutil_rss_mib": round(libs_rss, 1),
        "agent_rss_mib": round(running["rss_mib"], 1),
        "agent_peak_rss_mib": round(running["peak_rss_mib"], 1),
        "agent_reports_received": running["reports_received"],
        "agent_idle_cpu_ms_per_minute": round(running["idle_cpu_ms_per_min"], 1),
        "agent_rss_over_baseline": round(running["rss_mib"] / libs_rss, 2),
        "collect_cpu_ms": round(own_ms, 2),
        "collect_smartctl_children_cpu_ms": round(smartctl_ms, 2),
        "report_cpu_ms_collect_spool_fsync": round(report_ms, 2),
        "baseline_psutil_snapshot_cpu_ms": round(base_ms, 2),
        "collect_over_baseline": round(own_ms / base_ms, 1) if base_ms else None,
        "target_rss_mib": TARGET_RSS_MIB,
        "target_cpu_ms": TARGET_CPU_MS,
    }
    total_cpu = own_ms + smartctl_ms
    print(
        f"agent idle (connected, between reports): "
        f"{results['agent_idle_cpu_ms_per_minute']} ms CPU per minute "
        f"(over 10 s; one 10 ms clock tick there is 60 ms/min)"
    )
    print(
        f"agent RSS after {running['reports_received']} reports: {results['agent_rss_mib']} MiB "
        f"(peak {results['agent_peak_rss_mib']} MiB); baseline python+paho+psutil "
        f"{results['baseline_paho_psutil_rss_mib']} MiB "
        f"(bare python {results['baseline_bare_python_rss_mib']}) "
        f"-> x{results['agent_rss_over_baseline']}; target <= {TARGET_RSS_MIB} MiB: "
        f"{'OK' if running['peak_rss_mib'] <= TARGET_RSS_MIB else 'MISSED'}"
    )
    print(
        f"CPU per collection: {own_ms:.2f} ms in the agent + {smartctl_ms:.2f} ms in smartctl "
        f"children ({results['report_cpu_ms_collect_spool_fsync']} ms in the agent with numbering "
        f"and the durable spool write); bare psutil snapshot {base_ms:.2f} ms "
        f"-> x{results['collect_over_baseline']}; "
        f"target <= {TARGET_CPU_MS} ms: {'OK' if total_cpu <= TARGET_CPU_MS else 'MISSED'}"
    )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "agent.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
