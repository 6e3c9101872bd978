"""The configurable vocabularies incidents are described with, and which of their names the
public may read."""

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.text import slugify

from incidents.permissions import can_read_internal

SHOWN_PUBLICLY_HELP = (
    "Show this name to the public even though no public incident carries it. Names that only "
    "drafts and internal incidents carry are otherwise kept from the public."
)


def _model(name):
    # Looked up when asked: the incident models import this module.
    return apps.get_model("incidents", name)


class NameQuerySet(models.QuerySet):
    """The one rule for names: public when a public incident (published or retracted) carries
    it, or when an editor marked it public. Staff read every name."""

    def public(self):
        return self.filter(Q(shown_publicly=True) | self._carried_publicly())

    def visible_to(self, user):
        if can_read_internal(user):
            return self.all()
        return self.public()

    def _carried_publicly(self):
        raise NotImplementedError


class OrganisationQuerySet(NameQuerySet):
    def _carried_publicly(self):
        """In a role on a public incident, named by a policy change (all of them are public),
        or making an AI system that is public (the incident page links to its maker)."""
        roles = _model("IncidentOrganisation").objects.filter(
            organisation=OuterRef("pk"), incident__in=_model("Incident").objects.public()
        )
        policies = _model("PolicyChange").objects.filter(organisation=OuterRef("pk"))
        made = AISystem.objects.public().filter(vendor=OuterRef("pk"))
        return Exists(roles) | Exists(policies) | Exists(made)

    def ranked(self):
        """The parties rankings and organisation lists count: organisations, never people,
        groups of people or placeholders."""
        return self.filter(kind=Organisation.Kind.ORGANISATION)


class AISystemQuerySet(NameQuerySet):
    def _carried_publicly(self):
        """Named by a public incident, or by a step of its action record."""
        incidents = _model("Incident").objects.public()
        named = AISystem.incidents.through.objects.filter(
            aisystem=OuterRef("pk"), incident__in=incidents
        )
        acting = _model("AgentAction").objects.filter(
            ai_system=OuterRef("pk"), incident__in=incidents
        )
        return Exists(named) | Exists(acting)


class TagQuerySet(NameQuerySet):
    def _carried_publicly(self):
        tagged = Tag.incidents.through.objects.filter(
            tag=OuterRef("pk"), incident__in=_model("Incident").objects.public()
        )
        return Exists(tagged)


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
    """A party to incidents: usually an organisation, but the harmed may be a person, a group
    of people, or a placeholder a source uses for someone it cannot name."""

    class Kind(models.TextChoices):
        ORGANISATION = "organisation", "Organisation"
        PERSON = "person", "Person"
        GROUP = "group", "Group of people"
        UNKNOWN = "unknown", "Unknown or unnamed"

    class NameSource(models.IntegerChoices):
        """How far the spelling can be trusted; an import only replaces a lower one."""

        SLUG = 1, "Rebuilt from a source's slug"
        SOURCE = 2, "As a source spells it"
        EDITOR = 3, "Set by an editor"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    kind = models.CharField(
        max_length=20, choices=Kind.choices, default=Kind.ORGANISATION, db_index=True
    )
    kind_set_by_editor = models.BooleanField(
        default=False, help_text="Imports never change a kind an editor set."
    )
    name_source = models.PositiveSmallIntegerField(
        choices=NameSource.choices,
        default=NameSource.SOURCE,
        help_text="A spelling is only replaced by a better one: an editor's is kept.",
    )
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)
    shown_publicly = models.BooleanField(default=False, help_text=SHOWN_PUBLICLY_HELP)
    # A renamed, reclassified or merged party changes what public pages show.
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "party"
        verbose_name_plural = "parties"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["organisation", "person", "group", "unknown"]),
                name="organisation_kind_is_known",
            )
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:200]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("organisation_detail", args=[self.slug])

    @property
    def is_organisation(self):
        return self.kind == self.Kind.ORGANISATION


class OrganisationAlias(models.Model):
    """Another spelling of a party's name ("Open AI" for OpenAI): an import naming it attaches
    to the party. Matched by slug, so case and punctuation do not matter."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "alias"
        verbose_name_plural = "aliases"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.slug = slugify(self.name)[:200]
        super().save(*args, **kwargs)

    def clean(self):
        slug = slugify(self.name)[:200]
        other = Organisation.objects.filter(slug=slug).exclude(pk=self.organisation_id).first()
        if other:
            raise ValidationError({"name": f"This is the name of another party, {other}."})


class AISystem(models.Model):
    """A named AI system, such as "Kiro", with the organisation that makes it."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    vendor = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="ai_systems"
    )
    shown_publicly = models.BooleanField(default=False, help_text=SHOWN_PUBLICLY_HELP)

    objects = AISystemQuerySet.as_manager()

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
    shown_publicly = models.BooleanField(default=False, help_text=SHOWN_PUBLICLY_HELP)

    objects = TagQuerySet.as_manager()

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
