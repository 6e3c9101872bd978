"""What an import sets off: similar incidents recomputed around what changed, not everywhere."""

import pytest
from django.core.management import call_command
from django.db import connection

from incidents.importers import base
from incidents.models import Incident, PendingWork, RelatedIncident, Tag
from incidents.services import related

from .factories import IncidentFactory, TagFactory, import_, incident_for
from .outages import free_port, publishing_to
from .test_import_history import AIID, retitled_snapshot

pytestmark = pytest.mark.django_db


def related_work():
    return set(
        PendingWork.objects.filter(task="recompute_related_incidents").values_list(
            "argument", flat=True
        )
    )


def test_an_import_touching_two_incidents_queues_related_work_for_those_two(
    tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        import_("aiid", AIID / "2026-02")
    assert not PendingWork.objects.exists()

    snapshot = retitled_snapshot(tmp_path, {"6": "Tay posts abuse", "25": "Google cars crash"})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        summary = import_("aiid", snapshot)

    assert summary.updated == 2
    assert related_work() == {incident_for("aiid", "6").pk, incident_for("aiid", "25").pk}
    assert not PendingWork.objects.filter(task="recompute_all_related_incidents").exists()
    for callback in callbacks:
        callback()
    assert related_work() == set()
    assert RelatedIncident.objects.filter(incident=incident_for("aiid", "25")).exists()


def test_an_unchanged_import_queues_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        import_("aiid", AIID / "2026-02")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        import_("aiid", AIID / "2026-02")

    assert callbacks == []
    assert not PendingWork.objects.exists()


def links():
    return set(RelatedIncident.objects.values_list("incident", "related", "score"))


def test_recomputing_around_changed_incidents_matches_recomputing_everything():
    tags = [TagFactory(facet=Tag.Facet.FAILURE_MODE, name=f"Failure {n}") for n in range(4)]
    groups = [[IncidentFactory(tags=[tag]) for _ in range(5)] for tag in tags]
    related.related_incidents_recompute_all()
    changed = groups[0][0]
    changed.tags.set([tags[1]])

    refreshed = related.related_incidents_recompute_many([changed.pk])
    around = links()
    related.related_incidents_recompute_all()

    assert around == links()
    assert refreshed == {incident.pk for incident in groups[0] + groups[1]}


def test_an_incident_sharing_nothing_with_a_changed_one_keeps_its_list():
    shared, other = (TagFactory(facet=Tag.Facet.FAILURE_MODE, name=n) for n in ("A", "B"))
    changed, neighbour = IncidentFactory(tags=[shared]), IncidentFactory(tags=[shared])
    apart, its_twin = IncidentFactory(tags=[other]), IncidentFactory(tags=[other])
    related.related_incidents_recompute_all()
    kept = set(RelatedIncident.objects.filter(incident=apart).values_list("pk", flat=True))

    refreshed = related.related_incidents_recompute_many([changed.pk])

    assert refreshed == {changed.pk, neighbour.pk}
    assert kept and kept == set(
        RelatedIncident.objects.filter(incident=apart).values_list("pk", flat=True)
    )
    assert its_twin.pk not in refreshed


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_related_work_of_an_import_during_a_broker_outage_is_done_by_the_sweep(tmp_path):
    import_("aiid", AIID / "2026-02")
    RelatedIncident.objects.all().delete()
    PendingWork.objects.all().delete()

    with publishing_to(f"redis://127.0.0.1:{free_port()}/0"):
        import_("aiid", retitled_snapshot(tmp_path, {"25": "Google cars crash"}))

    cars = incident_for("aiid", "25")
    assert related_work() == {cars.pk}
    assert not RelatedIncident.objects.filter(incident=cars).exists()

    call_command("sweep_pending_work", grace=0)

    assert RelatedIncident.objects.filter(incident=cars).exists()
    assert not PendingWork.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_a_large_import_refreshes_the_planner_statistics(monkeypatch):
    def estimated_incidents():
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'incidents_incident'")
            return cursor.fetchone()[0]

    monkeypatch.setattr(base, "ANALYZE_AFTER", 1_000_000)
    import_("aiid", AIID / "2025-03")
    unrefreshed = estimated_incidents()
    monkeypatch.setattr(base, "ANALYZE_AFTER", 2)
    import_("aiid", AIID / "2026-02")

    # The follow-up queries are planned on what the import wrote, not on the empty table.
    assert unrefreshed != Incident.objects.count()
    assert estimated_incidents() == Incident.objects.count()
