"""A postmortem's way from draft to public page, through the real forms in Debian's Chromium.

Ada, a reporter, files and submits it; Rui, a reviewer, asks for a change; Ada fixes it and
resubmits; Rui approves; an anonymous reader finds it on the public site.
"""

import re

import pytest

from .conftest import PASSWORD
from .test_browser import browser  # noqa: F401 - the shared Chromium fixture

TITLE = "Coding agent force-pushed over the release branch"


@pytest.fixture
def people(transactional_db, live_server, settings, ada, rui):
    # live_server speaks plain HTTP, so session and CSRF cookies cannot be marked secure.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    return live_server.url


def sign_in(browser, base_url, username):  # noqa: F811
    page = browser.new_context().new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base_url}/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
    page.get_by_role("link", name="My postmortems").click()
    return page


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Sign in").is_visible()
    page.context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_postmortem_goes_from_draft_through_review_to_the_public_site(
    people,
    browser,  # noqa: F811
):
    base_url = people

    ada = sign_in(browser, base_url, "ada")
    ada.get_by_role("link", name="File a postmortem").first.click()
    what_happened = ada.get_by_role("group", name="What happened")
    what_happened.get_by_label("Title").fill(TITLE)
    what_happened.get_by_label("Summary", exact=True).fill(
        "The agent rewrote history on a protected branch."
    )
    ada.get_by_role("button", name="Save draft").click()
    ada.wait_for_url(re.compile(r"/postmortems/\d+/edit/$"))
    number = re.search(r"/postmortems/(\d+)/", ada.url).group(1)
    ada.get_by_role("button", name="Submit for review").click()
    ada.wait_for_url(f"{base_url}/my/")
    assert "Waiting for review" in ada.locator("main").inner_text()
    sign_out(ada)

    rui = sign_in(browser, base_url, "rui")
    rui.get_by_role("link", name=f"#{number} {TITLE}").click()
    rui.get_by_label("Comment").fill("Say which branch protection was bypassed.")
    rui.get_by_role("button", name="Request changes").click()
    rui.wait_for_url(f"{base_url}/my/")
    sign_out(rui)

    ada = sign_in(browser, base_url, "ada")
    assert "Say which branch protection was bypassed." in ada.locator("main").inner_text()
    ada.get_by_role("link", name="Edit").first.click()
    what_happened = ada.get_by_role("group", name="What happened")
    what_happened.get_by_label("Summary", exact=True).fill(
        "The agent bypassed the 'require review' branch protection."
    )
    ada.get_by_role("button", name="Save a new revision").click()
    ada.get_by_role("button", name="Submit for review").click()
    ada.wait_for_url(f"{base_url}/my/")
    sign_out(ada)

    rui = sign_in(browser, base_url, "rui")
    rui.get_by_role("link", name=f"#{number} {TITLE}").click()
    assert "Say which branch protection was bypassed." in rui.locator("main").inner_text()
    rui.get_by_role("button", name="Approve and publish").click()
    rui.wait_for_url(re.compile(rf"/incidents/{number}/[\w-]+/$"))
    public_url = rui.url
    sign_out(rui)

    reader = browser.new_page()
    reader.goto(f"{base_url}/incidents/")
    reader.get_by_role("link", name=TITLE).click()
    assert reader.get_by_role("heading", level=1).inner_text() == TITLE
    assert "require review" in reader.locator(".lead").inner_text()
    assert reader.url == public_url
    assert reader.locator(".staff-bar").count() == 0
