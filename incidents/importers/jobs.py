"""Running an uploaded import: the worker side of the admin's import page."""

import io
import tempfile
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import queueing
from incidents.models import ImportJob
from incidents.untrusted import Unreadable, size, unzip

from . import IMPORTERS, ImportFailed, run_import

PROGRESS_EVERY = 25


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
    return cache.get(job.progress_key)


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
    job.status = ImportJob.Status.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at"])

    def progress(done, total):
        if done % PROGRESS_EVERY == 0 or done == total:
            cache.set(job.progress_key, {"done": done, "total": total}, timeout=3600)

    try:
        with tempfile.TemporaryDirectory() as folder:
            path = _unpack(job, Path(folder))
            summary = run_import(
                IMPORTERS[job.source](path), dry_run=job.dry_run, progress=progress
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
