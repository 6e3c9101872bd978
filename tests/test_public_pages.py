"""What a reader sees on the public pages, and that each page costs a fixed number of queries."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from incidents import facet_counts
from incidents.models import Incident, PolicyChange

from .factories import (
    ActionItemFactory,
    AgentActionFactory,
    AISystemFactory,
    IncidentFactory,
    PolicyChangeIncidentFactory,
    TimelineEventFactory,
)

KIRO = "kiro-aws-cost-explorer-outage"

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)
    # What the load's commit does: a test's transaction never commits.
    facet_counts.count_pending()
    return Incident.objects.get(slug=KIRO)


def test_the_home_page_leads_to_the_latest_incidents(reader, demo):
    response = reader.get("/")
    assert response.status_code == 200
    assert "Latest incidents" in response.text
    assert escape(Incident.objects.published().for_list().first().title) in response.text


def test_the_list_shows_published_incidents_with_severity_and_dispute_marks(reader, demo):
    response = reader.get("/incidents/")
    html = response.text
    assert demo.title in html
    assert "SEV2" in html
    assert "Disputed" in html
    assert f"{Incident.objects.published().count()} incidents" in html


def test_the_list_is_paginated(reader, demo, settings):
    settings.PAGE_SIZE = 5
    pages = -(-Incident.objects.published().count() // 5)
    first = reader.get("/incidents/")
    assert f"Page 1 of {pages}" in first.text
    last = reader.get(f"/incidents/?page={pages}")
    assert f"Page {pages} of {pages}" in last.text
    assert reader.get("/incidents/?page=banana").status_code == 200


def test_the_kiro_page_shows_the_structured_postmortem(reader, demo):
    response = reader.get(demo.get_absolute_url())
    html = response.text
    assert response.status_code == 200
    assert "The account of this incident is disputed." in html
    assert "Kiro" in html and "Amazon Web Services" in html
    assert "13 hours" in html
    assert "Disputes the account" in html
    assert "Prompted by" in html
    policy = PolicyChange.objects.get(slug="aws-peer-review-ai-production-changes")
    assert policy.get_absolute_url() in html
    assert "<h3>What happened</h3>" in html


def test_an_incident_page_gives_its_durations_in_words(reader):
    occurred = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    incident = IncidentFactory(
        occurred_at=occurred,
        detected_at=occurred + timedelta(hours=1, minutes=5),
        resolved_at=occurred + timedelta(days=1, minutes=30),
        outage_duration=timedelta(days=2, hours=4, minutes=3),
    )
    html = reader.get(incident.get_absolute_url()).text
    assert "<dt>Time to detect</dt><dd>1 hour 5 minutes</dd>" in html
    assert "<dt>Time to resolve</dt><dd>1 day 30 minutes</dd>" in html
    assert "<dt>Outage duration</dt><dd>2 days 4 hours</dd>" in html


def test_the_bare_number_redirects_to_the_canonical_address(reader, demo):
    response = reader.get(f"/incidents/{demo.number}/")
    assert response.status_code == 301
    assert response["Location"] == demo.get_absolute_url()
    wrong_slug = reader.get(f"/incidents/{demo.number}/something-else/")
    assert wrong_slug.status_code == 301


def test_the_policy_page_lists_the_incidents_that_prompted_it(reader, demo):
    response = reader.get("/policies/aws-peer-review-ai-production-changes/")
    assert response.status_code == 200
    assert "Prompted by" in response.text
    assert demo.title in response.text


def test_the_organisation_page_groups_incidents_by_role(reader, demo):
    response = reader.get("/organisations/amazon-web-services/")
    html = response.text
    assert "Developer" in html and "Deployer" in html
    assert demo.title in html
    assert "peer review" in html.lower()


def test_the_tag_pages_count_and_list_incidents(reader, demo):
    tag = demo.tags.first()
    listing = reader.get("/tags/")
    assert tag.name in listing.text
    detail = reader.get(tag.get_absolute_url())
    assert demo.title in detail.text


def test_every_page_has_an_empty_state(reader, db):
    assert "No incidents have been published yet." in reader.get("/incidents/").text
    assert "No policy changes recorded yet." in reader.get("/policies/").text
    assert "No organisations yet." in reader.get("/organisations/").text
    assert "No tags are in use yet." in reader.get("/tags/").text


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/incidents/",
        "kiro",
        "/policies/",
        "/policies/aws-peer-review-ai-production-changes/",
        "/organisations/",
        "/organisations/amazon-web-services/",
        "/tags/",
    ],
)
def test_page_query_counts_do_not_grow_with_the_data(
    reader, demo, path, django_assert_max_num_queries
):
    # 23 demo incidents with many sources, tags and organisations: a per-row query would
    # blow far past this bound.
    path = demo.get_absolute_url() if path == "kiro" else path
    with django_assert_max_num_queries(15):  # cross-references, and what followed
        response = reader.get(path)
    assert response.status_code == 200


def test_an_incident_page_asks_only_for_the_parts_the_incident_has(reader):
    bare, full = IncidentFactory(), IncidentFactory()
    TimelineEventFactory(incident=full, description="The agent deleted the environment")
    ActionItemFactory(incident=full, title="Require a second reviewer")
    AgentActionFactory(incident=full, command="terraform destroy -auto-approve")
    PolicyChangeIncidentFactory(incident=full, policy_change__title="Peer review of AI changes")
    full.ai_systems.add(AISystemFactory(name="Cost agent"))

    with CaptureQueriesContext(connection) as asked_of_bare:
        assert reader.get(bare.get_absolute_url()).status_code == 200
    with CaptureQueriesContext(connection) as asked_of_full:
        page = reader.get(full.get_absolute_url()).content.decode()

    # One query for each part the full one has: timeline, action items, agent actions, policy
    # links and AI systems; none for a part an incident lacks.
    assert len(asked_of_full) - len(asked_of_bare) == 5
    for shown in (
        "The agent deleted the environment",
        "Require a second reviewer",
        "terraform destroy -auto-approve",
        "Peer review of AI changes",
        "Cost agent",
    ):
        assert shown in page
