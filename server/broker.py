"""Start and stop the hub's own Mosquitto from `broker_config/`; its state lives in data_dir."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from server.broker_files import (
    BrokerAccount,
    BrokerCredentials,
    BrokerError,
    PortInUse,
    blocking_parent,
    broker_user,
    credentials_path,
    ensure_credentials,
    hand_over,
    render_config,
    write_dynsec,
)
from server.broker_tls import TlsFiles, ensure_tls

log = logging.getLogger(__name__)

MOSQUITTO = "mosquitto"
STOP_TIMEOUT_S = 10.0

__all__ = [
    "BrokerAccount",
    "BrokerCredentials",
    "BrokerError",
    "MosquittoBroker",
    "PortInUse",
    "free_port",
    "port_accepts",
]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class MosquittoBroker:
    """One Mosquitto process whose config, dynsec JSON, persistence and log live in data_dir/broker.

    `port` is the server's listener on `host` (loopback); `device_port`, when given, is a
    second listener for devices on `device_bind`, with TLS when `tls` is set. Without a
    device port, devices use the server's listener.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        host: str = "127.0.0.1",
        device_port: int | None = None,
        tls: bool = False,
        *,
        device_bind: str = "0.0.0.0",
        tls_names: tuple[str, ...] = (),
    ) -> None:
        if tls and device_port is None:
            raise BrokerError("TLS is for the device listener: give a device_port")
        if device_port is not None and device_port == port:
            raise BrokerError(f"device port {device_port} is the server's port; use another")
        self.data_dir = Path(data_dir)
        self.port = port
        self.host = host
        self.device_port = device_port
        self.device_bind = device_bind
        self.tls = tls
        self.tls_names = tls_names
        self.runtime_dir = self.data_dir / "broker"
        self._proc: subprocess.Popen[bytes] | None = None
        self._creds: BrokerCredentials | None = None
        self._tls_files: TlsFiles | None = None

    # --- files ------------------------------------------------------------------------

    @property
    def config_file(self) -> Path:
        """The rendered mosquitto.conf."""
        return self.runtime_dir / "mosquitto.conf"

    @property
    def log_file(self) -> Path:
        """The broker's own log."""
        return self.runtime_dir / "mosquitto.log"

    @property
    def credentials_file(self) -> Path:
        """The 0600 file with the admin and server passwords."""
        return credentials_path(self.data_dir)

    @property
    def credentials(self) -> BrokerCredentials:
        """Both built-in accounts (generated on first start)."""
        if self._creds is None:
            self._creds = ensure_credentials(self.data_dir)
        return self._creds

    @property
    def server_credentials(self) -> BrokerAccount:
        """The account the server's ingest and command sender use."""
        return self.credentials.server

    @property
    def admin_credentials(self) -> BrokerAccount:
        """The dynsec admin account (creates and revokes device accounts)."""
        return self.credentials.admin

    @property
    def tls_files(self) -> TlsFiles | None:
        """The device listener's CA, certificate and key, when TLS is on."""
        return self._tls_files

    @property
    def device_endpoint(self) -> tuple[str, int]:
        """(host, port) a device on this machine connects to."""
        if self.device_port is None:
            return self.host, self.port
        bind = self.device_bind
        return ("127.0.0.1" if bind in ("", "0.0.0.0", "::") else bind), self.device_port

    def prepare(self) -> None:
        """Write config, dynsec JSON, TLS material and folders; hand them to the broker user."""
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime_dir, 0o700)
        (self.runtime_dir / "persistence").mkdir(exist_ok=True)
        write_dynsec(self.runtime_dir / "dynamic-security.json", self.credentials)
        tls_lines: list[str] = []
        if self.tls:
            self._tls_files = ensure_tls(
                self.runtime_dir / "tls", self.data_dir / "broker-ca.key", self.tls_names
            )
            tls_lines = [
                f"cafile {self._tls_files.cafile}",
                f"certfile {self._tls_files.certfile}",
                f"keyfile {self._tls_files.keyfile}",
                "tls_version tlsv1.2",
                "require_certificate false",
            ]
        owner = broker_user()
        run_as = "mosquitto" if owner else None
        if owner is not None and (blocked := blocking_parent(self.runtime_dir, *owner)):
            # A data folder under a private home (e.g. /root) is out of the broker user's
            # reach; rather than fail the hub, keep the broker as root, which can reach it.
            log.warning(
                "%s is closed to user mosquitto; running the broker as root instead", blocked
            )
            owner, run_as = None, "root"
        text = render_config(
            port=self.port,
            host=self.host,
            runtime_dir=self.runtime_dir,
            device_port=self.device_port,
            device_bind=self.device_bind,
            tls_lines=tls_lines,
            run_as=run_as,
        )
        self.config_file.write_text(text)
        os.chmod(self.config_file, 0o600)
        hand_over(self.runtime_dir, owner)

    # --- process ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._proc.pid if self.running and self._proc else None

    def start(self, timeout: float = 10.0) -> None:
        """Start Mosquitto and wait until every listener accepts; PortInUse if one is taken."""
        if self.running:
            return
        ports = [self.port] + ([self.device_port] if self.device_port is not None else [])
        for port in ports:
            # Something else answering there would fool the readiness wait below.
            if port_accepts("127.0.0.1", port) or port_accepts(self.host, port):
                raise PortInUse(port)
        self.prepare()
        size = self.log_file.stat().st_size if self.log_file.exists() else 0
        # stderr to a file, not a pipe: a pipe nobody reads would block the broker once full.
        with open(self.runtime_dir / "stderr.log", "wb") as err:
            self._proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        host, _ = self.device_endpoint
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._fail_started(ports, size)
            if port_accepts(self.host, self.port) and (
                self.device_port is None or port_accepts(host, self.device_port)
            ):
                log.info("mosquitto %d listening on %s:%d", self._proc.pid, self.host, self.port)
                return
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"mosquitto did not accept within {timeout:.0f}s: {self._log_tail(size)}")

    def _fail_started(self, ports: list[int], log_offset: int) -> None:
        proc = self._proc
        assert proc is not None
        self._proc = None
        try:
            err = (self.runtime_dir / "stderr.log").read_text(errors="replace")
        except OSError:
            err = ""
        detail = (err + "\n" + self._log_tail(log_offset)).strip()
        if "Address already in use" in detail:
            for port in ports:
                if f":{port}" in detail or str(port) in detail:
                    raise PortInUse(port)
            raise PortInUse(ports[0])
        raise BrokerError(f"mosquitto exited with {proc.returncode}: {detail[-2000:]}")

    def _log_tail(self, offset: int) -> str:
        try:
            with open(self.log_file, "rb") as fh:
                fh.seek(offset)
                return fh.read()[-2000:].decode(errors="replace")
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM (the broker saves its persistence file), wait, SIGKILL if it hangs."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("mosquitto %d ignored SIGTERM for %.0fs; killing", proc.pid, timeout)
                proc.kill()
                proc.wait(5)

    def kill(self) -> None:
        """SIGKILL the broker (for fault tests: no final save)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(5)

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
