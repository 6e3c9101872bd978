"""A reader's first visit, in Debian's Chromium driven by Playwright."""

import os
import shutil

import pytest
from django.core.management import call_command

from incidents.models import Incident

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM):
        message = f"chromium not found at {CHROMIUM} (scripts/ensure-chromium installs it)"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def demo_site(transactional_db, live_server):
    call_command("load_demo", verbosity=0)
    kiro = Incident.objects.get(slug="kiro-aws-cost-explorer-outage")
    return live_server.url, kiro.get_absolute_url(), kiro.title


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reader_goes_from_the_list_to_the_kiro_postmortem(demo_site, browser):
    base_url, kiro_path, kiro_title = demo_site
    page = browser.new_page()
    page.goto(f"{base_url}/incidents/")
    assert page.get_by_role("heading", level=1).inner_text() == "Incidents"
    page.get_by_role("link", name=kiro_title).click()
    page.wait_for_url(f"{base_url}{kiro_path}")

    assert page.get_by_role("heading", level=1).inner_text() == kiro_title
    assert (
        page.get_by_role("note").inner_text().startswith("The account of this incident is disputed")
    )
    severity = page.locator(".incident-header .badge.severity")
    assert severity.inner_text().startswith("SEV2")
    # The severity colour comes from the configurable scale, not from the stylesheet.
    assert severity.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(234, 88, 12)"
    assert page.get_by_role("link", name="Amazon Web Services").first.is_visible()

    page.get_by_role(
        "link", name="Mandatory peer review for production access", exact=False
    ).first.click()
    assert "Prompted by" in page.locator("main").inner_text()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_incident_page_fits_a_phone_screen(demo_site, browser):
    base_url, kiro_path, _ = demo_site
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{base_url}{kiro_path}")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"the page scrolls sideways ({scroll_width}px wide)"
    assert page.locator("nav[aria-label=Main]").is_visible()
