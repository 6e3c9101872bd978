"""Uploading a dataset in the admin: the import runs as a task and its result shows on the job."""

import io
import time
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from incidents.models import ImportJob, Incident

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
AIAAIC_CSV = DATA / "aiaaic" / "AIAAIC Repository - Incidents.csv"
MB = 1024 * 1024


def upload(client, captured, name, content, source, dry_run=False):
    data = {"source": source, "upload": SimpleUploadedFile(name, content)}
    if dry_run:
        data["dry_run"] = "on"
    with captured(execute=True):
        response = client.post(reverse("admin:incidents_importjob_add"), data)
    assert response.status_code == 302, response.content[:2000]
    return ImportJob.objects.get()


def test_an_uploaded_csv_is_imported_and_the_job_shows_the_summary(
    sue_client, django_capture_on_commit_callbacks
):
    job = upload(
        sue_client,
        django_capture_on_commit_callbacks,
        AIAAIC_CSV.name,
        AIAAIC_CSV.read_bytes(),
        "aiaaic",
    )

    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.summary["created"] == 4
    assert job.payload == b""  # the upload is not kept once imported
    assert Incident.objects.count() == 4
    page = sue_client.get(reverse("admin:incidents_importjob_change", args=[job.pk]))
    assert "4 created, 0 updated, 0 unchanged, 2 skipped" in page.text


def test_a_zipped_dataset_folder_is_unpacked(sue_client, django_capture_on_commit_callbacks):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in (DATA / "aiid" / "2026-02").iterdir():
            archive.write(path, f"aiid-snapshot/{path.name}")

    job = upload(
        sue_client, django_capture_on_commit_callbacks, "aiid.zip", buffer.getvalue(), "aiid"
    )

    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.summary["created"] == 5


def test_a_bad_upload_fails_with_its_location_and_writes_nothing(
    sue_client, django_capture_on_commit_callbacks
):
    content = AIAAIC_CSV.read_bytes().replace(b"AIAAIC2151,", b"AIAAIC0187,", 1)

    job = upload(sue_client, django_capture_on_commit_callbacks, "aiaaic.csv", content, "aiaaic")

    assert job.status == ImportJob.Status.FAILED
    assert "Nothing was written." in job.error
    assert "aiaaic.csv, line" in job.error
    assert "AIAAIC0187" in job.error
    assert not Incident.objects.exists()
    page = sue_client.get(reverse("admin:incidents_importjob_change", args=[job.pk]))
    assert "Nothing was written." in page.text


def test_a_dry_run_upload_reports_without_writing(sue_client, django_capture_on_commit_callbacks):
    job = upload(
        sue_client,
        django_capture_on_commit_callbacks,
        AIAAIC_CSV.name,
        AIAAIC_CSV.read_bytes(),
        "aiaaic",
        dry_run=True,
    )

    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.summary["dry_run"] is True
    assert not Incident.objects.exists()


def test_the_import_page_is_for_staff_only(olga_client):
    response = olga_client.get(reverse("admin:incidents_importjob_add"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def running_job(started_minutes_ago, progress=None):
    job = ImportJob.objects.create(
        source="aiaaic",
        filename=AIAAIC_CSV.name,
        payload=AIAAIC_CSV.read_bytes(),
        status=ImportJob.Status.RUNNING,
        started_at=timezone.now() - timedelta(minutes=started_minutes_ago),
    )
    if progress:
        cache.set(job.progress_key, progress)
    return job


def change_page(client, job):
    return client.get(reverse("admin:incidents_importjob_change", args=[job.pk])).text


def test_progress_says_records_were_read_since_nothing_is_written_until_the_end(sue_client):
    job = running_job(1, progress={"done": 25, "total": 1367, "at": time.time()})

    page = change_page(sue_client, job)

    assert "25 of 1,367 incidents read; none is saved until all are" in page
    assert "written" not in page


def test_a_job_whose_worker_stopped_is_failed_by_the_sweep_and_can_be_retried(
    sue_client, django_capture_on_commit_callbacks
):
    stopped = running_job(60, progress={"done": 25, "total": 4, "at": time.time() - 3600})
    busy = running_job(60, progress={"done": 2, "total": 4, "at": time.time()})

    call_command("sweep_pending_work")

    busy.refresh_from_db()
    assert busy.status == ImportJob.Status.RUNNING
    stopped.refresh_from_db()
    assert stopped.status == ImportJob.Status.FAILED
    assert "The worker stopped" in stopped.error and "Nothing was written." in stopped.error
    page = change_page(sue_client, stopped)
    assert "Nothing was written." in page
    retry = reverse("admin:incidents_importjob_retry", args=[stopped.pk])
    assert f'action="{retry}"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = sue_client.post(retry)

    assert response.status_code == 302
    stopped.refresh_from_db()
    assert stopped.status == ImportJob.Status.SUCCEEDED, stopped.error
    assert Incident.objects.count() == 4


def test_a_bad_file_is_not_offered_a_retry(sue_client, django_capture_on_commit_callbacks):
    content = AIAAIC_CSV.read_bytes().replace(b"AIAAIC2151,", b"AIAAIC0187,", 1)
    job = upload(sue_client, django_capture_on_commit_callbacks, "aiaaic.csv", content, "aiaaic")

    retry = reverse("admin:incidents_importjob_retry", args=[job.pk])
    assert f'action="{retry}"' not in change_page(sue_client, job)
    response = sue_client.post(retry, follow=True)
    assert "cannot be retried" in response.text
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED


def zip_bomb(unpacked, name="incidents.csv"):
    """A small zip of one file of zeros that expands about a thousand times."""
    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9)
    with archive, archive.open(name, "w") as member:
        for _ in range(unpacked // MB):
            member.write(bytes(MB))
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(
    sue_client, django_capture_on_commit_callbacks
):
    bomb = zip_bomb(100 * MB)
    assert len(bomb) < 150 * 1024

    tracemalloc.start()
    try:
        job = upload(sue_client, django_capture_on_commit_callbacks, "aiid.zip", bomb, "aiid")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert job.status == ImportJob.Status.FAILED
    assert job.error.startswith("Nothing was written. aiid.zip: incidents.csv would expand")
    assert "possible zip bomb" in job.error
    assert peak < 20 * MB  # the 100 MB were never held, nor written
    assert not Incident.objects.exists()


def test_a_zip_that_unpacks_to_more_than_the_site_allows_is_refused(
    sue_client, django_capture_on_commit_callbacks, settings
):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in (DATA / "aiid" / "2026-02").iterdir():
            archive.write(path, f"aiid-snapshot/{path.name}")
    settings.MAX_UNPACKED_BYTES = 2 * 1024  # the five files hold 24 KB

    job = upload(
        sue_client, django_capture_on_commit_callbacks, "aiid.zip", buffer.getvalue(), "aiid"
    )

    assert job.status == ImportJob.Status.FAILED
    assert "unpacks to 24 KB, more than the 2 KB the site unpacks" in job.error
    assert "MAX_UNPACKED_BYTES" in job.error
    assert not Incident.objects.exists()


def test_an_upload_larger_than_the_site_takes_is_refused_on_the_form(sue_client, settings):
    settings.MAX_IMPORT_BYTES = 1024
    content = AIAAIC_CSV.read_bytes()

    response = sue_client.post(
        reverse("admin:incidents_importjob_add"),
        {"source": "aiaaic", "upload": SimpleUploadedFile(AIAAIC_CSV.name, content)},
    )

    assert response.status_code == 200
    assert "The file is larger than 1 KB" in response.text
    assert "MAX_IMPORT_BYTES" in response.text
    assert not ImportJob.objects.exists()
