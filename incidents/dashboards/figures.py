"""Reading the dashboard figures for one set of filters: from the summary tables, or straight
from the incidents (the reference the summaries are tested and benchmarked against, and the
fallback for a combination the summaries do not hold: an organisation and a tag at once)."""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Exists, Max, Min, OuterRef, Q, Sum
from django.http import QueryDict

from incidents.caching import data_version
from incidents.dashboards.periods import (
    MONTH,
    QUARTER,
    last_day,
    month_label,
    month_start,
    quarter_start,
)
from incidents.dashboards.series import SERIES_BY_NAME
from incidents.dashboards.summaries import Scope, reader_scope, scope_incidents
from incidents.filters import IncidentFilter
from incidents.models import Incident, Organisation, SummaryCount, Tag

Dimension = SummaryCount.Dimension
# Within one organisation's or tag's incidents, which factors appear together is counted over
# at most this many of the newest.
COOCCURRENCE_COUNTED = 1_000


@dataclass
class DashboardQuery:
    """What the dashboard is asked for: one scope, at most one organisation and one tag, and
    a range of whole months (None: unbounded), within the months that have incidents."""

    scope: str = Scope.PUBLIC
    organisation: Organisation | None = None
    tag: Tag | None = None
    start: date | None = None  # the first day of the first month
    end: date | None = None  # the first day of the last month
    problems: list = field(default_factory=list)

    @classmethod
    def from_request(cls, request):
        """Parsed by the incident list's FilterSet, so both read parameters the same way. An
        empty field of the filter form (`tag=`) means no filter, not a wrong one."""
        scope = reader_scope(request.user)
        given = given_parameters(request.GET)
        if given.get("scope") == Scope.PUBLIC:
            scope = Scope.PUBLIC
        filterset = IncidentFilter(given, request=request)
        filterset.form.is_valid()  # invalid parameters are left out of cleaned_data
        cleaned = filterset.form.cleaned_data
        problems = [
            f"{name} = \u201c{value}\u201d: {why}"
            for name, value, why in filterset.ignored
            if name in {"organisation", "tag", "occurred_after", "occurred_before"}
        ]
        tags = cleaned.get("tag") or []
        if len(tags) > 1:
            problems.append(f"The dashboard narrows to one tag at a time: {tags[0]} is used.")
        start, end = cleaned.get("occurred_after"), cleaned.get("occurred_before")
        if start and end and start > end:
            problems.append("The date range ends before it starts: it is ignored.")
            start = end = None
        start, end = (month_start(day) if day else None for day in (start, end))
        if start or end:
            # Every month of the range is charted: 0001-01-01 would mean 24,000 of them.
            first, last = months_with_incidents(scope)
            if first and start and start < first:
                start = first
                problems.append(
                    f"occurred_after = \u201c{given.get('occurred_after')}\u201d: no incidents "
                    f"before {month_label(first)}; shown from {month_label(first)}."
                )
            if last and end and end > last:
                end = last
                problems.append(
                    f"occurred_before = \u201c{given.get('occurred_before')}\u201d: no incidents "
                    f"after {month_label(last)}; shown to {month_label(last)}."
                )
        return cls(
            scope=scope,
            organisation=cleaned.get("organisation"),
            tag=tags[0] if tags else None,
            start=start,
            end=end,
            problems=problems,
        )

    @property
    def dimension(self):
        if self.organisation:
            return Dimension.ORGANISATION, self.organisation.pk
        if self.tag:
            return Dimension.TAG, self.tag.pk
        return Dimension.ALL, 0

    @property
    def dated(self):
        return self.start is not None or self.end is not None

    def bounds(self, granularity):
        """(first period, last period) a series of this granularity is read over."""
        if granularity == MONTH:
            return self.start, self.end
        if granularity == QUARTER:
            return (
                quarter_start(self.start) if self.start else None,
                quarter_start(self.end) if self.end else None,
            )
        return None, None

    def incidents(self, granularity=MONTH):
        """The scope's incidents under these filters, as the incident list filters them, with
        the range widened to whole months (or quarters)."""
        data = {}
        if self.organisation:
            data["organisation"] = self.organisation.slug
        if self.tag:
            data["tag"] = f"{self.tag.facet}:{self.tag.slug}"
        first, last = self.bounds(granularity)
        if first:
            data["occurred_after"] = first.isoformat()
        if last:
            data["occurred_before"] = last_day(last, granularity).isoformat()
        filterset = IncidentFilter(data, queryset=scope_incidents(self.scope).newest_first())
        return filterset.qs.order_by()


def given_parameters(params):
    """The parameters with a value: a form's empty fields left out."""
    given = QueryDict(mutable=True)
    for name, values in params.lists():
        kept = [value for value in values if value.strip()]
        if kept:
            given.setlist(name, kept)
    return given


def months_with_incidents(scope):
    """(first, last) month with a dated incident in the scope, from the summaries; (None,
    None) when there is none."""
    found = SummaryCount.objects.filter(
        scope=scope, dimension=Dimension.ALL, dimension_id=0, series="total", period__isnull=False
    ).aggregate(first=Min("period"), last=Max("period"))
    return found["first"], found["last"]


def age_bucket(due_on, today):
    """How late an action item due on `due_on` is (a key of charts.AGE_BUCKETS); the summaries
    bucket them the same way in SummarySource.action_item_ages."""
    if due_on is None:
        return "undated"
    late = (today - due_on).days
    if late <= 0:
        return "due"
    if late <= 7:
        return "overdue"
    if late <= 30:
        return "overdue_7"
    if late <= 90:
        return "overdue_30"
    return "overdue_90"


def source_for(query):
    if query.organisation and query.tag:
        return CachedDirectSource(query)
    return SummarySource(query)


def _within(rows, first, last):
    return [
        row
        for row in rows
        if row[0] is not None
        and (first is None or row[0] >= first)
        and (last is None or row[0] <= last)
    ]


class DirectSource:
    """Every figure aggregated from the incidents themselves."""

    def __init__(self, query):
        self.query = query
        self._incidents = {}

    def incidents(self, granularity):
        if granularity not in self._incidents:
            self._incidents[granularity] = self.query.incidents(granularity)
        return self._incidents[granularity]

    def rows(self, names, first=None, last=None):
        """{series name: [(period, key, count, value)]}, within the query's range (and, if
        given, between the `first` and `last` periods)."""
        result = {}
        for name in names:
            series = SERIES_BY_NAME[name]
            incidents = self.incidents(series.granularity)
            rows = [row[1:] for row in series.rows(incidents, Dimension.ALL)]
            result[name] = _within(rows, first, last) if first or last else rows
        return result

    def totals(self, name):
        """{key: count} over the query's range."""
        totals = defaultdict(int)
        for _, key, count, _ in self.rows([name])[name]:
            totals[key] += count
        return dict(totals)

    def latest_period(self, name):
        periods = [row[0] for row in self.rows([name])[name] if row[0] is not None]
        return max(periods, default=None)

    def action_item_ages(self, today):
        """{(owner, age bucket): open action items}"""
        ages = defaultdict(int)
        for due_on, owner, count, _ in self.rows(["open_action_items"])["open_action_items"]:
            ages[(owner, age_bucket(due_on, today))] += count
        return dict(ages)

    def cooccurrence(self, tag_ids):
        """({(tag id, other tag id): incidents carrying both}, over factor tags; and None, or
        how many incidents were counted when only the newest COOCCURRENCE_COUNTED were)."""
        carrying = Incident.tags.through.objects.filter(incident=OuterRef("pk"), tag_id__in=tag_ids)
        # Pairs within a filter are counted from the incidents, not the summaries: a common
        # tag is carried by a sixth of a large base, so only the newest are counted.
        newest = list(
            self.incidents(MONTH)
            .filter(Exists(carrying))
            .order_by("-sort_date", "-number")
            .values_list("pk", flat=True)[: COOCCURRENCE_COUNTED + 1]
        )
        sampled = len(newest) > COOCCURRENCE_COUNTED
        counted = Incident.objects.filter(pk__in=newest[:COOCCURRENCE_COUNTED])
        counts = defaultdict(int)
        for dimension_id, _, key, count, _ in SERIES_BY_NAME["factor"].rows(counted, Dimension.TAG):
            if dimension_id in tag_ids and int(key) in tag_ids:
                counts[(dimension_id, int(key))] += count
        return dict(counts), COOCCURRENCE_COUNTED if sampled else None


class CachedDirectSource(DirectSource):
    """The direct aggregation, remembered until the data changes: what the summaries do not
    hold is counted once per filter and data version, not on every request."""

    def __init__(self, query):
        super().__init__(query)
        self._version = None

    def _cached(self, name, compute, *args):
        if self._version is None:
            self._version = data_version()
        query = self.query
        parts = [
            query.scope,
            query.organisation and query.organisation.pk,
            query.tag and query.tag.pk,
            query.start,
            query.end,
            name,
            *args,
        ]
        key = "dashboard-direct:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:24]
        key = f"{key}:{self._version}"
        value = cache.get(key)
        if value is None:
            value = compute()
            cache.set(key, value, timeout=24 * 3600)
        return value

    def rows(self, names, first=None, last=None):
        compute = super().rows
        return self._cached("rows", lambda: compute(names, first, last), names, first, last)

    def cooccurrence(self, tag_ids):
        compute = super().cooccurrence
        return self._cached("pairs-counted", lambda: compute(tag_ids), sorted(tag_ids))

    def action_item_ages(self, today):
        compute = super().action_item_ages
        return self._cached("ages", lambda: compute(today), today)


class SummarySource:
    """Every figure read from the summary tables, filtered and summed by the database. A
    series not summarised for the query's dimension is aggregated directly (from the
    incidents of one organisation or tag only)."""

    def __init__(self, query):
        self.query = query
        self.direct = CachedDirectSource(query)

    def _summarised(self, name):
        return self.query.dimension[0] in SERIES_BY_NAME[name].dimensions

    def _summaries(self, names, dimension=None, first=None, last=None):
        dimension, dimension_id = dimension or self.query.dimension
        found = SummaryCount.objects.filter(
            scope=self.query.scope, dimension=dimension, series__in=names
        )
        found = (
            found.filter(dimension_id__in=dimension_id)
            if isinstance(dimension_id, list)
            else found.filter(dimension_id=dimension_id)
        )
        granularities = {SERIES_BY_NAME[name].granularity for name in names}
        assert len(granularities) == 1, "series read together share their granularity"
        range_first, range_last = self.query.bounds(granularities.pop())
        first = max(filter(None, [first, range_first]), default=None)
        last = min(filter(None, [last, range_last]), default=None)
        if first or last:
            found = found.filter(period__isnull=False)
        if first:
            found = found.filter(period__gte=first)
        if last:
            found = found.filter(period__lte=last)
        return found

    def rows(self, names, first=None, last=None):
        result = {name: [] for name in names}
        by_granularity = defaultdict(list)
        for name in names:
            if self._summarised(name):
                by_granularity[SERIES_BY_NAME[name].granularity].append(name)
            else:
                result.update(self.direct.rows([name], first, last))
        for group in by_granularity.values():
            found = self._summaries(group, first=first, last=last).values_list(
                "series", "period", "key", "count", "value"
            )
            for series, *row in found:
                result[series].append(tuple(row))
        return result

    def totals(self, name):
        if not self._summarised(name):
            return self.direct.totals(name)
        return dict(
            self._summaries([name]).values_list("key").annotate(total=Sum("count")).order_by()
        )

    def latest_period(self, name):
        if not self._summarised(name):
            return self.direct.latest_period(name)
        return self._summaries([name]).aggregate(latest=Max("period"))["latest"]

    def action_item_ages(self, today):
        if not self._summarised("open_action_items"):
            return self.direct.action_item_ages(today)
        days = [today - timedelta(days=n) for n in (7, 30, 90)]
        buckets = {
            "due": Q(period__gte=today),
            "overdue": Q(period__gte=days[0], period__lt=today),
            "overdue_7": Q(period__gte=days[1], period__lt=days[0]),
            "overdue_30": Q(period__gte=days[2], period__lt=days[1]),
            "overdue_90": Q(period__lt=days[2]),
            "undated": Q(period__isnull=True),
        }
        found = (
            self._summaries(["open_action_items"])
            .values("key")
            .annotate(**{bucket: Sum("count", filter=q) for bucket, q in buckets.items()})
            .order_by()
        )
        return {
            (row["key"], bucket): row[bucket] for row in found for bucket in buckets if row[bucket]
        }

    def cooccurrence(self, tag_ids):
        if self.query.dimension[0] != Dimension.ALL:
            # Pairs within one organisation's (or tag's) incidents are not summarised.
            return self.direct.cooccurrence(tag_ids)
        found = (
            self._summaries(["factor"], dimension=(Dimension.TAG, list(tag_ids)))
            .filter(key__in=[str(pk) for pk in tag_ids])
            .values_list("dimension_id", "key")
            .annotate(total=Sum("count"))
            .order_by()
        )
        return {(dimension_id, int(key)): total for dimension_id, key, total in found}, None
