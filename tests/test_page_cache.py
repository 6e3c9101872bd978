"""Public pages are served from the cache to anonymous readers until the data changes; signed-in
readers neither read nor fill that cache."""

import pytest
from django.test import Client

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
