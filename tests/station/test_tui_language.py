"""The engine's refusals reach the technician in the interface language (Dutch by default)."""

from __future__ import annotations

import string
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Static

from station.reasons import ENGLISH, reason
from station.service import Station
from station.ui.app import build_app
from station.ui.dialogs import WipeDialog
from station.ui.i18n import text
from station.ui.reason_texts import DUTCH, say
from tests.station.test_tui import SIZE, select, wait_for
from tests.station.tui_app import log_text


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_reason_code_has_a_dutch_wording_with_the_same_values() -> None:
    assert set(DUTCH) == set(ENGLISH)
    for code, english in ENGLISH.items():
        assert _fields(DUTCH[code]) == _fields(english), code
    # Translated, not copied (only a bare pass-through of an uncoded message is the same).
    assert [c for c in ENGLISH if DUTCH[c] == ENGLISH[c]] == ["message"]


def test_job_kinds_and_states_have_words_in_both_languages() -> None:
    for language in ("nl", "en"):
        for key in ("wipe", "diagnostics"):
            assert text(language, f"hist_{key}")
        for state in ("running", "passed", "failed", "incomplete"):
            assert text(language, f"state_{state}")
    assert text("nl", "state_incomplete") == "onvolledig"


def test_a_nested_reason_and_checklist_items_are_worded_in_dutch() -> None:
    inner = reason("mounted", name="loop3", mount_point="/mnt/x")
    outer = reason("backed_by", inner, name="loop4", backing="/dev/loop3")
    assert say("nl", outer) == "loop4 draait op /dev/loop3: loop3 is gekoppeld op /mnt/x"
    assert say("en", outer) == "loop4 is backed by /dev/loop3: loop3 is mounted on /mnt/x"
    faulty = reason("functional_faulty", grade="C", items=["screen", "camera"])
    assert say("nl", faulty) == "werking C (scherm, camera defect)"


async def _wipe_refused(engine: Station, path: str, language: str) -> None:
    """Open the wipe dialog on a mounted disk: the reasons are in ``language`` only."""
    mounted = {"nl": "is gekoppeld op", "en": "is mounted on"}
    expected, absent = mounted[language], mounted["en" if language == "nl" else "nl"]
    app = build_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, path)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, WipeDialog))
        shown = str(app.screen.query_one("#refusals", Static).render())
        assert expected in shown and absent not in shown
        notes = str(app.screen.query_one("#method-notes", Static).render())
        assert {"nl": "alleen Clear", "en": "Clear only"}[language] in notes
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, WipeDialog))
        assert expected in log_text(app) and absent not in log_text(app)


@pytest.mark.root
@pytest.mark.asyncio
async def test_a_mounted_disk_is_refused_in_dutch_by_default_and_in_english_by_setting(
    station: Station, make_loop, tmp_path: Path
) -> None:
    path = make_loop(64, fill=None)
    subprocess.run(["mkfs.ext4", "-q", "-F", path], check=True, capture_output=True)
    mnt = tmp_path / "stick"
    mnt.mkdir()
    subprocess.run(["mount", path, str(mnt)], check=True)
    try:
        # The language comes from the station's setting; Dutch is the default.
        assert station.cfg.language == "nl"
        await _wipe_refused(station, path, "nl")
        await _wipe_refused(Station(replace(station.cfg, language="en")), path, "en")
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
