"""Borrower notifications: the command lines the notifier runs, through the replay runner."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from agent.notify import DesktopNotifier
from agent.runner import Recording, ReplayRunner

TITLE, MESSAGE = "Digibank", "Je lening loopt vrijdag af; breng de laptop naar digipunt Brugge"


@pytest.mark.skipif(os.geteuid() != 0, reason="the service path runs as root")
def test_root_service_notifies_each_logged_in_desktop(tmp_path: Path) -> None:
    # A logged-in user's session bus lives in /run/user/UID/bus; `nobody` stands in for one.
    uid = pwd.getpwnam("nobody").pw_uid
    (tmp_path / str(uid)).mkdir()
    (tmp_path / str(uid) / "bus").touch()
    (tmp_path / "0").mkdir()  # root's own session is not a borrower's desktop
    (tmp_path / "0" / "bus").touch()
    empty = tmp_path / "empty.out"
    empty.write_text("")
    argv = (
        "runuser", "-u", "nobody", "--", "env",
        f"DBUS_SESSION_BUS_ADDRESS=unix:path={tmp_path}/{uid}/bus",
        "notify-send", "--app-name=Digibank", "--urgency=normal", TITLE, MESSAGE,
    )  # fmt: skip
    runner = ReplayRunner({argv: Recording(empty)}, installed=["notify-send"])
    assert DesktopNotifier(runner, run_user=tmp_path).notify(TITLE, MESSAGE) is True
    assert runner.calls == [argv]


def test_without_notify_send_the_message_is_only_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runner = ReplayRunner({})
    with caplog.at_level("WARNING"):
        assert DesktopNotifier(runner, run_user=tmp_path).notify(TITLE, MESSAGE) is False
    assert runner.calls == []
    assert MESSAGE in caplog.text


def test_a_failing_notifier_does_not_raise(tmp_path: Path) -> None:
    (tmp_path / "65534").mkdir()
    (tmp_path / "65534" / "bus").touch()
    # notify-send is installed but its command line has no answer (as if it hung).
    runner = ReplayRunner({}, installed=["notify-send"])
    assert DesktopNotifier(runner, run_user=tmp_path).notify(TITLE, MESSAGE) is False
