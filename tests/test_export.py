"""The export (JSON and CSV), its download page, and importing it into another instance."""

import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import exporters
from incidents.importers import IMPORTERS, ImportFailed, run_import
from incidents.importers.blast_radius import BlastRadiusImporter
from incidents.models import (
    AISystem,
    Dataset,
    Incident,
    Organisation,
    PolicyChange,
    PolicyChangeIncident,
    Provenance,
    Source,
    Tag,
)

from .factories import (
    ActionItemFactory,
    AISystemFactory,
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    PolicyChangeFactory,
    PolicyChangeIncidentFactory,
    PolicySourceFactory,
    SourceFactory,
    TagFactory,
    TimelineEventFactory,
)

pytestmark = pytest.mark.django_db

SECRET = "Zanzibar-internal-only"


@pytest.fixture
def dataset(db):
    """The demo set plus imported, retracted, merged and internal incidents."""
    call_command("load_demo", verbosity=0)
    vendor = OrganisationFactory(name="Example AI Labs", website="https://labs.example.com")
    imported = IncidentFactory(
        title="Agent wiped a staging database",
        occurred_at=datetime(2025, 11, 3, 8, 30, tzinfo=UTC),
        detected_at=datetime(2025, 11, 3, 9, 15, 20, 123456, tzinfo=UTC),
        mitigated_at=datetime(2025, 11, 3, 10, 0, tzinfo=UTC),
        resolved_at=datetime(2025, 11, 4, 10, 0, tzinfo=UTC),
        disclosed_on=date(2025, 11, 10),
        outage_duration=timedelta(minutes=90, seconds=30),
        estimated_cost_usd=Decimal("12500.50"),
        users_affected=420,
        autonomy=Incident.Autonomy.AUTONOMOUS,
        tags=[TagFactory(name="Deleted data", description="Data was destroyed.")],
    )
    imported.ai_systems.add(AISystemFactory(name="Wrecker", vendor=vendor))
    IncidentOrganisationFactory(incident=imported, organisation=vendor, role="developer")
    SourceFactory(incident=imported, stance=Source.Stance.DISPUTES)
    SourceFactory(incident=imported, published_on=None)
    TimelineEventFactory(incident=imported)
    ActionItemFactory(incident=imported, due_on=date(2026, 1, 15))
    for dataset_code, external_id, licence in [
        (Dataset.AIID, "1234", "CC BY-SA 4.0"),
        (Dataset.AIAAIC, "AIAAIC0999", "CC BY-SA 4.0"),
    ]:
        Provenance.objects.create(
            incident=imported,
            dataset=dataset_code,
            external_id=external_id,
            url=f"https://example.org/{external_id}",
            licence=licence,
            imported_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
            content_hash="f" * 64,
        )
    merged = IncidentFactory(
        title="Same staging wipe, reported twice", retracted=True, merged_into=imported
    )
    internal = IncidentFactory(
        title=f"{SECRET} incident",
        internal=True,
        summary=SECRET,
        organisations=[OrganisationFactory(name=f"{SECRET} Corp")],
        tags=[TagFactory(name=f"{SECRET} tag")],
    )
    IncidentFactory(title=f"{SECRET} draft", draft=True)
    policy = PolicyChangeFactory(organisation=vendor, title="Agents lose write access")
    PolicySourceFactory(policy_change=policy)
    PolicyChangeIncidentFactory(policy_change=policy, incident=imported)
    PolicyChangeIncidentFactory(policy_change=policy, incident=internal)
    return {"imported": imported, "merged": merged, "internal": internal}


def export_all(tmp_path, name):
    stream = StringIO()
    exporters.export_json(stream)
    folder = tmp_path / f"{name}-csv"
    exporters.export_csv(folder)
    exporters.export_csv(tmp_path / f"{name}.zip")
    tables = {path.name: path.read_text() for path in sorted(folder.iterdir())}
    return stream.getvalue(), tables, (tmp_path / f"{name}.zip").read_bytes()


def empty_the_database():
    PolicyChangeIncident.objects.all().delete()
    PolicyChange.objects.all().delete()
    Incident.objects.update(merged_into=None)
    Incident.objects.all().delete()
    AISystem.objects.all().delete()
    Organisation.objects.all().delete()
    Tag.objects.all().delete()


def import_file(path):
    return run_import(BlastRadiusImporter(path))


def test_the_json_has_one_versioned_shape_in_a_stable_order(dataset):
    document = json.loads(exporters.render_json(exporters.build_export()))
    assert list(document) == [
        "schema",
        "version",
        "organisations",
        "tags",
        "incidents",
        "policy_changes",
    ]
    assert document["schema"] == exporters.SCHEMA and document["version"] == 1
    numbers = [incident["number"] for incident in document["incidents"]]
    assert numbers == sorted(numbers)
    slugs = [policy["slug"] for policy in document["policy_changes"]]
    assert slugs == sorted(slugs)
    incident = next(i for i in document["incidents"] if i["slug"] == dataset["imported"].slug)
    assert list(incident)[:3] == ["number", "slug", "title"]
    assert incident["estimated_cost_usd"] == "12500.50"
    assert incident["outage_minutes"] == 90.5
    assert incident["detected_at"] == "2025-11-03T09:15:20.123456Z"
    assert incident["disclosed_on"] == "2025-11-10"
    assert incident["ai_systems"] == [{"name": "Wrecker", "vendor": "Example AI Labs"}]
    assert {"name": "Example AI Labs", "role": "developer"} in incident["organisations"]
    assert incident["provenances"][0] == {
        "dataset": "aiaaic",
        "external_id": "AIAAIC0999",
        "url": "https://example.org/AIAAIC0999",
        "licence": "CC BY-SA 4.0",
        "imported_at": "2026-01-02T03:04:05.678901Z",
    }
    assert incident["narrative"].startswith("## What happened")
    merged = next(i for i in document["incidents"] if i["slug"] == dataset["merged"].slug)
    assert merged["status"] == "retracted" and merged["merged_into"] == dataset["imported"].slug
    assert "content_hash" not in json.dumps(document)
    assert "visibility" not in incident and "narrative_html" not in incident


def test_it_never_exports_internal_or_unpublished_incidents(dataset, tmp_path):
    text, tables, archive = export_all(tmp_path, "export")
    assert SECRET not in text
    assert dataset["internal"].slug not in text
    for name, table in tables.items():
        assert SECRET not in table, name
        assert dataset["internal"].slug not in table, name
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        for name in zipped.namelist():
            assert SECRET not in zipped.read(name).decode(), name
    policy = json.loads(text)["policy_changes"]
    links = next(p for p in policy if p["title"] == "Agents lose write access")["incidents"]
    assert links == [{"incident": dataset["imported"].slug, "relation": "prompted_by"}]


def test_the_same_data_gives_the_same_bytes(dataset, tmp_path):
    assert export_all(tmp_path, "first") == export_all(tmp_path, "second")


def test_an_import_into_an_empty_instance_exports_byte_identical_files(dataset, tmp_path):
    text, tables, archive = export_all(tmp_path, "before")
    (tmp_path / "before.json").write_text(text, encoding="utf-8")
    public_count = Incident.objects.public().count()
    provenance_count = Provenance.objects.filter(incident__in=Incident.objects.public()).count()
    empty_the_database()

    summary = import_file(tmp_path / "before.json")

    assert summary.created == public_count
    assert Provenance.objects.count() == provenance_count
    assert not Provenance.objects.filter(dataset=Dataset.BLAST_RADIUS).exists()
    assert export_all(tmp_path, "after") == (text, tables, archive)
    assert not Incident.objects.filter(title__contains=SECRET).exists()


def test_importing_the_same_file_again_changes_nothing(dataset, tmp_path):
    path = tmp_path / "export.json"
    path.write_text(exporters.render_json(exporters.build_export()), encoding="utf-8")
    provenances = Provenance.objects.count()

    summary = import_file(path)

    assert summary.created == summary.updated == 0
    assert summary.unchanged == Incident.objects.public().count()
    assert Provenance.objects.count() == provenances
    assert exporters.render_json(exporters.build_export()) == path.read_text(encoding="utf-8")


def test_it_keeps_the_public_number_when_free_and_takes_the_next_one_otherwise(tmp_path):
    first = IncidentFactory(title="First")
    second = IncidentFactory(title="Second")
    document = exporters.build_export()
    document["incidents"][0]["number"] = 7
    document["incidents"][1]["number"] = 1
    path = tmp_path / "export.json"
    path.write_text(exporters.render_json(document), encoding="utf-8")
    empty_the_database()
    IncidentFactory(title="Already here")  # takes number 1, wanted by "Second"

    import_file(path)

    assert Incident.objects.get(slug=first.slug).number == 7
    assert Incident.objects.get(slug=second.slug).number == 8


def test_it_loads_policy_changes_with_their_links_and_sources(dataset, tmp_path):
    path = tmp_path / "export.json"
    path.write_text(exporters.render_json(exporters.build_export()), encoding="utf-8")
    empty_the_database()

    import_file(path)

    policy = PolicyChange.objects.get(title="Agents lose write access")
    assert policy.organisation.website == "https://labs.example.com"
    assert policy.sources.count() == 1
    assert [link.incident.slug for link in policy.incident_links.all()] == [
        dataset["imported"].slug
    ]
    assert PolicyChange.objects.count() == 8


def test_it_is_registered_as_an_import_source():
    assert IMPORTERS["blast-radius"] is BlastRadiusImporter


# Bad input: the error says where, and nothing is written.


def valid_document():
    IncidentFactory(title="Valid one")
    IncidentFactory(title="Valid two")
    document = exporters.build_export()
    empty_the_database()
    return document


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(version=2), "field 'version': version 2 is not supported"),
        (lambda d: d.update(schema="something-else"), "field 'schema': expected"),
        (lambda d: d.pop("incidents"), "field 'incidents': missing required key"),
        (
            lambda d: d["incidents"][1].pop("title"),
            "field 'incidents[1].title': missing required key",
        ),
        (
            lambda d: d["incidents"][1].update(occurred_at="yesterday"),
            "field 'incidents[1].occurred_at': not a date and time",
        ),
        (
            lambda d: d["incidents"][0].update(severity="SEV99"),
            "field 'incidents[0].severity': unknown severity 'SEV99'",
        ),
        (
            lambda d: d["incidents"][1].update(slug=d["incidents"][0]["slug"]),
            "field 'incidents[1].slug'",
        ),
        (
            lambda d: d["incidents"][0]["sources"].append({"publisher": "No URL"}),
            "field 'incidents[0].sources[0].url': missing required key",
        ),
        (
            lambda d: d["incidents"][0].update(number="one"),
            "field 'incidents[0].number': expected int, got str",
        ),
        (
            lambda d: d["policy_changes"].append(
                {
                    "slug": "p",
                    "organisation": "O",
                    "title": "T",
                    "kind": "guardrail",
                    "status": "announced",
                    "incidents": [{"incident": "nowhere", "relation": "cited_in"}],
                }
            ),
            "field 'policy_changes[0].incidents[0].incident': no incident with slug 'nowhere'",
        ),
        (
            lambda d: d["incidents"][0].update(narrative="x" * 10_000_000),
            "field 'incidents[0].narrative': 10,000,000 characters; at most 100,000 fit",
        ),
        (
            lambda d: d["incidents"][0]["timeline"].append(
                {"at": "2025-01-01T00:00:00Z", "description": "x" * 100_001}
            ),
            "field 'incidents[0].timeline[0].description': 100,001 characters; at most 100,000",
        ),
    ],
)
def test_bad_input_is_reported_with_its_location_and_nothing_is_written(tmp_path, change, message):
    document = valid_document()
    change(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    with pytest.raises(ImportFailed) as error:
        import_file(path)

    assert str(error.value).startswith("bad.json, ")
    assert message in str(error.value)
    assert not Incident.objects.exists()
    assert not PolicyChange.objects.exists()


@pytest.mark.parametrize("depth", [70, 100_000])
def test_json_nested_too_deeply_is_refused_and_nothing_is_written(tmp_path, depth):
    document = json.dumps(valid_document())
    path = tmp_path / "deep.json"
    path.write_text(
        document.replace(
            '"narrative": ', '"narrative": ' + "[" * depth + "]" * depth + ', "x": ', 1
        )
    )

    with pytest.raises(ImportFailed) as error:
        import_file(path)

    assert str(error.value) == "deep.json: JSON nested more than 64 levels deep is not accepted"
    assert not Incident.objects.exists()


def test_invalid_json_is_reported_with_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "schema": "urn:blast-radius:export:v1",\n  "version": 1,,\n}\n')
    with pytest.raises(ImportFailed) as error:
        import_file(path)
    assert str(error.value) == (
        "broken.json, line 3: not valid JSON: Expecting property name enclosed in double "
        "quotes at column 16"
    )


def test_the_import_command_reports_bad_input_and_writes_nothing(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema": exporters.SCHEMA, "version": 0}))
    with pytest.raises(CommandError, match="nothing was written.*version 0 is not supported"):
        call_command("import_incidents", "blast-radius", str(path), verbosity=0)


# The command.


def test_the_command_prints_json_to_standard_output(dataset):
    out = StringIO()
    call_command("export_incidents", stdout=out)
    assert out.getvalue() == exporters.render_json(exporters.build_export())


def test_the_command_writes_json_and_csv_files(dataset, tmp_path):
    call_command("export_incidents", "--output", str(tmp_path / "x.json"), stderr=StringIO())
    call_command(
        "export_incidents",
        "--format",
        "csv",
        "--output",
        str(tmp_path / "x.zip"),
        stderr=StringIO(),
    )
    call_command(
        "export_incidents", "--format", "csv", "--output", str(tmp_path / "csv"), stderr=StringIO()
    )
    assert json.loads((tmp_path / "x.json").read_text())["version"] == 1
    with zipfile.ZipFile(tmp_path / "x.zip") as archive:
        assert "blast-radius-v1/incidents.csv" in archive.namelist()
    header = (tmp_path / "csv" / "incidents.csv").read_text().splitlines()[0]
    assert header.startswith("number,slug,title,status")
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(exporters.CSV_TABLES)


def test_the_command_needs_an_output_for_csv():
    with pytest.raises(CommandError, match="needs --output"):
        call_command("export_incidents", "--format", "csv")


# The download page.


def test_the_data_page_lists_the_downloads_with_sizes_counts_and_licences(reader, dataset):
    response = reader.get("/data/")
    html = response.text
    assert response.status_code == 200
    assert 'href="/data/blast-radius-v1.json"' in html
    assert 'href="/data/blast-radius-v1-csv.zip"' in html
    assert f"{Incident.objects.public().count()} incidents, 8 policy changes" in html
    assert "KB" in html
    assert "The AI Incident Database: CC BY-SA 4.0, 1 incident" in html
    assert "docs/export-format.md" in html
    assert 'href="/data/" aria-current="page">Data</a>' in html


def test_the_data_page_says_when_nothing_is_published(reader):
    IncidentFactory(draft=True)
    response = reader.get("/data/")
    assert response.status_code == 200
    assert "Nothing is published yet" in response.text
    assert 'href="/data/blast-radius-v1.json"' not in response.text


def test_the_json_download_is_an_attachment_with_the_export(reader, dataset):
    response = reader.get("/data/blast-radius-v1.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="blast-radius-v1.json"'
    body = b"".join(response.streaming_content).decode()
    assert body == exporters.render_json(exporters.build_export())
    assert SECRET not in body


def test_the_csv_download_is_a_zip_attachment(reader, dataset):
    response = reader.get("/data/blast-radius-v1-csv.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="blast-radius-v1-csv.zip"'
    body = b"".join(response.streaming_content)
    assert body == exporters.csv_zip_bytes()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert len(archive.namelist()) == len(exporters.CSV_TABLES)


def test_the_data_page_costs_the_same_queries_however_many_incidents(reader, dataset):
    with CaptureQueriesContext(connection) as before:
        reader.get("/data/")
    for _ in range(3):
        incident = IncidentFactory(tags=[TagFactory()])
        SourceFactory(incident=incident)
        TimelineEventFactory(incident=incident)
    with CaptureQueriesContext(connection) as after:
        reader.get("/data/")
    assert len(after.captured_queries) == len(before.captured_queries)
