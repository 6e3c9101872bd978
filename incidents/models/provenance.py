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
    GENAI_INCIDENTS = "genai-incidents", "the GenAI Incidents index"
    AVID = "avid", "the AI Vulnerability Database (AVID)"
    ATLAS = "atlas", "the MITRE ATLAS case studies"
    AI_ESCAPE_LOG = "ai-escape-log", "the AI Escape Log"
    # Only cross-referenced: its records reach us through the GenAI Incidents index and the
    # AI Incident Database's links, never imported from the monitor itself.
    OECD_AIM = "oecd-aim", "the OECD AI Incidents and Hazards Monitor"
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
    verification = models.CharField(
        max_length=30,
        blank=True,
        help_text="The source's own verification label, such as 'single-source'.",
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


class CrossReference(models.Model):
    """Another dataset's record of this incident, linked without importing its content:
    "Also recorded in the OECD AI Incidents and Hazards Monitor as 2022-01-10-5735".

    `dataset` and `external_id` name that other record; `refers_to_dataset` and `refers_to_id`
    name the imported record it points at. Until that record is imported the reference waits
    with no incident, and the import of `refers_to_dataset` resolves it, so the order in which
    datasets are imported does not matter. A source that gives no id for the record it points
    at leaves `refers_to_id` empty: it is then resolved by the record's original URL (`url`).
    """

    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="cross_references",
    )
    dataset = models.CharField(max_length=40, choices=Dataset.choices)
    external_id = models.CharField(max_length=100)
    url = models.URLField(max_length=1000, blank=True)
    refers_to_dataset = models.CharField(max_length=40, blank=True)
    refers_to_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["dataset", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "dataset", "external_id"],
                name="unique_cross_reference_per_incident",
            ),
            # A pending reference has no incident yet; this keeps re-imports from repeating it.
            models.UniqueConstraint(
                fields=["dataset", "external_id", "refers_to_dataset", "refers_to_id"],
                name="unique_cross_reference_target",
            ),
        ]
        indexes = [models.Index(fields=["refers_to_dataset", "refers_to_id"])]

    def __str__(self):
        return f"Also recorded in {self.get_dataset_display()} as {self.external_id}"


class DuplicateFlag(models.Model):
    """Two incidents that are likely the same real-world event, waiting for an editor.

    A dataset that names another's record of the incident makes the pair certain (`STATED`,
    score 1); otherwise `incidents.duplicates` scored it. `evidence` keeps what the decision
    rested on, component by component, for the editor who reviews it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MERGED = "merged", "Merged"
        DISMISSED = "dismissed", "Not a duplicate"

    class Basis(models.TextChoices):
        STATED = "stated", "Stated by a dataset"
        SCORED = "scored", "Scored as alike"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    basis = models.CharField(max_length=10, choices=Basis.choices, default=Basis.SCORED)
    reason = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict, blank=True)
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
