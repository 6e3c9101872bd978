"""Where imported incidents came from, and the cross-source duplicates found among them."""

from django.db import models
from django.db.models import F, Q

from .incident import Incident


class Dataset(models.TextChoices):
    AIID = "aiid", "the AI Incident Database"
    AIAAIC = "aiaaic", "the AIAAIC Repository"
    AGENT_INCIDENT_LOG = "agent-incident-log", "the Agent Incident Log"
    AGENT_INCIDENT_REGISTER = "ai-agent-incident-register", "the AI Agent Incident Register"
    AGENT_SPENDING = "agent-spending-incidents", "the Agent Spending Incidents list"
    AWESOME_AGENT_FAILURES = "awesome-agent-failures", "Awesome Agent Failures"
    BLAST_RADIUS = "blast-radius", "a Blast Radius export"
    DAIL = "dail", "the Database of AI Litigation"


class Provenance(models.Model):
    """One source dataset's record of an incident. A merged incident keeps all of them."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="provenances")
    dataset = models.CharField(max_length=40, choices=Dataset.choices, db_index=True)
    external_id = models.CharField(max_length=100)
    url = models.URLField("original URL", max_length=1000, blank=True)
    licence = models.CharField(max_length=100, blank=True)
    imported_at = models.DateTimeField()
    content_hash = models.CharField(
        max_length=64, blank=True, help_text="Fingerprint of the imported record."
    )

    class Meta:
        ordering = ["dataset", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "external_id"], name="unique_provenance_per_dataset"
            )
        ]

    def __str__(self):
        return f"{self.get_dataset_display()}, {self.external_id}"

    @property
    def citation(self):
        licence = f", {self.licence}" if self.licence else ""
        return f"Imported from {self.get_dataset_display()}, incident {self.external_id}{licence}"


class DuplicateFlag(models.Model):
    """Two incidents that are likely the same real-world event, waiting for an editor."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MERGED = "merged", "Merged"
        DISMISSED = "dismissed", "Not a duplicate"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reason = models.CharField(max_length=300)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "-score"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "candidate"], name="unique_duplicate_pair"),
            models.CheckConstraint(
                condition=Q(incident_id__lt=F("candidate_id")), name="duplicate_pair_is_ordered"
            ),
        ]

    def __str__(self):
        return f"{self.incident} ~ {self.candidate} ({self.score:.2f})"
