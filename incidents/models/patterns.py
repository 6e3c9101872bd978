"""What leadership reads: summary counts behind the dashboards, recurring-pattern clusters and
the weekly digest subscriptions."""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.urls import reverse

from .incident import Incident

# Stands for "no period" in the unique constraint on summary rows, which NULL would not.
UNDATED_PERIOD = date(1, 1, 1)


class SummaryCount(models.Model):
    """One pre-computed figure of the dashboards, rebuilt from the incidents by a task.

    A figure counts the incidents of one scope (public data, or everything published for
    internal readers), narrowed to one dimension (all incidents, those involving one
    organisation, or those carrying one tag), in one period (a month; or a quarter for medians;
    none for figures that ignore dates), for one series and key (e.g. severity "SEV1").
    `value` holds sums and medians; `count` the incidents they are taken over.
    """

    class Scope(models.TextChoices):
        PUBLIC = "public", "Public"
        INTERNAL = "internal", "Internal"

    class Dimension(models.TextChoices):
        ALL = "all", "All incidents"
        ORGANISATION = "organisation", "Organisation"
        TAG = "tag", "Tag"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    dimension = models.CharField(max_length=12, choices=Dimension.choices)
    dimension_id = models.BigIntegerField(default=0)
    period = models.DateField(null=True, blank=True)
    series = models.CharField(max_length=40)
    key = models.CharField(max_length=220, blank=True)
    count = models.PositiveIntegerField(default=0)
    value = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            # What deltas are added to (INSERT ... ON CONFLICT; undated rows are one per key),
            # and in this order the index dashboards read by (scope, dimension, series and
            # dimension id, then the periods of those few hundred rows).
            models.UniqueConstraint(
                "scope",
                "dimension",
                "series",
                "dimension_id",
                "key",
                Coalesce("period", Value(UNDATED_PERIOD)),
                name="summary_row_unique",
            )
        ]

    def __str__(self):
        return f"{self.scope}/{self.dimension}:{self.dimension_id} {self.period} {self.series}"


class SummaryContribution(models.Model):
    """What one incident added to the additive dashboard summaries when they last counted
    it, so that after it changes the summaries take back exactly that and add what it adds
    now. `rows` are [series, period, key, count, value], counted once in each of its scopes
    and each of its dimensions (all incidents, each organisation, each tag); `month` is the
    month it occurred in, and `ranked_roles` ("<organisation id>:<role>") the roles of its
    parties ranked among organisations: what the figures that are not sums (medians,
    rankings) are computed again for."""

    incident_id = models.BigIntegerField(primary_key=True)
    scopes = models.JSONField(default=list)
    organisation_ids = models.JSONField(default=list)
    ranked_roles = models.JSONField(default=list)
    tag_ids = models.JSONField(default=list)
    month = models.DateField(null=True, blank=True)
    rows = models.JSONField(default=list)

    def __str__(self):
        return f"contribution of incident {self.incident_id}"


class PatternCluster(models.Model):
    """Similar incidents grouped across organisations. Members are recomputed by
    `services.patterns.clusters_recompute`; a name an editor gives stays with the cluster that
    keeps most of its members."""

    name = models.CharField(max_length=200)
    named_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who named it; empty while the name is the suggested one.",
    )
    curated = models.BooleanField(
        default=False,
        help_text="An editor merged or split it: its incidents stay while they still belong "
        "to some group.",
    )
    coherence = models.FloatField(
        null=True, blank=True, help_text="Mean similarity of its incidents' pairs, 0 to 1."
    )
    terms = models.JSONField(
        default=list, blank=True, help_text="The words that set its incidents apart."
    )
    incidents = models.ManyToManyField(Incident, through="PatternClusterMember", related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("pattern_detail", args=[self.pk])

    @property
    def is_named(self):
        return self.named_by_id is not None


class PatternClusterMember(models.Model):
    cluster = models.ForeignKey(PatternCluster, on_delete=models.CASCADE, related_name="members")
    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, related_name="pattern_membership"
    )

    def __str__(self):
        return f"{self.incident_id} in {self.cluster_id}"


class DigestSubscription(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_subscription"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Weekly digest for {self.user}"
