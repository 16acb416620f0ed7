"""The grading dialog fits an 80x24 terminal without scrolling and is filled from the keyboard.

The graded device is a tablet from a scripted USB event (the machine has none); the
dialog, the engine's grading rule and the app are the real ones.
"""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widgets import Static

from station.config import StationConfig
from station.grading import CHECKLIST_ITEMS
from station.service import Station
from station.ui.app import StationApp
from station.ui.choice import Choice
from station.ui.grade import GradeDialog
from tests.station.test_station_tablets import ScriptedAdb
from tests.station.test_tui_tablets import NO_ACCOUNTS, TABLET, wait_for
from tests.station.tui_app import NoHardware, attach_tablet

pytestmark = pytest.mark.asyncio

SIZE = (80, 24)
# Faulty: screen, keyboard/touch, trackpad, camera, charger; the rest left unchecked, no
# battery figures: the longest verdict the rule gives (every kind of reason at once).
FAULTY = ("screen", "keyboard_touch", "trackpad", "camera", "charger_present")


def _visible(widget_region: Region, screen: Region) -> bool:
    return widget_region.area > 0 and screen.contains_region(widget_region)


@pytest.mark.parametrize("language", ["nl", "en"])
async def test_grading_fits_80x24_and_is_filled_from_the_keyboard(
    cfg: StationConfig, language: str
) -> None:
    app = StationApp(Station(cfg, runner=ScriptedAdb(NO_ACCOUNTS)), NoHardware(), language=language)
    async with app.run_test(size=SIZE) as pilot:
        await attach_tablet(pilot, app, TABLET)
        rec = app.selected()
        assert rec is not None
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, GradeDialog))
        dialog = app.screen
        assert app.focused is dialog.query_one("#cosmetic", Choice)

        await pilot.press("5")  # E
        for item in CHECKLIST_ITEMS:
            await pilot.press("down")
            assert app.focused is dialog.query_one(f"#item-{item}", Choice)
            if item in FAULTY:
                await pilot.press("right", "right")  # works -> faulty
        await pilot.pause()

        screen = Region(0, 0, *SIZE)
        shown = [
            dialog.query_one("#cosmetic"),
            *(dialog.query_one(f"#item-{item}") for item in CHECKLIST_ITEMS),
            dialog.query_one("#health"),
            dialog.query_one("#cycles"),
            dialog.query_one("#verdict"),
            dialog.query_one("#save"),
        ]
        hidden = [w.id for w in shown if not _visible(w.region, screen)]
        assert hidden == [], f"outside the {SIZE} screen: {hidden}"
        assert dialog.query_one("#dialog").max_scroll_y == 0
        # Every checklist item shows all its options, not cut off.
        for item in CHECKLIST_ITEMS:
            choice = dialog.query_one(f"#item-{item}", Choice)
            assert choice.region.width >= choice.get_content_width(screen.size, screen.size)

        verdict = str(dialog.query_one("#verdict", Static).render())
        not_lendable = {"nl": "Niet uitleenbaar", "en": "Not lendable"}[language]
        assert not_lendable in verdict
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: rec.grades is not None)

    assert rec.grades is not None and rec.checklist is not None
    assert rec.grades.cosmetic == "E" and not rec.grades.lendable
    assert {k for k, ok in rec.checklist.results.items() if ok is False} == set(FAULTY)
    assert set(rec.checklist.unchecked()) == set(CHECKLIST_ITEMS) - set(FAULTY)
    assert {r.code for r in rec.grades.reasons} == {
        "cosmetic_worse",
        "functional_faulty",
        "battery_unknown",
        "no_charger",
        "not_checked",
    }
