"""A broker outage end to end: the broker is a private Redis that the test stops. Filing,
approving and uploading an import answer normally while it is down; once it is back, the sweep
queues what was left over and a real worker does it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from incidents.models import (
    ImportJob,
    Incident,
    PendingWork,
    RelatedIncident,
    SummaryCount,
    Tag,
)

from .factories import IncidentFactory, TagFactory, signed_in
from .outages import PrivateRedis, celery_worker, needs_redis_server, publishing_to, wait_for
from .test_filing import NEW_URL, new_form_data
from .test_import_jobs import AIAAIC_CSV
from .test_review_flow import review_url, submitted
from .test_worker import _database_url, _needs_worker_setup

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def broker():
    _needs_worker_setup()
    needs_redis_server()
    redis = PrivateRedis().start()
    with publishing_to(redis.url()):
        yield redis
    redis.stop()


def test_work_set_off_during_an_outage_is_done_once_the_broker_is_back(
    broker, ada, ada_client, rui, sue_client
):
    tag = TagFactory(facet=Tag.Facet.FAILURE_MODE, name="Destructive action")
    neighbour = IncidentFactory(tags=[tag])
    to_approve = submitted(ada, title="Approved during the outage")
    form = new_form_data(ada_client, title="Filed during the outage", tags_failure_mode=tag.pk)
    upload = SimpleUploadedFile(AIAAIC_CSV.name, AIAAIC_CSV.read_bytes())
    SummaryCount.objects.all().delete()
    broker.stop()

    filed = ada_client.post(NEW_URL, form)
    approved = signed_in(rui).post(review_url(to_approve), {"decision": "approve"})
    uploaded = sue_client.post(
        reverse("admin:incidents_importjob_add"), {"source": "aiaaic", "upload": upload}
    )

    assert [filed.status_code, approved.status_code, uploaded.status_code] == [302, 302, 302]
    incident = Incident.objects.get(title="Filed during the outage")
    to_approve.refresh_from_db()
    assert to_approve.status == Incident.Status.PUBLISHED
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.QUEUED
    assert PendingWork.objects.exists()

    broker.start()
    call_command("sweep_pending_work", grace=0)
    with celery_worker(_database_url(), broker.url()) as worker:

        def done():
            job.refresh_from_db()
            return job.status == ImportJob.Status.SUCCEEDED and not PendingWork.objects.exists()

        assert wait_for(done, worker=worker), (
            job.status,
            job.error,
            list(PendingWork.objects.all()),
        )

    assert RelatedIncident.objects.filter(incident=incident, related=neighbour).exists()
    assert SummaryCount.objects.filter(dimension="all", series="total").exists()
    assert Incident.objects.count() == 3 + 4
