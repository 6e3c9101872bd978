"""The public data downloads: Blast Radius's own export, as JSON and as zipped CSV tables."""

import io

from django.db.models import Count
from django.http import FileResponse
from django.shortcuts import render

from incidents import exporters
from incidents.models import Dataset, Incident, Provenance


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
            "json_size": len(files["json"]),
            "csv_size": len(files["csv"]),
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


def _attachment(body, filename, content_type):
    return FileResponse(
        io.BytesIO(body), as_attachment=True, filename=filename, content_type=content_type
    )


def download_json(request):
    body = exporters.published_files()["json"]
    return _attachment(body, exporters.JSON_FILENAME, "application/json; charset=utf-8")


def download_csv(request):
    body = exporters.published_files()["csv"]
    return _attachment(body, exporters.CSV_FILENAME, "application/zip")
