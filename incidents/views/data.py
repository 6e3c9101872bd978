"""The public data pages: Blast Radius's own export, as JSON and as zipped CSV tables, and how
much of each imported dataset's content the records carry.

The current export version is offered; version 1 files still answer at their old addresses."""

import io

from django.db.models import Count
from django.http import FileResponse
from django.shortcuts import render

from incidents import exporters
from incidents.caching import cached_for_this_data, public_page_cache
from incidents.models import Dataset, Incident, Provenance
from incidents.services.coverage import dataset_coverage


def data_index(request):
    files = exporters.published_files()
    licences = (
        Provenance.objects.filter(incident__in=Incident.objects.public())
        .values("dataset", "licence")
        .annotate(incidents=Count("incident", distinct=True))
        .order_by("dataset", "licence")
    )
    return render(
        request,
        "incidents/data.html",
        {
            "incident_count": files["incident_count"],
            "policy_count": files["policy_count"],
            "json_size": len(files[exporters.VERSION]["json"]),
            "csv_size": len(files[exporters.VERSION]["csv"]),
            "json_filename": exporters.json_filename(),
            "csv_filename": exporters.csv_filename(),
            "csv_tables": [
                (name, columns.split()) for name, (columns, _) in exporters.CSV_TABLES.items()
            ],
            "licences": [
                {**row, "dataset_label": Dataset(row["dataset"]).label} for row in licences
            ],
            "schema": exporters.SCHEMA,
            "version": exporters.VERSION,
        },
    )


@public_page_cache
def data_coverage(request):
    reports = cached_for_this_data("data-coverage", dataset_coverage)
    return render(request, "incidents/data_coverage.html", {"reports": reports})


def _attachment(body, filename, content_type):
    return FileResponse(
        io.BytesIO(body), as_attachment=True, filename=filename, content_type=content_type
    )


def download_json(request, version=exporters.VERSION):
    body = exporters.published_files()[version]["json"]
    return _attachment(body, exporters.json_filename(version), "application/json; charset=utf-8")


def download_csv(request, version=exporters.VERSION):
    body = exporters.published_files()[version]["csv"]
    return _attachment(body, exporters.csv_filename(version), "application/zip")
