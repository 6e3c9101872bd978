"""Recurring patterns: clusters recomputed from related incidents, named, merged and split by
editors on the pattern page, and the gaps no policy change addresses."""

import pytest

from incidents.dashboards.summaries import summaries_rebuild
from incidents.models import PatternCluster, PatternClusterMember
from incidents.services import related
from incidents.services.patterns import clusters_recompute

from .factories import (
    IncidentFactory,
    OrganisationFactory,
    PolicyChangeIncidentFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tags():
    return {
        "destructive": TagFactory(facet="failure-mode", name="Destructive action"),
        "permissions": TagFactory(facet="contributing-factor", name="Broad permissions"),
        "bias": TagFactory(facet="failure-mode", name="Biased output"),
        "data": TagFactory(facet="contributing-factor", name="Skewed data"),
    }


def similar(tags, organisation, **fields):
    """An incident sharing both tags of the destructive-action pattern."""
    return IncidentFactory(
        tags=[tags["destructive"], tags["permissions"]], organisations=[organisation], **fields
    )


@pytest.fixture
def pattern(tags):
    organisations = [OrganisationFactory() for _ in range(3)]
    incidents = [similar(tags, organisations[n % 3]) for n in range(4)]
    related.related_incidents_recompute_all()
    clusters_recompute()
    return {"incidents": incidents, "organisations": organisations}


def members(cluster):
    return set(cluster.members.values_list("incident_id", flat=True))


def only_cluster():
    (cluster,) = PatternCluster.objects.all()
    return cluster


def test_similar_incidents_at_several_organisations_form_a_named_cluster(pattern):
    cluster = only_cluster()
    assert members(cluster) == {incident.pk for incident in pattern["incidents"]}
    assert cluster.name == "Destructive action, with broad permissions"
    assert not cluster.is_named


def test_similar_incidents_at_one_organisation_are_not_a_pattern(tags):
    acme = OrganisationFactory()
    for _ in range(4):
        similar(tags, acme)
    related.related_incidents_recompute_all()
    clusters_recompute()
    assert not PatternCluster.objects.exists()


def test_the_patterns_page_shows_count_dates_organisations_and_policies(reader, pattern):
    first, *_, last = pattern["incidents"]
    PolicyChangeIncidentFactory(incident=first, policy_change__title="Agents lose delete rights")
    IncidentFactory(internal=True, tags=[])  # not part of any pattern
    html = reader.get("/patterns/").content.decode()
    assert "Destructive action, with broad permissions" in html
    assert "<dt>Incidents</dt><dd>4</dd>" in html
    assert "Dec 2025" in html  # first and last seen (the factory's date)
    for organisation in pattern["organisations"]:
        assert organisation.name in html
    assert "Agents lose delete rights" in html


def test_internal_members_are_counted_only_for_internal_readers(
    tags, pattern, olga_client, vic_client
):
    hidden = similar(tags, pattern["organisations"][0], internal=True)
    related.related_incidents_recompute_all()
    clusters_recompute()
    cluster = only_cluster()
    assert hidden.pk in members(cluster)
    public_html = olga_client.get(cluster.get_absolute_url()).content.decode()
    assert hidden.title not in public_html
    viewer_html = vic_client.get(cluster.get_absolute_url())
    assert hidden.title in viewer_html.content.decode()


def test_an_editors_name_survives_recomputation(tags, pattern, eve_client):
    cluster = only_cluster()
    response = eve_client.post(f"/patterns/{cluster.pk}/rename/", {"name": "Agents wiping data"})
    assert response.status_code == 302
    newcomer = similar(tags, pattern["organisations"][1])
    related.related_incidents_recompute_all()
    clusters_recompute()
    cluster = only_cluster()
    assert cluster.name == "Agents wiping data"
    assert newcomer.pk in members(cluster)
    assert "Agents wiping data" in eve_client.get("/patterns/").content.decode()


def test_a_split_and_a_merge_survive_recomputation(pattern, eve_client):
    cluster = only_cluster()
    moved = pattern["incidents"][:2]
    response = eve_client.post(
        f"/patterns/{cluster.pk}/split/",
        {"incident": [incident.pk for incident in moved], "name": "Database deletions"},
    )
    split_off = PatternCluster.objects.get(name="Database deletions")
    assert response.url == split_off.get_absolute_url()
    clusters_recompute()
    assert members(split_off) == {incident.pk for incident in moved}
    assert len(members(PatternCluster.objects.get(pk=cluster.pk))) == 2

    response = eve_client.post(
        f"/patterns/{cluster.pk}/merge/", {"other": split_off.pk}, follow=True
    )
    assert f"Merged 1 pattern into \u201c{cluster.name}\u201d." in response.text
    clusters_recompute()
    assert members(only_cluster()) == {incident.pk for incident in pattern["incidents"]}


def test_a_split_needs_some_but_not_all_members_and_a_name(pattern, eve_client):
    cluster = only_cluster()
    everyone = [incident.pk for incident in pattern["incidents"]]
    response = eve_client.post(
        f"/patterns/{cluster.pk}/split/", {"incident": everyone, "name": "All"}, follow=True
    )
    assert "Leave at least one incident in this pattern" in response.content.decode()
    response = eve_client.post(
        f"/patterns/{cluster.pk}/split/", {"incident": everyone[:1], "name": " "}, follow=True
    )
    assert "Give the pattern a name." in response.content.decode()
    assert PatternCluster.objects.count() == 1
    assert PatternClusterMember.objects.filter(cluster=cluster).count() == 4


@pytest.mark.parametrize("persona", ["olga_client", "vic_client", "ada_client", "rui_client"])
def test_only_editors_may_edit_patterns(pattern, persona, request):
    client = request.getfixturevalue(persona)
    cluster = only_cluster()
    assert client.post(f"/patterns/{cluster.pk}/rename/", {"name": "Mine"}).status_code == 403
    assert "Rename" not in client.get(cluster.get_absolute_url()).content.decode()
    cluster.refresh_from_db()
    assert cluster.name != "Mine"


def test_an_unknown_or_empty_pattern_is_not_found(reader, pattern):
    assert reader.get("/patterns/999999/").status_code == 404


def test_the_gaps_view_lists_factors_at_several_organisations_without_policy(reader, tags):
    organisations = [OrganisationFactory(name=f"Org {n}") for n in range(3)]
    for organisation in organisations:
        IncidentFactory(tags=[tags["bias"]], organisations=[organisation])
    covered = [IncidentFactory(tags=[tags["data"]], organisations=[o]) for o in organisations]
    PolicyChangeIncidentFactory(incident=covered[0])
    IncidentFactory(tags=[tags["destructive"]], organisations=organisations[:2])
    summaries_rebuild()
    html = reader.get("/patterns/gaps/").content.decode()
    assert "Biased output" in html
    assert "Skewed data" not in html  # a policy change is linked to it
    assert "Destructive action" not in html  # seen at two organisations only
