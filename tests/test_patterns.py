"""Recurring patterns: clusters recomputed from what incidents have in common, named, merged
and split by editors on the pattern page, and the gaps no policy change addresses."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import queueing, tasks
from incidents.dashboards.summaries import summaries_rebuild
from incidents.models import Incident, PatternCluster, PatternClusterMember, PendingWork
from incidents.services import patterns, related
from incidents.services import review as review_service
from incidents.services.patterns import cap_for, clusters_recompute

from .factories import (
    IncidentFactory,
    OrganisationFactory,
    PolicyChangeIncidentFactory,
    TagFactory,
    import_,
)
from .shared_data import SHARED

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
    """An incident sharing the tags and the wording of the destructive-action pattern."""
    fields.setdefault("title", f"Coding agent wipes the production database at {organisation}")
    return IncidentFactory(
        tags=[tags["destructive"], tags["permissions"]], organisations=[organisation], **fields
    )


@pytest.fixture
def pattern(tags):
    # Named here, not by the factory's sequence: names are part of the wording compared.
    organisations = [OrganisationFactory(name=f"Company {n}") for n in "ABC"]
    incidents = [similar(tags, organisations[n % 3]) for n in range(4)]
    IncidentFactory(tags=[tags["bias"]], title="Hiring model penalises women")
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
    assert cluster.name.startswith("Destructive action: ")
    assert {"database", "production", "wipe"} <= set(cluster.terms)
    assert 0 < cluster.coherence <= 1
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
    assert only_cluster().name in html
    assert "<dt>Incidents</dt><dd>4</dd>" in html
    assert "<dt>Coherence</dt>" in html
    assert "Dec 2025" in html  # first and last seen (the factory's date)
    for organisation in pattern["organisations"]:
        assert organisation.name in html
    assert "Agents lose delete rights" in html


def test_internal_members_are_counted_only_for_internal_readers(
    tags, pattern, olga_client, vic_client
):
    hidden = similar(
        tags,
        pattern["organisations"][0],
        internal=True,
        title="Coding agent wipes the production database behind closed doors",
    )
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


# On the demo incidents, and on the real datasets.

KNOWN = {
    "coding agents destroying production data": ["Kiro", "Replit", "Gemini CLI", "PocketOS"],
    "support chatbots inventing policy": ["Air Canada", "Cursor"],
    "self-driving cars striking pedestrians": ["Uber", "Cruise"],
}


@pytest.fixture
def demo():
    call_command("load_demo", verbosity=0)


def incident_with(word):
    return Incident.objects.get(title__contains=word)


def cluster_of(incident):
    member = PatternClusterMember.objects.filter(incident=incident).first()
    return member.cluster_id if member else None


def check_known_patterns():
    """Each known pattern sits in one cluster of its own, the two self-driving incidents too:
    a pair, but a pair much alike and seen at two organisations."""
    for name, words in KNOWN.items():
        clusters = {cluster_of(incident_with(word)) for word in words}
        assert len(clusters) == 1 and None not in clusters, name
        others = [w for other, ws in KNOWN.items() if other != name for w in ws]
        assert all(cluster_of(incident_with(word)) not in clusters for word in others), name
    assert cluster_of(incident_with("Tay")) != cluster_of(incident_with("Kiro"))
    sizes = [cluster.members.count() for cluster in PatternCluster.objects.all()]
    assert sizes and max(sizes) <= cap_for(Incident.objects.reviewed().count())


def test_known_patterns_come_out_as_their_own_clusters_on_the_demo(demo, reader):
    clusters_recompute()
    check_known_patterns()
    coding = PatternCluster.objects.get(pk=cluster_of(incident_with("Kiro")))
    assert coding.name.startswith("Destructive action: ")
    html = reader.get(coding.get_absolute_url()).text
    for word in KNOWN["coding agents destroying production data"]:
        assert word in html
    assert "Tay" not in html


def test_known_patterns_come_out_as_their_own_clusters_by_meaning(meaning, demo):
    from incidents import semantic

    semantic.embeddings_update()
    clusters_recompute()
    check_known_patterns()


def test_no_cluster_grows_past_the_cap(tags):
    for n in range(9):
        similar(tags, OrganisationFactory(name=f"Company {n}"))
    IncidentFactory(tags=[tags["bias"]], title="Hiring model penalises women")
    clusters_recompute()
    sizes = [cluster.members.count() for cluster in PatternCluster.objects.all()]
    assert sizes and max(sizes) <= cap_for(10) < 9


def test_editors_names_merges_and_splits_on_the_demo_survive_recomputation(demo, eve_client):
    clusters_recompute()
    coding = PatternCluster.objects.get(pk=cluster_of(incident_with("Kiro")))
    chatbots = PatternCluster.objects.get(pk=cluster_of(incident_with("Air Canada")))
    eve_client.post(f"/patterns/{coding.pk}/rename/", {"name": "Agents wiping production"})
    moved = [incident_with("Air Canada").pk, incident_with("Cursor").pk]
    eve_client.post(
        f"/patterns/{chatbots.pk}/split/", {"incident": moved, "name": "Invented policies"}
    )
    invented = PatternCluster.objects.get(name="Invented policies")
    clusters_recompute()
    coding.refresh_from_db()
    assert coding.name == "Agents wiping production"
    assert cluster_of(incident_with("Replit")) == coding.pk
    assert members(invented) == set(moved)

    eve_client.post(f"/patterns/{chatbots.pk}/merge/", {"other": invented.pk})
    clusters_recompute()
    assert set(moved) <= members(PatternCluster.objects.get(pk=chatbots.pk))


def test_a_pattern_card_names_a_few_organisations_and_counts_the_rest(tags, reader):
    organisations = [OrganisationFactory(name=f"Firm {n:02}") for n in range(6)]
    for organisation in organisations:
        similar(tags, organisation)
    # Something else, so the words they share tell them apart from the rest.
    IncidentFactory(tags=[tags["bias"]], title="Hiring model penalises women")
    clusters_recompute()
    html = reader.get("/patterns/").text
    assert "Firm 04" in html and "Firm 05" not in html
    assert "and 1 more" in html
    assert "Firm 05" in reader.get(only_cluster().get_absolute_url()).text


def test_the_cached_patterns_page_shows_a_rename_and_a_recompute(pattern, client, eve_client):
    cluster = only_cluster()
    assert cluster.name in client.get("/patterns/").text
    eve_client.post(f"/patterns/{cluster.pk}/rename/", {"name": "Agents wiping data"})
    assert "Agents wiping data" in client.get("/patterns/").text
    PatternClusterMember.objects.filter(incident=pattern["incidents"][0]).delete()
    clusters_recompute()
    assert "<dt>Incidents</dt><dd>4</dd>" in client.get("/patterns/").text


@pytest.mark.skipif(not SHARED.exists(), reason=f"the full public datasets are not at {SHARED}")
def test_no_pattern_holds_more_than_a_twentieth_of_the_aiid(reader):
    import_("aiid", SHARED / "aiid-snapshot-2026-02")
    clusters_recompute()
    incidents = Incident.objects.reviewed().count()
    sizes = sorted((c.members.count() for c in PatternCluster.objects.all()), reverse=True)
    assert len(sizes) >= 20
    assert sizes[0] <= 0.05 * incidents
    page = reader.get("/patterns/")
    assert len(page.content) < 100_000


def test_a_burst_of_saves_queues_one_grouping(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        for _ in range(3):
            queueing.pattern_clusters()
    assert len(queued) == 1
    assert PendingWork.objects.filter(task="recompute_pattern_clusters").count() == 1


# Beyond GROUPING_LIMIT published incidents: placement on save, and a regroup of the newest.


@pytest.fixture
def large_base(monkeypatch):
    """The base counts as beyond the limit for grouping all of it at once: the newest four
    published incidents are grouped (of the five the pattern fixture makes)."""
    monkeypatch.setattr(patterns, "GROUPING_LIMIT", 4)


def test_beyond_the_limit_a_saved_incident_joins_its_pattern_without_a_regroup(
    pattern, tags, large_base
):
    newcomer = similar(tags, pattern["organisations"][1])
    tasks.recompute_related_incidents_of([newcomer.pk])
    assert newcomer.pk in members(only_cluster())
    assert not PendingWork.objects.filter(task="recompute_pattern_clusters").exists()


def test_beyond_the_limit_an_unlike_incident_joins_no_pattern(pattern, tags, large_base):
    unlike = IncidentFactory(tags=[tags["bias"]], title="Loan model turns down older applicants")
    tasks.recompute_related_incidents_of([unlike.pk])
    assert unlike.pk not in members(only_cluster())


def test_beyond_the_limit_a_retold_incident_leaves_its_pattern(pattern, large_base):
    retold = pattern["incidents"][0]
    Incident.objects.filter(pk=retold.pk).update(
        title="Chess engine resigns a won game", summary="A chess engine resigned."
    )
    retold.tags.clear()
    tasks.recompute_related_incidents_of([retold.pk])
    assert members(only_cluster()) == {i.pk for i in pattern["incidents"][1:]}


def test_beyond_the_limit_a_retracted_incident_leaves_its_pattern(
    pattern, large_base, eve, ed, django_capture_on_commit_callbacks
):
    IncidentFactory(title="Chatbot recommends glue on pizza")  # still beyond, one retracted
    retracted = pattern["incidents"][1]
    review_service.retraction_request(incident=retracted, by=ed, reason="The story was invented.")
    with django_capture_on_commit_callbacks(execute=True):
        review_service.retraction_confirm(incident=retracted, by=eve)
    assert retracted.pk not in members(only_cluster())
    assert not PendingWork.objects.filter(task="place_in_patterns").exists()


def test_beyond_the_limit_an_incident_an_editor_placed_stays(pattern, large_base, eve_client):
    kept = pattern["incidents"][0]
    response = eve_client.post(
        f"{only_cluster().get_absolute_url()}split/",
        {"incident": [kept.pk, pattern["incidents"][1].pk], "name": "Kept by hand"},
    )
    assert response.status_code == 302
    Incident.objects.filter(pk=kept.pk).update(title="Chess engine resigns a won game")
    kept.tags.clear()
    tasks.recompute_related_incidents_of([kept.pk])
    assert kept.pk in members(PatternCluster.objects.get(name="Kept by hand"))


def test_placing_many_incidents_costs_the_queries_of_placing_one(
    pattern, tags, large_base, django_assert_max_num_queries
):
    one = similar(tags, pattern["organisations"][1])
    many = [similar(tags, pattern["organisations"][n % 3]) for n in range(6)]
    related.related_incidents_recompute_many([one.pk, *(i.pk for i in many)])
    with CaptureQueriesContext(connection) as for_one:
        patterns.clusters_place([one.pk])
    with django_assert_max_num_queries(len(for_one)):
        patterns.clusters_place([i.pk for i in many])


def test_beyond_the_limit_the_regroup_takes_only_the_newest(pattern, large_base):
    oldest, *_, newest = pattern["incidents"]
    for incident in (oldest, newest):
        Incident.objects.filter(pk=incident.pk).update(title="Chess engine resigns a won game")
        incident.tags.clear()
    clusters_recompute()
    kept = members(only_cluster())
    assert oldest.pk in kept  # older than the newest four published: left as it was
    assert newest.pk not in kept
