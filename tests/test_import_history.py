"""What an import leaves in an incident's history: revisions, audit events, the diff."""

import csv
import io
import shutil
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from incidents import revisions
from incidents.models import AuditEvent, IncidentRevision
from incidents.services import review

from .factories import import_, incident_for

pytestmark = pytest.mark.django_db

AIID = Path(__file__).parent / "data" / "aiid"
NOTE = "Imported from the AI Incident Database snapshot 2026-02"


def retitled_snapshot(folder, titles):
    """The 2026-02 excerpt with some incidents retitled upstream, in a folder named for its
    snapshot. `titles` maps incident numbers to their new titles."""
    rows = list(csv.DictReader(io.StringIO((AIID / "2026-02" / "incidents.csv").read_text())))
    for row in rows:
        row["title"] = titles.get(row["incident_id"], row["title"])
    snapshot = folder / "2026-03"
    snapshot.mkdir(exist_ok=True)
    for taxonomy in (AIID / "2026-02").glob("classifications_*.csv"):
        shutil.copy(taxonomy, snapshot)
    with (snapshot / "incidents.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return snapshot


def test_an_import_gives_each_new_incident_a_first_revision_and_an_audit_event():
    import_("aiid", AIID / "2026-02")

    uber = incident_for("aiid", "4")
    revision = uber.latest_revision()
    assert (revision.number, revision.author, revision.note) == (1, None, NOTE)
    assert revision.data == revisions.from_incident(uber)
    assert "Title" in revision.changed_fields
    assert uber.published_revision == revision  # the public reads what was imported
    event = uber.audit_events.get()
    assert event.action == AuditEvent.Action.IMPORTED
    assert event.detail == f"{NOTE}: revision 1"


def test_a_title_changed_upstream_shows_in_the_history_and_the_diff(tmp_path, eve_client):
    import_("aiid", AIID / "2025-03")
    tay = incident_for("aiid", "6")
    old_title = tay.title

    summary = import_("aiid", AIID / "2026-02")

    # Two retitled upstream; two more gained classifications between the snapshots.
    assert summary.updated == 4
    tay.refresh_from_db()
    assert tay.revisions.count() == 2
    latest = tay.latest_revision()
    assert latest.note == NOTE
    assert latest.changed_fields[0] == "Title"
    assert tay.audit_events.filter(action=AuditEvent.Action.IMPORTED).count() == 2
    history = eve_client.get(f"/postmortems/{tay.number}/history/").text
    assert NOTE in history
    assert "by <strong>an import</strong>" in history
    diff = eve_client.get(f"/postmortems/{tay.number}/diff/").text
    assert old_title != tay.title
    assert escape(old_title) in diff and escape(tay.title) in diff


def test_an_unchanged_re_import_writes_no_revision_and_no_event():
    import_("aiid", AIID / "2026-02")
    revisions_before = IncidentRevision.objects.count()
    events_before = AuditEvent.objects.count()

    summary = import_("aiid", AIID / "2026-02")

    assert summary.unchanged == 5
    assert IncidentRevision.objects.count() == revisions_before
    assert AuditEvent.objects.count() == events_before


def test_a_new_fingerprint_with_the_same_content_writes_no_revision(monkeypatch):
    """A field added to what importers read changes every fingerprint, not the incidents."""
    import_("aiid", AIID / "2026-02")
    revisions_before = IncidentRevision.objects.count()
    monkeypatch.setattr("incidents.importers.base.Record.fingerprint", lambda record: "new")

    import_("aiid", AIID / "2026-02")

    assert IncidentRevision.objects.count() == revisions_before
    assert not AuditEvent.objects.exclude(detail__endswith="revision 1").exists()


def test_an_incident_imported_before_history_was_kept_gets_its_old_state_first():
    import_("aiid", AIID / "2025-03")
    IncidentRevision.objects.all().delete()
    tay = incident_for("aiid", "6")
    old_title = tay.title

    import_("aiid", AIID / "2026-02")

    existing, imported = tay.revisions.order_by("number")
    assert (existing.number, existing.note) == (1, "Existing record")
    assert existing.data["fields"]["title"] == old_title
    assert (imported.number, imported.note, imported.changed_fields[0]) == (2, NOTE, "Title")


def test_the_source_wins_but_the_editors_revision_stays_in_the_history(tmp_path, ada):
    import_("aiid", AIID / "2026-02")
    tay = incident_for("aiid", "6")
    snapshot = review.working_snapshot(tay)
    snapshot["fields"]["title"] = "Tay, as an editor would put it"
    _, edit = review.incident_save(incident=tay, snapshot=snapshot, by=ada, base_revision_number=1)

    import_("aiid", retitled_snapshot(tmp_path, {"6": "Tay, as the source now puts it"}))

    tay.refresh_from_db()
    assert tay.title == "Tay, as the source now puts it"
    numbers = list(tay.revisions.order_by("number").values_list("number", "author", "note"))
    assert numbers == [
        (1, None, NOTE),
        (2, ada.pk, ""),
        (3, None, "Imported from the AI Incident Database snapshot 2026-03"),
    ]
    edit.refresh_from_db()
    assert edit.data["fields"]["title"] == "Tay, as an editor would put it"
    # The import's revision, compared with the editor's, shows the editor's title replaced.
    assert tay.latest_revision().changed_fields == ["Title", "Sources"]


def queries_to_reimport(tmp_path, numbers):
    folder = tmp_path / "-".join(numbers)
    folder.mkdir()
    snapshot = retitled_snapshot(folder, {n: f"Retitled {n} ({folder.name})" for n in numbers})
    with CaptureQueriesContext(connection) as queries:
        summary = import_("aiid", snapshot)
    assert summary.updated == len(numbers)
    return len(queries)


def test_the_history_costs_a_few_queries_per_changed_record(tmp_path):
    import_("aiid", AIID / "2026-02")
    one = queries_to_reimport(tmp_path, ["4"])
    five = queries_to_reimport(tmp_path, ["4", "6", "23", "25", "1001"])

    # The incident and its relations, its source terms and derivations, its revision, audit
    # event and facet-count record: about 15 queries a changed record, whatever the base.
    assert (five - one) / 4 <= 16
