"""Near misses and hazards: filed like incidents, filterable, counted beside incidents, with a
worst credible severity beside the actual one."""

import pytest

from incidents.models import Incident, Severity

from .factories import IncidentFactory

pytestmark = pytest.mark.django_db

NEAR_MISS = Incident.Kind.NEAR_MISS
HAZARD = Incident.Kind.HAZARD


def test_the_list_filters_by_kind(reader):
    IncidentFactory(title="Database dropped")
    IncidentFactory(title="Drop refused by the lock", kind=NEAR_MISS)
    IncidentFactory(title="Agents hold root keys", kind=HAZARD)
    response = reader.get("/incidents/", {"kind": "near_miss"})
    titles = [incident.title for incident in response.context["page"]]
    assert titles == ["Drop refused by the lock"]
    html = response.content.decode()
    assert "Kind: Near miss" in html  # the removable chip
    both = reader.get("/incidents/", {"kind": ["near_miss", "hazard"]})
    assert {i.title for i in both.context["page"]} == {
        "Drop refused by the lock",
        "Agents hold root keys",
    }


def test_the_list_counts_each_kind_as_a_facet(reader):
    IncidentFactory()
    IncidentFactory(kind=NEAR_MISS)
    IncidentFactory(kind=NEAR_MISS)
    facets = {group["name"]: group for group in reader.get("/incidents/").context["facet_groups"]}
    counts = {option["value"]: option["count"] for option in facets["kind"]["options"]}
    assert counts == {"incident": 1, "near_miss": 2}


def test_kinds_are_counted_side_by_side_with_the_near_miss_ratio():
    for _ in range(4):
        IncidentFactory()
    for _ in range(6):
        IncidentFactory(kind=NEAR_MISS)
    IncidentFactory(kind=HAZARD)
    IncidentFactory(kind=NEAR_MISS, draft=True)
    counts = Incident.objects.published().kind_counts()
    assert counts == {"incident": 4, "near_miss": 6, "hazard": 1, "near_miss_ratio": 1.5}
    assert Incident.objects.all().kind_counts()["near_miss"] == 7


def test_the_ratio_is_none_without_incidents():
    IncidentFactory(kind=NEAR_MISS)
    assert Incident.objects.published().kind_counts()["near_miss_ratio"] is None


def test_the_controls_page_shows_the_counts(reader):
    IncidentFactory()
    IncidentFactory(kind=NEAR_MISS)
    IncidentFactory(kind=NEAR_MISS)
    response = reader.get("/controls/")
    assert response.context["kinds"]["near_miss_ratio"] == 2.0
    assert "Near misses per incident" in response.content.decode()


def test_the_incident_page_shows_kind_and_both_severities(reader):
    incident = IncidentFactory(
        kind=NEAR_MISS,
        severity=Severity.objects.get(name="SEV5"),
        worst_credible_severity=Severity.objects.get(name="SEV1"),
    )
    html = reader.get(incident.get_absolute_url()).content.decode()
    assert "Near miss" in html
    assert "Actual severity" in html
    assert "Worst credible severity" in html
    assert "SEV1, critical" in html


def test_a_near_miss_card_says_so_in_lists(reader):
    IncidentFactory(kind=NEAR_MISS)
    assert 'class="pill kind-near_miss"' in reader.get("/incidents/").content.decode()


def test_a_draft_near_miss_stays_hidden_from_the_public(reader):
    draft = IncidentFactory(kind=NEAR_MISS, draft=True)
    assert reader.get(draft.get_absolute_url()).status_code == 404
    assert reader.get("/incidents/", {"kind": "near_miss"}).context["total"] == 0
