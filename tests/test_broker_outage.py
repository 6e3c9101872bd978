"""A broker outage: the save succeeded, so the user sees success; what could not be queued stays
recorded and the sweep queues it once the broker is back.

Here the broker is an address where nothing listens and, once it is "back", tasks run inline;
`test_broker_outage_worker.py` does the same against a private Redis and a real worker.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from incidents.dashboards.summaries import summaries_rebuild
from incidents.models import ImportJob, Incident, PendingWork, RelatedIncident, SummaryCount, Tag
from incidents.services import followups

from .factories import IncidentFactory, TagFactory, import_, signed_in
from .outages import free_port, publishing_to
from .test_dashboard_summaries import changed_snapshot, summary_rows
from .test_filing import NEW_URL, new_form_data
from .test_import_history import AIID
from .test_import_jobs import AIAAIC_CSV
from .test_review_flow import review_url, submitted

# Commits must really happen: on-commit hooks run inside the request, as in production.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def broker_down():
    # A fresh free port: every publish is refused, as when Redis is stopped.
    return publishing_to(f"redis://127.0.0.1:{free_port()}/0")


def sweep():
    call_command("sweep_pending_work", grace=0)


def test_filing_during_an_outage_succeeds_and_the_sweep_relates_the_incident(ada_client):
    tag = TagFactory(facet=Tag.Facet.FAILURE_MODE, name="Destructive action")
    neighbour = IncidentFactory(tags=[tag])

    with broker_down():
        data = new_form_data(ada_client, title="Filed during an outage", tags_failure_mode=tag.pk)
        response = ada_client.post(NEW_URL, data)

    assert response.status_code == 302
    incident = Incident.objects.get(title="Filed during an outage")
    assert not RelatedIncident.objects.filter(incident=incident).exists()
    assert PendingWork.objects.filter(task="recompute_related_incidents", argument=incident.pk)

    sweep()

    assert RelatedIncident.objects.filter(incident=incident, related=neighbour).exists()
    assert not PendingWork.objects.exists()


def test_approving_during_an_outage_publishes_and_the_sweep_rebuilds_the_dashboards(ada, rui):
    incident = submitted(ada, title="Approved during an outage")
    SummaryCount.objects.all().delete()
    client = signed_in(rui)

    with broker_down():
        response = client.post(review_url(incident), {"decision": "approve"})

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Incident.Status.PUBLISHED
    assert not SummaryCount.objects.exists()

    sweep()

    assert SummaryCount.objects.filter(dimension="all", series="total").exists()
    assert not PendingWork.objects.exists()


def test_an_import_uploaded_during_an_outage_is_run_by_the_sweep(sue_client):
    upload = SimpleUploadedFile(AIAAIC_CSV.name, AIAAIC_CSV.read_bytes())

    with broker_down():
        response = sue_client.post(
            reverse("admin:incidents_importjob_add"), {"source": "aiaaic", "upload": upload}
        )

    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.QUEUED

    sweep()

    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert Incident.objects.count() == 4


def test_the_sweep_leaves_work_that_may_still_be_in_flight():
    incident = IncidentFactory()
    with broker_down():
        followups.incident_saved(incident=incident)

    call_command("sweep_pending_work")  # the default grace: queued a moment ago, left alone

    assert PendingWork.objects.filter(task="recompute_related_incidents").exists()


def test_the_summary_rows_an_import_reached_during_an_outage_are_updated_by_the_sweep(tmp_path):
    IncidentFactory.create_batch(10)
    import_("aiid", AIID / "2026-02")
    summaries_rebuild()
    PendingWork.objects.all().delete()
    moved_to = SummaryCount.objects.filter(dimension="all", series="total", period="2015-09-01")

    with broker_down():
        import_("aiid", changed_snapshot(tmp_path))

    assert not moved_to.exists()
    assert PendingWork.objects.get(task="apply_summary_deltas").payload

    sweep()

    assert moved_to.get(scope="public").count == 1
    assert not PendingWork.objects.exists()
    updated = summary_rows()
    summaries_rebuild()
    assert updated == summary_rows()
