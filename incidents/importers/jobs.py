"""Running an uploaded import: the worker side of the admin's import page."""

import io
import logging
import tempfile
import time
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents import queueing
from incidents.models import ImportJob
from incidents.untrusted import Unreadable, size, unzip

from . import IMPORTERS, ImportFailed, run_import
from .history import origin_label

log = logging.getLogger(__name__)

PROGRESS_EVERY = 25
STOPPED_MESSAGE = (
    "The worker stopped while running this import (no progress for %(minutes)d min)."
    " Nothing was written. Retry to queue it again."
)


def import_upload_checked(upload):
    """The upload, if the site takes files that large (MAX_IMPORT_BYTES): it is kept in the
    database until the worker has read it."""
    if upload.size > settings.MAX_IMPORT_BYTES:
        raise ValidationError(
            f"The file is larger than {size(settings.MAX_IMPORT_BYTES)}, the most the site "
            "takes (MAX_IMPORT_BYTES). Zip a dataset folder, or import it on the server with "
            "manage.py import_incidents."
        )
    return upload


def import_job_create(*, source, upload, dry_run, by):
    """Store the upload and queue the import once the job row is committed."""
    if source not in IMPORTERS:
        raise ValueError(f"Unknown source {source!r}")
    job = ImportJob.objects.create(
        source=source,
        filename=Path(upload.name).name,
        payload=upload.read(),
        dry_run=dry_run,
        created_by=by,
    )
    queueing.import_job(job.pk)
    return job


def import_job_progress(job):
    """{"done", "total", "at"} while a job runs: `total` is None while the file is read and
    checked; `at` is when the worker last reported (a timestamp)."""
    return cache.get(job.progress_key)


def _report_progress(job, done, total):
    progress = {"done": done, "total": total, "at": time.time()}
    cache.set(job.progress_key, progress, timeout=3600)


def import_job_can_retry(job):
    """A job that failed with its upload still there: its worker stopped (a bad file fails
    with its upload cleared, and would only fail again)."""
    return job.status == ImportJob.Status.FAILED and bool(job.payload)


def import_job_retry(*, job):
    if not import_job_can_retry(job):
        raise ValueError(f"Import job {job.pk} cannot be retried")
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.FAILED).update(
            status=ImportJob.Status.QUEUED, error="", started_at=None, finished_at=None
        )
        queueing.import_job(job.pk)


def import_jobs_sweep(*, grace, stale_after):
    """Queue jobs still waiting after `grace` seconds (their upload met a broker outage) and
    fail jobs whose worker stopped: running with no progress for `stale_after` seconds.
    Returns (queued, failed)."""
    now = timezone.now()
    waiting = ImportJob.objects.filter(
        status=ImportJob.Status.QUEUED, created_at__lte=now - timedelta(seconds=grace)
    )
    queued = 0
    for job_id in waiting.values_list("pk", flat=True):
        if not queueing.publish("run_import_job", job_id):
            break  # the broker is still down: the next sweep tries again
        queued += 1
    cutoff = now - timedelta(seconds=stale_after)
    failed = 0
    running = ImportJob.objects.filter(status=ImportJob.Status.RUNNING, started_at__lte=cutoff)
    for job in running.only("pk"):
        progress = import_job_progress(job)
        if progress and progress["at"] > cutoff.timestamp():
            continue
        failed += ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
            status=ImportJob.Status.FAILED,
            finished_at=now,
            error=STOPPED_MESSAGE % {"minutes": max(1, round(stale_after / 60))},
        )
    if failed:
        log.warning("Marked %d import job(s) as failed: no progress for %d s", failed, stale_after)
    return queued, failed


def _unpack(job, folder):
    """A .zip is unpacked (a dataset folder), in chunks and within the site's limits
    (MAX_UNPACKED_BYTES, MAX_COMPRESSION_RATIO); any other file is saved under its own name."""
    if job.filename.lower().endswith(".zip"):
        try:
            unzip(
                io.BytesIO(job.payload),
                folder,
                max_bytes=settings.MAX_UNPACKED_BYTES,
                max_ratio=settings.MAX_COMPRESSION_RATIO,
            )
        except Unreadable as error:
            raise ImportFailed(job.filename, None, None, str(error)) from error
        return folder
    path = folder / job.filename
    path.write_bytes(job.payload)
    return path


def import_job_run(job):
    """Run a queued job. The job is claimed first, so that a second delivery of its task (the
    sweep queues jobs that wait long) leaves it alone; returns None then."""
    started = timezone.now()
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=started
    )
    if not claimed:
        return None
    job.status, job.started_at = ImportJob.Status.RUNNING, started
    _report_progress(job, 0, None)

    def progress(done, total):
        if done % PROGRESS_EVERY == 0 or done == total:
            _report_progress(job, done, total)

    try:
        with tempfile.TemporaryDirectory() as folder:
            path = _unpack(job, Path(folder))
            importer = IMPORTERS[job.source](path)
            summary = run_import(
                importer,
                dry_run=job.dry_run,
                progress=progress,
                origin=origin_label(job.filename, importer.origin()),
            )
    except ImportFailed as error:
        job.status = ImportJob.Status.FAILED
        job.error = f"Nothing was written. {error}"
    else:
        job.status = ImportJob.Status.SUCCEEDED
        job.summary = {**asdict(summary), "text": str(summary)}
    job.finished_at = timezone.now()
    job.payload = b""
    job.save()
    return job
