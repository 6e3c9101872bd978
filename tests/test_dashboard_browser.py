"""The dashboard in Chromium: every chart is drawn, and the page fits a phone."""

from pathlib import Path

import pytest
from django.core.management import call_command

from incidents.dashboards.summaries import summaries_rebuild

from .test_browser import browser  # noqa: F401 - the shared Chromium fixture

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "dashboard.png"
DRAWN = """canvas => {
  const { width, height } = canvas;
  if (!width || !height) return 0;
  const pixels = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return painted;
}"""


@pytest.fixture
def demo_dashboard(transactional_db, live_server):
    call_command("load_demo", verbosity=0)
    summaries_rebuild()
    return f"{live_server.url}/dashboard/"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_chart_of_the_dashboard_is_drawn(demo_dashboard, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(demo_dashboard)
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    canvases = page.locator("canvas[data-chart]")
    assert canvases.count() >= 7
    page.wait_for_function("() => typeof Chart !== 'undefined'")
    for index in range(canvases.count()):
        canvas = canvases.nth(index)
        canvas.scroll_into_view_if_needed()
        name = canvas.get_attribute("data-chart")
        assert canvas.evaluate(DRAWN) > 500, f"{name} is blank"
    assert errors == []
    assert page.locator("table.heatmap td").count() > 0
    page.screenshot(
        path=str(SCREENSHOT), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": 2000}
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_dashboard_fits_a_phone_screen(demo_dashboard, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 390, "height": 844}, reduced_motion="reduce")
    page.goto(demo_dashboard)
    page.wait_for_function("() => typeof Chart !== 'undefined'")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"the page scrolls sideways ({scroll_width}px wide)"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_printed_dashboard_is_a_report_without_navigation_or_filters(demo_dashboard, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1100, "height": 900}, reduced_motion="reduce")
    page.goto(demo_dashboard)
    page.wait_for_function("() => typeof Chart !== 'undefined'")
    page.emulate_media(media="print")
    for hidden in (".site-header", ".site-footer", "#dashboard-filters", "a[download]"):
        assert not page.locator(hidden).first.is_visible(), hidden
    for kept in ("section.headline", "#top-controls", "#overdue-by-owner", "canvas[data-chart]"):
        assert page.locator(kept).first.is_visible(), kept
    figures = page.locator(".headline-figure")
    tops = {round(figures.nth(i).bounding_box()["y"]) for i in range(figures.count())}
    assert len(tops) == 1, "the headline figures print in one row"
    link = page.locator("#top-controls a").first
    assert link.evaluate("a => getComputedStyle(a, '::after').content") in ("none", "normal")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_filter_form_sends_only_what_was_chosen(demo_dashboard, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(demo_dashboard)
    choice = page.locator("#dashboard-organisation option").nth(1)
    page.select_option("#dashboard-organisation", value=choice.get_attribute("value"))
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/dashboard/?organisation=*")
    assert "tag=" not in page.url and "occurred_after=" not in page.url
    assert "Some of what was asked for was ignored" not in page.content()
