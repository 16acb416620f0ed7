"""Show a message to the borrower: a desktop notification where the OS allows, else the log."""

from __future__ import annotations

import base64
import logging
import os
import sys
from pathlib import Path

from agent.runner import CommandRunner, RunnerError

log = logging.getLogger(__name__)

NOTIFY_TIMEOUT_S = 15.0
RUN_USER = Path("/run/user")

# PowerShell toast: title and text arrive base64-encoded, so nothing the server sends is
# ever parsed as PowerShell.
_TOAST = """
$t=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('{title}'))
$m=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('{message}'))
[Windows.UI.Notifications.ToastNotificationManager,Windows.UI.Notifications,ContentType=WindowsRuntime]>$null
$x=[Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent(1)
$n=$x.GetElementsByTagName('text');$n.Item(0).InnerText=$t;$n.Item(1).InnerText=$m
$a='{{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}}\\WindowsPowerShell\\v1.0\\powershell.exe'
[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier($a).Show(
 [Windows.UI.Notifications.ToastNotification]::new($x))
"""


class DesktopNotifier:
    """Shows notifications through the command runner; returns whether anything was shown."""

    def __init__(self, runner: CommandRunner, run_user: Path = RUN_USER) -> None:
        self.runner = runner
        self.run_user = run_user

    def notify(self, title: str, message: str) -> bool:
        """Show `title`/`message` to whoever sits at the machine; log it in any case."""
        log.warning("message for the borrower: %s: %s", title, message)
        try:
            if sys.platform == "win32":
                return self._windows(title, message)
            return self._linux(title, message)
        except RunnerError as exc:
            log.warning("could not show the notification: %s", exc)
            return False

    def _linux(self, title: str, message: str) -> bool:
        if self.runner.which("notify-send") is None:
            log.info("notify-send not installed; the message is only in the log")
            return False
        base = ("notify-send", "--app-name=Digibank", "--urgency=normal", title, message)
        if os.geteuid() != 0:
            return self.runner.run(base, timeout=NOTIFY_TIMEOUT_S).returncode == 0
        # A system service has no desktop of its own: send to each logged-in user's session bus.
        shown = False
        for uid, name in self._desktop_users():
            bus = f"DBUS_SESSION_BUS_ADDRESS=unix:path={self.run_user}/{uid}/bus"
            argv = ("runuser", "-u", name, "--", "env", bus, *base)
            shown |= self.runner.run(argv, timeout=NOTIFY_TIMEOUT_S).returncode == 0
        return shown

    def _desktop_users(self) -> list[tuple[int, str]]:
        import pwd  # POSIX only; this runs on Linux only

        users: list[tuple[int, str]] = []
        if not self.run_user.is_dir():
            return users
        for entry in sorted(self.run_user.iterdir()):
            if entry.name.isdigit() and int(entry.name) >= 1000 and (entry / "bus").exists():
                try:
                    users.append((int(entry.name), pwd.getpwuid(int(entry.name)).pw_name))
                except KeyError:
                    continue
        return users

    def _windows(self, title: str, message: str) -> bool:
        if self.runner.which("msg") is not None:
            # msg.exe reaches every session, also from a SYSTEM task (Pro/Enterprise editions).
            done = self.runner.run(
                ("msg", "*", "/TIME:3600", f"{title}: {message}"), NOTIFY_TIMEOUT_S
            )
            if done.returncode == 0:
                return True
        script = _TOAST.format(title=_b64(title), message=_b64(message))
        encoded = base64.b64encode(script.encode("utf-16-le")).decode()
        argv = ("powershell", "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded)
        return self.runner.run(argv, timeout=NOTIFY_TIMEOUT_S).returncode == 0


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode()
