"""Public pages are served from the cache to anonymous readers until the data changes; signed-in
readers neither read nor fill that cache."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client

from incidents.api.authentication import issue_token
from incidents.caching import filled_once
from incidents.services import review as review_service

from .factories import IncidentFactory, PolicyChangeFactory, signed_in, snapshot_of

pytestmark = pytest.mark.django_db


def published(author, reviewer, title):
    incident = review_service.incident_create(snapshot=snapshot_of(title=title), by=author)
    review_service.review_submit(incident=incident, by=author)
    review_service.review_approve_and_publish(incident=incident, by=reviewer)
    incident.refresh_from_db()
    return incident


def edit(incident, by, **fields):
    latest = incident.latest_revision()
    snapshot = {**latest.data, "fields": {**latest.data["fields"], **fields}}
    review_service.incident_save(
        incident=incident, snapshot=snapshot, by=by, base_revision_number=latest.number
    )


def test_a_second_anonymous_visit_is_served_from_the_cache(django_assert_max_num_queries):
    incident = IncidentFactory()
    reader = Client()
    first = reader.get(incident.get_absolute_url())

    with django_assert_max_num_queries(1):  # the data version, nothing else
        second = reader.get(incident.get_absolute_url())

    assert second.status_code == 200
    assert second.content == first.content


def test_publishing_an_edit_shows_on_the_cached_page(ada, rui):
    incident = published(ada, rui, "First title")
    reader = Client()
    assert "First title" in reader.get(incident.get_absolute_url()).content.decode()
    assert "First title" in reader.get("/incidents/").content.decode()

    edit(incident, ada, title="Corrected title")
    # Saved but not approved: the public still reads the approved revision.
    assert "First title" in reader.get(incident.get_absolute_url()).content.decode()

    review_service.review_submit(incident=incident, by=ada)
    review_service.review_approve_and_publish(incident=incident, by=rui)

    assert "Corrected title" in reader.get(incident.get_absolute_url()).content.decode()
    assert "Corrected title" in reader.get("/incidents/").content.decode()


def test_a_newly_published_incident_appears_on_cached_lists(ada, rui):
    reader = Client()
    assert "Brand new incident" not in reader.get("/").content.decode()

    published(ada, rui, "Brand new incident")

    assert "Brand new incident" in reader.get("/").content.decode()
    assert "Brand new incident" in reader.get("/feeds/incidents/rss/").content.decode()


def test_a_retraction_shows_on_the_cached_page(ada, rui, eve, ed):
    incident = published(ada, rui, "Shaky story")
    reader = Client()
    assert "has been retracted" not in reader.get(incident.get_absolute_url()).content.decode()

    review_service.retraction_request(incident=incident, by=ed, reason="The source was satire.")
    review_service.retraction_confirm(incident=incident, by=eve)

    html = reader.get(incident.get_absolute_url()).content.decode()
    assert "has been retracted" in html
    assert "Shaky story" not in reader.get("/incidents/").content.decode()


def test_a_new_policy_change_appears_on_the_cached_list():
    reader = Client()
    reader.get("/policies/")

    PolicyChangeFactory(title="Agents need approval")

    assert "Agents need approval" in reader.get("/policies/").content.decode()


def test_signed_in_readers_never_receive_or_leave_cached_pages(ada):
    incident = IncidentFactory()
    staff = signed_in(ada)
    reader = Client()

    staff_page = staff.get(incident.get_absolute_url()).content.decode()
    public_page = reader.get(incident.get_absolute_url()).content.decode()
    staff_again = staff.get(incident.get_absolute_url()).content.decode()

    assert "For staff" in staff_page and "For staff" in staff_again
    assert "For staff" not in public_page
    assert "Sign out" not in public_page


def test_saving_one_incident_leaves_another_incidents_page_cached(
    ada, rui, django_assert_max_num_queries
):
    changed = published(ada, rui, "Changed story")
    untouched = published(ada, rui, "Untouched story")
    reader = Client()
    reader.get(changed.get_absolute_url())
    reader.get(untouched.get_absolute_url())

    edit(changed, ada, title="Changed again")
    review_service.review_submit(incident=changed, by=ada)
    review_service.review_approve_and_publish(incident=changed, by=rui)

    with django_assert_max_num_queries(1):  # its version, nothing else
        assert "Untouched story" in reader.get(untouched.get_absolute_url()).text
    assert "Changed again" in reader.get(changed.get_absolute_url()).text
    assert "Changed again" in reader.get("/incidents/").text


def test_a_draft_edit_of_an_unpublished_incident_leaves_the_lists_cached(
    ada, django_assert_max_num_queries
):
    draft = review_service.incident_create(snapshot=snapshot_of(title="Draft"), by=ada)
    reader = Client()
    reader.get("/incidents/")

    edit(draft, ada, title="Draft, edited")

    with django_assert_max_num_queries(1):
        assert reader.get("/incidents/").status_code == 200


def test_an_unchanged_page_is_answered_not_modified():
    incident = IncidentFactory()
    reader = Client()
    first = reader.get(incident.get_absolute_url())
    assert "public" in first["Cache-Control"] and "max-age" in first["Cache-Control"]
    assert first["Last-Modified"]

    again = reader.get(incident.get_absolute_url(), headers={"if-none-match": first["ETag"]})
    since = reader.get(
        incident.get_absolute_url(), headers={"if-modified-since": first["Last-Modified"]}
    )

    assert again.status_code == 304 and not again.content
    assert since.status_code == 304


def test_a_changed_page_is_sent_again_to_a_conditional_get(ada, rui):
    incident = published(ada, rui, "Before")
    reader = Client()
    first = reader.get(incident.get_absolute_url())

    edit(incident, ada, title="After")
    review_service.review_submit(incident=incident, by=ada)
    review_service.review_approve_and_publish(incident=incident, by=rui)
    again = reader.get(incident.get_absolute_url(), headers={"if-none-match": first["ETag"]})

    assert again.status_code == 200
    assert "After" in again.text


def test_signed_in_responses_are_private(ada):
    response = signed_in(ada).get("/incidents/")

    assert "private" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


def test_the_dashboard_is_served_from_the_cache_to_anonymous_readers(
    ada, django_assert_max_num_queries
):
    IncidentFactory()
    reader = Client()
    first = reader.get("/dashboard/")

    with django_assert_max_num_queries(1):
        second = reader.get("/dashboard/")

    assert second.content == first.content
    assert "Sign out" not in first.text
    assert "private" in signed_in(ada).get("/dashboard/")["Cache-Control"]


def test_readers_of_a_cold_key_wait_for_one_computation(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fill"}
    }
    computed = []

    def compute():
        computed.append(1)
        time.sleep(0.3)
        return "facets"

    with ThreadPoolExecutor(max_workers=8) as pool:
        values = list(pool.map(lambda _: filled_once("cold-key", compute, 60), range(8)))

    assert values == ["facets"] * 8
    assert len(computed) == 1


def test_anonymous_api_reads_are_cached_apart_by_format_and_never_for_a_token(
    ada, django_assert_max_num_queries
):
    incident = IncidentFactory(title="Agent deleted the backups")
    reader = Client()
    first = reader.get("/api/v1/incidents/", HTTP_ACCEPT="application/json")
    assert first.json()["results"][0]["title"] == "Agent deleted the backups"
    with django_assert_max_num_queries(1):  # the version its key names
        again = reader.get("/api/v1/incidents/", HTTP_ACCEPT="application/json")
    assert again.content == first.content
    assert "public" in again["Cache-Control"]
    # What another format would get is not answered from the JSON cached.
    assert reader.get("/api/v1/incidents/", HTTP_ACCEPT="text/html").status_code == 406
    token = {"HTTP_AUTHORIZATION": f"Token {issue_token(user=ada)}"}
    with django_assert_max_num_queries(30) as queries:
        with_token = reader.get("/api/v1/incidents/", HTTP_ACCEPT="application/json", **token)
    assert len(queries) > 1 and "private" in with_token["Cache-Control"]
    edit_title = IncidentFactory(title="Chatbot promised a refund")
    assert edit_title.title in reader.get("/api/v1/incidents/").content.decode()
    assert incident.title in reader.get(f"/api/v1/incidents/{incident.number}/").json()["title"]
