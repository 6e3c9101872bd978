"""Duplicate flags: links the datasets state, pairs the scorer finds across datasets and within
one, the evidence an editor reviews, and the work an import leaves to the worker."""

import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.urls import reverse

from incidents import duplicates
from incidents.models import (
    CrossReference,
    DuplicateFlag,
    Incident,
    Organisation,
    PendingWork,
)
from incidents.search_index import search_index_update
from incidents.services import related

from .factories import IncidentFactory, OrganisationFactory, import_, incident_for

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
AGENT_LOG = DATA / "agent-logs" / "agent-incident-log"
AWESOME = DATA / "agent-logs" / "awesome-agent-failures"
REPLIT_LOG = "replit-agent-production-database-deletion-2025-07"
AIID_COLUMNS = [
    "_id", "incident_id", "date", "reports", "Alleged deployer of AI system",
    "Alleged developer of AI system", "Alleged harmed or nearly harmed parties", "description",
    "title",
]  # fmt: skip
# Real AIID incidents (2026-02 snapshot), trimmed: (number, date, deployer, title, description).
TAY = (
    6,
    "2016-03-24",
    "microsoft",
    "Microsoft's TayBot Allegedly Posts Racist Content",
    "Microsoft's Tay chatbot was removed within 24 hours of its release.",
)
SHUTTLE = (
    23,
    "2017-11-08",
    "navya",
    "Las Vegas Self-Driving Bus Involved in Accident",
    "A self-driving shuttle collided with a delivery truck on its first day.",
)
INDIANA = (
    319,
    "2019-12-29",
    "tesla",
    "Tesla on Autopilot Fatally Crashed into Parked Fire Truck in Indiana",
    "A Tesla on Autopilot mode failed to see a parked fire truck and crashed into its rear on an "
    "interstate in Indiana, causing the death of an Arizona woman.",
)
FLORIDA = (
    353,
    "2019-03-01",
    "tesla",
    "Tesla on Autopilot Crashed into Trailer Truck in Florida, Killing Driver",
    "A Tesla Model 3 driver switched on Autopilot seconds before the crash into the underbelly of "
    "a tractor-trailer on a highway in Florida, killing the Tesla driver.",
)
# The same Indiana crash, recorded a second time under another number.
INDIANA_AGAIN = (
    1300,
    "2019-12-29",
    "tesla",
    "Tesla on Autopilot Crashed into Parked Fire Truck in Indiana, Killing Passenger",
    "A Tesla on Autopilot crashed into a parked fire truck on an Indiana interstate; a passenger "
    "from Arizona died.",
)
# The AIID's wording of the Replit deletion, made to share little with the log's.
REPLIT_AIID = (
    1152,
    "2025-07-18",
    "replit",
    "Vendor assistant removed a customer's records",
    "A hosted assistant erased records that a client kept with the vendor.",
)


def aiid_snapshot(folder, incidents, duplicate_rows=()):
    """An AIID snapshot folder holding these incidents (and a duplicates.csv)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "incidents.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(AIID_COLUMNS)
        for number, day, deployer, title, description in incidents:
            parties = json.dumps([deployer])
            writer.writerow(
                [
                    f"ObjectId({number})",
                    number,
                    day,
                    "[1]",
                    parties,
                    parties,
                    "[]",
                    description,
                    title,
                ]  # fmt: skip
            )
    if duplicate_rows:
        with (folder / "duplicates.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["duplicate_incident_number", "true_incident_number"])
            writer.writerows(duplicate_rows)
    return folder


def flag_between(a, b):
    low, high = sorted([a.pk, b.pk])
    return DuplicateFlag.objects.filter(incident_id=low, candidate_id=high).first()


def fire_truck_crash(**fields):
    """A reporter's record of the Indiana crash, worded as a news headline."""
    tesla, _ = Organisation.objects.get_or_create(slug="tesla", defaults={"name": "Tesla"})
    return IncidentFactory(
        title="Tesla on Autopilot rear-ends parked fire truck in Indiana, killing passenger",
        summary="A Tesla driving on Autopilot hit a fire truck parked on an Indiana interstate; "
        "the passenger died.",
        occurred_at=datetime(2019, 12, 29, tzinfo=UTC),
        organisations=[tesla],
        **fields,
    )


# Stated links


@pytest.mark.parametrize("aiid_first", [True, False], ids=["aiid-first", "log-first"])
def test_the_aiid_incident_the_agent_log_names_is_flagged_as_certain_in_either_order(
    tmp_path, aiid_first
):
    # The AIID's own wording of the Replit deletion shares little with the log's.
    aiid = aiid_snapshot(tmp_path / "aiid", [REPLIT_AIID, TAY, SHUTTLE])
    imports = [("aiid", aiid), ("agent-incident-log", AGENT_LOG)]
    for source, path in imports if aiid_first else reversed(imports):
        import_(source, path)

    flag = flag_between(
        incident_for("aiid", "1152"), incident_for("agent-incident-log", REPLIT_LOG)
    )

    assert flag.basis == DuplicateFlag.Basis.STATED
    assert flag.score == 1.0
    assert flag.reason.startswith(
        f"Stated by the Agent Incident Log: its record {REPLIT_LOG} is the AI Incident Database "
        "record 1152"
    )
    # Whatever the wording says; the scorer's doubt is shown beside it.
    assert "check the link" in flag.reason
    assert flag.evidence["stated"]["names"] == ["aiid", "1152"]
    assert flag.evidence["score"] < duplicates.THRESHOLD


def test_an_aiid_page_a_case_study_cites_is_flagged_as_certain(tmp_path):
    studies = tmp_path / "awesome"
    shutil.copytree(AWESOME, studies)
    study = studies / "docs" / "case-studies" / "air-canada-chatbot-legal-ruling.md"
    study.write_text(
        study.read_text(encoding="utf-8")
        + "- **AI Incident Database**: [Incident 639](https://incidentdatabase.ai/cite/639/)\n",
        encoding="utf-8",
    )
    chatbot = (
        639,
        "2022-11-11",
        "air-canada",
        "Air Canada Chatbot Gives Wrong Fare Advice",
        "A tribunal ordered Air Canada to pay for its chatbot's bereavement advice.",
    )
    import_("awesome-agent-failures", studies)
    import_("aiid", aiid_snapshot(tmp_path / "aiid", [chatbot, TAY]))

    flag = flag_between(
        incident_for("aiid", "639"),
        incident_for("awesome-agent-failures", "air-canada-chatbot-legal-ruling"),
    )
    assert flag.basis == DuplicateFlag.Basis.STATED
    assert flag.reason.startswith("Stated by Awesome Agent Failures: its record")


def test_the_aiids_own_duplicates_are_flagged_as_certain_within_the_dataset(tmp_path):
    strollers = "'Jewish Baby Strollers' Provided Antisemitic Google Images"
    aiid = aiid_snapshot(
        tmp_path / "aiid",
        [
            (88, "2017-08-15", "google", strollers, "Offensive image results."),
            (1057, "2017-08-15", "google", strollers, "Offensive image results, again."),
            TAY,
            SHUTTLE,
        ],  # fmt: skip
        duplicate_rows=[("342", "88"), ("88", "1057")],
    )
    import_("aiid", aiid)

    flag = flag_between(incident_for("aiid", "88"), incident_for("aiid", "1057"))
    assert flag.basis == DuplicateFlag.Basis.STATED
    assert flag.reason.startswith(
        "Stated by the AI Incident Database: its record 88 is the AI Incident Database record 1057"
    )
    assert DuplicateFlag.objects.count() == 1


def named_as_one_oecd_record():
    """Two incidents, of the AIID and the GenAI incidents, that one OECD record names."""
    aiid_record, genai_record = IncidentFactory(), IncidentFactory(title="Another wording")
    for incident, dataset in ((aiid_record, "aiid"), (genai_record, "genai-incidents")):
        CrossReference.objects.create(
            incident=incident,
            dataset="oecd-aim",
            external_id="2022-01-10-5735",
            refers_to_dataset=dataset,
            refers_to_id=str(incident.number),
        )
    return aiid_record, genai_record


def test_two_incidents_named_as_one_oecd_record_are_flagged_as_certain():
    aiid_record, genai_record = named_as_one_oecd_record()

    assert duplicates.flag_duplicates([]) == 1

    flag = flag_between(aiid_record, genai_record)
    assert flag.basis == DuplicateFlag.Basis.STATED
    assert flag.reason.startswith(
        "Both are the OECD AI Incidents and Hazards Monitor record 2022-01-10-5735"
    )


# Scored pairs


def test_the_same_event_told_twice_by_one_dataset_is_flagged(tmp_path):
    import_("aiid", aiid_snapshot(tmp_path / "aiid", [INDIANA, INDIANA_AGAIN, TAY, SHUTTLE]))

    flag = flag_between(incident_for("aiid", "319"), incident_for("aiid", "1300"))
    assert flag.basis == DuplicateFlag.Basis.SCORED
    assert flag.evidence["same_dataset"] is True
    assert flag.evidence["days_apart"] == 0
    assert "one dataset holds both" in flag.reason


def test_two_crashes_of_one_car_model_months_apart_are_not_one_event(tmp_path):
    import_("aiid", aiid_snapshot(tmp_path / "aiid", [INDIANA, FLORIDA, TAY, SHUTTLE]))
    told_again = fire_truck_crash()

    flagged = duplicates.flag_duplicates([told_again.pk])

    indiana, florida = incident_for("aiid", "319"), incident_for("aiid", "353")
    assert flagged == 1
    assert flag_between(told_again, indiana) is not None
    assert flag_between(told_again, florida) is None
    assert flag_between(indiana, florida) is None


@pytest.fixture
def large_base(monkeypatch):
    """As past EXACT_LIMIT: an import's incidents compared with the candidates the search index
    finds, word frequencies estimated from a sample."""
    monkeypatch.setattr(duplicates, "EXACT_LIMIT", 0)
    monkeypatch.setattr(related, "TEXT_EXACT_LIMIT", 2)
    monkeypatch.setitem(related._wording, "current", None)


def test_on_a_large_base_the_retold_crash_is_flagged_from_its_candidates(tmp_path, large_base):
    import_("aiid", aiid_snapshot(tmp_path / "aiid", [INDIANA, FLORIDA, TAY, SHUTTLE]))
    told_again = fire_truck_crash()
    search_index_update()

    flagged = duplicates.flag_duplicates([told_again.pk])

    indiana, florida = incident_for("aiid", "319"), incident_for("aiid", "353")
    assert flagged == 1
    assert flag_between(told_again, indiana) is not None
    assert flag_between(told_again, florida) is None


def test_on_a_large_base_a_stated_link_of_the_imported_incident_is_still_certain(large_base):
    aiid_record, genai_record = named_as_one_oecd_record()

    assert duplicates.flag_duplicates([genai_record.pk]) == 1
    assert flag_between(aiid_record, genai_record).basis == DuplicateFlag.Basis.STATED


def test_a_flag_keeps_its_evidence_component_by_component(tmp_path):
    import_("aiid", aiid_snapshot(tmp_path / "aiid", [INDIANA, FLORIDA, TAY, SHUTTLE]))
    told_again = fire_truck_crash()
    duplicates.flag_duplicates([told_again.pk])

    evidence = flag_between(told_again, incident_for("aiid", "319")).evidence
    assert evidence["days_apart"] == 0
    assert evidence["organisations"] == ["Tesla"]
    assert evidence["same_dataset"] is False
    assert 0 < evidence["text"]["title_words"] <= 1
    assert "meaning" not in evidence["text"]  # matching by meaning is off in tests
    assert evidence["contributions"]["dates"] > 0
    assert evidence["score"] >= duplicates.THRESHOLD


def test_people_harmed_do_not_count_as_a_shared_organisation():
    victims = OrganisationFactory(name="Tesla drivers", kind=Organisation.Kind.GROUP)
    first = fire_truck_crash()
    second = IncidentFactory(
        title="Chatbot invented an airline refund policy",
        occurred_at=datetime(2019, 12, 29, tzinfo=UTC),
    )
    for incident in (first, second):
        incident.organisation_roles.create(organisation=victims, role="harmed")

    profiles = duplicates.profiles(Incident.objects.filter(pk__in=[first.pk, second.pk]))

    assert profiles[first.pk].organisations == {"tesla"}
    assert profiles[second.pk].organisations == set()


def test_a_dismissed_pair_is_not_flagged_again(tmp_path):
    import_("aiid", aiid_snapshot(tmp_path / "aiid", [INDIANA, TAY, SHUTTLE]))
    told_again = fire_truck_crash()
    duplicates.flag_duplicates([told_again.pk])
    DuplicateFlag.objects.update(status=DuplicateFlag.Status.DISMISSED)

    assert duplicates.flag_duplicates([told_again.pk]) == 0
    assert DuplicateFlag.objects.get().status == DuplicateFlag.Status.DISMISSED


# What editors see


def test_an_editor_sees_why_a_pair_was_flagged_in_the_admin(tmp_path, eve_client):
    import_("aiid", aiid_snapshot(tmp_path / "aiid", [INDIANA, TAY, SHUTTLE]))
    told_again = fire_truck_crash()
    duplicates.flag_duplicates([told_again.pk])
    flag = DuplicateFlag.objects.get()

    listing = eve_client.get(reverse("admin:incidents_duplicateflag_changelist"))
    page = eve_client.get(reverse("admin:incidents_duplicateflag_change", args=[flag.pk]))

    assert "Scored as alike" in listing.text
    assert page.status_code == 200
    html = page.text
    assert "Why it was flagged" in html
    for component in ("Title words found in the other", "Wording alike", "Days apart",
                      "Organisations and AI systems both name"):  # fmt: skip
        assert component in html
    assert "same dates" in html
    assert "Tesla" in html
    # Both records side by side, with where each came from.
    assert "Tesla on Autopilot Fatally Crashed into Parked Fire Truck in Indiana" in html
    assert "rear-ends parked fire truck" in html
    assert "the AI Incident Database, 319" in html
    assert "filed here" in html


def test_a_stated_flag_shows_who_stated_it(tmp_path, eve_client):
    import_("aiid", aiid_snapshot(tmp_path / "aiid", [REPLIT_AIID, TAY]))
    import_("agent-incident-log", AGENT_LOG)
    flag = DuplicateFlag.objects.get(basis=DuplicateFlag.Basis.STATED)

    html = eve_client.get(reverse("admin:incidents_duplicateflag_change", args=[flag.pk])).text

    assert "Certain: Stated by the Agent Incident Log" in html
    assert "The scorer's view, for comparison" in html


# Filing suggestions


def test_suggestions_rank_the_record_of_the_same_day_first(ada_client):
    IncidentFactory.create_batch(3)  # so that some words are rarer than others
    tesla = OrganisationFactory(name="Tesla", slug="tesla")
    months_before = IncidentFactory(
        title="Tesla on Autopilot crashed into a truck",
        occurred_at=datetime(2019, 3, 1, tzinfo=UTC),
        organisations=[tesla],
    )
    same_day = IncidentFactory(
        title="Tesla on Autopilot crashed into a fire truck",
        occurred_at=datetime(2019, 12, 29, tzinfo=UTC),
        organisations=[tesla],
    )

    results = ada_client.get(
        "/postmortems/similar/",
        {"title": "Tesla on Autopilot hits a fire truck", "occurred_at": "2019-12-29",
         "organisation": tesla.pk, "summary": "The car crashed into a parked fire truck."},
    ).json()  # fmt: skip

    assert [r["number"] for r in results] == [same_day.number, months_before.number]
    assert results[0]["score"] > results[1]["score"]


# The worker


def test_with_matching_by_meaning_an_import_leaves_flagging_to_the_worker(
    meaning, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        summary = import_("aiid", aiid_snapshot(tmp_path / "aiid", [INDIANA, INDIANA_AGAIN, TAY]))

    assert summary.flagged == 0
    assert "Likely duplicates are flagged by the worker." in summary.notes
    flag = flag_between(incident_for("aiid", "319"), incident_for("aiid", "1300"))
    assert flag.evidence["text"]["meaning"] > 0.8
    assert not PendingWork.objects.filter(task="flag_duplicates").exists()
