"""The incident FilterSet: each parameter narrows the list, and bad input is ignored, not a 500."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import QueryDict
from django.test import RequestFactory
from django.utils import timezone

from incidents.filters import IncidentFilter
from incidents.models import Incident, IncidentOrganisation, PerpetratorKind, Provenance, Severity

from .factories import (
    AISystemFactory,
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    PolicyChangeIncidentFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def titles(query="", user=None):
    request = RequestFactory().get("/incidents/")
    request.user = user or AnonymousUser()
    filterset = IncidentFilter(QueryDict(query), request=request)
    return [incident.title for incident in filterset.qs], filterset


def matching(query, user=None):
    return set(titles(query, user)[0])


def test_severity_narrows_by_name_and_takes_several():
    IncidentFactory(title="Critical", severity=Severity.objects.get(name="SEV1"))
    IncidentFactory(title="Major", severity=Severity.objects.get(name="SEV2"))
    IncidentFactory(title="Minor")
    assert matching("severity=SEV1") == {"Critical"}
    assert matching("severity=SEV1&severity=SEV2") == {"Critical", "Major"}


def test_perpetrator_and_autonomy_narrow():
    chatbot = PerpetratorKind.objects.exclude(slug="ai-coding-agent").first()
    IncidentFactory(title="Bot", perpetrator=chatbot, autonomy=Incident.Autonomy.AUTONOMOUS)
    IncidentFactory(title="Agent", autonomy=Incident.Autonomy.SUGGESTED)
    assert matching(f"perpetrator={chatbot.slug}") == {"Bot"}
    assert matching("perpetrator=ai-coding-agent") == {"Agent"}
    assert matching("autonomy=suggested") == {"Agent"}


def test_organisation_filter_can_be_limited_to_a_role():
    aws = OrganisationFactory(name="AWS")
    built = IncidentFactory(title="Built by AWS")
    IncidentOrganisationFactory(incident=built, organisation=aws, role="developer")
    hit = IncidentFactory(title="AWS harmed")
    IncidentOrganisationFactory(incident=hit, organisation=aws, role="harmed")
    IncidentFactory(title="Elsewhere")
    assert matching(f"organisation={aws.slug}") == {"Built by AWS", "AWS harmed"}
    assert matching(f"organisation={aws.slug}&role=harmed") == {"AWS harmed"}
    assert matching(f"organisation={aws.slug}&role=deployer") == set()


def test_ai_system_narrows():
    kiro = AISystemFactory(name="Kiro")
    with_kiro = IncidentFactory(title="Kiro")
    with_kiro.ai_systems.add(kiro)
    IncidentFactory(title="Other")
    assert matching(f"ai_system={kiro.slug}") == {"Kiro"}


def test_tags_match_any_or_all_without_repeating_incidents():
    deletion = TagFactory(name="Deletion")
    finance = TagFactory(name="Finance", facet="sector")
    IncidentFactory(title="Both", tags=[deletion, finance])
    IncidentFactory(title="Deletion only", tags=[deletion])
    IncidentFactory(title="Untagged")
    both = f"tag=failure-mode:{deletion.slug}&tag=sector:{finance.slug}"
    found, _ = titles(both)
    assert sorted(found) == ["Both", "Deletion only"]  # listed once, though two tags match
    assert matching(both + "&tag_match=any") == {"Both", "Deletion only"}
    assert matching(both + "&tag_match=all") == {"Both"}
    assert matching(f"tag=sector:{finance.slug}") == {"Both"}


def test_date_range_includes_both_days():
    IncidentFactory(title="June", occurred_at=datetime(2025, 6, 30, 23, 0, tzinfo=UTC))
    IncidentFactory(title="July", occurred_at=datetime(2025, 7, 1, 0, 30, tzinfo=UTC))
    IncidentFactory(title="August", occurred_at=datetime(2025, 8, 15, tzinfo=UTC))
    assert matching("occurred_after=2025-07-01") == {"July", "August"}
    assert matching("occurred_before=2025-06-30") == {"June"}
    assert matching("occurred_after=2025-06-30&occurred_before=2025-07-31") == {"June", "July"}


def test_outage_range_is_in_minutes():
    IncidentFactory(title="Blip", outage_duration=timedelta(minutes=5))
    IncidentFactory(title="Long", outage_duration=timedelta(hours=13))
    IncidentFactory(title="Unknown", outage_duration=None)
    assert matching("outage_min=60") == {"Long"}
    assert matching("outage_max=30") == {"Blip"}
    assert matching("outage_min=5&outage_max=5") == {"Blip"}


def test_has_policy_yes_and_no():
    prompted = IncidentFactory(title="Prompted")
    PolicyChangeIncidentFactory(incident=prompted)
    PolicyChangeIncidentFactory(incident=prompted)
    IncidentFactory(title="Nothing changed")
    assert titles("has_policy=yes")[0] == ["Prompted"]
    assert matching("has_policy=no") == {"Nothing changed"}


def test_dataset_narrows_to_imported_incidents():
    imported = IncidentFactory(title="From AIID")
    Provenance.objects.create(
        incident=imported, dataset="aiid", external_id="4", imported_at=timezone.now()
    )
    IncidentFactory(title="Filed here")
    assert matching("dataset=aiid") == {"From AIID"}
    assert matching("dataset=aiaaic") == set()


def test_search_uses_the_search_module():
    IncidentFactory(title="Agent deleted the production database")
    IncidentFactory(title="Chatbot invented a refund policy")
    assert matching("q=database") == {"Agent deleted the production database"}


def test_status_is_ignored_for_the_public_but_honoured_for_an_editor(eve):
    IncidentFactory(title="Out")
    IncidentFactory(title="Draft", draft=True)
    IncidentFactory(title="Reviewing", in_review=True)
    assert matching("status=draft") == {"Out"}  # anonymous: drafts never listed, no error
    assert matching("", eve) == {"Out", "Draft", "Reviewing"}
    assert matching("status=draft", eve) == {"Draft"}
    assert matching("status=draft&status=in_review", eve) == {"Draft", "Reviewing"}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("severity=SEV9", "severity"),
        ("perpetrator=nobody", "perpetrator"),
        ("autonomy=telepathic", "autonomy"),
        ("organisation=no-such-org", "organisation"),
        ("ai_system=no-such-system", "ai_system"),
        ("tag=nonsense", "tag"),
        ("tag=sector:no-such-tag", "tag"),
        ("tag_match=some", "tag_match"),
        ("occurred_after=yesterday", "occurred_after"),
        ("occurred_before=2025-13-40", "occurred_before"),
        ("outage_min=long", "outage_min"),
        ("outage_max=-5", "outage_max"),
        ("has_policy=maybe", "has_policy"),
        ("dataset=wikipedia", "dataset"),
        ("sort=random", "sort"),
    ],
)
def test_invalid_values_are_ignored_and_reported(query, parameter):
    IncidentFactory(title="Still listed")
    found, filterset = titles(query)
    assert found == ["Still listed"]
    assert [name for name, _, _ in filterset.ignored] == [parameter]


def test_a_role_without_an_organisation_is_reported():
    _, filterset = titles("role=developer")
    assert filterset.ignored == [("role", "developer", "It only applies with an organisation.")]


def test_sort_orders():
    old = IncidentFactory(
        title="Old",
        occurred_at=datetime(2020, 1, 1, tzinfo=UTC),
        severity=Severity.objects.get(name="SEV4"),
        outage_duration=timedelta(hours=2),
    )
    new = IncidentFactory(
        title="New",
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        severity=Severity.objects.get(name="SEV2"),
        outage_duration=timedelta(minutes=10),
    )
    middle = IncidentFactory(
        title="Middle",
        occurred_at=datetime(2022, 1, 1, tzinfo=UTC),
        severity=Severity.objects.get(name="SEV1"),
        outage_duration=None,
    )
    assert titles("")[0] == [new.title, middle.title, old.title]
    assert titles("sort=newest")[0] == [new.title, middle.title, old.title]
    assert titles("sort=oldest")[0] == [old.title, middle.title, new.title]
    assert titles("sort=severity")[0] == [middle.title, new.title, old.title]
    assert titles("sort=outage")[0] == [old.title, new.title, middle.title]


def test_relevance_is_the_default_with_a_query_and_falls_back_to_newest_without():
    assert titles("q=agent")[1].chosen_sort == "relevance"
    assert titles("q=agent&sort=oldest")[1].chosen_sort == "oldest"
    assert titles("sort=relevance")[1].chosen_sort == "newest"
    assert titles("")[1].chosen_sort == "newest"


def test_roles_offered_are_the_organisation_roles():
    _, filterset = titles("")
    offered = {value for value, _ in filterset.form.fields["role"].choices if value}
    assert offered == set(IncidentOrganisation.Role.values)
