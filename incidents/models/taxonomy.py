"""The configurable vocabularies incidents are described with."""

from django.db import models
from django.urls import reverse
from django.utils.text import slugify


class Severity(models.Model):
    """One step of the severity scale; rank 1 is the most severe."""

    rank = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=20, unique=True)
    label = models.CharField(max_length=40, help_text="Short word such as 'critical'.")
    description = models.CharField(max_length=300, help_text="One-line definition.")
    colour = models.CharField(max_length=7, default="#6b7280", help_text="Badge colour as #rrggbb.")

    class Meta:
        ordering = ["rank"]
        verbose_name_plural = "severities"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(colour__regex=r"^#[0-9A-Fa-f]{6}$"),
                name="severity_colour_is_hex",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.label})"


class PerpetratorKind(models.Model):
    """What acted: an AI coding agent, a chatbot, conventional automation..."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:200]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("organisation_detail", args=[self.slug])


class AISystem(models.Model):
    """A named AI system, such as "Kiro", with the organisation that makes it."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    vendor = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="ai_systems"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "AI system"
        constraints = [
            models.UniqueConstraint(fields=["name", "vendor"], name="unique_ai_system_per_vendor")
        ]

    def __str__(self):
        return f"{self.name} ({self.vendor})" if self.vendor_id else self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(f"{self.vendor} {self.name}" if self.vendor_id else self.name)[:200]
        super().save(*args, **kwargs)


class Facet(models.TextChoices):
    CONTRIBUTING_FACTOR = "contributing-factor", "Contributing factor"
    FAILURE_MODE = "failure-mode", "Failure mode"
    HARM_TYPE = "harm-type", "Harm type"
    SECTOR = "sector", "Sector"
    TECHNOLOGY = "technology", "Technology"


class Tag(models.Model):
    """A tag belongs to exactly one facet, so dashboards can count per facet."""

    Facet = Facet

    facet = models.CharField(max_length=30, choices=Facet.choices, db_index=True)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["facet", "name"]
        constraints = [
            models.UniqueConstraint(fields=["facet", "slug"], name="unique_tag_slug_per_facet"),
            models.CheckConstraint(
                condition=models.Q(facet__in=[value for value, _ in Facet.choices]),
                name="tag_facet_is_known",
            ),
        ]

    def __str__(self):
        return f"{self.get_facet_display()}: {self.name}"

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:100]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("tag_detail", args=[self.facet, self.slug])
