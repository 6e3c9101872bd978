"""Importing the four AI-agent incident datasets: mapping, provenance, reruns, bad input."""

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from incidents.importers import ImportFailed
from incidents.models import Incident, IncidentOrganisation, Provenance, Source, Tag

from .factories import import_, incident_for
from .shared_data import SHARED

pytestmark = pytest.mark.django_db

EXCERPTS = Path(__file__).parent / "data" / "agent-logs"
HELIO = EXCERPTS / "agent-incident-log"
REGISTER = EXCERPTS / "ai-agent-incident-register"
SPENDING = EXCERPTS / "agent-spending-incidents"
AWESOME = EXCERPTS / "awesome-agent-failures"


def roles(incident):
    return set(incident.organisation_roles.values_list("organisation__name", "role"))


def tags(incident, facet):
    return set(incident.tags.filter(facet=facet).values_list("name", flat=True))


def assert_fails_without_writing(source, path, line, field_name):
    before = Incident.objects.count()
    with pytest.raises(ImportFailed) as failure:
        import_(source, path)
    assert (failure.value.line, failure.value.field_name) == (line, field_name)
    assert Incident.objects.count() == before
    return failure.value


# Agent Incident Log (JSON bundle)


def test_agent_incident_log_bundle_becomes_incidents():
    summary = import_("agent-incident-log", HELIO)

    assert (summary.created, summary.updated, summary.unchanged) == (3, 0, 0)
    replit = incident_for("agent-incident-log", "replit-agent-production-database-deletion-2025-07")
    assert replit.title.startswith("Coding agent deletes a production database")
    assert replit.occurred_at.date() == date(2025, 7, 18)
    assert replit.occurred_precision == Incident.Precision.DAY
    assert replit.perpetrator.slug == "ai-coding-agent"
    assert roles(replit) == {
        ("Replit", IncidentOrganisation.Role.DEPLOYER),
        ("SaaStr", IncidentOrganisation.Role.DEPLOYER),
    }
    assert set(replit.ai_systems.values_list("name", flat=True)) == {"Replit"}
    assert tags(replit, Tag.Facet.HARM_TYPE) == {"Data destruction", "Unauthorized state change"}
    assert "Missing approval gate" in tags(replit, Tag.Facet.CONTRIBUTING_FACTOR)
    assert tags(replit, Tag.Facet.TECHNOLOGY) == {"Coding agent"}
    fortune = replit.sources.get(publisher="Fortune")
    assert fortune.published_on == date(2025, 7, 23)
    assert fortune.stance == Source.Stance.REPORTS
    # The log's cross-reference to the AI Incident Database becomes a source too.
    assert replit.sources.filter(url="https://incidentdatabase.ai/cite/1152/").exists()
    assert replit.blast_radius_notes.startswith("production database holding records")
    assert replit.narrative.startswith("In July 2025 SaaStr")
    provenance = replit.provenances.get()
    assert provenance.licence == "CC BY 4.0"
    assert (
        provenance.url
        == "https://fortune.com/2025/07/23/ai-coding-tool-replit-wiped-database-called-it-a-catastrophic-failure/"
    )

    pocketos = incident_for("agent-incident-log", "pocketos-production-database-deletion-2026-04")
    # The primary source is the record's URL, whatever order the sources are listed in.
    assert (
        pocketos.provenances.get().url
        == "https://blog.railway.com/p/your-ai-wants-to-nuke-your-database"
    )
    assert set(pocketos.ai_systems.values_list("name", flat=True)) == {"Cursor", "Claude Opus 4.6"}

    asana = incident_for("agent-incident-log", "asana-mcp-cross-tenant-exposure-2025-06")
    # An infrastructure entry names no acting agent: no perpetrator kind, no AI system.
    assert asana.perpetrator is None
    assert not asana.ai_systems.exists()
    assert asana.estimated_cost_usd is None


def test_agent_incident_log_second_run_changes_nothing():
    import_("agent-incident-log", HELIO)
    summary = import_("agent-incident-log", HELIO / "dist" / "incidents.json")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 3)
    assert Provenance.objects.filter(dataset="agent-incident-log").count() == 3


def test_agent_incident_log_rejects_broken_json_naming_its_line(tmp_path):
    bundle = tmp_path / "incidents.json"
    text = (HELIO / "dist" / "incidents.json").read_text()
    bundle.write_text(text.replace('"count": 3,', '"count": 3'))

    # The missing comma is noticed where the next key starts.
    error = assert_fails_without_writing("agent-incident-log", bundle, 7, None)
    assert "not valid JSON" in str(error)


def test_agent_incident_log_rejects_an_invalid_date_on_the_records_line(tmp_path):
    bundle = json.loads((HELIO / "dist" / "incidents.json").read_text())
    bundle["incidents"][2]["date"] = "2025-07-32"
    path = tmp_path / "incidents.json"
    path.write_text(json.dumps(bundle, indent=2))
    line = next(
        n
        for n, text in enumerate(path.read_text().splitlines(), 1)
        if '"id": "replit-agent-production' in text
    )

    error = assert_fails_without_writing("agent-incident-log", path, line, "date")
    assert "'2025-07-32'" in str(error)


# AI Agent Incident Register (CSV, CRLF)


def test_agent_register_rows_become_incidents():
    call_command("import_incidents", "ai-agent-incident-register", str(REGISTER), verbosity=0)

    assert Provenance.objects.filter(dataset="ai-agent-incident-register").count() == 3
    air_canada = incident_for("ai-agent-incident-register", "AIR-001")
    assert air_canada.occurred_at.date() == date(2022, 11, 11)
    assert roles(air_canada) == {("Air Canada", IncidentOrganisation.Role.DEPLOYER)}
    assert air_canada.perpetrator.slug == "chatbot"
    assert air_canada.autonomy == Incident.Autonomy.AUTONOMOUS
    assert air_canada.access_held == "Read, Promise"
    assert tags(air_canada, Tag.Facet.SECTOR) == {"Air transport"}
    assert tags(air_canada, Tag.Facet.FAILURE_MODE) == {
        "Stated a policy the organisation does not have"
    }
    assert tags(air_canada, Tag.Facet.HARM_TYPE) == {"Financial loss to a customer"}
    assert air_canada.remediation.startswith("The airline paid the fare difference")
    # The aftermath link repeats the first source; it is kept once, with its label.
    assert air_canada.sources.count() == 2
    tribunal = air_canada.sources.get(
        url="https://www.canlii.org/en/bc/bccrt/doc/2024/2024bccrt149/2024bccrt149.html"
    )
    assert tribunal.title.startswith("Moffatt v. Air Canada")
    assert air_canada.provenances.get().licence == "CC BY 4.0"

    aws = incident_for("ai-agent-incident-register", "AIR-004")
    # The register marks this account as disputed.
    assert set(aws.sources.values_list("stance", flat=True)) == {Source.Stance.DISPUTES}
    assert aws.perpetrator.slug == "ai-coding-agent"

    drift = incident_for("ai-agent-incident-register", "AIR-009")
    # "Hundreds of Salesforce customers" is a crowd, not an organisation.
    assert not drift.organisation_roles.exists()
    assert drift.sources.count() == 3


def test_agent_register_second_run_changes_nothing():
    import_("ai-agent-incident-register", REGISTER)
    summary = import_("ai-agent-incident-register", REGISTER / "incidents.csv")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 3)


def test_agent_register_rejects_a_missing_column(tmp_path):
    path = tmp_path / "incidents.csv"
    text = (REGISTER / "incidents.csv").read_bytes()
    path.write_bytes(text.replace(b",event_date,", b",when,", 1))

    error = assert_fails_without_writing("ai-agent-incident-register", path, 2, "event_date")
    assert "missing required column" in str(error)


def test_agent_register_rejects_an_invalid_date(tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_bytes(
        (REGISTER / "incidents.csv").read_bytes().replace(b",2025-08-08,", b",8 August 2025,")
    )

    error = assert_fails_without_writing("ai-agent-incident-register", path, 4, "event_date")
    assert "'8 August 2025'" in str(error)


# Agent Spending Incidents (CSV)


def test_agent_spending_rows_become_incidents_with_costs():
    summary = import_("agent-spending-incidents", SPENDING)

    assert (summary.created, summary.updated, summary.unchanged) == (4, 0, 0)
    freysa = incident_for("agent-spending-incidents", "INC-001")
    assert freysa.estimated_cost_usd == Decimal("47316")
    assert freysa.occurred_at.date() == date(2024, 11, 29)
    assert freysa.occurred_precision == Incident.Precision.DAY
    assert freysa.disclosed_on == date(2024, 12, 2)
    assert set(freysa.ai_systems.values_list("name", flat=True)) == {"Freysa"}
    assert tags(freysa, Tag.Facet.FAILURE_MODE) == {"Manipulated payment"}
    assert tags(freysa, Tag.Facet.CONTRIBUTING_FACTOR) == {"Missing control: human approval"}
    assert set(freysa.sources.values_list("url", flat=True)) == {
        "https://www.theblock.co/post/328747/human-player-outwits-freysa-ai-agent-in-47000-crypto-challenge",
        "https://the-decoder.com/hacker-wins-47000-by-tricking-ai-chatbot-with-smart-prompting/",
    }
    # The dataset names no organisations in a column of their own.
    assert not freysa.organisation_roles.exists()
    assert freysa.provenances.get().licence == "CC BY 4.0"

    amazon = incident_for("agent-spending-incidents", "INC-004")
    assert amazon.estimated_cost_usd == Decimal("1800000")
    assert (amazon.occurred_at.date(), amazon.occurred_precision) == (
        date(2026, 2, 1),
        Incident.Precision.MONTH,
    )
    dn42 = incident_for("agent-spending-incidents", "INC-005")
    assert dn42.estimated_cost_usd == Decimal("6531.30")
    # Reported only to the month: no disclosure day is made up.
    assert dn42.disclosed_on is None
    assert not dn42.ai_systems.exists()
    mandiant = incident_for("agent-spending-incidents", "INC-008")
    assert mandiant.occurred_precision == Incident.Precision.YEAR


def test_agent_spending_second_run_changes_nothing():
    import_("agent-spending-incidents", SPENDING)
    summary = import_("agent-spending-incidents", SPENDING)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 4)


def test_agent_spending_rejects_an_amount_that_is_not_a_number(tmp_path):
    path = tmp_path / "incidents.csv"
    text = (SPENDING / "incidents.csv").read_text()
    path.write_text(text.replace(",50000,", ",about fifty thousand,"))

    error = assert_fails_without_writing("agent-spending-incidents", path, 5, "amount_usd")
    assert "'about fifty thousand'" in str(error)


def test_agent_spending_rejects_an_invalid_date(tmp_path):
    path = tmp_path / "incidents.csv"
    text = (SPENDING / "incidents.csv").read_text()
    path.write_text(text.replace("INC-005,2026-05-09,", "INC-005,2026-13-09,"))

    error = assert_fails_without_writing("agent-spending-incidents", path, 4, "incident_date")
    assert "'2026-13-09'" in str(error)


# Awesome Agent Failures (Markdown case studies)


def test_awesome_agent_failures_case_studies_become_incidents():
    summary = import_("awesome-agent-failures", AWESOME)

    assert (summary.created, summary.updated, summary.unchanged) == (3, 0, 0)
    terraform = incident_for("awesome-agent-failures", "claude-code-terraform-destroy")
    # The heading's date suffix is dropped from the title; the date is kept as a date.
    assert terraform.title == "Claude Code Terraform Production Destruction"
    assert terraform.occurred_at.date() == date(2026, 2, 26)
    assert terraform.occurred_precision == Incident.Precision.DAY
    assert roles(terraform) == {("DataTalks.Club", IncidentOrganisation.Role.DEPLOYER)}
    assert terraform.perpetrator.slug == "ai-coding-agent"
    assert tags(terraform, Tag.Facet.FAILURE_MODE) == {"Plan Generation Failures"}
    assert terraform.blast_radius_notes.startswith("Entire production environment destroyed")
    assert terraform.summary.startswith("Developer Alexey Grigorev used Claude Code")
    assert terraform.narrative.startswith("## What Happened")
    assert terraform.sources.exists()
    provenance = terraform.provenances.get()
    assert provenance.licence == "Apache-2.0"
    assert provenance.url == (
        "https://github.com/vectara/awesome-agent-failures/blob/main/docs/case-studies/"
        "claude-code-terraform-destroy.md"
    )

    air_canada = incident_for("awesome-agent-failures", "air-canada-chatbot-legal-ruling")
    assert (air_canada.occurred_at.date(), air_canada.occurred_precision) == (
        date(2024, 2, 1),
        Incident.Precision.MONTH,
    )
    assert air_canada.sources.filter(
        url="https://www.cbc.ca/news/canada/british-columbia/air-canada-chatbot-lawsuit-1.7116416"
    ).exists()
    # No Technology line: the kind of system is not guessed.
    assert air_canada.perpetrator is None

    comment = incident_for("awesome-agent-failures", "comment-and-control-prompt-injection")
    # "Disclosed April 16, 2026" dates the disclosure, not the incident.
    assert comment.occurred_at is None
    assert comment.disclosed_on == date(2026, 4, 16)
    assert ("Anthropic", IncidentOrganisation.Role.DEVELOPER) in roles(comment)
    assert "Gemini CLI Action" in set(comment.ai_systems.values_list("name", flat=True))
    assert tags(comment, Tag.Facet.FAILURE_MODE) == {"Prompt Injection", "Incorrect Tool Use"}


def test_awesome_agent_failures_second_run_changes_nothing():
    import_("awesome-agent-failures", AWESOME)
    summary = import_("awesome-agent-failures", AWESOME / "docs" / "case-studies")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 3)


def test_awesome_agent_failures_rejects_a_file_without_a_title(tmp_path):
    shutil.copytree(AWESOME / "docs" / "case-studies", tmp_path, dirs_exist_ok=True)
    (tmp_path / "notes.md").write_text("Just some notes, no heading.\n")

    error = assert_fails_without_writing("awesome-agent-failures", tmp_path, 1, "title")
    assert error.path.endswith("notes.md")


def test_awesome_agent_failures_refuses_a_truncated_case_study_and_keeps_the_good_record(
    tmp_path,
):
    shutil.copytree(AWESOME / "docs" / "case-studies", tmp_path, dirs_exist_ok=True)
    import_("awesome-agent-failures", tmp_path)
    terraform = incident_for("awesome-agent-failures", "claude-code-terraform-destroy")
    good = (terraform.title, terraform.summary, terraform.narrative, terraform.sources.count())
    path = tmp_path / "claude-code-terraform-destroy.md"
    text = path.read_text()
    path.write_text(text[: text.index("## What Happened") + 200])  # a download cut short

    error = assert_fails_without_writing("awesome-agent-failures", tmp_path, 1, "sections")

    assert error.path.endswith("claude-code-terraform-destroy.md")
    assert "References" in str(error) and "truncated" in str(error)
    terraform.refresh_from_db()
    assert (terraform.title, terraform.summary, terraform.narrative) == good[:3]
    assert terraform.sources.count() == good[3]


# Every importer: bounded fields, byte-order marks, undecodable bytes


def test_agent_incident_log_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "incidents.json"
    path.write_bytes(b"\xef\xbb\xbf" + (HELIO / "dist" / "incidents.json").read_bytes())

    summary = import_("agent-incident-log", path)

    assert summary.created == 3


def helio_with(tmp_path, **changes):
    bundle = json.loads((HELIO / "dist" / "incidents.json").read_text())
    bundle["incidents"][1].update(changes)
    path = tmp_path / "incidents.json"
    path.write_text(json.dumps(bundle, indent=2))
    line = next(
        n
        for n, text in enumerate(path.read_text().splitlines(), 1)
        if f'"id": "{bundle["incidents"][1]["id"]}"' in text
    )
    return path, line, bundle["incidents"][1]["id"]


@pytest.mark.parametrize(
    ("changes", "field_name", "limit"),
    [
        ({"title": "T" * 201}, "title", "200"),
        ({"body": "A short first paragraph.\n\n" + "x" * 10_000_000}, "narrative", "100,000"),
        ({"organization": "O" * 201}, "organisations", "200"),
        (
            {"sources": [{"url": "https://example.com/"}, {"url": "https://x.com/" + "a" * 1000}]},
            "sources.url",
            "1,000",
        ),
    ],
    ids=["title", "10mb-body", "organisation", "source-url"],
)
def test_agent_incident_log_refuses_a_field_longer_than_the_record_holds(
    tmp_path, changes, field_name, limit
):
    path, line, identifier = helio_with(tmp_path, **changes)

    error = assert_fails_without_writing("agent-incident-log", path, line, field_name)

    assert identifier in str(error)
    assert f"at most {limit}" in str(error)


def test_awesome_agent_failures_refuses_a_narrative_longer_than_the_record_holds(tmp_path):
    shutil.copytree(AWESOME / "docs" / "case-studies", tmp_path, dirs_exist_ok=True)
    path = tmp_path / "air-canada-chatbot-legal-ruling.md"
    text = path.read_text()
    path.write_text(
        text.replace("## Technical Analysis", "x" * 100_001 + "\n\n## Technical Analysis")
    )

    error = assert_fails_without_writing("awesome-agent-failures", tmp_path, 1, "narrative")

    assert "air-canada-chatbot-legal-ruling" in str(error)


def latin1(path, line, plain, accented):
    """The file with `plain` replaced by `accented` saved as Latin-1, as an old editor would."""
    data = path.read_bytes()
    assert plain.encode() in data
    data = data.replace(plain.encode(), accented.encode("latin-1"), 1)
    first_accent = next(n for n, char in enumerate(accented) if not char.isascii())
    where = data.index(accented.encode("latin-1")) + first_accent
    assert data.count(b"\n", 0, where) + 1 == line
    column = len(data[data.rfind(b"\n", 0, where) + 1 : where].decode()) + 1
    return data, column


@pytest.mark.parametrize(
    ("source", "original", "plain", "accented"),
    [
        ("agent-incident-log", HELIO / "dist" / "incidents.json", "Fortune", "Fortuné"),
        ("ai-agent-incident-register", REGISTER / "incidents.csv", "Air Canada", "Air Canadà"),
        ("agent-spending-incidents", SPENDING / "incidents.csv", "Freysa", "Fréysa"),
        (
            "awesome-agent-failures",
            AWESOME / "docs" / "case-studies" / "air-canada-chatbot-legal-ruling.md",
            "Moffatt",
            "Moffätt",
        ),
    ],
)
def test_a_file_that_is_not_utf8_is_refused_naming_its_line_and_column(
    tmp_path, source, original, plain, accented
):
    text = original.read_bytes()
    line = text[: text.index(plain.encode())].count(b"\n") + 1
    data, column = latin1(original, line, plain, accented)
    path = tmp_path / original.name
    path.write_bytes(data)

    error = assert_fails_without_writing(
        source, tmp_path if path.suffix == ".md" else path, line, None
    )

    assert f"not valid UTF-8 text at column {column}" in str(error)
    assert error.path.endswith(original.name)


# The full datasets, when they are available


def shared(folder):
    return pytest.mark.skipif(
        not (SHARED / folder).exists(), reason=f"the full dataset is not at {SHARED / folder}"
    )


@pytest.mark.parametrize(
    ("source", "folder", "count"),
    [
        pytest.param(
            "agent-incident-log", "agent-incident-log", 12, marks=shared("agent-incident-log")
        ),
        pytest.param(
            "ai-agent-incident-register",
            "ai-agent-incident-register",
            12,
            marks=shared("ai-agent-incident-register"),
        ),
        pytest.param(
            "agent-spending-incidents",
            "agent-spending-incidents",
            10,
            marks=shared("agent-spending-incidents"),
        ),
        pytest.param(
            "awesome-agent-failures",
            "awesome-agent-failures",
            38,
            marks=shared("awesome-agent-failures"),
        ),
    ],
)
def test_the_full_dataset_imports_every_record(source, folder, count):
    summary = import_(source, SHARED / folder)
    assert (summary.created, summary.skipped) == (count, 0)
    assert Provenance.objects.filter(dataset=source).count() == count
