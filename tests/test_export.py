"""The export (JSON and CSV), its download page, and importing it into another instance."""

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import exporters
from incidents.api.serializers.public import (
    AgentActionSerializer,
    ControlAssessmentSerializer,
    IncidentDetailSerializer,
    PolicyChangeSerializer,
)
from incidents.csv_cells import spreadsheet_safe
from incidents.importers import IMPORTERS, ImportFailed, run_import
from incidents.importers.blast_radius import BlastRadiusImporter
from incidents.models import (
    AgentAction,
    AISystem,
    Control,
    ControlAssessment,
    Dataset,
    Incident,
    Organisation,
    PolicyChange,
    PolicyChangeIncident,
    PolicyControl,
    Provenance,
    Severity,
    Source,
    Tag,
)

from .factories import (
    ActionItemFactory,
    AgentActionFactory,
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
        kind=Incident.Kind.NEAR_MISS,
        worst_credible_severity=Severity.objects.get(name="SEV1"),
        tags=[TagFactory(name="Deleted data", description="Data was destroyed.")],
    )
    wrecker = AISystemFactory(name="Wrecker", vendor=vendor)
    imported.ai_systems.add(wrecker)
    AgentActionFactory(incident=imported, position=1, ai_system=wrecker)
    AgentActionFactory(
        incident=imported,
        position=2,
        at=None,
        ai_system=AISystemFactory(name="Helper bot", vendor=None),
        tool="psql",
        command="psql postgres://app:[REDACTED]@db/staging -c 'DROP TABLE users'",
        target="staging.users",
        action_class=AgentAction.ActionClass.DESTROY,
        reversible="no",
        approval_gate=AgentAction.Gate.BYPASSED,
        outcome=AgentAction.Outcome.BLOCKED,
        harmful=True,
    )
    ControlAssessment.objects.create(
        incident=imported,
        control=Control.objects.get(slug="point-in-time-backups"),
        verdict=ControlAssessment.Verdict.WOULD_HAVE_REDUCED,
        rationale="A restore point would have limited the loss.",
    )
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
    AgentActionFactory(incident=internal, command=f"echo {SECRET}")
    IncidentFactory(title=f"{SECRET} draft", draft=True)
    policy = PolicyChangeFactory(organisation=vendor, title="Agents lose write access")
    policy.controls.add(Control.objects.get(slug="human-approval-irreversible-actions"))
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


def public_parts():
    """What the public reads of every public record, straight from the database."""
    public = Incident.objects.public()
    return {
        "kinds": sorted(
            public.values_list("slug", "kind", "worst_credible_severity__name", "severity__name")
        ),
        "actions": sorted(
            AgentAction.objects.filter(incident__in=public).values_list(
                "incident__slug", "position", "at", "ai_system__name", "ai_system__vendor__name",
                "tool", "command", "target", "action_class", "reversible", "approval_gate",
                "outcome", "harmful",
            )
        ),
        "assessments": sorted(
            ControlAssessment.objects.filter(incident__in=public).values_list(
                "incident__slug", "control__slug", "verdict", "rationale"
            )
        ),
        "policy_controls": sorted(
            PolicyControl.objects.values_list("policy_change__slug", "control__slug")
        ),
    }  # fmt: skip


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
        "controls",
        "incidents",
        "policy_changes",
    ]
    assert document["schema"] == "urn:blast-radius:export:v2" and document["version"] == 2
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
    parts = public_parts()
    assert parts["actions"] and parts["assessments"] and parts["policy_controls"]
    empty_the_database()

    summary = import_file(tmp_path / "before.json")

    assert public_parts() == parts
    assert summary.created == public_count
    assert Provenance.objects.count() == provenance_count
    assert not Provenance.objects.filter(dataset=Dataset.BLAST_RADIUS).exists()
    assert export_all(tmp_path, "after") == (text, tables, archive)
    assert not Incident.objects.filter(title__contains=SECRET).exists()


# The public fields the export does not carry under the API's name, and why.
CARRIED_ELSEWHERE = {
    "narrative_html",  # rendered from `narrative` on import
    "remediation_html",  # rendered from `remediation`
    "is_disputed",  # follows from the sources' stances
    "outage_duration",  # as `outage_minutes`
    "policy_changes",  # each policy change lists its incidents
    "revision",  # this instance's editorial history
    "url",  # this instance's addresses
    "permanent_url",
    "api_url",
    "similar_api_url",
    "description_html",
}


def test_the_export_carries_every_field_the_public_api_shows(dataset):
    document = exporters.build_export()
    incident = next(i for i in document["incidents"] if i["slug"] == dataset["imported"].slug)
    policy = next(p for p in document["policy_changes"] if p["title"] == "Agents lose write access")

    assert set(IncidentDetailSerializer.Meta.fields) - CARRIED_ELSEWHERE - set(incident) == set()
    assert set(AgentActionSerializer.Meta.fields) - set(incident["agent_actions"][0]) == set()
    assert set(ControlAssessmentSerializer.Meta.fields) <= set(incident["control_assessments"][0])
    assert set(PolicyChangeSerializer.Meta.fields) - CARRIED_ELSEWHERE - set(policy) == set()
    assert incident["kind"] == "near_miss"
    assert incident["worst_credible_severity"] == "SEV1"
    assert incident["agent_actions"][1] == {
        "position": 2,
        "at": None,
        "ai_system": {"name": "Helper bot", "vendor": None},
        "tool": "psql",
        "command": "psql postgres://app:[REDACTED]@db/staging -c 'DROP TABLE users'",
        "target": "staging.users",
        "action_class": "destroy",
        "reversible": "no",
        "approval_gate": "bypassed",
        "outcome": "blocked",
        "harmful": True,
    }
    assert incident["control_assessments"] == [
        {
            "control": "point-in-time-backups",
            "verdict": "would_have_reduced",
            "rationale": "A restore point would have limited the loss.",
        }
    ]
    assert policy["controls"] == ["human-approval-irreversible-actions"]
    controls = {control["slug"]: control for control in document["controls"]}
    assert controls["point-in-time-backups"]["type"] == "corrective"
    assert controls["point-in-time-backups"]["name"] == "Point-in-time backups"
    used = {a["control"] for i in document["incidents"] for a in i["control_assessments"]}
    used |= {slug for p in document["policy_changes"] for slug in p["controls"]}
    assert set(controls) == used


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
        (lambda d: d.update(version=3), "field 'version': version 3 is not supported"),
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
    assert json.loads((tmp_path / "x.json").read_text())["version"] == 2
    with zipfile.ZipFile(tmp_path / "x.zip") as archive:
        assert "blast-radius-v2/incidents.csv" in archive.namelist()
    header = (tmp_path / "csv" / "incidents.csv").read_text().splitlines()[0]
    assert header.startswith("number,slug,title,kind,status")
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(exporters.CSV_TABLES)


def test_the_command_needs_an_output_for_csv():
    with pytest.raises(CommandError, match="needs --output"):
        call_command("export_incidents", "--format", "csv")


# The download page.


def test_the_data_page_lists_the_downloads_with_sizes_counts_and_licences(reader, dataset):
    response = reader.get("/data/")
    html = response.text
    assert response.status_code == 200
    assert 'href="/data/blast-radius-v2.json"' in html
    assert 'href="/data/blast-radius-v2-csv.zip"' in html
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
    assert 'href="/data/blast-radius-v2.json"' not in response.text


def test_the_json_download_is_an_attachment_with_the_export(reader, dataset):
    response = reader.get("/data/blast-radius-v2.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="blast-radius-v2.json"'
    body = b"".join(response.streaming_content).decode()
    assert body == exporters.render_json(exporters.build_export())
    assert SECRET not in body


def test_the_csv_download_is_a_zip_attachment(reader, dataset):
    response = reader.get("/data/blast-radius-v2-csv.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="blast-radius-v2-csv.zip"'
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


# Version 1: its addresses keep answering, and its files keep loading.

V1_FILE = Path(__file__).parent / "data" / "blast-radius" / "export-v1.json"
ADDED_IN_V2 = {"kind", "worst_credible_severity", "agent_actions", "control_assessments"}


def test_the_version_1_downloads_still_answer_in_version_1(reader, dataset):
    response = reader.get("/data/blast-radius-v1.json")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="blast-radius-v1.json"'
    document = json.loads(b"".join(response.streaming_content))
    assert document["schema"] == "urn:blast-radius:export:v1" and document["version"] == 1
    assert list(document) == ["schema", "version", "organisations", "tags", "incidents"] + [
        "policy_changes"
    ]
    current = exporters.build_export()
    assert [i["slug"] for i in document["incidents"]] == [i["slug"] for i in current["incidents"]]
    for incident in document["incidents"]:
        assert not ADDED_IN_V2 & set(incident)
    assert all("controls" not in policy for policy in document["policy_changes"])

    archive = reader.get("/data/blast-radius-v1-csv.zip")
    assert archive["Content-Disposition"] == 'attachment; filename="blast-radius-v1-csv.zip"'
    with zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))) as zipped:
        names = zipped.namelist()
        header = zipped.read("blast-radius-v1/incidents.csv").decode().splitlines()[0]
    assert "blast-radius-v1/agent_actions.csv" not in names
    assert "kind" not in header.split(",")


def test_a_version_1_file_still_loads(tmp_path):
    summary = import_file(V1_FILE)

    assert summary.created == 2
    wiped = Incident.objects.get(slug="agent-wiped-a-staging-database")
    assert wiped.kind == Incident.Kind.INCIDENT and wiped.worst_credible_severity is None
    assert wiped.sources.get().url == "https://news.example.com/wipe"
    assert wiped.ai_systems.get().vendor.name == "Example AI Labs"
    assert PolicyChange.objects.get().incident_links.get().incident == wiped


def test_a_version_1_file_leaves_the_parts_it_does_not_carry_as_they_are(tmp_path):
    import_file(V1_FILE)
    wiped = Incident.objects.get(slug="agent-wiped-a-staging-database")
    wiped.kind = Incident.Kind.NEAR_MISS
    wiped.save()
    AgentActionFactory(incident=wiped)
    ControlAssessment.objects.create(
        incident=wiped, control=Control.objects.first(), verdict="worked"
    )
    policy = PolicyChange.objects.get()
    policy.controls.add(Control.objects.first())
    wiped.title = "Renamed here"
    wiped.save()

    summary = import_file(V1_FILE)

    assert summary.updated == 1
    wiped.refresh_from_db()
    assert wiped.title == "Agent wiped a staging database"
    assert wiped.kind == Incident.Kind.NEAR_MISS
    assert wiped.agent_actions.count() == 1 and wiped.control_assessments.count() == 1
    assert policy.controls.count() == 1
    assert import_file(V1_FILE).unchanged == 2


# Bad version 2 parts: the error says where, and nothing is written.


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d, i: i.update(kind="disaster"),
            "field 'incidents[0].kind': 'disaster' is not one of: incident, near_miss, hazard",
        ),
        (
            lambda d, i: i.update(worst_credible_severity="SEV99"),
            "field 'incidents[0].worst_credible_severity': unknown severity 'SEV99'",
        ),
        (
            lambda d, i: i["agent_actions"][0].pop("action_class"),
            "field 'incidents[0].agent_actions[0].action_class': missing required key",
        ),
        (
            lambda d, i: i["agent_actions"][0].update(harmful="yes"),
            "field 'incidents[0].agent_actions[0].harmful': expected true or false, got str",
        ),
        (
            lambda d, i: i["agent_actions"][0].update(ai_system="Wrecker"),
            "field 'incidents[0].agent_actions[0].ai_system': expected an object",
        ),
        (
            lambda d, i: i["control_assessments"][0].update(control="no-such-control"),
            "field 'incidents[0].control_assessments[0].control': unknown control "
            "'no-such-control'",
        ),
        (
            lambda d, i: i["control_assessments"].append(dict(i["control_assessments"][0])),
            "field 'incidents[0].control_assessments[1].control': "
            "'point-in-time-backups' is assessed twice",
        ),
        (
            lambda d, i: d["policy_changes"][0].update(controls=["no-such-control"]),
            "field 'policy_changes[0].controls[0]': unknown control 'no-such-control'",
        ),
        (
            lambda d, i: d["controls"][0].update(type="magic"),
            "field 'controls[0].type': 'magic' is not one of: preventive, detective, corrective",
        ),
    ],
)
def test_bad_version_2_parts_are_reported_and_nothing_is_written(tmp_path, change, message):
    incident = IncidentFactory(title="With an action record")
    AgentActionFactory(incident=incident)
    ControlAssessment.objects.create(
        incident=incident,
        control=Control.objects.get(slug="point-in-time-backups"),
        verdict=ControlAssessment.Verdict.WORKED,
    )
    policy = PolicyChangeFactory(organisation=OrganisationFactory())
    policy.controls.add(Control.objects.get(slug="point-in-time-backups"))
    document = exporters.build_export()
    empty_the_database()
    change(document, document["incidents"][0])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    with pytest.raises(ImportFailed) as error:
        import_file(path)

    assert message in str(error.value)
    assert not Incident.objects.exists()
    assert not AgentAction.objects.exists()


def test_imported_action_records_are_redacted_before_they_are_written(tmp_path):
    incident = IncidentFactory(title="Leaky")
    AgentActionFactory(incident=incident)
    document = exporters.build_export()
    empty_the_database()
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2
    document["incidents"][0]["agent_actions"][0]["command"] = f"git push https://{token}@x/y"
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    import_file(path)

    assert token not in AgentAction.objects.get().command
    assert "[REDACTED]" in AgentAction.objects.get().command


# Spreadsheet formulas: a cell a spreadsheet would run is written as text.

FORMULAS = ['=HYPERLINK("https://evil.example")', "+1+1", "-2+3", "@SUM(A1)", "\tx"]


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(tmp_path):
    for n, formula in enumerate(FORMULAS):
        IncidentFactory(
            title=f"{formula} {n}" if formula[0].isprintable() else f"{formula}{n}",
            summary=formula,
            organisations=[OrganisationFactory(name=f"{formula} Org {n}")],
        )
    tables = exporters.csv_tables(exporters.build_export())
    rows = list(csv.DictReader(io.StringIO(tables["incidents.csv"])))
    organisations = list(csv.DictReader(io.StringIO(tables["organisations.csv"])))

    assert sorted(row["summary"] for row in rows) == sorted(f"'{f}" for f in FORMULAS)
    for row in rows + organisations:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)
    assert "'=HYPERLINK" in tables["incident_organisations.csv"]
    # A carriage return cannot be read back from an unquoted cell, so it is checked on its own.
    assert spreadsheet_safe("\r=1+1") == "'\r=1+1"
    # The JSON file, which the importer reads, keeps the text as it is.
    assert {i["summary"] for i in exporters.build_export()["incidents"]} == set(FORMULAS)


def test_plain_cells_and_numbers_are_written_as_they_are(dataset):
    tables = exporters.csv_tables(exporters.build_export())
    rows = list(csv.DictReader(io.StringIO(tables["incidents.csv"])))
    wiped = next(row for row in rows if row["slug"] == dataset["imported"].slug)
    assert wiped["title"] == "Agent wiped a staging database"
    assert wiped["estimated_cost_usd"] == "12500.50"
    assert wiped["users_affected"] == "420"
    actions = list(csv.DictReader(io.StringIO(tables["agent_actions.csv"])))
    assert {row["harmful"] for row in actions} == {"true", "false"}
