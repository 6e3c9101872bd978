"""A worker killed mid-task (out of memory, a deploy): a summary rebuild runs again on the next
pool process; an import job is marked failed by the sweep and runs again when retried.

Each test holds a table lock from a connection of its own, so that the task is surely in the
middle of its work when the test kills the pool process running it (SIGKILL).
"""

import os
import signal
from contextlib import contextmanager

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from config.celery import app as celery_app
from incidents import queueing
from incidents.importers.jobs import import_job_create
from incidents.models import ImportJob, Incident, SummaryCount

from .factories import IncidentFactory
from .outages import celery_worker, pool_processes, publishing_to, wait_for
from .test_import_jobs import AIAAIC_CSV
from .test_worker import _database_url, _needs_worker_setup

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def prefork_worker(settings):
    """One pool process under a parent that notices when it dies, as in production."""
    _needs_worker_setup()
    with publishing_to(settings.CELERY_BROKER_URL):
        celery_app.control.purge()  # what an earlier test left queued would muddle this one
        with celery_worker(_database_url(), settings.CELERY_BROKER_URL, pool="prefork") as worker:
            yield worker


@contextmanager
def table_locked(model):
    with psycopg.connect(_database_url()) as locker:
        locker.execute(f"LOCK TABLE {model._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        yield
        locker.rollback()


def someone_waits_for(model):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
            [model._meta.db_table],
        )
        return cursor.fetchone()[0] > 0


def kill_the_pool_process(worker):
    for pid in pool_processes(worker):
        os.kill(pid, signal.SIGKILL)


def test_a_summary_rebuild_whose_worker_was_killed_runs_again(prefork_worker):
    IncidentFactory()
    SummaryCount.objects.all().delete()

    with table_locked(SummaryCount):
        queueing.summaries_rebuild()
        assert wait_for(lambda: someone_waits_for(SummaryCount), worker=prefork_worker)
        kill_the_pool_process(prefork_worker)

    assert wait_for(SummaryCount.objects.exists, worker=prefork_worker), "the rebuild was lost"
    assert prefork_worker.poll() is None


def test_an_import_whose_worker_was_killed_is_failed_then_retried(
    prefork_worker, sue_client, settings
):
    with table_locked(Incident):
        job = import_job_create(
            source="aiaaic",
            upload=SimpleUploadedFile(AIAAIC_CSV.name, AIAAIC_CSV.read_bytes()),
            dry_run=False,
            by=None,
        )
        assert wait_for(lambda: someone_waits_for(Incident), worker=prefork_worker)
        kill_the_pool_process(prefork_worker)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING
    settings.IMPORT_JOB_STALE_SECONDS = 0  # its last progress was reported a moment ago
    call_command("sweep_pending_work")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "Nothing was written." in job.error
    assert not Incident.objects.exists()

    response = sue_client.post(reverse("admin:incidents_importjob_retry", args=[job.pk]))

    assert response.status_code == 302

    def finished():
        job.refresh_from_db()
        return job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED)

    assert wait_for(finished, worker=prefork_worker)
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert Incident.objects.count() == 4
