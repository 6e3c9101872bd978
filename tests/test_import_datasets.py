"""Importing the AI Incident Database and AIAAIC: upsert, provenance, duplicates, bad input."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from incidents.importers import ImportFailed
from incidents.models import (
    DuplicateFlag,
    Incident,
    IncidentOrganisation,
    Provenance,
    Tag,
)

from .factories import import_, incident_for
from .shared_data import SHARED

pytestmark = pytest.mark.django_db

HERE = Path(__file__).parent / "data"
AIID_OLD = HERE / "aiid" / "2025-03"
AIID_NEW = HERE / "aiid" / "2026-02"
AIAAIC = HERE / "aiaaic"
HEADER = (
    b"incident_id,date,reports,Alleged deployer of AI system,Alleged developer of AI system,"
    b"Alleged harmed or nearly harmed parties,description,title\n"
)
needs_shared_data = pytest.mark.skipif(
    not SHARED.exists(), reason=f"the full public datasets are not at {SHARED}"
)


def test_aiid_rows_become_published_incidents_with_provenance(reader):
    summary = import_("aiid", AIID_OLD)

    assert (summary.created, summary.updated, summary.unchanged) == (4, 0, 0)
    uber = incident_for("aiid", "4")
    assert uber.title == "Uber AV Killed Pedestrian in Arizona"
    assert uber.status == Incident.Status.PUBLISHED
    assert uber.occurred_at.date().isoformat() == "2018-03-18"
    roles = set(uber.organisation_roles.values_list("organisation__name", "role"))
    assert ("Uber", IncidentOrganisation.Role.DEPLOYER) in roles
    assert ("Elaine Herzberg", IncidentOrganisation.Role.HARMED) in roles
    assert uber.tags.filter(facet=Tag.Facet.HARM_TYPE).exists()
    # What the source does not say stays unknown.
    assert uber.severity is None and uber.perpetrator is None
    assert uber.autonomy == Incident.Autonomy.UNKNOWN

    page = reader.get(uber.get_absolute_url()).text
    assert "Imported from the AI Incident Database, incident 4, CC BY-SA 4.0" in page
    assert "https://incidentdatabase.ai/cite/4/" in page


def test_the_newer_snapshot_updates_retitled_incidents_without_duplicates():
    import_("aiid", AIID_OLD)
    tay = incident_for("aiid", "6")
    number = tay.number

    summary = import_("aiid", AIID_NEW)

    # 6 and 25 were retitled; 4 and 23 keep their rows in incidents.csv, but the newer excerpt
    # carries their CSET classifications too.
    assert (summary.created, summary.updated, summary.unchanged) == (1, 4, 0)
    tay.refresh_from_db()
    assert tay.title.startswith("Microsoft's TayBot Allegedly Posts")
    assert tay.number == number
    assert Provenance.objects.filter(dataset="aiid").count() == 5
    assert Incident.objects.count() == 5


def test_running_the_same_import_twice_changes_nothing():
    import_("aiid", AIID_NEW)
    before = list(Incident.objects.values_list("number", "title", "updated_at").order_by("number"))

    summary = import_("aiid", AIID_NEW)

    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 5)
    after = list(Incident.objects.values_list("number", "title", "updated_at").order_by("number"))
    assert after == before


def test_a_dry_run_reports_and_writes_nothing():
    summary = import_("aiid", AIID_OLD, dry_run=True)

    assert summary.created == 4
    assert "Dry run, nothing written" in str(summary)
    assert not Incident.objects.exists()
    assert not Tag.objects.exists()


def test_aiaaic_handles_banner_grouped_headers_blank_rows_and_repeats():
    summary = import_("aiaaic", AIAAIC)

    assert summary.created == 4
    assert summary.skipped == 2
    assert any("AIAAIC2094" in note and "partial copy" in note for note in summary.notes)
    bipolar = incident_for("aiaaic", "AIAAIC2094")
    # The fuller of the two AIAAIC2094 rows was kept.
    assert bipolar.occurred_display == "2025"
    assert bipolar.occurred_precision == Incident.Precision.YEAR
    harms = set(bipolar.tags.filter(facet=Tag.Facet.HARM_TYPE).values_list("name", flat=True))
    assert {"Anxiety/distress", "Loss of life"} <= harms
    assert bipolar.ai_systems.filter(name="ChatGPT").exists()
    assert bipolar.provenances.get().licence == "CC BY-SA 4.0"


def test_an_aiaaic_cell_listing_people_with_commas_becomes_one_organisation_each(tmp_path):
    authors = ", ".join(f"Author Number {n}" for n in range(1, 16))  # 239 characters
    assert len(authors) > 200
    text = (AIAAIC / "AIAAIC Repository - Incidents.csv").read_text()
    (tmp_path / "aiaaic.csv").write_text(text.replace("Brett Michael Dadig", f'"{authors}"', 1))

    summary = import_("aiaaic", tmp_path)

    stalker = incident_for("aiaaic", "AIAAIC2151")
    deployers = stalker.organisation_roles.filter(role=IncidentOrganisation.Role.DEPLOYER)
    assert deployers.count() == 15
    assert deployers.filter(organisation__name="Author Number 15").exists()
    assert any("AIAAIC2151" in note and "commas" in note for note in summary.notes)


def test_a_name_longer_than_an_organisation_holds_is_refused(tmp_path):
    text = (AIAAIC / "AIAAIC Repository - Incidents.csv").read_text()
    (tmp_path / "aiaaic.csv").write_text(text.replace("Brett Michael Dadig", "B" * 201, 1))

    with pytest.raises(ImportFailed) as error:
        import_("aiaaic", tmp_path)

    assert "line 4, field 'organisations': AIAAIC2151: 201 characters" in str(error.value)
    assert not Incident.objects.exists()


def test_a_latin1_byte_far_into_a_csv_names_its_own_line(tmp_path):
    rows = b"".join(
        b'%d,2020-01-01,[1],"[]","[]","[]",Row %d,Title %d\n' % (n, n, n) for n in range(1, 600)
    )
    rows = rows.replace(b"Row 500,", b"Caf\xe9 500,")
    (tmp_path / "incidents.csv").write_bytes(HEADER + rows)

    with pytest.raises(ImportFailed) as error:
        import_("aiid", tmp_path)

    assert "incidents.csv, line 501: not valid UTF-8 text at column 38" in str(error.value)


@pytest.mark.parametrize(
    "cell",
    [b'"' + b"[" * 30_000 + b"]" * 30_000 + b'"', b"5", b'"[1, 2]"', b'"{""a"": 1}"'],
    ids=["nested-30000-deep", "number", "numbers", "object"],
)
def test_an_aiid_entity_cell_that_is_not_a_list_of_names_is_refused(tmp_path, cell):
    (tmp_path / "incidents.csv").write_bytes(
        HEADER + b"1,2020-01-01,[1]," + cell + b',"[]","[]",Text,Title\n'
    )

    with pytest.raises(ImportFailed) as error:
        import_("aiid", tmp_path)

    assert "line 2, field 'Alleged deployer of AI system': not a JSON list" in str(error.value)


def test_the_same_incident_in_both_datasets_is_flagged_then_merged_keeping_both(reader):
    import_("aiid", AIID_OLD)
    summary = import_("aiaaic", AIAAIC)

    assert summary.flagged >= 1
    uber_aiid = incident_for("aiid", "4")
    uber_aiaaic = incident_for("aiaaic", "AIAAIC0187")
    flag = DuplicateFlag.objects.get(incident=uber_aiid, candidate=uber_aiaaic)
    assert "both name Uber" in flag.reason

    from incidents.services.merge import incident_merge

    incident_merge(primary=uber_aiid, duplicate=uber_aiaaic)

    assert set(uber_aiid.provenances.values_list("dataset", flat=True)) == {"aiid", "aiaaic"}
    uber_aiaaic.refresh_from_db()
    assert uber_aiaaic.merged_into == uber_aiid
    flag.refresh_from_db()
    assert flag.status == DuplicateFlag.Status.MERGED
    merged_page = reader.get(uber_aiaaic.get_absolute_url())
    assert merged_page.status_code == 200
    assert "This record was merged into another." in merged_page.text
    # Re-importing AIAAIC updates the merged record's provenance, not a new incident.
    import_("aiaaic", AIAAIC)
    assert Incident.objects.count() == 4 + 4


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"incident_id,date,title\n1,2020-01-01,A title\n", "missing required column"),
        (
            HEADER + b'1,2020-01-01,[1],"[]","[]","[]",Fine,"A title that never ends\n',
            "looks truncated",
        ),
        (
            HEADER + b'1,2020-01-01,[1],"[]","[]","[]",Caf\xe9 in Latin-1,Title\n',
            "not valid UTF-8",
        ),
        (
            HEADER + b'1,2020-01-01,[1],"[]","[]","[]",' + b"x" * 1_000_000 + b",Title\n",
            "longer than",
        ),
        (
            HEADER + b'7,2020-01-01,[1],"[]","[]","[]",First,One\n'
            b'7,2020-01-02,[2],"[]","[]","[]",Second,Two\n',
            "already appears on line 2",
        ),
        (
            HEADER + b'8,last tuesday,[1],"[]","[]","[]",Text,Title\n',
            "not a date",
        ),
        (
            HEADER + b'9,2020-01-01,[1],"[""a"",",[],[],Text,Title\n',
            "not a JSON list",
        ),
    ],
    ids=[
        "missing-column",
        "truncated",
        "wrong-encoding",
        "1mb-field",
        "duplicate-id",
        "bad-date",
        "bad-json",
    ],  # fmt: skip
)
def test_bad_input_is_refused_with_its_location_and_writes_nothing(tmp_path, content, expected):
    import_("aiid", AIID_OLD)
    before = Incident.objects.count(), Provenance.objects.count(), Tag.objects.count()
    # A valid row first, so a failure proves the earlier rows were not written either.
    (tmp_path / "incidents.csv").write_bytes(content)

    with pytest.raises(ImportFailed) as error:
        import_("aiid", tmp_path)

    assert expected in str(error.value)
    assert "incidents.csv" in str(error.value)
    assert (Incident.objects.count(), Provenance.objects.count(), Tag.objects.count()) == before


def test_the_command_prints_a_summary_and_a_clear_error(capsys):
    call_command("import_incidents", "aiid", str(AIID_OLD), "--dry-run", verbosity=0)
    assert "Would have: 4 created" in capsys.readouterr().out

    with pytest.raises(CommandError, match="nothing was written.*file not found"):
        call_command("import_incidents", "aiid", "/nonexistent/folder", verbosity=0)


@needs_shared_data
def test_the_full_aiid_snapshots_upsert_without_duplicates():
    first = import_("aiid", SHARED / "aiid-snapshot-2025-03")
    second = import_("aiid", SHARED / "aiid-snapshot-2026-02")

    assert first.created == 989
    assert second.created == 378
    assert second.created + second.updated + second.unchanged == 1367
    assert Incident.objects.count() == 1367


@needs_shared_data
def test_the_full_aiaaic_export_imports():
    summary = import_("aiaaic", SHARED / "aiaaic-2025-12")
    assert summary.created == 2138
    assert summary.skipped == 2
