from django.db import models


class FacetCount(models.Model):
    """How many incidents of one scope carry one facet key among those a single filter keeps
    (`filter_key` "" for the unfiltered list), kept up to date by the write path so the list
    never counts its matches for these cases. Keys read `severity:<id>`, `tag:<id>`,
    `autonomy:<value>` and so on; the facet key `total` counts every incident the filter keeps.
    """

    class Scope(models.TextChoices):
        PUBLIC = "public", "Public"
        INTERNAL = "internal", "Internal"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    filter_key = models.CharField(max_length=80, blank=True)
    facet_key = models.CharField(max_length=80)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "filter_key", "facet_key"], name="facet_count_key"
            )
        ]

    def __str__(self):
        return f"{self.scope} {self.filter_key or '(all)'} {self.facet_key}: {self.count}"


class IncidentFacetKeys(models.Model):
    """The facet keys an incident was last counted under, so a change is counted as the
    difference between the keys it had and those it has now."""

    incident_id = models.BigIntegerField(primary_key=True)
    public = models.BooleanField()
    keys = models.TextField()  # space-separated

    def __str__(self):
        return f"#{self.incident_id}: {self.keys}"


class FacetCountPending(models.Model):
    """An incident whose facet keys may have changed since it was last counted: written in the
    same transaction as the change, counted by the next reader (or `facet_counts_rebuild`)."""

    incident_id = models.BigIntegerField(primary_key=True)

    def __str__(self):
        return f"#{self.incident_id}"
