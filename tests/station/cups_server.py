"""A real CUPS scheduler for the label printing tests: the project's own ``cupsd``, in tmp.

``started_cups()`` writes a ``cupsd.conf`` and ``cups-files.conf`` whose every folder
(ServerRoot, spool, cache, state, logs, printcap) lies in a fresh temporary folder, starts
``cupsd -f`` listening on 127.0.0.1 on a free port (no browsing, no sharing, no web
interface, no authentication: only this machine can reach it), waits until ``lpstat -r``
says it runs, and stops it afterwards. The system's CUPS service, if any, is not touched:
the station reaches this one through its ``label_print_server`` setting (``lp -h``).

Queues: ``add_queue`` makes one with ``lpadmin`` whose device is ``file:`` into the folder
(``FileDevice Yes``). CUPS 2.4 writes nothing to a ``file:`` device of a raw queue
(``-m raw`` starts no filter, and only a filter's output goes to the file), so the queue has
a small PPD (``PASS_THROUGH_PPD``) whose one filter is CUPS's own ``gziptoany``: it passes
the PDF as is, byte for byte, to the output file. Debian: cups-daemon, cups-client and
cups-core-drivers (gziptoany); scripts/bootstrap.sh installs them for the tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SERVER_BIN = Path("/usr/lib/cups")  # cupsd's default ServerBin (Debian's CUPS)
START_TIMEOUT_S = 10.0

# A test label printer: PDF in, the same PDF out, through CUPS's own pass-through filter.
PASS_THROUGH_PPD = """*PPD-Adobe: "4.3"
*FormatVersion: "4.3"
*FileVersion: "1.0"
*LanguageVersion: English
*LanguageEncoding: ISOLatin1
*PCFileName: "DBLABEL.PPD"
*Manufacturer: "Digibank"
*Product: "(Digibank test label queue)"
*ModelName: "Digibank test label queue"
*ShortNickName: "Digibank test label queue"
*NickName: "Digibank test label queue, PDF passed as is"
*PSVersion: "(3010.000) 0"
*LanguageLevel: "3"
*ColorDevice: False
*DefaultColorSpace: Gray
*FileSystem: False
*Throughput: "1"
*cupsVersion: 2.4
*cupsFilter2: "application/pdf application/vnd.cups-pdf 0 gziptoany"
*OpenUI *PageSize/Media Size: PickOne
*DefaultPageSize: w176h82
*PageSize w176h82/62 x 29 mm: "<</PageSize[176 82]>>setpagedevice"
*CloseUI: *PageSize
*DefaultImageableArea: w176h82
*ImageableArea w176h82/62 x 29 mm: "0 0 176 82"
*DefaultPaperDimension: w176h82
*PaperDimension w176h82/62 x 29 mm: "176 82"
"""

CUPS_FILES_CONF = """# cups-files.conf of the tests' own cupsd: every folder in {root}
ServerRoot {root}
RequestRoot {root}/spool
TempDir {root}/spool/tmp
CacheDir {root}/cache
StateDir {root}/state
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
Printcap {root}/printcap
FileDevice Yes
"""

CUPSD_CONF = """# cupsd.conf of the tests' own cupsd: loopback only, nothing shared or announced
Listen 127.0.0.1:{port}
LogLevel info
Browsing No
BrowseLocalProtocols none
DefaultShared No
WebInterface No
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  SubscriptionPrivateAccess all
  SubscriptionPrivateValues none
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""


def free_port() -> int:
    """A loopback TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class CupsMissing(RuntimeError):
    """cupsd, its client tools or the gziptoany filter are not installed."""


def missing_cups() -> str:
    """What of CUPS is not installed ('' if all is there): the reason to skip."""
    lacking = [
        t for t in ("cupsd", "lpadmin", "lpstat", "lp") if not shutil.which(t, path=SBIN_PATH)
    ]
    if not (SERVER_BIN / "filter" / "gziptoany").is_file():
        lacking.append(f"{SERVER_BIN}/filter/gziptoany")
    if not lacking:
        return ""
    return (
        f"CUPS is not installed ({', '.join(lacking)} missing): "
        "apt-get install cups-daemon cups-client cups-core-drivers (scripts/bootstrap.sh tests)"
    )


@dataclass
class CupsServer:
    """The tests' own cupsd: ``server`` is its ``host:port`` (the station's setting, ``lp -h``)."""

    root: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    queues: dict[str, Path] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def error_log(self) -> Path:
        return self.root / "log" / "error_log"

    def tool(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a CUPS client tool (lpadmin, lpstat, cupsdisable...) against this server."""
        exe = shutil.which(argv[0], path=SBIN_PATH) or argv[0]
        return subprocess.run(
            [exe, "-h", self.server, *argv[1:]],
            capture_output=True,
            text=True,
            check=check,
            timeout=10,
            env={"LC_ALL": "C", "PATH": SBIN_PATH},
        )

    def start(self) -> None:
        """Write the configuration, start cupsd, wait until it answers."""
        for sub in ("spool/tmp", "cache", "state", "log", "ppd", "out"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "cups-files.conf").write_text(CUPS_FILES_CONF.format(root=self.root))
        (self.root / "cupsd.conf").write_text(CUPSD_CONF.format(port=self.port))
        (self.root / "dblabel.ppd").write_text(PASS_THROUGH_PPD)
        cupsd = shutil.which("cupsd", path=SBIN_PATH) or "cupsd"
        self.proc = subprocess.Popen(
            [cupsd, "-f", "-c", str(self.root / "cupsd.conf"),
             "-s", str(self.root / "cups-files.conf")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "log" / "cupsd.stderr").open("wb"),
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cupsd exited ({self.proc.returncode}): {self._said()}")
            said = self.tool("lpstat", "-r", check=False).stdout.strip()
            if said == "scheduler is running":
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"cupsd did not answer within {START_TIMEOUT_S:g} s: {self._said()}")

    def _said(self) -> str:
        texts = [p.read_text(errors="replace") for p in
                 (self.root / "log" / "cupsd.stderr", self.error_log) if p.exists()]  # fmt: skip
        return "\n".join(texts)[-2000:]

    def stop(self) -> None:
        """Stop cupsd (SIGTERM, then SIGKILL) and whatever it started; no process is left."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # a filter it started, if any is left
        self.proc = None

    def add_queue(self, name: str) -> Path:
        """A queue ``name`` (enabled, accepting) printing to a file; returns that file."""
        out = self.root / "out" / f"{name}.out"
        self.tool("lpadmin", "-p", name, "-E", "-v", f"file://{out}",
                  "-P", str(self.root / "dblabel.ppd"))  # fmt: skip
        self.queues[name] = out
        return out

    def new_queue(self, prefix: str = "labels") -> tuple[str, Path]:
        """A queue with a name no other test uses: its name and the file it prints to."""
        name = f"{prefix}_{len(self.queues) + 1}"
        return name, self.add_queue(name)

    def jobs(self, queue: str) -> list[str]:
        """The ids of all the queue's jobs, completed or not."""
        said = self.tool("lpstat", "-W", "all", "-o", queue, check=False).stdout
        return [line.split()[0] for line in said.splitlines() if line.strip()]

    def wait_completed(self, job_id: str, timeout: float = 10.0) -> None:
        """Wait until the job ``QUEUE-N`` is completed (its bytes are in the queue's file)."""
        queue = job_id.rsplit("-", 1)[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.tool("lpstat", "-W", "completed", "-o", queue, check=False).stdout
            if any(line.split()[:1] == [job_id] for line in done.splitlines()):
                return
            time.sleep(0.05)
        raise TimeoutError(f"job {job_id} not completed within {timeout:g} s: {self._said()}")

    def pending(self, queue: str) -> list[str]:
        """The ids of the queue's jobs not completed yet."""
        said = self.tool("lpstat", "-o", queue, check=False).stdout
        return [line.split()[0] for line in said.splitlines() if line.strip()]


@contextlib.contextmanager
def started_cups() -> Iterator[CupsServer]:
    """A started CupsServer in a fresh temporary folder; stopped and removed afterwards."""
    lacking = missing_cups()
    if lacking:
        raise CupsMissing(lacking)
    root = Path(tempfile.mkdtemp(prefix="digibank-cups-"))
    os.chmod(root, 0o755)  # cupsd's filters run as its User (lp) and read the spool inside
    cups = CupsServer(root, free_port())
    try:
        cups.start()
        yield cups
    finally:
        cups.stop()
        shutil.rmtree(root, ignore_errors=True)
