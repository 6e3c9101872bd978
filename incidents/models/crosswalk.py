"""What the source datasets say in their own words, and how it maps to the house facets and
fields: source terms, the editable crosswalk, and the derivations it made."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from .taxonomy import Facet, Tag


class SourceTerm(models.Model):
    """One value of one source vocabulary, spelled as the source spells it ("4.3. Fraud,
    scams, and targeted manipulation" in the MIT risk subdomain of the AI Incident Database)."""

    vocabulary = models.CharField(max_length=60, db_index=True)
    value = models.CharField(max_length=300)
    slug = models.SlugField(max_length=300)
    incidents = models.ManyToManyField("Incident", blank=True, related_name="source_terms")

    class Meta:
        ordering = ["vocabulary", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["vocabulary", "slug"], name="unique_source_term_per_vocabulary"
            )
        ]

    def __str__(self):
        return f"{self.vocabulary}: {self.value}"

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = self.slug_for(self.value)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return f"{reverse('incident_list')}?source_term={self.filter_value}"

    @staticmethod
    def slug_for(value):
        """A value's slug; one made only of signs ("?") is named by its digest instead."""
        return slugify(value)[:300] or "value-" + hashlib.sha256(value.encode()).hexdigest()[:12]

    @property
    def filter_value(self):
        """How the incident list's `source_term` filter names it."""
        return f"{self.vocabulary}:{self.slug}"


class CrosswalkEntry(models.Model):
    """One rule: a source value (or `*`, any value) sets a house field or adds a house tag.
    Seeded from `incidents/crosswalk/<dataset>.csv`; editors correct them in the admin."""

    ANY = "*"

    class Target(models.TextChoices):
        AUTONOMY = "autonomy", "Autonomy"
        KIND = "kind", "Kind"
        SEVERITY = "severity", "Severity"
        LIVES_LOST = "lives_lost", "Lives lost"
        INJURIES = "injuries", "Injuries"
        PERPETRATOR = "perpetrator", "What acted"
        # One per tag facet, so each target names exactly one house field.
        TAG_CONTRIBUTING_FACTOR = f"tag:{Facet.CONTRIBUTING_FACTOR}", "Tag: contributing factor"
        TAG_FAILURE_MODE = f"tag:{Facet.FAILURE_MODE}", "Tag: failure mode"
        TAG_HARM_TYPE = f"tag:{Facet.HARM_TYPE}", "Tag: harm type"
        TAG_SECTOR = f"tag:{Facet.SECTOR}", "Tag: sector"
        TAG_TECHNOLOGY = f"tag:{Facet.TECHNOLOGY}", "Tag: technology"

    vocabulary = models.CharField(max_length=60, db_index=True)
    value = models.CharField(max_length=300, help_text="The source value exactly, or * for any.")
    target = models.CharField(max_length=40, choices=Target.choices, db_index=True)
    result = models.CharField(
        max_length=100,
        blank=True,
        help_text="The house value: a tag name, an autonomy or kind value, a severity name "
        "(SEV1...), a slug of what acted; empty for lives lost and injuries (the number is the "
        "source value).",
    )
    rule = models.TextField(help_text="One sentence an editor reads: why this value means that.")
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="Who last changed it by hand; the seed loader never overwrites such a row.",
    )
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["vocabulary", "value", "target"]
        verbose_name_plural = "crosswalk entries"
        constraints = [
            models.UniqueConstraint(
                fields=["vocabulary", "value", "target"], name="unique_crosswalk_entry"
            )
        ]

    def __str__(self):
        return f"{self.vocabulary} {self.value!r} → {self.target} {self.result!r}"

    @property
    def facet(self):
        return self.target.removeprefix("tag:") if self.target.startswith("tag:") else ""


class Derivation(models.Model):
    """A house field (or tag) an import set from a source term through a crosswalk entry,
    with the rule as it read then. A field without one was set by hand."""

    incident = models.ForeignKey("Incident", on_delete=models.CASCADE, related_name="derivations")
    target = models.CharField(max_length=40)
    tag = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    value = models.CharField(max_length=100, help_text="The house value, as text.")
    source_term = models.ForeignKey(SourceTerm, on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(
        CrosswalkEntry, null=True, on_delete=models.SET_NULL, related_name="derivations"
    )
    rule = models.TextField()
    derived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["target", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "target"],
                condition=Q(tag=None),
                name="one_derivation_per_field",
            ),
            models.UniqueConstraint(fields=["incident", "tag"], name="one_derivation_per_tag"),
        ]

    def __str__(self):
        return f"{self.target} = {self.value} (from {self.source_term})"

    @property
    def field_label(self):
        """What the house calls the field: "Severity", "Tag: harm type"."""
        return CrosswalkEntry.Target(self.target).label
