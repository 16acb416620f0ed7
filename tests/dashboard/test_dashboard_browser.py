"""The dashboard in Debian's chromium through Playwright: what a hub manager sees and does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import func, select

from server.models import Device, Flag, Loan
from server.timeutil import local_today
from tests.dashboard.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PASSWORD, LiveHub, add_flag

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless (Playwright never downloads a browser here)."""
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def log_in(browser: Browser, hub: LiveHub, **context: object) -> Page:
    """A fresh browser context signed in as the manager, on the overview."""
    page = browser.new_context(**context).new_page()  # type: ignore[arg-type]
    page.goto(hub.url + "/")
    expect(page).to_have_url(hub.url + "/login?next=%2F")
    page.get_by_label("Gebruikersnaam").fill("anna")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    expect(page).to_have_url(hub.url + "/")
    return page


def open_repair_flags(hub: LiveHub) -> int:
    with hub.factory() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Flag)
                .where(Flag.kind == "repair", Flag.status != "resolved")
            )
            or 0
        )


def test_overview_matches_the_database_then_resolve_a_flag(
    browser: Browser, live_hub: LiveHub
) -> None:
    page = log_in(browser, live_hub, viewport={"width": 1280, "height": 1000})
    with live_hub.factory() as session:
        by_state = dict(
            session.execute(select(Device.state, func.count()).group_by(Device.state)).all()
        )
        overdue = session.scalar(
            select(func.count())
            .select_from(Loan)
            .where(Loan.returned_at.is_(None), Loan.due_date < local_today())
        )
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.locator('[data-figure="open-repair"]')).to_have_text(
        str(open_repair_flags(live_hub))
    )
    expect(page.locator('[data-figure="overdue"]')).to_have_text(str(overdue))
    for state, n in by_state.items():
        expect(page.locator(f'td[data-state="{state}"]')).to_have_text(str(n))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)

    page.get_by_role("link", name="Meldingen", exact=True).click()
    page.screenshot(path=str(ARTIFACTS / "dashboard-flags.png"), full_page=True)
    row = page.locator("tr", has=page.locator("code", has_text="battery_worn"))
    asset_tag = row.get_by_role("link").inner_text()
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(asset_tag)
    expect(page.locator("svg.line polyline")).to_have_count(5)  # the five health plots
    page.screenshot(path=str(ARTIFACTS / "dashboard-device.png"), full_page=True)
    item = page.locator("li", has=page.locator("code", has_text="battery_worn"))
    item.get_by_label("Notitie").fill("battery replaced")
    item.get_by_role("button", name="Afhandelen").click()
    expect(page.get_by_role("status")).to_contain_text("battery_worn")
    expect(page.locator("li", has=page.locator("code", has_text="battery_worn"))).to_have_count(0)
    page.goto(live_hub.url + "/flags")
    expect(page.locator("code", has_text="battery_worn")).to_have_count(0)
    with live_hub.factory() as session:
        flag = session.scalar(select(Flag).where(Flag.reason == "battery_worn"))
        assert flag is not None
        assert (flag.status, flag.resolved_by, flag.note) == (
            "resolved",
            "anna",
            "battery replaced",
        )
    page.context.close()


def test_language_switch_to_english_and_back(browser: Browser, live_hub: LiveHub) -> None:
    page = log_in(browser, live_hub)
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    page.get_by_role("link", name="Flags", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Flags")
    page.get_by_role("button", name="Nederlands").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingen")
    page.context.close()


def test_overview_updates_itself_without_a_reload(browser: Browser, live_hub: LiveHub) -> None:
    page = log_in(browser, live_hub)
    before = open_repair_flags(live_hub)
    figure = page.locator('[data-figure="open-repair"]')
    expect(figure).to_have_text(str(before))
    page.evaluate("window.__same_page = true")
    with live_hub.factory() as session:
        device = session.scalars(select(Device).where(Device.state == "repair")).first()
        assert device is not None
        add_flag(session, device, "disk_failing", "critical")
        session.commit()
    expect(figure).to_have_text(str(before + 1), timeout=10_000)
    assert page.evaluate("window.__same_page") is True  # no navigation happened
    page.context.close()


def test_readable_on_a_phone(browser: Browser, live_hub: LiveHub) -> None:
    with live_hub.factory() as session:
        device_id = session.scalar(select(Flag.device_id).limit(1))
    page = log_in(browser, live_hub, viewport={"width": 390, "height": 844}, is_mobile=True)
    for path in ["/", "/flags", "/loans", "/digipunten", f"/devices/{device_id}"]:
        page.goto(live_hub.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"
    page.goto(live_hub.url + "/loans")
    page.screenshot(path=str(ARTIFACTS / "dashboard-loans-phone.png"), full_page=False)
    page.context.close()


AUDIT = (Path(__file__).parent / "a11y_audit.js").read_text()


def test_every_page_names_its_controls_and_meets_contrast(
    browser: Browser, live_hub: LiveHub
) -> None:
    with live_hub.factory() as session:
        device_id = session.scalar(select(Flag.device_id).limit(1))
    page = log_in(browser, live_hub, viewport={"width": 1280, "height": 1000})
    for path in ["/", "/flags", "/loans", "/digipunten", f"/devices/{device_id}"]:
        for width in (1280, 390):  # the laptop and the phone layout
            page.set_viewport_size({"width": width, "height": 1000})
            page.goto(live_hub.url + path)
            found = page.evaluate(AUDIT)
            assert found["checked"] > 20, (path, found)  # the audit saw the page's text
            assert found["problems"] == [], (path, width, found["problems"])
    page.context.close()


def test_a_flag_can_be_resolved_with_the_keyboard_alone(
    browser: Browser, live_hub: LiveHub
) -> None:
    page = log_in(browser, live_hub, viewport={"width": 1280, "height": 1000})
    page.goto(live_hub.url + "/flags")
    page.keyboard.press("Tab")  # the first stop is the skip link, shown when focused
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    focused_id = ""
    for _ in range(100):  # on through the filters to the first flag's note
        page.keyboard.press("Tab")
        focused_id = page.evaluate("document.activeElement.id")
        if focused_id.startswith("note-"):
            break
    assert focused_id.startswith("note-"), "no flag's note field is reachable by Tab"
    flag_id = int(focused_id.removeprefix("note-"))
    page.keyboard.type("checked by keyboard")
    for _ in range(3):  # past "acknowledge" (while open) to "resolve"
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Afhandelen":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_be_visible()
    with live_hub.factory() as session:
        flag = session.get(Flag, flag_id)
        assert flag is not None
        assert (flag.status, flag.note) == ("resolved", "checked by keyboard")
    page.context.close()
