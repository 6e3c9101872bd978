"""The figures the dashboards show, defined once.

Each series says how to aggregate a queryset of incidents into rows of (dimension, period, key,
count, value). The summary rebuild runs them over every incident of a scope, once per dimension
(all, per organisation, per tag); the direct path runs them over one filtered queryset. Both
therefore count the same thing, and a test holds them to it.

A new figure (near misses, say) is one more entry in SERIES; the rebuild and the direct path
pick it up without further change.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import CharField, Count, Exists, F, OuterRef, Q, Value
from django.db.models.functions import Cast, Coalesce, Concat, Least, NullIf, TruncMonth

from incidents.dashboards.periods import MONTH, QUARTER, UNDATED, month_start, quarter_start
from incidents.models import (
    ActionItem,
    ControlAssessment,
    Incident,
    IncidentOrganisation,
    Organisation,
    SummaryCount,
    Tag,
)

FACTOR_FACETS = [Tag.Facet.CONTRIBUTING_FACTOR, Tag.Facet.FAILURE_MODE]
Dimension = SummaryCount.Dimension
# Not a dimension the dashboards read: rows per incident, what one incident contributes to
# the additive series (incidents.dashboards.summaries keeps the summaries up to date by them).
PER_INCIDENT = "incident"


@dataclass(frozen=True)
class Series:
    """Counts of incidents per key, by month unless `granularity` says otherwise."""

    name: str
    key: object = Value("")  # an expression on the fact rows
    model: type = Incident  # the rows counted: incidents, or their tags, roles...
    facts: Q = field(default_factory=Q)  # narrows the fact rows
    granularity: str = MONTH
    dimensions: tuple = (Dimension.ALL, Dimension.ORGANISATION, Dimension.TAG)
    # A row is the sum of what each incident adds to it (see PER_INCIDENT).
    additive = True

    @property
    def to_incident(self):
        return "" if self.model is Incident else "incident__"

    def grouped(self, incidents, dimension, dimension_ids=None, counted_apart=None):
        """The grouped counts, as a values() queryset; only those of `dimension_ids` when
        given. With `counted_apart` ({incident field lookup: value}), each group also counts,
        as `summary_count_apart`, those of its incidents that match it."""
        p = self.to_incident
        facts = self.model.objects.filter(self.facts)
        facts = facts.filter(pk__in=incidents) if not p else facts.filter(incident__in=incidents)
        dimension_of = {
            Dimension.ALL: Value(0),
            Dimension.ORGANISATION: F(f"{p}organisation_roles__organisation_id"),
            Dimension.TAG: F(f"{p}tags__id"),
            PER_INCIDENT: F(f"{p}pk"),
        }[dimension]
        period = (
            TruncMonth(f"{p}occurred_at")
            if self.granularity == MONTH
            else Value(None, output_field=CharField())
        )
        grouped = (
            facts.annotate(summary_dimension=dimension_of, summary_period=period)
            .annotate(summary_key=self.key)
            .filter(summary_dimension__isnull=False)
        )
        if dimension_ids is not None:
            grouped = grouped.filter(summary_dimension__in=dimension_ids)
        # An incident has each tag once and each (organisation, role) once, so only an
        # organisation it holds in two roles can repeat it within a group.
        distinct = dimension == Dimension.ORGANISATION
        grouped = grouped.values("summary_dimension", "summary_period", "summary_key").annotate(
            summary_count=Count(f"{p}pk", distinct=distinct)
        )
        if counted_apart is not None:
            apart = Q(**{f"{p}{lookup}": value for lookup, value in counted_apart.items()})
            grouped = grouped.annotate(
                summary_count_apart=Count(f"{p}pk", distinct=distinct, filter=apart)
            )
        return grouped.order_by()

    def rows(self, incidents, dimension):
        """[(dimension id, period, key, count, value)] over these incidents."""
        return [
            (
                row["summary_dimension"],
                _as_date(row["summary_period"]),
                row["summary_key"] or "",
                row["summary_count"],
                None,
            )
            for row in self.grouped(incidents, dimension)
        ]


def _as_date(value):
    if value is None:
        return None
    return value.date() if hasattr(value, "date") else value


def _as_number(value):
    if value is None:
        return None
    if hasattr(value, "total_seconds"):
        return value.total_seconds() / 3600  # outage durations are summed in hours
    return float(value)


def _memberships(incident_ids, incidents, dimension):
    """(incident id, dimension id) pairs for these incidents, each pair once."""
    if dimension == Dimension.ALL:
        return {(pk, 0) for pk in incident_ids}
    if dimension == PER_INCIDENT:
        return {(pk, pk) for pk in incident_ids}
    if dimension == Dimension.ORGANISATION:
        pairs = IncidentOrganisation.objects.filter(incident__in=incidents)
        return set(pairs.values_list("incident_id", "organisation_id"))
    pairs = Incident.tags.through.objects.filter(incident__in=incidents)
    return set(pairs.values_list("incident_id", "tag_id"))


@dataclass(frozen=True)
class SumSeries:
    """Per month, the sum of a number over the incidents that record it (outage durations
    in hours). Summed per incident, so an organisation in two roles is not counted twice."""

    name: str
    field: str
    granularity: str = MONTH
    dimensions: tuple = (Dimension.ALL, Dimension.ORGANISATION, Dimension.TAG)
    additive = True

    def rows(self, incidents, dimension):
        measured = incidents.filter(**{f"{self.field}__isnull": False})
        values = {
            pk: (month_start(occurred.date()) if occurred else None, _as_number(value))
            for pk, occurred, value in measured.values_list("pk", "occurred_at", self.field)
        }
        groups = defaultdict(lambda: [0, 0.0])
        for pk, dimension_id in _memberships(values, measured, dimension):
            period, value = values[pk]
            group = groups[(dimension_id, period)]
            group[0] += 1
            group[1] += value
        return [
            (dimension_id, period, "", count, total)
            for (dimension_id, period), (count, total) in groups.items()
        ]


def _measured(incidents, until):
    """Incidents whose occurrence is known to the day and whose `until` is recorded."""
    return incidents.filter(
        occurred_at__isnull=False,
        occurred_precision=Incident.Precision.DAY,
        **{f"{until}__isnull": False},
    )


@dataclass(frozen=True)
class MedianSeries:
    """Median hours from occurrence to `until` per quarter, over incidents dated to the day."""

    name: str
    until: str
    granularity: str = QUARTER
    dimensions: tuple = (Dimension.ALL, Dimension.ORGANISATION, Dimension.TAG)
    additive = False

    def rows(self, incidents, dimension):
        measured = _measured(incidents, self.until)
        hours = {
            pk: (quarter_start(occurred.date()), (until - occurred).total_seconds() / 3600)
            for pk, occurred, until in measured.values_list("pk", "occurred_at", self.until)
        }
        groups = defaultdict(list)
        for pk, dimension_id in _memberships(hours, measured, dimension):
            quarter, value = hours[pk]
            groups[(dimension_id, quarter)].append(value)
        return [
            (dimension_id, quarter, "", len(values), statistics.median(values))
            for (dimension_id, quarter), values in groups.items()
        ]


def hours_bucket(hours):
    """The lower bound, in hours, of the bucket a duration is counted in: whole hours for
    the first two days, whole days to 90 days, whole weeks beyond. Medians over any span of
    months are then read from the counts, to within a bucket."""
    if hours < 48:
        return int(hours)
    if hours < 90 * 24:
        return int(hours // 24) * 24
    return int(hours // 168) * 168


def bucket_width(lower):
    if lower < 48:
        return 1
    return 24 if lower < 90 * 24 else 168


@dataclass(frozen=True)
class DurationHistogramSeries:
    """Per month, incidents by how long from occurrence to `until` (keyed by the lower bound
    of hours_bucket), over incidents dated to the day, as MedianSeries measures them."""

    name: str
    until: str
    granularity: str = MONTH
    dimensions: tuple = (Dimension.ALL, Dimension.ORGANISATION, Dimension.TAG)
    additive = True

    def rows(self, incidents, dimension):
        measured = _measured(incidents, self.until)
        buckets = {
            pk: (
                month_start(occurred.date()),
                str(hours_bucket(max(0.0, (until - occurred).total_seconds() / 3600))),
            )
            for pk, occurred, until in measured.values_list("pk", "occurred_at", self.until)
        }
        groups = defaultdict(int)
        for pk, dimension_id in _memberships(buckets, measured, dimension):
            groups[(dimension_id, *buckets[pk])] += 1
        return [
            (dimension_id, month, key, count, None)
            for (dimension_id, month, key), count in groups.items()
        ]


def _owner():
    return Coalesce(
        NullIf("owner", Value("")), F("assignee__username"), Value(""), output_field=CharField()
    )


@dataclass(frozen=True)
class ActionItemSeries:
    """Open action items per owner and due date (the dashboard ages them against today)."""

    name: str = "open_action_items"
    granularity: str = UNDATED
    dimensions: tuple = (Dimension.ALL, Dimension.ORGANISATION, Dimension.TAG)
    additive = True

    def rows(self, incidents, dimension):
        items = ActionItem.objects.filter(status=ActionItem.Status.OPEN, incident__in=incidents)
        dimension_of = {
            Dimension.ALL: Value(0),
            Dimension.ORGANISATION: F("incident__organisation_roles__organisation_id"),
            Dimension.TAG: F("incident__tags__id"),
            PER_INCIDENT: F("incident_id"),
        }[dimension]
        grouped = (
            items.annotate(summary_dimension=dimension_of, summary_key=_owner())
            .filter(summary_dimension__isnull=False)
            .values("summary_dimension", "due_on", "summary_key")
            .annotate(summary_count=Count("pk", distinct=True))
            .order_by()
        )
        return [
            (r["summary_dimension"], r["due_on"], r["summary_key"], r["summary_count"], None)
            for r in grouped
        ]


@dataclass(frozen=True)
class FactorReachSeries:
    """Per factor tag, distinct organisations involved (or policy changes linked)."""

    name: str
    counted: str  # path from an incident to what is counted
    granularity: str = UNDATED
    dimensions: tuple = (Dimension.ALL,)
    additive = False

    def rows(self, incidents, dimension, tag_ids=None):
        """Every factor's row, or only those of `tag_ids` when given."""
        links = Incident.tags.through.objects.filter(
            incident__in=incidents, tag__facet__in=FACTOR_FACETS
        )
        if tag_ids is not None:
            links = links.filter(tag_id__in=tag_ids)
        grouped = (
            links.values("tag_id")
            .annotate(n=Count(f"incident__{self.counted}", distinct=True))
            .order_by()
        )
        return [(0, None, str(r["tag_id"]), r["n"], None) for r in grouped]


@dataclass(frozen=True)
class TopOrganisationSeries:
    """Incidents per organisation and role, for the organisations with the most, over all
    time (a month by month figure per organisation pair would outgrow the incidents). People,
    groups of people and placeholders are parties too, but not ranked among organisations."""

    name: str = "organisation_role"
    top: int = 10
    granularity: str = UNDATED
    dimensions: tuple = (Dimension.ALL, Dimension.ORGANISATION, Dimension.TAG)
    additive = False

    @property
    def roles(self):
        return Series(
            self.name,
            model=IncidentOrganisation,
            facts=Q(organisation__kind=Organisation.Kind.ORGANISATION),
            key=Concat(Cast("organisation_id", output_field=CharField()), Value(":"), F("role")),
            granularity=UNDATED,
        )

    def rows(self, incidents, dimension):
        found = self.roles.rows(incidents, dimension)
        totals = defaultdict(int)
        for dimension_id, _, key, count, _ in found:
            totals[(dimension_id, key.partition(":")[0])] += count
        best = defaultdict(list)
        for (dimension_id, organisation), total in totals.items():
            best[dimension_id].append((-total, int(organisation)))
        kept = {
            (dimension_id, str(organisation))
            for dimension_id, ranked in best.items()
            for _, organisation in sorted(ranked)[: self.top]
        }
        return [row for row in found if (row[0], row[2].partition(":")[0]) in kept]


def _tag_key():
    return Cast("tag_id", output_field=CharField())


def _control_and_rank():
    """ "<control id>:<rank>", the rank the worse of the incident's actual and worst credible
    severity (empty when neither is known), as services.controls weighs the ranking."""
    actual = F("incident__severity__rank")
    worst = F("incident__worst_credible_severity__rank")
    rank = Least(Coalesce(actual, worst), Coalesce(worst, actual))
    return Concat(
        Cast("control_id", output_field=CharField()),
        Value(":"),
        Coalesce(Cast(rank, output_field=CharField()), Value("")),
        output_field=CharField(),
    )


SERIES = [
    Series("total"),
    # All time, one row per organisation and per tag: the busiest are offered as filters.
    Series("incidents", granularity=UNDATED),
    Series("severity", key=Coalesce(F("severity__name"), Value(""))),
    Series("perpetrator", key=Coalesce(F("perpetrator__slug"), Value(""))),
    Series("autonomy", key=F("autonomy")),
    Series("kind", key=F("kind")),
    # Contributing factors and failure modes; by the tag dimension, which of them co-occur.
    Series(
        "factor",
        model=Incident.tags.through,
        facts=Q(tag__facet__in=FACTOR_FACETS),
        key=_tag_key(),
    ),
    # Incidents carrying at least one factor: what the factor ranking stands on.
    Series(
        "with_factors",
        facts=Q(
            Exists(
                Incident.tags.through.objects.filter(
                    incident_id=OuterRef("pk"), tag__facet__in=FACTOR_FACETS
                )
            )
        ),
    ),
    TopOrganisationSeries(),
    SumSeries("outage_hours", "outage_duration"),
    SumSeries("users_affected", "users_affected"),
    MedianSeries("time_to_detect", until="detected_at"),
    MedianSeries("time_to_resolve", until="resolved_at"),
    # For the headline median over any run of months.
    DurationHistogramSeries("resolve_hours", until="resolved_at"),
    ActionItemSeries(),
    # The controls that would have stopped each month's incidents, and how many incidents were
    # judged against the catalogue at all.
    Series(
        "control_stopped",
        model=ControlAssessment,
        facts=Q(verdict=ControlAssessment.Verdict.WOULD_HAVE_STOPPED),
        key=_control_and_rank(),
    ),
    Series(
        "assessed",
        facts=Q(Exists(ControlAssessment.objects.filter(incident=OuterRef("pk")))),
    ),
    # For the gaps view: at how many organisations each factor was seen, and how many policy
    # changes are linked to incidents carrying it.
    FactorReachSeries("factor_organisations", "organisation_roles__organisation"),
    FactorReachSeries("factor_policies", "policy_links__policy_change"),
]


SERIES_BY_NAME = {series.name: series for series in SERIES}
