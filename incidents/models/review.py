"""Revisions of a postmortem, the reviews they get, and the audit trail of state changes."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .incident import Incident


class IncidentRevisionQuerySet(models.QuerySet):
    def unpublished(self):
        """Revisions the public has not seen: all of them before the first publication, and
        those after the published one since."""
        return self.filter(
            Q(incident__published_revision=None)
            | Q(number__gt=F("incident__published_revision__number"))
        )


class IncidentRevision(models.Model):
    """Everything an editor can change, as saved at one moment by one person."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    data = models.JSONField()
    changed_fields = models.JSONField(default=list)
    note = models.CharField(max_length=300, blank=True)

    objects = IncidentRevisionQuerySet.as_manager()

    class Meta:
        ordering = ["incident", "-number"]
        get_latest_by = "number"
        constraints = [
            models.UniqueConstraint(fields=["incident", "number"], name="unique_revision_number")
        ]

    def __str__(self):
        return f"{self.incident.public_number} revision {self.number}"


class Review(models.Model):
    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REQUEST_CHANGES = "request_changes", "Changes requested"

    revision = models.ForeignKey(IncidentRevision, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_decision_display()} by {self.reviewer} on {self.revision}"

    @property
    def outcome(self):
        """What the decision did, to follow a postmortem's name: "#12 approved and published"."""
        if self.decision == self.Decision.APPROVE:
            return "approved and published"
        return "sent back with changes requested"


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        CREATED = "created", "Created"
        SAVED = "saved", "Saved a revision"
        SUBMITTED = "submitted", "Submitted for review"
        CHANGES_REQUESTED = "changes_requested", "Requested changes"
        APPROVED = "approved", "Approved"
        PUBLISHED = "published", "Published"
        RETRACTION_REQUESTED = "retraction_requested", "Asked for retraction"
        RETRACTED = "retracted", "Retracted"
        RESTORED = "restored", "Restored a revision"
        MERGED = "merged", "Merged"
        IMPORTED = "imported", "Imported from a dataset"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="audit_events")
    action = models.CharField(max_length=30, choices=Action.choices, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor}: {self.get_action_display()} {self.incident}"


class Notification(models.Model):
    """An email waiting to be sent. Written in the same transaction as the change it reports,
    so a broker or mail outage delays it but never loses it or blocks the change. A sender
    claims it before sending, so two senders at once never both send it."""

    key = models.CharField(max_length=200, unique=True, help_text="Makes sending idempotent.")
    recipient = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a sender last took it to send."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.subject} to {self.recipient}"
