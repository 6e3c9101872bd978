"""With the real AI Incident Database imported, what a leader needs first is on the first
screen of the dashboard, at desktop and phone widths, and neither the dashboard nor /controls/
scrolls sideways."""

from pathlib import Path

import pytest
from django.core.management import call_command

from incidents.dashboards.summaries import summaries_rebuild

from .factories import import_
from .shared_data import SHARED
from .test_browser import browser  # noqa: F401 - the shared Chromium fixture

AIID = SHARED / "aiid-snapshot-2026-02"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "img"
FIRST_SCREEN = ["section.headline", "#top-controls", "#overdue-by-owner"]
VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.fixture
def real_site(transactional_db, live_server):
    if not (AIID / "incidents.csv").is_file():
        pytest.skip(f"the AIID snapshot is not at {AIID}")
    call_command("load_demo", verbosity=0)  # the demo's action items and control assessments
    import_("aiid", AIID)
    summaries_rebuild()
    return live_server.url


def _page(browser, size):  # noqa: F811
    width, height = VIEWPORTS[size]
    return browser.new_page(viewport={"width": width, "height": height}, reduced_motion="reduce")


def _scroll_width(page):
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_what_a_leader_needs_first_is_on_the_first_screen(real_site, browser):  # noqa: F811
    # One test, as importing the snapshot takes minutes.
    for size, (width, height) in VIEWPORTS.items():
        page = _page(browser, size)
        errors = []
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        page.goto(f"{real_site}/dashboard/")
        page.wait_for_function("() => typeof Chart !== 'undefined'")
        for selector in FIRST_SCREEN:
            box = page.locator(selector).bounding_box()
            assert box is not None, f"{selector} is missing ({size})"
            assert box["y"] >= 0 and box["y"] + box["height"] <= height, (
                f"{selector} is not within the first screen at {size} width: "
                f"{box['y']:.0f} to {box['y'] + box['height']:.0f} of {height}px"
            )
        assert _scroll_width(page) <= width, f"the dashboard scrolls sideways ({size})"
        assert errors == []
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-first-screen-{size}.png"))
        page.close()

    page = _page(browser, "phone")
    page.goto(f"{real_site}/controls/")
    assert page.get_by_role("heading", level=1).inner_text() == "Controls"
    assert _scroll_width(page) <= 390, f"/controls/ scrolls sideways ({_scroll_width(page)}px)"
