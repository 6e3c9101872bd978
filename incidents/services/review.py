"""The review flow: drafts, revisions, reviews, publishing and retraction.

A postmortem changes only through these functions, whether from the web form, the API or the
admin. Publishing needs an approval of the exact revision being published by someone who did
not write any revision since the last publication; the checks live here, not in the UI.

Each function locks the incident's row and reads it again before checking anything, so two
people acting at the same moment are served one after the other, and the second is told what
the first did instead of doing it again.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from incidents import revisions
from incidents.models import AuditEvent, Incident, IncidentRevision, Review
from incidents.permissions import can_curate, can_file, can_review
from incidents.services import followups, notifications


class Conflict(Exception):
    """Someone saved a newer revision since the editor loaded the form."""

    def __init__(self, latest):
        self.latest = latest
        super().__init__(f"Revision {latest.number} was saved by {latest.author} in the meantime.")


class NotAllowed(PermissionDenied):
    pass


def _require(user, capability, message):
    if not capability(user):
        raise NotAllowed(message)


def _audit(incident, action, actor, detail=""):
    AuditEvent.objects.create(incident=incident, action=action, actor=actor, detail=detail[:500])


def _locked(incident):
    """Wait until nobody else is changing the incident, then reload it (in place, so the
    caller's object shows what was decided): decisions are made on the state they change, not
    on what a page showed when it loaded."""
    incident.refresh_from_db(from_queryset=Incident.objects.select_for_update())
    return incident


def working_snapshot(incident):
    """What an editor starts from: the latest revision, or the record itself."""
    latest = incident.latest_revision()
    return latest.data if latest else revisions.from_incident(incident)


def _new_revision(incident, snapshot, by, note=""):
    latest = incident.latest_revision()
    previous = latest.data if latest else revisions.from_incident(incident)
    return IncidentRevision.objects.create(
        incident=incident,
        number=(latest.number + 1) if latest else 1,
        author=by,
        data=snapshot,
        changed_fields=revisions.changed_names(previous if latest else None, snapshot),
        note=note,
    )


@transaction.atomic
def incident_create(*, snapshot, by):
    _require(by, can_file, "Only reporters can file postmortems.")
    incident = Incident(status=Incident.Status.DRAFT)
    revisions.apply(incident, snapshot)
    _new_revision(incident, snapshot, by, note="Filed")
    _audit(incident, AuditEvent.Action.CREATED, by)
    followups.incident_saved(incident=incident)
    return incident


@transaction.atomic
def incident_save(*, incident, snapshot, by, base_revision_number):
    """Save a new revision. Refused with Conflict when the editor's starting point is stale,
    so a second editor can never silently overwrite the first."""
    _require(by, can_file, "Only reporters can edit postmortems.")
    _locked(incident)
    latest = incident.latest_revision()
    if (latest.number if latest else 0) != (base_revision_number or 0):
        raise Conflict(latest)
    if latest is None:
        # Records that arrived by import or demo load get their current state as revision 1.
        latest = _new_revision(incident, revisions.from_incident(incident), None, "Existing record")
    # Compared part by part: revisions saved before a part existed lack its key.
    if not revisions.diff(latest.data, snapshot):
        return incident, latest
    revision = _new_revision(incident, snapshot, by)
    if incident.status in (Incident.Status.PUBLISHED, Incident.Status.RETRACTED):
        # The public keeps reading the approved (or retracted) version; the edit waits.
        pass
    else:
        revisions.apply(incident, snapshot)
        if incident.status == Incident.Status.CHANGES_REQUESTED:
            incident.status = Incident.Status.DRAFT
            incident.save(update_fields=["status"])
    _audit(incident, AuditEvent.Action.SAVED, by, f"Revision {revision.number}")
    followups.incident_saved(incident=incident)
    return incident, revision


@transaction.atomic
def review_submit(*, incident, by):
    _require(by, can_file, "Only reporters can submit postmortems for review.")
    _locked(incident)
    if incident.status == Incident.Status.RETRACTED:
        raise NotAllowed("A retracted incident cannot be submitted.")
    if incident.review_requested_at is not None:
        raise NotAllowed(f"{incident.public_number} is already waiting for review.")
    if not incident.may_be_submitted():
        raise NotAllowed("There is nothing new to review.")
    latest = incident.latest_revision()
    if latest is None:
        latest = _new_revision(incident, revisions.from_incident(incident), by, "Existing record")
    if incident.status != Incident.Status.PUBLISHED:
        incident.status = Incident.Status.IN_REVIEW
    incident.review_requested_at = timezone.now()
    incident.save(update_fields=["status", "review_requested_at"])
    _audit(incident, AuditEvent.Action.SUBMITTED, by, f"Revision {latest.number}")
    notifications.notify_review_requested(incident=incident, by=by)


def _review(incident, by, decision, comment, revision_number=None):
    _require(by, can_review, "Only reviewers can review postmortems.")
    _locked(incident)
    if incident.status == Incident.Status.RETRACTED:
        raise NotAllowed(f"{incident.public_number} is retracted; there is nothing to review.")
    if incident.review_requested_at is None:
        raise NotAllowed(
            _decided_already(incident, by) or "This postmortem has not been submitted for review."
        )
    revision = incident.latest_revision()
    if revision_number is not None and revision.number != revision_number:
        # Saved while the reviewer was reading: they must see what they approve.
        raise Conflict(revision)
    if by.pk in incident.authors_since_publication():
        raise NotAllowed("You wrote part of this version; a second person must review it.")
    return Review.objects.create(revision=revision, reviewer=by, decision=decision, comment=comment)


def _decided_already(incident, by):
    """What a reviewer whose page was still open is told when someone decided in the meantime
    (or they clicked twice); None when the latest revision has no decision yet."""
    latest = incident.latest_revision()
    if latest is None:
        return None
    review = latest.reviews.select_related("reviewer").order_by("-created_at", "-pk").first()
    if review is None:
        return None
    who = "you" if review.reviewer_id == by.pk else review.reviewer
    return f"{incident.public_number} was already {review.outcome} by {who}."


def _retracted_already(incident):
    event = incident.audit_events.filter(action=AuditEvent.Action.RETRACTED).first()
    by = f" by {event.actor}" if event and event.actor else ""
    return f"{incident.public_number} was already retracted{by}."


@transaction.atomic
def review_request_changes(*, incident, by, comment, revision_number=None):
    if not comment.strip():
        raise NotAllowed("Say what needs to change.")
    review = _review(incident, by, Review.Decision.REQUEST_CHANGES, comment, revision_number)
    incident.review_requested_at = None
    if incident.status != Incident.Status.PUBLISHED:
        incident.status = Incident.Status.CHANGES_REQUESTED
    incident.save(update_fields=["status", "review_requested_at"])
    _audit(incident, AuditEvent.Action.CHANGES_REQUESTED, by, comment)
    notifications.notify_review_outcome(review=review)
    return review


@transaction.atomic
def review_approve_and_publish(*, incident, by, comment="", revision_number=None):
    """Approve the latest revision and publish it: the public page switches to it.
    With `revision_number`, refused with Conflict unless that is still the latest revision."""
    review = _review(incident, by, Review.Decision.APPROVE, comment, revision_number)
    revision = review.revision
    revisions.apply(incident, revision.data)
    incident.status = Incident.Status.PUBLISHED
    incident.published_revision = revision
    incident.review_requested_at = None
    incident.published_at = incident.published_at or timezone.now()
    incident.save()
    _audit(incident, AuditEvent.Action.APPROVED, by, f"Revision {revision.number}")
    _audit(incident, AuditEvent.Action.PUBLISHED, by, f"Revision {revision.number}")
    followups.incident_saved(incident=incident)
    notifications.notify_review_outcome(review=review)
    return review


@transaction.atomic
def retraction_request(*, incident, by, reason):
    _require(by, can_curate, "Only editors can retract incidents.")
    if not reason.strip():
        raise NotAllowed("A retraction needs a reason.")
    _locked(incident)
    if incident.status == Incident.Status.RETRACTED:
        raise NotAllowed(_retracted_already(incident))
    asker = incident.retraction_requested_by
    if asker is not None and asker.pk != by.pk:
        raise NotAllowed(
            f"{asker} already asked for this incident to be retracted; confirm it instead."
        )
    incident.retraction_requested_by = by
    incident.retraction_reason = reason
    incident.save(update_fields=["retraction_requested_by", "retraction_reason"])
    _audit(incident, AuditEvent.Action.RETRACTION_REQUESTED, by, reason)


@transaction.atomic
def retraction_confirm(*, incident, by):
    _require(by, can_curate, "Only editors can retract incidents.")
    _locked(incident)
    if incident.status == Incident.Status.RETRACTED:
        raise NotAllowed(_retracted_already(incident))
    if incident.retraction_requested_by_id is None:
        raise NotAllowed("Nobody has asked for this incident to be retracted.")
    if incident.retraction_requested_by_id == by.pk:
        raise NotAllowed("A second editor must confirm the retraction you asked for.")
    incident.status = Incident.Status.RETRACTED
    # An edit waiting for review will not be published now: off the reviewers' list with it.
    incident.review_requested_at = None
    # updated_at too: it names the data's version, which cached public pages depend on.
    incident.save(update_fields=["status", "review_requested_at", "updated_at"])
    _audit(incident, AuditEvent.Action.RETRACTED, by, incident.retraction_reason)
    followups.incident_retracted(incident=incident)


@transaction.atomic
def revision_restore(*, incident, revision, by):
    """An earlier revision becomes the newest one; history is never rewritten."""
    _require(by, can_curate, "Only editors can restore revisions.")
    _locked(incident)
    latest = incident.latest_revision()
    incident, restored = incident_save(
        incident=incident,
        snapshot=revision.data,
        by=by,
        base_revision_number=latest.number if latest else 0,
    )
    if latest is not None and restored.pk == latest.pk:
        return restored  # already the current content: no new revision, nothing to record
    restored.note = f"Restored from revision {revision.number}"
    restored.save(update_fields=["note"])
    _audit(incident, AuditEvent.Action.RESTORED, by, restored.note)
    return restored
