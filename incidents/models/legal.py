"""Lawsuits about AI systems, from the Database of AI Litigation, and the incidents they followed.

A legal case is a record of its own, not an incident: it has a court, parties, a status and
documents. It is linked to incidents only on evidence, each link saying why.
"""

from django.conf import settings
from django.db import models
from django.db.models import F
from django.urls import reverse

from .incident import Incident

DAIL_LICENCE = "public research data, licence unstated"


class LegalCaseQuerySet(models.QuerySet):
    def for_list(self):
        return self.order_by(F("filed_on").desc(nulls_last=True), "caption")

    def search(self, query):
        return self.filter(caption__icontains=query) if query else self

    def linked_to(self, incident):
        """The cases that followed an incident: its confirmed links, not the suggestions."""
        return self.filter(
            incident_links__incident=incident,
            incident_links__status=LegalCaseIncident.Status.LINKED,
        ).for_list()


class LegalCase(models.Model):
    """One lawsuit as DAIL records it; its texts are the source's own, unknowns stay empty."""

    record_number = models.CharField(
        "DAIL record number", max_length=20, unique=True, help_text="Record_Number in DAIL."
    )
    slug = models.SlugField(max_length=120, unique=True)
    caption = models.CharField(max_length=300)
    brief_description = models.TextField(blank=True)
    jurisdiction = models.CharField(
        "jurisdiction and court", max_length=500, blank=True, help_text="As the source gives it."
    )
    jurisdiction_level = models.CharField(
        max_length=40,
        blank=True,
        db_index=True,
        help_text="The source's own prefix of the jurisdiction: Federal, State or International.",
    )
    filed = models.CharField(
        "date filed, as given", max_length=200, blank=True, help_text="Date_Action_Filed."
    )
    filed_on = models.DateField(
        null=True, blank=True, help_text="The filing date, when the source gives a whole date."
    )
    status = models.CharField(
        "status or disposition", max_length=200, blank=True, help_text="As the source says it."
    )
    status_group = models.CharField(
        max_length=40,
        blank=True,
        db_index=True,
        help_text="The part of the status before its colon (Active, Inactive).",
    )
    class_action = models.BooleanField(null=True, blank=True)
    published_opinions = models.CharField(max_length=40, blank=True)
    areas_of_application = models.JSONField(default=list, blank=True)
    causes_of_action = models.JSONField(default=list, blank=True)
    issues = models.JSONField(default=list, blank=True)
    algorithm_names = models.JSONField(default=list, blank=True)
    parties = models.TextField(
        blank=True, help_text="The organisations involved, as the source names them."
    )
    summary_of_significance = models.TextField(blank=True)
    facts_to_date = models.TextField(blank=True)
    most_recent_activity = models.TextField(blank=True)
    most_recent_activity_on = models.DateField(null=True, blank=True)
    added_on = models.DateField("added to DAIL on", null=True, blank=True)
    last_updated_on = models.DateField("last updated in DAIL on", null=True, blank=True)
    licence = models.CharField(max_length=100, default=DAIL_LICENCE)
    imported_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    incidents = models.ManyToManyField(
        Incident, through="LegalCaseIncident", related_name="legal_cases", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LegalCaseQuerySet.as_manager()

    class Meta:
        ordering = ["caption"]

    def __str__(self):
        return self.caption

    def get_absolute_url(self):
        return reverse("legal_case_detail", kwargs={"slug": self.slug})

    @property
    def citation(self):
        return (
            f"From the Database of AI Litigation (DAIL), record {self.record_number}, "
            f"{self.licence}"
        )


class Docket(models.Model):
    case = models.ForeignKey(LegalCase, on_delete=models.CASCADE, related_name="dockets")
    external_id = models.CharField(max_length=20)
    court = models.CharField(max_length=500, blank=True)
    number = models.CharField(max_length=200, blank=True)
    link = models.URLField(max_length=1000, blank=True)

    class Meta:
        ordering = ["case", "pk"]

    def __str__(self):
        return " ".join(filter(None, [self.court, self.number])) or f"Docket {self.external_id}"


class CaseDocument(models.Model):
    case = models.ForeignKey(LegalCase, on_delete=models.CASCADE, related_name="documents")
    external_id = models.CharField(max_length=20)
    court = models.CharField(max_length=1000, blank=True)
    date = models.CharField("date, as given", max_length=40, blank=True)
    dated_on = models.DateField(null=True, blank=True)
    link = models.URLField(max_length=1000, blank=True)
    citation = models.CharField(max_length=300, blank=True)
    title = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["case", F("dated_on").asc(nulls_last=True), "pk"]

    def __str__(self):
        return self.title or self.court or f"Document {self.external_id}"


class CaseSecondarySource(models.Model):
    case = models.ForeignKey(LegalCase, on_delete=models.CASCADE, related_name="secondary_sources")
    external_id = models.CharField(max_length=20)
    title = models.CharField(max_length=400, blank=True)
    link = models.URLField(max_length=1000)

    class Meta:
        ordering = ["case", "pk"]

    def __str__(self):
        return self.title or self.link


class LegalCaseIncident(models.Model):
    """A case linked to an incident it followed, or a candidate waiting for an editor."""

    class Status(models.TextChoices):
        SUGGESTED = "suggested", "Suggested, waiting for an editor"
        LINKED = "linked", "Linked"
        DISMISSED = "dismissed", "Not related"

    case = models.ForeignKey(LegalCase, on_delete=models.CASCADE, related_name="incident_links")
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="legal_case_links"
    )
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    reason = models.CharField(max_length=500)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who confirmed or made the link; empty when the import linked it on evidence.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "status", "incident__number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "incident"], name="unique_legal_case_incident")
        ]

    def __str__(self):
        return f"{self.case} → #{self.incident.number} ({self.get_status_display()})"
