"""Labels on paper: the label PDF sent to a CUPS queue with ``lp``, run by the command runner.

The station does not talk to printers itself: CUPS (the system's print spooler, or the one
``label_print_server`` names with ``lp -h``) holds the queue, its driver and media, and
``lp [-h SERVER] -d QUEUE -o OPTION... FILE`` hands it the job. lp says ``request id is
QUEUE-42 (1 file(s))`` when the queue took it (on stdout; CUPS 1.1 wrote it on stderr), and
its own words on stderr with a non-zero exit when it did not.

A stopped queue (``cupsdisable``, or CUPS itself after the printer failed) still takes jobs:
they wait until the queue is resumed. So after lp took the label, ``lpstat -p QUEUE`` tells
whether the queue is stopped, and why, and the job says so.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from station.errors import RecordingMissing, StationError, ToolError
from station.hw.runner import CommandResult, CommandRunner
from station.reasons import reason

log = logging.getLogger(__name__)

LP = "lp"
LPSTAT = "lpstat"
LP_TIMEOUT_S = 30.0
LPSTAT_TIMEOUT_S = 10.0
# The runner runs lp in the C locale, so this is lp.c's untranslated format
# "request id is %s-%d (%d file(s))": the job id is the queue name, '-', the job number.
_REQUEST_ID = re.compile(r"^request id is (\S+-\d+) \(\d+ file\(s\)\)", re.M)
# lpstat.c's "printer %s disabled since %s -" and, on the next line after a tab, the queue's
# printer-state-message ("reason unknown" when it has none).
_DISABLED = re.compile(r"^printer (\S+) disabled since [^\n]*\n(?:\t([^\n]*))?", re.M)


class PrintError(StationError):
    """lp is missing, did not answer, or the queue did not take the label (a coded reason)."""


@dataclass(frozen=True)
class PrintJob:
    """A label the queue took: the queue, lp's job id ('' if it named none) and its output.

    ``stopped`` is why the queue is stopped (lpstat's words) when it is: the job waits there
    until the queue is resumed; '' when the queue prints (or lpstat could not tell).
    """

    queue: str
    job_id: str
    result: CommandResult
    stopped: str = ""

    def __str__(self) -> str:
        if self.stopped:
            job = f" (job id {self.job_id})" if self.job_id else ""
            return (
                f"label queued for printer {self.queue}{job}, but the printer is stopped: "
                f"{self.stopped}; it prints once the queue is resumed (cupsenable {self.queue})"
            )
        if self.job_id:
            return f"label sent to printer {self.queue} (job id {self.job_id})"
        return f"label sent to printer {self.queue}"


def _server(server: str) -> list[str]:
    # lp and lpstat act on -h where it stands: it comes first, before -d or -p.
    return ["-h", server] if server else []


def lp_argv(queue: str, options: Sequence[str], path: Path, server: str = "") -> list[str]:
    """``lp [-h SERVER] -d QUEUE [-o OPTION]... FILE``."""
    argv = [LP, *_server(server), "-d", queue]
    for option in options:
        argv += ["-o", option]
    return [*argv, str(path)]


def parse_request_id(text: str) -> str:
    """The job id in lp's ``request id is QUEUE-N (1 file(s))`` line; '' if there is none."""
    match = _REQUEST_ID.search(text)
    return match.group(1) if match else ""


def lpstat_argv(queue: str, server: str = "") -> list[str]:
    """``lpstat [-h SERVER] -p QUEUE``: whether the queue is enabled or stopped, and why."""
    return [LPSTAT, *_server(server), "-p", queue]


def parse_stopped(text: str, queue: str) -> str:
    """Why ``queue`` is stopped, from ``lpstat -p`` output; '' when it is not stopped."""
    for match in _DISABLED.finditer(text):
        if match.group(1) == queue:
            return (match.group(2) or "").strip() or "reason unknown"
    return ""


def queue_stopped(runner: CommandRunner, queue: str, server: str = "") -> str:
    """Why ``queue`` is stopped ('' if it is not, or if lpstat cannot tell)."""
    try:
        res = runner.run(lpstat_argv(queue, server), timeout=LPSTAT_TIMEOUT_S)
    except RecordingMissing:
        raise
    except ToolError as exc:
        log.info("could not ask whether printer %s is stopped: %s", queue, exc)
        return ""
    if res.returncode != 0:
        log.info("%s -> %d: %s", res.command_line, res.returncode, res.stderr.strip())
        return ""
    return parse_stopped(res.stdout, queue)


def send_label(
    runner: CommandRunner, queue: str, options: Sequence[str], path: Path, server: str = ""
) -> PrintJob:
    """Send the label file to ``queue`` (on ``server``, if set); PrintError with a coded reason
    unless lp took it. A job a stopped queue took says why the queue is stopped."""
    argv = lp_argv(queue, options, path, server)
    try:
        res = runner.run(argv, timeout=LP_TIMEOUT_S)
    except RecordingMissing:
        raise
    except ToolError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise PrintError(reason("print_no_lp", queue=queue)) from exc
        raise PrintError(reason("print_no_answer", queue=queue, error=str(exc))) from exc
    if res.returncode != 0:
        said = (res.stderr or res.stdout).strip() or "(lp said nothing)"
        log.warning("%s -> %d: %s", shlex.join(argv), res.returncode, said)
        raise PrintError(
            reason("print_refused", queue=queue, returncode=str(res.returncode), stderr=said)
        )
    job_id = parse_request_id(res.stdout) or parse_request_id(res.stderr)
    log.info("%s -> %s", shlex.join(argv), job_id or "no request id")
    stopped = queue_stopped(runner, queue, server)
    if stopped:
        log.warning("printer %s is stopped (%s): job %s waits", queue, stopped, job_id or "?")
    return PrintJob(queue, job_id, res, stopped)
