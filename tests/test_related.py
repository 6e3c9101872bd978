"""Related incidents: scored by what they share, stored by a task queued after commit."""

from collections import Counter

import pytest
from django.core.management import call_command

from incidents import facet_counts
from incidents.models import (
    FacetCount,
    Incident,
    IncidentOrganisation,
    PerpetratorKind,
    RelatedIncident,
)
from incidents.search_index import search_index_update
from incidents.services import followups, related
from incidents.tasks import recompute_related_incidents

from .factories import IncidentFactory, IncidentOrganisationFactory, OrganisationFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chatbot():
    return PerpetratorKind.objects.get(slug="chatbot")


def scores(incident):
    return {row["pk"]: score for score, row in related.related_candidates(incident)}


def snapshot():
    return sorted(
        RelatedIncident.objects.values_list(
            "incident_id", "related_id", "score", "shared_tags", "shared_organisations"
        )
    )


def links(incident):
    return dict(RelatedIncident.objects.filter(incident=incident).values_list("related", "score"))


def test_a_shared_organisation_weighs_more_than_a_shared_tag(chatbot):
    tag, organisation = TagFactory(), OrganisationFactory()
    incident = IncidentFactory(tags=[tag], organisations=[organisation])
    same_organisation = IncidentFactory(organisations=[organisation], perpetrator=chatbot)
    same_tag = IncidentFactory(tags=[tag], perpetrator=chatbot)
    IncidentFactory(tags=[TagFactory()], organisations=[OrganisationFactory()])

    assert scores(incident) == {same_organisation.pk: 2.0, same_tag.pk: 1.0}
    assert [row["pk"] for _, row in related.related_candidates(incident)] == [
        same_organisation.pk,
        same_tag.pk,
    ]


def test_it_adds_each_shared_tag_and_organisation_and_the_same_perpetrator(chatbot):
    tags, organisations = TagFactory.create_batch(3), OrganisationFactory.create_batch(2)
    incident = IncidentFactory(tags=tags, organisations=organisations)
    close = IncidentFactory(tags=tags[:2], organisations=organisations)
    same_kind = IncidentFactory(tags=tags[:1])
    other_kind = IncidentFactory(tags=tags[:1], perpetrator=chatbot)

    assert scores(incident) == {close.pk: 2 + 2 * 2 + 1, same_kind.pk: 2.0, other_kind.pk: 1.0}


def test_several_roles_of_one_organisation_count_once():
    organisation, tag = OrganisationFactory(), TagFactory()
    incident = IncidentFactory(tags=[tag])
    other = IncidentFactory(tags=[tag])
    for each in (incident, other):
        for role in (IncidentOrganisation.Role.DEVELOPER, IncidentOrganisation.Role.DEPLOYER):
            IncidentOrganisationFactory(incident=each, organisation=organisation, role=role)

    [(_, row)] = related.related_candidates(incident)

    assert (row["shared_tags"], row["shared_organisations"]) == (1, 1)


def test_an_incident_sharing_nothing_has_no_candidates():
    IncidentFactory(tags=[TagFactory()])

    assert related.related_candidates(IncidentFactory()) == []


def test_saving_queues_the_recompute_until_the_transaction_commits(
    django_capture_on_commit_callbacks,
):
    tag = TagFactory()
    neighbour = IncidentFactory(tags=[tag])
    incident = IncidentFactory(tags=[tag])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        followups.incident_saved(incident=incident)

    assert len(callbacks) == 2  # the related lists, then the dashboard summaries
    assert not RelatedIncident.objects.exists()

    callbacks[0]()

    assert links(incident) == {neighbour.pk: 2.0}


def test_saving_an_incident_relates_it_and_its_neighbours_both_ways(
    django_capture_on_commit_callbacks,
):
    tag, organisation = TagFactory(), OrganisationFactory()
    neighbour = IncidentFactory(tags=[tag])
    other_neighbour = IncidentFactory(organisations=[organisation])
    incident = IncidentFactory(tags=[tag], organisations=[organisation])

    with django_capture_on_commit_callbacks(execute=True):
        followups.incident_saved(incident=incident)

    assert links(incident) == {other_neighbour.pk: 3.0, neighbour.pk: 2.0}
    assert links(neighbour) == {incident.pk: 2.0}
    assert links(other_neighbour) == {incident.pk: 3.0}
    stored = RelatedIncident.objects.get(incident=incident, related=other_neighbour)
    assert (stored.shared_tags, stored.shared_organisations) == (0, 1)


def test_neighbours_drop_an_incident_that_no_longer_shares_anything(
    django_capture_on_commit_callbacks,
):
    tag = TagFactory()
    neighbour = IncidentFactory(tags=[tag])
    incident = IncidentFactory(tags=[tag])
    with django_capture_on_commit_callbacks(execute=True):
        followups.incident_saved(incident=incident)
    assert links(neighbour) == {incident.pk: 2.0}

    incident.tags.clear()
    with django_capture_on_commit_callbacks(execute=True):
        followups.incident_saved(incident=incident)

    assert links(incident) == {}
    assert links(neighbour) == {}


def test_it_keeps_only_the_best_related_incidents():
    tag, organisation = TagFactory(), OrganisationFactory()
    incident = IncidentFactory(tags=[tag], organisations=[organisation])
    best = IncidentFactory.create_batch(3, tags=[tag], organisations=[organisation])
    IncidentFactory.create_batch(related.RELATED_LIMIT, tags=[tag])

    related.related_incidents_recompute(incident=incident)

    stored = list(RelatedIncident.objects.filter(incident=incident))
    assert len(stored) == related.RELATED_LIMIT
    assert {link.related_id for link in stored[:3]} == {each.pk for each in best}


def test_the_task_ignores_an_incident_deleted_before_it_ran():
    assert recompute_related_incidents.delay(10**9).get() == 0


def test_the_task_returns_how_many_incidents_it_related():
    tag = TagFactory()
    IncidentFactory.create_batch(2, tags=[tag])
    incident = IncidentFactory(tags=[tag])

    assert recompute_related_incidents.delay(incident.pk).get() == 2


def test_the_bulk_recompute_after_an_import_matches_one_by_one():
    call_command("load_demo", verbosity=0)

    for incident in Incident.objects.all():
        related.related_incidents_recompute(incident=incident, cascade=False)
    one_by_one = snapshot()
    RelatedIncident.objects.all().delete()

    related.related_incidents_recompute_all()

    assert one_by_one and snapshot() == one_by_one


@pytest.mark.parametrize("counts_kept", [False, True], ids=["counted", "facet counts kept"])
def test_a_tag_most_incidents_hold_finds_no_candidates_but_still_counts(monkeypatch, counts_kept):
    monkeypatch.setattr(related, "COMMON_LINK_HOLDERS", 3)
    monkeypatch.setattr(related, "COMMON_LINK_SHARE", 0.0)
    common, rare = TagFactory(), TagFactory()
    incident = IncidentFactory(tags=[common, rare])
    partner = IncidentFactory(tags=[common, rare])
    IncidentFactory.create_batch(3, tags=[common])
    if counts_kept:
        assert facet_counts.holders("tag", [common.pk, rare.pk]) == {common.pk: 5, rare.pk: 2}
    else:
        FacetCount.objects.all().delete()
        assert facet_counts.holders("tag", [common.pk]) is None

    assert list(scores(incident)) == [partner.pk]
    assert scores(incident)[partner.pk] == 3.0  # both tags and the same perpetrator


def test_the_bounded_candidates_are_those_whose_shared_links_weigh_most(monkeypatch):
    monkeypatch.setattr(related, "LINK_CANDIDATES", 2)
    tags, organisation = TagFactory.create_batch(2), OrganisationFactory()
    incident = IncidentFactory(tags=tags, organisations=[organisation])
    by_organisation = IncidentFactory(organisations=[organisation])
    by_both_tags = IncidentFactory(tags=tags)
    IncidentFactory.create_batch(3, tags=tags[:1])

    # One ranking of tags and organisations together: one shared organisation (2) weighs as
    # much as two shared tags and more than one, whichever table it comes from.
    assert set(scores(incident)) == {by_organisation.pk, by_both_tags.pk}


def test_on_a_large_base_the_rarest_links_are_looked_for_and_the_others_still_count(
    monkeypatch,
):
    monkeypatch.setattr(related, "TEXT_EXACT_LIMIT", 2)
    monkeypatch.setitem(related._wording, "current", None)
    monkeypatch.setattr(related, "LINK_QUERY_MATCHES", 3)
    rare, commoner = TagFactory(), TagFactory()
    incident = IncidentFactory(tags=[rare, commoner])
    partner = IncidentFactory(tags=[rare, commoner])
    IncidentFactory.create_batch(3, tags=[commoner])

    # The rare tag's 2 holders fit in 3, the commoner's 5 more would not.
    assert scores(incident) == {partner.pk: 3.0}  # both tags and the same perpetrator


def test_on_a_large_base_the_telling_words_of_a_title_find_its_retelling(monkeypatch):
    monkeypatch.setattr(related, "TEXT_EXACT_LIMIT", 2)
    monkeypatch.setitem(related._wording, "current", None)
    incident = IncidentFactory(title="Delivery robot stranded on Tallinn tramline")
    retold = IncidentFactory(title="Tallinn tramline blocked by stranded delivery robot")
    IncidentFactory(title="Chatbot invents refund policy")
    search_index_update()

    assert list(scores(incident)) == [retold.pk]


def test_a_save_leaves_alone_the_lists_it_cannot_enter():
    tag, organisation = TagFactory(), OrganisationFactory()
    full = IncidentFactory.create_batch(
        related.RELATED_LIMIT + 1, tags=[tag], organisations=[organisation]
    )
    related.related_incidents_recompute_all()
    kept = set(RelatedIncident.objects.values_list("pk", flat=True))
    saved = IncidentFactory(tags=[tag])

    refreshed = related.related_incidents_recompute_many([saved.pk])

    assert refreshed == {saved.pk}
    assert set(links(saved)) == {each.pk for each in full[: related.RELATED_LIMIT]}
    assert kept <= set(RelatedIncident.objects.values_list("pk", flat=True))


@pytest.fixture
def demo_related(monkeypatch):
    """The demo with its lists stored, and the incident most lists hold."""
    # A large base's word weights, kept for a while, so that one edit changes only its own scores.
    monkeypatch.setattr(related, "TEXT_EXACT_LIMIT", 2)
    monkeypatch.setitem(related._wording, "current", None)
    call_command("load_demo", verbosity=0)
    search_index_update()
    related.related_incidents_recompute_all()
    held = Counter(RelatedIncident.objects.values_list("related_id", flat=True))
    pk, lists = held.most_common(1)[0]
    return Incident.objects.get(pk=pk), lists


def recompute_counting(monkeypatch, incident):
    """Refresh after saving this incident; returns the other lists computed afresh."""
    computed = []
    store = related._store
    monkeypatch.setattr(
        related, "_store", lambda candidates, ids: computed.extend(ids) or store(candidates, ids)
    )
    related.related_incidents_recompute_many([incident.pk])
    return set(computed) - {incident.pk}


def test_a_retold_and_retagged_incident_is_rescored_in_place_in_the_lists_holding_it(
    demo_related, monkeypatch
):
    incident, lists = demo_related
    incident.summary += " The same agent later wiped the staging backups as well."
    incident.save()
    holders = RelatedIncident.objects.filter(related=incident).values("incident")
    shared = Incident.tags.through.objects.filter(incident__in=holders).exclude(
        tag__in=incident.tags.all()
    )
    incident.tags.add(Counter(shared.values_list("tag_id", flat=True)).most_common(1)[0][0])
    search_index_update()

    computed = recompute_counting(monkeypatch, incident)

    after = snapshot()
    assert len(computed) < lists
    related.related_incidents_recompute_all()
    assert snapshot() == after


def test_an_incident_stripped_of_its_tags_leaves_the_lists_it_no_longer_belongs_in(
    demo_related, monkeypatch
):
    incident, lists = demo_related
    incident.tags.clear()
    IncidentOrganisation.objects.filter(incident=incident).delete()
    incident.summary = "Unrelated."
    incident.title = "Nothing in common"
    incident.save()
    search_index_update()

    computed = recompute_counting(monkeypatch, incident)

    after = snapshot()
    assert computed
    related.related_incidents_recompute_all()
    assert snapshot() == after
