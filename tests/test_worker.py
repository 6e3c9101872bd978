"""The real path: saving an incident queues a task on Redis and a separate worker process runs it.

Everywhere else tasks run inline; this test proves the broker, the worker and on_commit wiring.
It needs CELERY_BROKER_URL and PostgreSQL (the worker process must reach the test database),
which `.ci/run` provides for its second pass.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from config.celery import app as celery_app
from incidents.models import RelatedIncident
from incidents.services import followups

from .factories import IncidentFactory, TagFactory

ROOT = Path(__file__).resolve().parent.parent


def _needs_worker_setup():
    missing = []
    if settings.CELERY_TASK_ALWAYS_EAGER:
        missing.append("CELERY_BROKER_URL is not set (tasks run eagerly)")
    if connection.vendor != "postgresql":
        missing.append("the database is not PostgreSQL")
    if missing:
        reason = " and ".join(missing)
        if os.environ.get("REQUIRE_WORKER"):
            pytest.fail(f"REQUIRE_WORKER is set but {reason}")
        pytest.skip(f"{reason}; `.ci/run` runs this on PostgreSQL with Redis")


def _database_url():
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture
def worker():
    _needs_worker_setup()
    env = {**os.environ, "DATABASE_URL": _database_url()}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            ",".join(queue.name for queue in settings.CELERY_TASK_QUEUES),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    celery_app.conf.task_always_eager = False
    yield process
    process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_recomputes_related_incidents_after_an_incident_is_saved(worker):
    shared = TagFactory(name="destructive action")
    first = IncidentFactory(title="Agent drops a production table")
    second = IncidentFactory(title="Agent deletes a staging bucket")
    first.tags.add(shared)
    second.tags.add(shared)
    assert not RelatedIncident.objects.exists()

    with transaction.atomic():
        followups.incident_saved(incident=first)
        # Queued on commit, never before: the worker must not see half-written data.
        assert not RelatedIncident.objects.exists()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.poll() is None:
        if RelatedIncident.objects.filter(incident=first, related=second).exists():
            break
        time.sleep(0.25)

    assert worker.poll() is None, "the worker process exited early"
    link = RelatedIncident.objects.get(incident=first, related=second)
    assert link.shared_tags == 1
    # The worker also refreshed the neighbour's list.
    assert RelatedIncident.objects.filter(incident=second, related=first).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_runs_an_uploaded_import(worker):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from incidents.importers.jobs import import_job_create
    from incidents.models import ImportJob, Incident

    csv = Path(__file__).parent / "data" / "aiaaic" / "AIAAIC Repository - Incidents.csv"
    with transaction.atomic():
        job = import_job_create(
            source="aiaaic",
            upload=SimpleUploadedFile(csv.name, csv.read_bytes()),
            dry_run=False,
            by=None,
        )

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.poll() is None:
        job.refresh_from_db()
        if job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED):
            break
        time.sleep(0.25)

    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert job.summary["created"] == 4
    assert Incident.objects.count() == 4
