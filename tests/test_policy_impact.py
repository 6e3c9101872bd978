"""A policy change's page: the incidents that prompted it, those it would have prevented, and
the rate of matching incidents before and after it took effect."""

from datetime import UTC, date, datetime

import pytest

from incidents.dashboards.impact import policy_impact
from incidents.models import Incident, PolicyChangeIncident

from .factories import (
    IncidentFactory,
    OrganisationFactory,
    PolicyChangeFactory,
    PolicyChangeIncidentFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db
TODAY = date(2026, 1, 1)


def on(year, month, day=15):
    return datetime(year, month, day, tzinfo=UTC)


@pytest.fixture
def policy():
    acme, other = OrganisationFactory(name="Acme"), OrganisationFactory(name="Other")
    wiping = TagFactory(facet="failure-mode", name="Destructive action")
    policy = PolicyChangeFactory(
        organisation=acme,
        title="Two-person rule",
        announced_on=date(2024, 12, 20),
        effective_on=date(2025, 1, 1),
    )
    prompting = IncidentFactory(
        title="The wipe", occurred_at=on(2024, 12), organisations=[acme], tags=[wiping]
    )
    PolicyChangeIncidentFactory(policy_change=policy, incident=prompting)
    prevented = IncidentFactory(title="The earlier wipe", occurred_at=on(2024, 6))
    PolicyChangeIncidentFactory(
        policy_change=policy,
        incident=prevented,
        relation=PolicyChangeIncident.Relation.WOULD_HAVE_PREVENTED,
    )
    # Acme: nine more in 2024, two in 2025; elsewhere, the same failure four times in 2024.
    for month in range(1, 10):
        IncidentFactory(occurred_at=on(2024, month), organisations=[acme])
    for month in (3, 9):
        IncidentFactory(occurred_at=on(2025, month), organisations=[acme])
    for month in (2, 4, 6, 8):
        IncidentFactory(occurred_at=on(2024, month), organisations=[other], tags=[wiping])
    # Outside the 12-month windows, and internal: never counted publicly.
    IncidentFactory(occurred_at=on(2022, 1), organisations=[acme])
    IncidentFactory(occurred_at=on(2025, 5), organisations=[acme], internal=True)
    return policy


def test_it_compares_the_rate_before_and_after_the_effective_date(policy):
    by_organisation, by_factor = policy_impact(
        policy=policy, incidents=Incident.objects.published(), today=TODAY
    )
    assert (by_organisation.before, by_organisation.after) == (10, 2)
    assert by_organisation.months_before == pytest.approx(12, abs=0.01)
    assert by_organisation.rate_before == pytest.approx(10 / 12, rel=0.01)
    assert by_organisation.rate_after == pytest.approx(2 / 12, rel=0.01)
    assert by_organisation.change == pytest.approx(-0.8, abs=0.01)
    assert not by_organisation.too_few
    assert "Destructive action" in by_factor.scope
    assert (by_factor.before, by_factor.after) == (5, 0)
    assert by_factor.too_few  # five incidents say nothing


def test_internal_readers_count_internal_incidents_too(policy):
    by_organisation, _ = policy_impact(
        policy=policy, incidents=Incident.objects.reviewed(), today=TODAY
    )
    assert by_organisation.after == 3


def test_a_recent_policy_gets_the_small_numbers_caveat(policy):
    (by_organisation, _) = policy_impact(
        policy=policy, incidents=Incident.objects.published(), today=date(2025, 2, 1)
    )
    assert by_organisation.months_after < 3
    assert by_organisation.too_few
    assert by_organisation.change is None


def test_the_page_lists_the_incidents_and_the_comparison(reader, policy):
    html = reader.get(policy.get_absolute_url()).content.decode()
    assert "Prompted by" in html and "The wipe" in html
    assert "Would have prevented" in html and "The earlier wipe" in html
    assert "Before and after" in html
    assert "Incidents involving Acme" in html
    assert "Too few incidents (or too little time since) to tell a change from chance." in html


def test_a_policy_without_dates_says_there_is_nothing_to_compare(reader):
    policy = PolicyChangeFactory(announced_on=None, effective_on=None, title="Undated")
    html = reader.get(policy.get_absolute_url()).content.decode()
    assert "there is nothing to compare before and after" in html
