"""RSS and Atom feeds, read with a feed parser as a feed reader would."""

from datetime import timedelta

import feedparser
import pytest
from django.test import Client
from django.utils import timezone

from incidents import feeds
from incidents.models import Incident, IncidentOrganisation, Severity

from .factories import IncidentFactory, OrganisationFactory, PolicyChangeFactory, TagFactory

pytestmark = pytest.mark.django_db


def parse(path):
    response = Client().get(path)
    assert response.status_code == 200, path
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return response, feed


@pytest.mark.parametrize("kind, version", [("rss", "rss20"), ("atom", "atom10")])
def test_the_incident_feed_lists_newly_published_incidents_first(kind, version):
    now = timezone.now()
    older = IncidentFactory(title="Older outage", published_at=now - timedelta(days=3))
    newer = IncidentFactory(title="Newer outage", published_at=now - timedelta(days=1))
    IncidentFactory(title="Still a draft", draft=True)
    IncidentFactory(title="Internal only", internal=True)

    response, feed = parse(f"/feeds/incidents/{kind}/")

    assert feed.version == version
    assert [entry.title for entry in feed.entries] == [
        f"[SEV3] #{newer.number} Newer outage",
        f"[SEV3] #{older.number} Older outage",
    ]
    entry = feed.entries[0]
    assert entry.link == f"http://localhost:8000/incidents/{newer.number}/{newer.slug}/"
    assert entry.id == f"http://localhost:8000/incidents/{newer.number}/"
    assert entry.summary == newer.summary
    assert feed.feed.link == "http://localhost:8000/incidents/"


def test_a_tag_feed_lists_only_that_tags_incidents():
    tag = TagFactory(name="Prompt injection")
    tagged = IncidentFactory(tags=[tag])
    IncidentFactory()

    _, feed = parse(f"/feeds/tags/{tag.facet}/{tag.slug}/atom/")

    assert [entry.id for entry in feed.entries] == [
        f"http://localhost:8000/incidents/{tagged.number}/"
    ]
    assert "Prompt injection" in feed.feed.title
    assert [t.term for t in feed.entries[0].tags] == ["Prompt injection"]


def test_an_organisation_feed_lists_incidents_it_was_part_of():
    replit = OrganisationFactory(name="Replit")
    involved = IncidentFactory(organisations=[replit])
    IncidentFactory(organisations=[OrganisationFactory()])

    _, feed = parse(f"/feeds/organisations/{replit.slug}/rss/")

    assert feed.feed.title == "Blast Radius: incidents involving Replit"
    assert [entry.id for entry in feed.entries] == [
        f"http://localhost:8000/incidents/{involved.number}/"
    ]


def test_a_severity_feed_lists_incidents_of_that_severity():
    sev1 = IncidentFactory(severity=Severity.objects.get(name="SEV1"))
    IncidentFactory()

    _, feed = parse("/feeds/severity/SEV1/rss/")

    assert [entry.id for entry in feed.entries] == [
        f"http://localhost:8000/incidents/{sev1.number}/"
    ]


def test_unknown_feeds_are_404():
    client = Client()
    assert client.get("/feeds/severity/SEV42/rss/").status_code == 404
    assert client.get("/feeds/organisations/nobody/atom/").status_code == 404
    assert client.get("/feeds/tags/sector/nothing/rss/").status_code == 404


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_the_policy_feed_lists_policy_changes(kind):
    policy = PolicyChangeFactory(title="Agents need a second reviewer")

    _, feed = parse(f"/feeds/policies/{kind}/")

    assert [entry.title for entry in feed.entries] == [
        f"{policy.organisation.name}: Agents need a second reviewer"
    ]
    assert feed.entries[0].link == f"http://localhost:8000/policies/{policy.slug}/"


def test_an_empty_feed_is_still_a_valid_feed():
    _, feed = parse("/feeds/incidents/atom/")

    assert feed.entries == []


def test_titles_with_markup_are_escaped_not_injected():
    IncidentFactory(title="<script>alert(1)</script> & more")

    response, feed = parse("/feeds/incidents/rss/")

    assert b"<script>" not in response.content
    assert feed.entries[0].title.endswith("<script>alert(1)</script> & more")


def test_pages_link_their_feeds():
    tag = TagFactory(name="Outage")
    organisation = OrganisationFactory(name="Example Cloud")
    IncidentFactory(tags=[tag], organisations=[organisation])
    client = Client()
    pages = {
        "/": "/feeds/incidents/rss/",
        "/incidents/": "/feeds/incidents/atom/",
        "/incidents/?severity=SEV3": "/feeds/severity/SEV3/rss/",
        f"/tags/{tag.facet}/{tag.slug}/": f"/feeds/tags/{tag.facet}/{tag.slug}/rss/",
        f"/organisations/{organisation.slug}/": f"/feeds/organisations/{organisation.slug}/atom/",
        "/policies/": "/feeds/policies/rss/",
    }
    for page, feed in pages.items():
        html = client.get(page).content.decode()
        assert 'rel="alternate" type="application/' in html, page
        assert f'href="http://localhost:8000{feed}"' in html, page  # <link rel="alternate">
        assert f'href="{feed}"' in html, page  # a visible link


def feed_numbers(organisation):
    _, feed = parse(f"/feeds/organisations/{organisation.slug}/rss/")
    return [int(entry.id.rstrip("/").rsplit("/", 1)[1]) for entry in feed.entries]


def test_an_organisation_feed_follows_its_incidents_as_they_are_published_and_withdrawn():
    replit = OrganisationFactory(name="Replit")
    now = timezone.now()
    older = IncidentFactory(organisations=[replit], published_at=now - timedelta(days=3))
    newer = IncidentFactory(organisations=[replit], published_at=now - timedelta(days=2))
    draft = IncidentFactory(organisations=[replit], draft=True)
    assert feed_numbers(replit) == [newer.number, older.number]

    draft.status, draft.published_at = Incident.Status.PUBLISHED, now
    draft.save()
    newer.visibility = Incident.Visibility.INTERNAL
    newer.save()
    assert feed_numbers(replit) == [draft.number, older.number]

    older.published_at = now + timedelta(minutes=1)
    older.save()
    assert feed_numbers(replit) == [older.number, draft.number]

    Incident.objects.filter(pk=older.pk).update(
        status=Incident.Status.RETRACTED, retraction_reason="Filed twice"
    )
    moved = IncidentFactory(organisations=[OrganisationFactory()], published_at=now)
    # A merge moves links from one incident to another.
    IncidentOrganisation.objects.filter(incident=draft).update(incident=moved)
    assert feed_numbers(replit) == [moved.number]


def test_an_organisation_feed_lists_an_incident_in_many_roles_once(monkeypatch):
    monkeypatch.setattr(feeds, "ITEMS", 3)
    replit = OrganisationFactory(name="Replit")
    now = timezone.now()
    incidents = [IncidentFactory(published_at=now - timedelta(days=n)) for n in range(5)]
    for incident in incidents:
        for role in IncidentOrganisation.Role.values:
            IncidentOrganisation.objects.create(incident=incident, organisation=replit, role=role)

    assert feed_numbers(replit) == [incident.number for incident in incidents[:3]]
