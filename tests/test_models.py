from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from incidents.models import Incident, PolicyChange, Tag

from .factories import IncidentFactory, PolicyChangeFactory, TagFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


def test_it_numbers_incidents_one_after_another():
    first, second, third = IncidentFactory(), IncidentFactory(), IncidentFactory()

    assert [second.number, third.number] == [first.number + 1, first.number + 2]
    assert third.public_number == f"#{third.number}"


def test_it_keeps_number_and_slug_when_an_incident_is_edited():
    incident = IncidentFactory(title="Agent wipes staging")
    later = IncidentFactory()

    incident.title = "Agent wipes production"
    incident.status = Incident.Status.RETRACTED
    incident.retraction_reason = "Misreported."
    incident.save()
    incident.refresh_from_db()

    assert incident.number == later.number - 1
    assert incident.slug == "agent-wipes-staging"


def test_it_gives_incidents_with_the_same_title_distinct_slugs():
    first = IncidentFactory(title="Chatbot invents refund policy")
    second = IncidentFactory(title="Chatbot invents refund policy")

    assert first.slug == "chatbot-invents-refund-policy"
    assert second.slug != first.slug
    assert second.slug.startswith("chatbot-invents-refund-policy-")


def test_it_finds_a_free_slug_when_the_numbered_fallback_is_taken():
    IncidentFactory(title="Outage")
    upcoming = Incident.objects.order_by("-number").first().number + 2
    IncidentFactory(title=f"Outage {upcoming}")

    third = IncidentFactory(title="Outage")

    assert third.number == upcoming
    assert Incident.objects.filter(slug=third.slug).count() == 1


def test_it_keeps_a_slug_given_by_the_caller():
    incident = IncidentFactory(title="Anything", slug="chosen-key")

    assert incident.slug == "chosen-key"


def test_it_derives_time_to_detect_and_time_to_resolve():
    incident = IncidentFactory(
        occurred_at=T0,
        detected_at=T0 + timedelta(hours=2),
        mitigated_at=T0 + timedelta(hours=5),
        resolved_at=T0 + timedelta(days=1),
    )

    assert incident.time_to_detect == timedelta(hours=2)
    assert incident.time_to_resolve == timedelta(days=1)


def test_it_leaves_durations_empty_when_a_moment_is_unknown():
    incident = IncidentFactory(occurred_at=None, detected_at=T0, resolved_at=T0)

    assert incident.time_to_detect is None
    assert incident.time_to_resolve is None


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"detected_at": T0 - timedelta(minutes=1)}, id="detected-before-occurred"),
        pytest.param({"mitigated_at": T0 - timedelta(minutes=1)}, id="mitigated-before-occurred"),
        pytest.param({"resolved_at": T0 - timedelta(minutes=1)}, id="resolved-before-occurred"),
        pytest.param(
            {"mitigated_at": T0 + timedelta(hours=3), "resolved_at": T0 + timedelta(hours=2)},
            id="resolved-before-mitigated",
        ),
        pytest.param(
            {"status": Incident.Status.RETRACTED, "retraction_reason": ""},
            id="retracted-without-reason",
        ),
    ],
)
def test_the_database_rejects_an_impossible_incident(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentFactory(occurred_at=T0, **fields)

    assert not Incident.objects.exists()


def test_the_database_rejects_an_edit_that_resolves_before_mitigation():
    incident = IncidentFactory(occurred_at=T0, mitigated_at=T0 + timedelta(hours=3))

    incident.resolved_at = T0 + timedelta(hours=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        incident.save()


def test_it_accepts_a_retraction_with_a_reason():
    incident = IncidentFactory(retracted=True)

    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.RETRACTED


def test_the_database_rejects_a_policy_effective_before_it_was_announced():
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyChangeFactory(announced_on=date(2026, 1, 10), effective_on=date(2026, 1, 9))

    assert not PolicyChange.objects.exists()


def test_it_rejects_a_duplicate_tag_slug_within_a_facet():
    TagFactory(facet=Tag.Facet.SECTOR, name="Finance")

    with pytest.raises(IntegrityError), transaction.atomic():
        TagFactory(facet=Tag.Facet.SECTOR, name="finance")


def test_it_allows_the_same_tag_slug_in_another_facet():
    sector = TagFactory(facet=Tag.Facet.SECTOR, name="Finance")
    harm = TagFactory(facet=Tag.Facet.HARM_TYPE, name="Finance")

    assert sector.slug == harm.slug == "finance"


def test_it_renders_the_narrative_and_remediation_when_saved():
    incident = IncidentFactory(narrative="The agent ran **rm -rf**.", remediation="- Add review")

    assert incident.narrative_html == "<p>The agent ran <strong>rm -rf</strong>.</p>"
    assert "<li>Add review</li>" in incident.remediation_html

    incident.narrative = "Now *edited*."
    incident.save()
    incident.refresh_from_db()

    assert incident.narrative_html == "<p>Now <em>edited</em>.</p>"


def test_it_renders_a_policy_description_when_saved():
    policy = PolicyChangeFactory(description="Two *reviewers* required.")

    assert policy.description_html == "<p>Two <em>reviewers</em> required.</p>"


def test_it_tells_whether_more_than_a_number_of_incidents_match():
    IncidentFactory.create_batch(3)
    IncidentFactory(status=Incident.Status.DRAFT)
    published = Incident.objects.published()
    assert published.more_than(2)
    assert not published.more_than(3)
    assert Incident.objects.more_than(3)
