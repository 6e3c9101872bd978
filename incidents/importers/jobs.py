"""Running an uploaded import: the worker side of the admin's import page."""

import io
import tempfile
import zipfile
from dataclasses import asdict
from pathlib import Path

from django.core.cache import cache
from django.utils import timezone

from incidents import queueing
from incidents.models import ImportJob

from . import IMPORTERS, ImportFailed, run_import

PROGRESS_EVERY = 25


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
    """A .zip is unpacked (a dataset folder); any other file is saved under its own name."""
    data = bytes(job.payload)
    if job.filename.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.infolist():
                    name = Path(member.filename).name
                    if name and not member.is_dir():
                        (folder / name).write_bytes(archive.read(member))
        except zipfile.BadZipFile as error:
            message = f"not a readable zip file ({error})"
            raise ImportFailed(job.filename, None, None, message) from error
        return folder
    path = folder / job.filename
    path.write_bytes(data)
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
