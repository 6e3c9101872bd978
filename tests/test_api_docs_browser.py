"""The API documentation page, rendered by Swagger UI in Debian's Chromium: it must work from
this site's own files, with no request leaving for another host."""

import pytest

from .test_browser import browser  # noqa: F401 (the shared Chromium fixture)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_api_documentation_renders_every_endpoint_without_a_cdn(live_server, browser):  # noqa: F811
    page = browser.new_page()
    hosts = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))

    page.goto(f"{live_server.url}/api/v1/docs/")
    page.get_by_text("/api/v1/incidents/{number}/similar/").first.wait_for()

    assert page.get_by_text("Blast Radius API").first.is_visible()
    assert page.get_by_text("/api/v1/postmortems/{number}/submit/").first.is_visible()
    assert hosts == {live_server.url.split("/")[2]}
