"""What only a browser shows: deadlines in the browser's time zone, and adding a suggested
control assessment with one click. Debian's Chromium driven by Playwright."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from incidents.models import AgentAction, ReportingTrigger
from incidents.services import reporting as reporting_service
from incidents.services import review as review_service

from .factories import person, snapshot_of
from .test_browser import browser  # noqa: F401 - the shared Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in_context(browser, live_server, user, **options):  # noqa: F811
    client = Client()
    client.force_login(user)
    context = browser.new_context(**options)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


def test_deadlines_show_in_the_browsers_time_zone(browser, live_server):  # noqa: F811
    ada = person("ada", "reporter")
    incident = review_service.incident_create(
        snapshot=snapshot_of(title="Customer records exposed"), by=ada
    )
    reporting_service.reporting_clock_set(
        incident=incident,
        trigger=ReportingTrigger.objects.get(slug="personal-data-breach"),
        aware_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        by=ada,
    )
    context = signed_in_context(browser, live_server, ada, timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.goto(f"{live_server.url}/postmortems/{incident.number}/reporting/")
    page.wait_for_function("document.querySelector('[data-reader-tz]').dataset.readerTz !== 'UTC'")
    assert "Asia/Tokyo" in page.locator("[data-reader-tz]").inner_text()
    # 72 hours after 10:00 UTC is 19:00 in Tokyo.
    assert "4 Mar 2026 19:00" in page.locator("table").first.inner_text()
    context.close()


def test_a_suggested_control_is_added_with_one_click_and_saved(browser, live_server):  # noqa: F811
    ada = person("ada", "reporter")
    incident = review_service.incident_create(
        snapshot=snapshot_of(title="Agent destroyed the staging cluster"), by=ada
    )
    AgentAction.objects.create(
        incident=incident,
        position=1,
        command="kubectl delete namespace staging",
        action_class="destroy",
        approval_gate="none",
    )
    context = signed_in_context(browser, live_server, ada)
    page = context.new_page()
    page.goto(f"{live_server.url}/postmortems/{incident.number}/edit/")
    suggestions = page.locator("[data-control-suggestions]")
    assert "Deletion protection on production resources" in suggestions.inner_text()
    page.get_by_role("button", name="Add Deletion protection on production resources").click()
    assert page.locator("select[name='control_assessments-0-verdict']").input_value() == (
        "would_have_stopped"
    )
    page.get_by_role("button", name="Save a new revision").click()
    page.wait_for_url(f"{live_server.url}/postmortems/{incident.number}/edit/")
    assert list(incident.control_assessments.values_list("control__slug", flat=True)) == [
        "deletion-protection"
    ]
    context.close()
