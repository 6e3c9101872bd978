"""Policy changes: controls an organisation adopted or dropped, linked to incidents."""

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.text import slugify

from incidents.markdown import render_markdown

from .incident import Incident, SourceFields
from .taxonomy import Organisation


class PolicyChangeQuerySet(models.QuerySet):
    def for_list(self):
        return self.select_related("organisation").order_by(
            F("announced_on").desc(nulls_last=True), "title"
        )


class PolicyChange(models.Model):
    class Kind(models.TextChoices):
        PEER_REVIEW = "peer_review", "Peer review"
        ACCESS_CONTROL = "access_control", "Access control"
        GUARDRAIL = "guardrail", "Guardrail or tooling"
        BAN_PAUSE = "ban_pause", "Ban or pause"
        TRAINING = "training", "Training"
        DISCLOSURE = "disclosure", "Disclosure"
        REGULATION = "regulation", "Regulation or order"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        ANNOUNCED = "announced", "Announced"
        IN_EFFECT = "in_effect", "In effect"
        RETIRED = "retired", "Retired"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="policy_changes"
    )
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True, help_text="Markdown.")
    description_html = models.TextField(blank=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ANNOUNCED, db_index=True
    )
    announced_on = models.DateField(null=True, blank=True)
    effective_on = models.DateField(null=True, blank=True)
    incidents = models.ManyToManyField(
        Incident, through="PolicyChangeIncident", related_name="policy_changes", blank=True
    )
    controls = models.ManyToManyField(
        "incidents.Control",
        through="incidents.PolicyControl",
        related_name="policy_changes",
        blank=True,
        help_text="Controls this policy change adopts.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PolicyChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-announced_on", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(announced_on__isnull=True)
                | Q(effective_on__isnull=True)
                | Q(effective_on__gte=F("announced_on")),
                name="policy_effective_after_announced",
                violation_error_message="A policy cannot take effect before it is announced.",
            )
        ]

    def __str__(self):
        return f"{self.organisation}: {self.title}"

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(f"{self.organisation} {self.title}")[:120]
        self.description_html = render_markdown(self.description)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("policy_detail", args=[self.slug])


class PolicyChangeIncident(models.Model):
    class Relation(models.TextChoices):
        PROMPTED_BY = "prompted_by", "Prompted by"
        WOULD_HAVE_PREVENTED = "would_have_prevented", "Would have prevented"
        CITED_IN = "cited_in", "Cited in"

    policy_change = models.ForeignKey(
        PolicyChange, on_delete=models.CASCADE, related_name="incident_links"
    )
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="policy_links")
    relation = models.CharField(max_length=30, choices=Relation.choices, db_index=True)

    class Meta:
        ordering = ["relation", "incident__number"]
        verbose_name = "policy change and incident link"
        constraints = [
            models.UniqueConstraint(
                fields=["policy_change", "incident", "relation"], name="unique_policy_incident_link"
            )
        ]

    def __str__(self):
        return f"{self.policy_change} {self.get_relation_display().lower()} {self.incident}"


class PolicySource(SourceFields):
    policy_change = models.ForeignKey(
        PolicyChange, on_delete=models.CASCADE, related_name="sources"
    )

    class Meta(SourceFields.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["policy_change", "url"], name="unique_policy_source_url"
            )
        ]
