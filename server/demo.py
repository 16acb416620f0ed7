"""`digibank-server demo`: the hub with a living simulated fleet, for a first look.

On top of the normal hub (migrations, region, Mosquitto, API, dashboard, ingest) it seeds a
few hundred devices across the lifecycle with loans, then starts simulator processes in
which every loaned device enrolls with its own one-time code and runs the real agent over
the real broker. Flags appear on the dashboard as reports are ingested. Ctrl-C (or SIGTERM)
stops every process it started.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import uvicorn
from sqlalchemy import func, select

from server.core.config import Settings
from server.core.db import make_engine, make_sessionmaker, session_scope
from server.demo_fleet import seed_fleet
from server.enrollment import create_code
from server.hub import prepare_database, say, start_broker
from server.models import Device, User
from server.security import hash_password, new_secret

log = logging.getLogger(__name__)

DEMO_USER = "demo"
STOP_GRACE_S = 20.0


def prepare_fleet(settings: Settings, devices: int) -> tuple[str, list[int]]:
    """Seed the fleet once, (re)set the demo manager's password; the loaned device ids."""
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            if not session.scalar(select(func.count()).select_from(Device)):
                summary = seed_fleet(session, devices=devices)
                say(
                    f"demo fleet seeded: {summary.devices} devices, {summary.on_loan} on loan "
                    f"({summary.overdue} overdue, {summary.due_soon} due within a week)"
                )
            password = new_secret(9)
            user = session.scalar(select(User).where(User.username == DEMO_USER))
            if user is None:
                session.add(
                    User(username=DEMO_USER, password_hash=hash_password(password), role="manager")
                )
            else:
                user.password_hash = hash_password(password)
                user.active = True
            loaned = list(
                session.scalars(
                    select(Device.id).where(Device.state == "on_loan").order_by(Device.id)
                )
            )
        return password, loaned
    finally:
        engine.dispose()


def issue_codes(settings: Settings, device_ids: list[int], interval_s: int) -> dict[int, str]:
    """A fresh one-time enrollment code per simulated device (earlier ones stop working)."""
    engine = make_engine(settings)
    codes = {}
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            for device_id in device_ids:
                device = session.get(Device, device_id)
                assert device is not None
                new = create_code(session, device, actor=DEMO_USER, ttl_minutes=30)
                codes[device_id] = new.code
                # What the hub expects of these agents (a real hub sends set_interval).
                device.report_interval_s = interval_s
    finally:
        engine.dispose()
    return codes


def _die_with_parent() -> None:
    # Linux: a simulator gets SIGTERM if the demo itself is killed, so nothing is left over.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_simulators(
    settings: Settings, url: str, codes: dict[int, str], processes: int, interval_s: int
) -> list[subprocess.Popen[bytes]]:
    """Split the devices over `processes` simulator processes and start them."""
    folder = settings.data_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ids = sorted(codes)
    children = []
    for k in range(processes):
        mine = ids[k::processes]
        if not mine:
            continue
        spec = {
            "server": url,
            "interval_s": interval_s,
            "state_dir": str((folder / "agents").resolve()),
            "devices": [{"device_id": i, "code": codes[i], "seed": i} for i in mine],
        }
        path = folder / f"simulator-{k}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(spec, fh)
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "agent.simulated", str(path)],
                preexec_fn=_die_with_parent,
                stdin=subprocess.DEVNULL,
            )
        )
    return children


def stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every simulator, wait for them, SIGKILL what is left after the grace time."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("simulator %d did not stop in time; killing it", child.pid)
            child.kill()
            child.wait()


def _ingest_for(app: Any, settings: Settings) -> Any:
    """An ingest service when the app does not run one itself (None when it does)."""
    if not settings.ingest_enabled:
        return None
    if any(getattr(s, "name", "") == "ingest" for s in app.state.services):
        return None
    from server.ingest import IngestService

    service = IngestService(settings, app.state.sessionmaker)
    service.start()
    return service


def run_demo(
    settings: Settings,
    *,
    devices: int = 300,
    processes: int = 3,
    interval_s: int = 5,
    stop: threading.Event | None = None,
) -> int:
    """Run the hub with a simulated fleet until Ctrl-C, SIGTERM or `stop`; then stop it all."""
    stop = stop or threading.Event()
    # One line per broker account created would bury the login among hundreds of lines.
    logging.getLogger("server.dynsec").setLevel(logging.WARNING)
    # Devices that go away for a minute or two should show as silent while they are away.
    settings = settings.model_copy(
        update={"presence_grace_s": min(settings.presence_grace_s, 4 * interval_s)}
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    say(f"data folder: {settings.data_dir.resolve()}")
    admin_password = prepare_database(settings)
    password, loaned = prepare_fleet(settings, devices)
    broker = start_broker(settings)
    children: list[subprocess.Popen[bytes]] = []
    previous = _on_signals(stop)
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    ingest = None
    try:
        creds = broker.server_credentials
        settings = settings.model_copy(
            update={
                "mqtt_port": broker.port,
                "mqtt_username": settings.mqtt_username or creds.username,
                "mqtt_password": settings.mqtt_password or creds.password,
            }
        )
        from server.app import create_app

        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive() or stop.wait(0.05):
                say("the web server did not start (is the port free?)")
                return 1
        ingest = _ingest_for(app, settings)
        url = f"http://{settings.host}:{settings.port}"
        # One in twenty loaned devices never reports: the dashboard shows them as silent.
        simulated = [d for i, d in enumerate(loaned) if i % 20 != 7]
        codes = issue_codes(settings, simulated, interval_s)
        children = start_simulators(settings, url, codes, processes, interval_s)
        say(
            f"{len(simulated)} simulated devices in {len(children)} processes, "
            f"a report every {interval_s} s each"
        )
        print(
            f"\n    dashboard: {url}/\n    username:  {DEMO_USER}\n    password:  {password}\n",
            flush=True,
        )
        if admin_password:
            say("the hub's first manager account was created too; shown only once:")
            print(f"    username:  admin\n    password:  {admin_password}\n", flush=True)
        say("flags appear within a minute as reports arrive; press Ctrl-C to stop")
        while not stop.wait(1.0):
            for child in children:
                if child.poll() is not None and child.returncode not in (0, -signal.SIGTERM):
                    say(f"a simulator exited with code {child.returncode}")
                    children.remove(child)
        return 0
    finally:
        say("stopping the simulated devices")
        stop_children(children)
        if ingest is not None:
            ingest.stop()
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=15)
        say("stopping mosquitto")
        broker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        say("stopped")


def _on_signals(stop: threading.Event) -> dict[int, Any]:
    """Ctrl-C and SIGTERM set `stop` (only possible from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
