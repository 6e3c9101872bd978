"""What only a browser shows: deadlines in the browser's time zone, and adding a suggested
control assessment with one click. Debian's Chromium driven by Playwright."""

from datetime import UTC, datetime

import pytest

from incidents.models import AgentAction, ReportingTrigger
from incidents.services import reporting as reporting_service
from incidents.services import review as review_service

from .factories import signed_in, snapshot_of
from .test_browser import browser  # noqa: F401 - the shared Chromium fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def site(transactional_db, live_server, settings, ada):
    """Ada, a reporter, with one incident; her session cookie; the server's address. Data is
    made here, before the browser starts its event loop."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    incident = review_service.incident_create(
        snapshot=snapshot_of(title="Agent destroyed the staging cluster"), by=ada
    )
    reporting_service.reporting_clock_set(
        incident=incident,
        trigger=ReportingTrigger.objects.get(slug="personal-data-breach"),
        aware_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        by=ada,
    )
    AgentAction.objects.create(
        incident=incident,
        position=1,
        command="kubectl delete namespace staging",
        action_class="destroy",
        approval_gate="none",
    )
    return live_server.url, incident.number, signed_in(ada).cookies["sessionid"].value


def signed_in_page(browser, site, **options):  # noqa: F811
    base_url, _, session = site
    context = browser.new_context(**options)
    context.add_cookies([{"name": "sessionid", "value": session, "url": base_url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def test_deadlines_show_in_the_browsers_time_zone(site, browser):  # noqa: F811
    base_url, number, _ = site
    page = signed_in_page(browser, site, timezone_id="Asia/Tokyo")
    page.goto(f"{base_url}/postmortems/{number}/reporting/")
    page.wait_for_function("document.querySelector('[data-reader-tz]').dataset.readerTz !== 'UTC'")
    assert "Asia/Tokyo" in page.locator("[data-reader-tz]").inner_text()
    # 72 hours after 10:00 UTC is 19:00 in Tokyo.
    assert "4 Mar 2026 19:00" in page.locator("table").first.inner_text()
    page.context.close()


def test_a_suggested_control_is_added_with_one_click_and_saved(site, browser):  # noqa: F811
    base_url, number, _ = site
    page = signed_in_page(browser, site)
    page.goto(f"{base_url}/postmortems/{number}/edit/")
    suggestions = page.locator("[data-control-suggestions]")
    assert "Deletion protection on production resources" in suggestions.inner_text()
    page.get_by_role("button", name="Add Deletion protection on production resources").click()
    assert page.locator("select[name='control_assessments-0-verdict']").input_value() == (
        "would_have_stopped"
    )
    page.get_by_role("button", name="Save a new revision").click()
    page.wait_for_load_state()
    assert "Saved revision 2" in page.locator("main").inner_text()
    # Saved now, so no longer suggested, and shown as a row.
    assert "Deletion protection" not in page.locator("[data-control-suggestions]").inner_text()
    control = page.locator("select[name='control_assessments-0-control'] option:checked")
    assert control.inner_text() == "Deletion protection on production resources"
    page.context.close()
