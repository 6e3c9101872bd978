"""The Content-Security-Policy in Debian's Chromium: the main pages, the signed-in forms, the
admin and the API reference run under it with nothing refused, and what their scripts do still
happens (charts drawn, filters folded on a phone, Markdown preview offered)."""

import pytest
from django.core.management import call_command

from incidents.dashboards.summaries import summaries_rebuild
from incidents.models import Incident

from .conftest import PASSWORD
from .test_browser import browser  # noqa: F401 - the shared Chromium fixture

PUBLIC_PAGES = [
    "/",
    "/incidents/",
    "/policies/",
    "/organisations/",
    "/organisations/amazon-web-services/",
    "/tags/",
    "/controls/",
    "/dashboard/",
    "/patterns/",
    "/data/",
    "/accounts/login/",
    "/accounts/password-reset/",
    "/api/v1/docs/",
    "/api/v1/redoc/",
]

REDOC_LOGO = "https://cdn.redoc.ly/"


@pytest.fixture
def site(transactional_db, live_server, settings, sue):
    # live_server speaks plain HTTP, so session and CSRF cookies cannot be marked secure.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    call_command("load_demo", verbosity=0)
    summaries_rebuild()
    # Looked up here: once Playwright runs, the test is in an event loop and may not query.
    kiro = Incident.objects.get(slug="kiro-aws-cost-explorer-outage")
    return live_server.url, kiro


class Watched:
    """A page whose refusals (CSP violations are console errors) and script errors are kept."""

    def __init__(self, page):
        self.page = page
        self.problems = []
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        page.on(
            "response",
            lambda response: (
                response.status >= 400 and self.problems.append(f"{response.status} {response.url}")
            ),
        )

    def console(self, message):
        # Failed requests are kept from their responses, below; this one message is also
        # logged for the /favicon.ico the browser asks for on its own (the admin links none).
        if message.type != "error" or message.text.startswith("Failed to load resource"):
            return
        if REDOC_LOGO in message.text:
            return  # Redoc fetches its maker's logo from their host: refused, as it should be.
        self.problems.append(message.text)

    def visit(self, url):
        response = self.page.goto(url)
        self.page.wait_for_load_state("networkidle")
        assert "script-src 'self'" in response.headers["content-security-policy"], url
        return response


def watched_page(browser, **options):  # noqa: F811
    page = browser.new_context(**options).new_page()
    page.set_default_timeout(15_000)
    return Watched(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_public_pages_run_under_the_policy_with_nothing_refused(site, browser):  # noqa: F811
    site, kiro = site
    watched = watched_page(browser, viewport={"width": 1280, "height": 900})

    for path in [*PUBLIC_PAGES, kiro.get_absolute_url()]:
        watched.visit(f"{site}{path}")

        assert watched.problems == [], path
    page = watched.page
    badge = page.locator(".incident-header .badge.severity")
    assert badge.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(234, 88, 12)"
    watched.visit(f"{site}/dashboard/")
    page.wait_for_function("() => typeof Chart !== 'undefined'")
    assert page.locator("canvas[data-chart]").first.evaluate("c => c.width") > 0
    watched.visit(f"{site}/api/v1/docs/")
    page.get_by_text("/api/v1/postmortems/{number}/submit/").first.wait_for()
    assert watched.problems == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_filter_panel_still_folds_away_on_a_phone(site, browser):  # noqa: F811
    site, _kiro = site
    watched = watched_page(browser, viewport={"width": 390, "height": 844})

    watched.visit(f"{site}/incidents/")

    assert watched.page.locator("details.filter-panel").evaluate("panel => panel.open") is False
    assert watched.problems == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_signed_in_forms_and_the_admin_run_under_the_policy(site, browser):  # noqa: F811
    site, kiro = site
    watched = watched_page(browser, viewport={"width": 1280, "height": 900})
    page = watched.page
    watched.visit(f"{site}/accounts/login/")
    page.get_by_label("Username").fill("sue")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site}/my/")

    for path in [
        "/my/",
        "/postmortems/new/",
        f"/postmortems/{kiro.number}/edit/",
        f"/postmortems/{kiro.number}/reporting/",
        "/reporting/",
        "/admin/",
        f"/admin/incidents/incident/{kiro.pk}/change/",
    ]:
        watched.visit(f"{site}{path}")

        assert watched.problems == [], path
    watched.visit(f"{site}/postmortems/{kiro.number}/edit/")
    page.get_by_role("button", name="Preview").first.click()
    page.locator(".preview").first.wait_for()
    assert watched.problems == []
