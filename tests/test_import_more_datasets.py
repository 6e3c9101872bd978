"""Importing the GenAI Incidents index, AVID and its ATLAS case studies, and the AI Escape Log:
records, cross-references in either import order, retired ids, reruns and bad input."""

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from incidents.importers import IMPORTERS, ImportFailed
from incidents.importers.genai_incidents import VOCABULARIES as GENAI_VOCABULARIES
from incidents.models import CrossReference, Incident, IncidentOrganisation, Provenance

from .factories import import_, incident_for
from .shared_data import SHARED

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
GENAI = DATA / "genai-incidents"
AVID = DATA / "avid-db"
ESCAPE = DATA / "ai-escape-log"
AIID = DATA / "aiid" / "2026-02"
AIAAIC = DATA / "aiaaic"
needs_shared_data = pytest.mark.skipif(
    not SHARED.exists(), reason=f"the full public datasets are not at {SHARED}"
)


def cross_references(incident):
    return set(incident.cross_references.values_list("dataset", "external_id"))


# The GenAI Incidents index


def test_genai_oecd_and_own_records_become_incidents(reader):
    summary = import_("genai-incidents", GENAI)

    # 2 OECD AIM records, 2 of the index's own; the 8 others are skipped.
    assert (summary.created, summary.skipped) == (4, 8)
    notes = "\n".join(summary.notes)
    assert "2 rows from the AI Incident Database (imported from the original): skipped" in notes
    assert "2 security advisories (CVE, GitHub advisories), which are not incidents" in notes
    assert "1 records the index retracted: skipped" in notes
    assert not Provenance.objects.filter(dataset="genai-incidents", external_id="INC-01440")

    tesla = incident_for("genai-incidents", "INC-06816")
    assert tesla.title.startswith("NHTSA Investigates Fatal Tesla Crash")
    assert tesla.occurred_at.date() == date(2020, 1, 1)
    assert tesla.occurred_precision == Incident.Precision.DAY
    assert tesla.provenances.get().licence == "CC BY 4.0"
    source = tesla.sources.get()
    assert source.url == "https://oecd.ai/en/incidents/2020-01-01-39b5"
    assert source.publisher == "OECD AI Incidents and Hazards Monitor"
    assert cross_references(tesla) == {("oecd-aim", "2020-01-01-39b5")}

    samsung = incident_for("genai-incidents", "INC-04853")
    assert samsung.occurred_precision == Incident.Precision.MONTH
    assert samsung.occurred_at.date() == date(2023, 4, 1)
    # The index's description is cut at 280 characters; it is the summary, as given.
    assert samsung.summary.endswith("…")
    assert samsung.affected_services.startswith("Samsung Semiconductor")
    # Its severity label reaches the house scale through the crosswalk, naming the rule; what
    # the index does not say (who was involved) stays unknown.
    assert samsung.severity.name == "SEV2"
    derivation = samsung.derivations.get(target="severity")
    assert derivation.source_term.value == "High" and "heuristic" in derivation.rule
    assert samsung.organisation_roles.count() == 0

    page = reader.get(tesla.get_absolute_url()).text
    assert "Imported from the GenAI Incidents index, incident INC-06816, CC BY 4.0" in page
    assert "Also recorded in the OECD AI Incidents and Hazards Monitor as 2020-01-01-39b5" in page


def test_genai_records_carry_their_source_values():
    records = {r.external_id: r for r in IMPORTERS["genai-incidents"](GENAI).records()}
    samsung = records["INC-04853"]
    assert ("genai-severity", "High") in samsung.source_values
    assert ("genai-attack-vector", "insider") in samsung.source_values
    assert ("genai-owasp-llm", "LLM02") in samsung.source_values
    assert ("genai-mitre-atlas", "AML.T0057") in samsung.source_values
    assert ("genai-tags", "shadow-ai") in samsung.source_values
    keys = {key for key, _ in samsung.source_values}
    assert keys <= {vocabulary.key for vocabulary in GENAI_VOCABULARIES}


@pytest.mark.parametrize("aiid_first", [True, False], ids=["aiid-first", "genai-first"])
def test_genai_rows_of_other_datasets_become_cross_references_in_either_order(aiid_first, reader):
    if aiid_first:
        import_("aiid", AIID)
        import_("aiaaic", AIAAIC)
    import_("genai-incidents", GENAI)
    if not aiid_first:
        import_("aiid", AIID)
        import_("aiaaic", AIAAIC)

    uber = incident_for("aiid", "4")
    assert ("genai-incidents", "INC-07351") in cross_references(uber)
    # The index keeps no AIAAIC id: its row is found by the AIAAIC page it links to.
    uber_aiaaic = Provenance.objects.get(
        dataset="aiaaic",
        url="https://www.aiaaic.org/aiaaic-repository/ai-algorithmic-and-automation-incidents/uber-self-driving-car-pedestrian-fatality",
    ).incident
    assert ("genai-incidents", "INC-07353") in cross_references(uber_aiaaic)
    # The AI Incident Database's own OECD links, read from the file beside the index.
    scrapers = incident_for("aiid", "1001")
    assert ("oecd-aim", "2025-04-02-6a84") in cross_references(scrapers)
    # AIID 1152 is not in the excerpt: its references wait, attached to nothing.
    waiting = CrossReference.objects.filter(refers_to_dataset="aiid", refers_to_id="1152")
    assert waiting.count() == 2 and not waiting.exclude(incident=None).exists()
    # No incident was made from the skipped rows.
    assert not Provenance.objects.filter(dataset="genai-incidents", external_id="INC-07351")

    page = reader.get(scrapers.get_absolute_url()).text
    assert "Also recorded in the OECD AI Incidents and Hazards Monitor as 2025-04-02-6a84" in page
    assert 'href="https://oecd.ai/en/incidents/2025-04-02-6a84"' in page


def test_the_relationships_file_may_be_given_by_option(tmp_path):
    folder = tmp_path / "genai"
    folder.mkdir()
    for name in ("incidents.min.json", "id_deprecations.json"):
        shutil.copy(GENAI / name, folder / name)
    import_("aiid", AIID)

    call_command(
        "import_incidents",
        "genai-incidents",
        str(folder),
        oecd_relationships=str(GENAI / "oecd_relationships_2025_09_09.json"),
        verbosity=0,
    )

    assert ("oecd-aim", "2025-04-02-6a84") in cross_references(incident_for("aiid", "1001"))


def test_reimporting_the_index_changes_nothing():
    import_("genai-incidents", GENAI)
    references = CrossReference.objects.count()

    again = import_("genai-incidents", GENAI)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert CrossReference.objects.count() == references


def bundle_with(path, changes, *, deprecations=True):
    """The excerpt with some records' ids replaced, as an older release of the index."""
    bundle = json.loads((GENAI / "incidents.min.json").read_text())
    for record in bundle["incidents"]:
        record["id"] = changes.get(record["id"], record["id"])
    path.mkdir(exist_ok=True)
    (path / "incidents.min.json").write_text(json.dumps(bundle))
    if deprecations:
        shutil.copy(GENAI / "id_deprecations.json", path / "id_deprecations.json")
    return path


def test_a_retired_id_reimported_under_its_successor_keeps_one_incident(tmp_path):
    # INC-07738 was merged into INC-14757 (id_deprecations.json); an older release, from
    # before the merge, had it.
    older = bundle_with(tmp_path / "old", {"INC-14757": "INC-07738"}, deprecations=False)
    import_("genai-incidents", older)
    before = incident_for("genai-incidents", "INC-07738")

    summary = import_("genai-incidents", GENAI)

    assert summary.created == 0
    assert incident_for("genai-incidents", "INC-14757") == before
    assert not Provenance.objects.filter(external_id="INC-07738").exists()
    assert Incident.objects.count() == 4


def test_a_record_still_under_its_retired_id_is_taken_as_its_successor(tmp_path):
    folder = bundle_with(tmp_path / "retired", {"INC-01589": "INC-01592"})

    import_("genai-incidents", folder)

    assert incident_for("genai-incidents", "INC-01589").title.startswith("OpenClaw")
    assert not Provenance.objects.filter(external_id="INC-01592").exists()


@pytest.mark.parametrize(
    "change, field_name",
    [
        (lambda r: r.pop("title"), "title"),
        (lambda r: r.update(date="July 2023"), "date"),
        (lambda r: r.update(tags="insider"), "tags"),
    ],
    ids=["missing-title", "bad-date", "tags-not-a-list"],
)
def test_bad_index_records_stop_the_import_naming_file_and_field(tmp_path, change, field_name):
    bundle = json.loads((GENAI / "incidents.min.json").read_text())
    change(bundle["incidents"][2])
    (tmp_path / "incidents.min.json").write_text(json.dumps(bundle))

    with pytest.raises(ImportFailed) as failure:
        import_("genai-incidents", tmp_path)

    assert failure.value.field_name == field_name
    assert Path(failure.value.path).name == "incidents.min.json"
    assert "INC-04853" in str(failure.value)
    assert Incident.objects.count() == 0


def test_an_index_that_is_not_json_is_refused_with_its_line(tmp_path):
    (tmp_path / "incidents.min.json").write_text('{"incidents": [\n{"id": "INC-1",}\n]}')

    with pytest.raises(ImportFailed) as failure:
        import_("genai-incidents", tmp_path)

    assert failure.value.line == 2
    assert "not valid JSON" in str(failure.value)


# AVID and the ATLAS case studies it carries


def test_avid_reports_become_hazards_with_sources_organisations_and_systems():
    summary = import_("avid", AVID)

    # 3 reports; V001 summarises R0001, V004 and V005 copy AIID incidents.
    assert (summary.created, summary.skipped) == (3, 3)
    bert = incident_for("avid", "AVID-2022-R0001")
    assert bert.title.startswith("Gender Bias in Sentence Completion Tasks")
    assert bert.kind == Incident.Kind.HAZARD
    # The crosswalk says why, for staff: from the class AVID gives the record.
    assert "nothing happened" in bert.derivations.get(target="kind").rule
    assert bert.occurred_at.date() == date(2022, 11, 9)
    assert set(bert.organisation_roles.values_list("organisation__name", "role")) == {
        ("HuggingFace", IncidentOrganisation.Role.DEPLOYER)
    }
    assert set(bert.ai_systems.values_list("name", flat=True)) == {"bert-base-uncased"}
    assert bert.sources.filter(url="https://huggingface.co/bert-base-uncased").exists()
    provenance = bert.provenances.get()
    assert (provenance.licence, provenance.url) == (
        "MIT",
        "https://avidml.org/database/avid-2022-r0001/",
    )
    # The vulnerability summarising this report is a cross-reference, not a second incident.
    assert ("avid", "AVID-2022-V001") in cross_references(bert)
    nvidia = incident_for("avid", "AVID-2026-R0001")
    assert nvidia.kind == Incident.Kind.HAZARD
    # Case studies are the atlas import's.
    assert not Provenance.objects.filter(dataset="atlas").exists()


def test_avid_records_carry_their_source_values():
    records = {r.external_id: r for r in IMPORTERS["avid"](AVID).records()}

    bert = records["AVID-2022-R0001"]
    assert ("avid-risk-domain", "Ethics") in bert.source_values
    assert ("avid-sep-view", "E0101: Group fairness") in bert.source_values
    assert ("avid-lifecycle-view", "L05: Evaluation") in bert.source_values
    assert ("avid-classof", "LLM Evaluation") in bert.source_values
    assert ("avid-problem-type", "Detection") in bert.source_values


def test_atlas_case_studies_are_keyed_by_their_atlas_id_and_found_from_the_index():
    import_("genai-incidents", GENAI)
    summary = import_("atlas", AVID)

    assert summary.created == 1
    study = incident_for("atlas", "AML.CS0000")
    assert study.title == "Evasion of Deep Learning Detector for Malware C&C Traffic"
    assert study.provenances.get().licence == "Apache-2.0"
    assert cross_references(study) == {("avid", "AVID-2023-V001"), ("genai-incidents", "INC-06536")}


@pytest.mark.parametrize("avid_first", [True, False], ids=["avid-first", "aiid-first"])
def test_avid_copies_of_aiid_incidents_find_them_in_either_order(avid_first):
    if avid_first:
        import_("avid", AVID)
    import_("aiid", AIID)
    import_("genai-incidents", GENAI)
    if not avid_first:
        import_("avid", AVID)

    assert ("avid", "AVID-2022-V005") in cross_references(incident_for("aiid", "4"))
    # The index points at the report itself.
    assert ("genai-incidents", "INC-05117") in cross_references(
        incident_for("avid", "AVID-2022-R0001")
    )


def test_reimporting_avid_changes_nothing():
    import_("avid", AVID)
    again = import_("avid", AVID)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_a_broken_avid_file_is_named(tmp_path):
    folder = tmp_path / "avid-db"
    shutil.copytree(AVID, folder)
    broken = folder / "reports" / "2022" / "AVID-2022-R0001.json"
    broken.write_text(broken.read_text().replace('"problemtype": {', '"problemtype": [', 1))

    with pytest.raises(ImportFailed) as failure:
        import_("avid", folder)

    assert Path(failure.value.path).name == "AVID-2022-R0001.json"
    assert "not valid JSON" in str(failure.value)
    assert Incident.objects.count() == 0


def test_an_avid_file_without_its_description_is_named(tmp_path):
    folder = tmp_path / "avid-db"
    shutil.copytree(AVID, folder)
    path = folder / "reports" / "2026" / "AVID-2026-R0001.json"
    doc = json.loads(path.read_text())
    del doc["description"]
    path.write_text(json.dumps(doc, indent=2))

    with pytest.raises(ImportFailed) as failure:
        import_("avid", folder)

    assert (Path(failure.value.path).name, failure.value.field_name) == (
        "AVID-2026-R0001.json",
        "description",
    )


# The AI Escape Log


def test_escape_log_records_are_unverified_hazards(reader):
    summary = import_("ai-escape-log", ESCAPE)

    assert summary.created == 3
    escape = incident_for("ai-escape-log", "2026-07-21-openai-gpt56sol-huggingface")
    assert escape.kind == Incident.Kind.HAZARD
    assert "unchecked" in escape.derivations.get(target="kind").rule
    assert escape.occurred_at.date() == date(2026, 7, 21)
    assert set(escape.organisation_roles.values_list("organisation__name", "role")) == {
        ("OpenAI", IncidentOrganisation.Role.DEVELOPER)
    }
    assert set(escape.ai_systems.values_list("name", flat=True)) == {"GPT-5.6 Sol"}
    provenance = escape.provenances.get()
    assert (provenance.licence, provenance.verification) == ("MIT", "primary-source")
    rogue = incident_for("ai-escape-log", "2026-08-openai-two-more-rogue-agents")
    assert set(rogue.organisation_roles.values_list("organisation__name", flat=True)) == {
        "OpenAI",
        "Anthropic",
    }

    page = reader.get(escape.get_absolute_url()).text
    assert "Unverified" in page
    assert "has not been checked here" in page


def test_the_unverified_badge_goes_once_another_dataset_records_the_incident(reader):
    import_("ai-escape-log", ESCAPE)
    import_("agent-incident-log", DATA / "agent-logs" / "agent-incident-log")
    escape = incident_for("ai-escape-log", "2026-07-21-openai-gpt56sol-huggingface")
    other = Provenance.objects.filter(dataset="agent-incident-log").first()
    other.incident = escape
    other.save()

    assert "Unverified" not in reader.get(escape.get_absolute_url()).text
    assert "Unverified" not in reader.get(other.incident.get_absolute_url()).text


def test_escape_log_source_values():
    records = {r.external_id: r for r in IMPORTERS["ai-escape-log"](ESCAPE).records()}
    escape = records["2026-07-21-openai-gpt56sol-huggingface"]
    assert ("ai-escape-log-category", "sandbox-escape") in escape.source_values
    assert ("ai-escape-log-tags", "exfiltration") in escape.source_values
    assert ("ai-escape-log-model", "GPT-5.6 Sol (+ pre-release prototype)") in escape.source_values


def test_the_csv_reads_as_the_json_does():
    from_json = {r.external_id: r for r in IMPORTERS["ai-escape-log"](ESCAPE).records()}
    from_csv = {
        r.external_id: r for r in IMPORTERS["ai-escape-log"](ESCAPE / "incidents.csv").records()
    }
    assert from_csv.keys() == from_json.keys()
    for key, record in from_csv.items():
        assert (record.title, record.organisations, record.ai_systems) == (
            from_json[key].title,
            from_json[key].organisations,
            from_json[key].ai_systems,
        )
        assert record.verification == ""  # the CSV does not carry it


def test_reimporting_the_escape_log_changes_nothing():
    import_("ai-escape-log", ESCAPE)
    again = import_("ai-escape-log", ESCAPE)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_an_escape_log_record_without_its_url_is_refused_with_its_line(tmp_path):
    entries = json.loads((ESCAPE / "incidents.json").read_text())
    del entries[1]["url"]
    text = json.dumps(entries, indent=2)
    (tmp_path / "incidents.json").write_text(text)
    line = text[: text.index('"id": "2026-08-openai-two-more-rogue-agents"')].count("\n") + 1

    with pytest.raises(ImportFailed) as failure:
        import_("ai-escape-log", tmp_path)

    assert (failure.value.line, failure.value.field_name) == (line, "url")
    assert line > 2
    assert Incident.objects.count() == 0


# The full public datasets


@needs_shared_data
def test_the_full_datasets_import():
    genai = import_("genai-incidents", SHARED / "genai-incidents")
    print(f"genai-incidents: {genai}")
    assert genai.created > 3_000
    assert not Provenance.objects.filter(
        dataset="genai-incidents", url__startswith="https://incidentdatabase.ai/"
    ).exists()
    assert (
        Provenance.objects.filter(
            dataset="genai-incidents", url__startswith="https://oecd.ai/"
        ).count()
        > 3_000
    )

    avid = import_("avid", SHARED / "avid-db")
    atlas = import_("atlas", SHARED / "avid-db")
    escape = import_("ai-escape-log", SHARED / "ai-escape-log")
    print(f"avid: {avid}\natlas: {atlas}\nai-escape-log: {escape}")
    assert avid.created > 100 and atlas.created > 10 and escape.created == 36
    assert import_("avid", SHARED / "avid-db").unchanged == avid.created
