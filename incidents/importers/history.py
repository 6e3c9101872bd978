"""What an import leaves in an incident's history: a revision holding the record as the import
left it, and an audit event, for each incident whose content the import created or changed.

The incident is compared as a reader sees it (its revision snapshot) before and after the
import, so a record whose fingerprint changed but whose stored content did not (a field added
to `Record`, say) writes nothing. Snapshots are taken in bulk, a few queries per import rather
than per record.
"""

import re

from django.db.models import OuterRef, Subquery

from incidents import revisions
from incidents.models import AuditEvent, Incident, IncidentRevision

DATED = re.compile(r"\d{4}-\d{2}(-\d{2})?")


def origin_label(*names):
    """What an import read, as people name it: "snapshot 2026-02" when the first name that
    carries a date does (a folder like `aiid-snapshot-2026-02`), else the first name itself."""
    for name in names:
        if name and (match := DATED.search(name)):
            return f"snapshot {match.group()}"
    return next((f"file {name}" for name in names if name), "a file")


class ImportHistory:
    def __init__(self, *, note):
        self.note = note[:300]
        self.before = {}

    def remember(self, incident_ids):
        """Before writing: how the incidents the import is about to change read now."""
        self.before = revisions.from_incidents(incident_ids)

    def write(self, *, created, updated):
        """After writing: a revision and an audit event for each incident created, and for
        each updated one whose content differs from what `remember` saw. Returns the ids of
        the incidents whose content changed."""
        after = revisions.from_incidents(set(created) | set(updated))
        changed = [
            pk for pk in updated if pk in after and revisions.diff(self.before.get(pk), after[pk])
        ]
        latest = {
            revision.incident_id: revision
            for revision in IncidentRevision.objects.filter(
                incident__in=changed,
                number=Subquery(
                    IncidentRevision.objects.filter(incident=OuterRef("incident"))
                    .order_by("-number")
                    .values("number")[:1]
                ),
            )
        }
        rows = []
        for pk in [pk for pk in created if pk in after] + changed:
            previous = latest.get(pk)
            if previous is None and pk in self.before:
                # Imported before imports kept history: its state until now becomes revision 1.
                previous = IncidentRevision(
                    incident_id=pk,
                    number=1,
                    data=self.before[pk],
                    changed_fields=revisions.changed_names(None, self.before[pk]),
                    note="Existing record",
                )
                rows.append(previous)
            rows.append(
                IncidentRevision(
                    incident_id=pk,
                    number=previous.number + 1 if previous else 1,
                    data=after[pk],
                    changed_fields=revisions.changed_names(previous and previous.data, after[pk]),
                    note=self.note,
                )
            )
        IncidentRevision.objects.bulk_create(rows, batch_size=500)
        imported = [row for row in rows if row.note == self.note]
        self._publish(imported)
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    incident_id=row.incident_id,
                    action=AuditEvent.Action.IMPORTED,
                    detail=f"{self.note}: revision {row.number}"[:500],
                )
                for row in imported
            ],
            batch_size=500,
        )
        return changed

    @staticmethod
    def _publish(imported):
        """The import wrote the record the public reads, so its revision is the published one.
        An editor's revision waiting since stays in the history, to restore or review again."""
        published = set(
            Incident.objects.filter(
                pk__in=[row.incident_id for row in imported], status=Incident.Status.PUBLISHED
            ).values_list("pk", flat=True)
        )
        Incident.objects.bulk_update(
            [
                Incident(pk=row.incident_id, published_revision_id=row.pk)
                for row in imported
                if row.incident_id in published
            ],
            ["published_revision"],
            batch_size=500,
        )
