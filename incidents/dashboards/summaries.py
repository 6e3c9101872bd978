"""The summary tables behind the dashboards, so a dashboard request reads a few hundred
summary rows instead of aggregating every incident. Rebuilt whole by a Celery task after saves
(queued by `incidents.queueing`, and by Celery beat); after an import, only the rows of the
organisations, tags and months its incidents were in, before and after, are computed again."""

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as midnight

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from incidents.dashboards.periods import MONTH, QUARTER, quarter_start, shift_months
from incidents.dashboards.series import SERIES, Series, TopOrganisationSeries
from incidents.models import Incident, IncidentOrganisation, Organisation, SummaryCount
from incidents.permissions import can_read_internal

log = logging.getLogger(__name__)

# Set while a rebuild is queued, so a burst of saves queues one (see incidents.queueing).
REBUILD_QUEUED_KEY = "dashboard-summaries-queued"
Scope = SummaryCount.Scope
Dimension = SummaryCount.Dimension
# Past this share of the incidents, rebuilding everything is cheaper than picking rows out.
UPDATE_AT_MOST = 0.5
# Held by a rebuild or an update until it commits, so two never interleave their writes.
_LOCK_KEY = 7_294_311_505


def reader_scope(user):
    """Viewers, reviewers and editors read internal figures; everyone else public ones."""
    return Scope.INTERNAL if can_read_internal(user) else Scope.PUBLIC


def scope_incidents(scope):
    """Public figures count published public incidents; internal ones every published one."""
    if scope == Scope.PUBLIC:
        return Incident.objects.published()
    return Incident.objects.reviewed()


_COLUMNS = ["scope", "dimension", "dimension_id", "period", "series", "key", "count", "value"]


def _insert_counts(scope, series, dimension, incidents, dimension_ids=None):
    """PostgreSQL: INSERT ... SELECT the grouped counts without fetching them."""
    grouped = series.grouped(incidents, dimension, dimension_ids)
    sql, params = grouped.query.sql_with_params()
    table = SummaryCount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(_COLUMNS)}) "
            "SELECT %s, %s, g.summary_dimension, CAST(g.summary_period AS date), %s, "
            "COALESCE(g.summary_key, ''), g.summary_count, NULL "
            f"FROM ({sql}) g",
            [scope, dimension, series.name, *params],
        )
        return cursor.rowcount


def _insert_top_organisations(scope, series, dimension, incidents, dimension_ids=None):
    """PostgreSQL: the organisations with the most incidents per dimension, ranked by window
    functions in the database, as TopOrganisationSeries.rows ranks them in Python."""
    grouped = series.roles.grouped(incidents, dimension, dimension_ids)
    sql, params = grouped.query.sql_with_params()
    table = SummaryCount._meta.db_table
    organisation = "split_part(g.summary_key, ':', 1)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(_COLUMNS)}) "
            "SELECT %s, %s, d, NULL, %s, k, c, NULL FROM ("
            "  SELECT d, k, c, DENSE_RANK() OVER (PARTITION BY d ORDER BY t DESC, o) AS r FROM ("
            "    SELECT g.summary_dimension AS d, g.summary_key AS k, g.summary_count AS c,"
            f"     CAST({organisation} AS bigint) AS o,"
            "     SUM(g.summary_count) OVER"
            f"       (PARTITION BY g.summary_dimension, {organisation}) AS t"
            f"    FROM ({sql}) g"
            "  ) ranked"
            ") kept WHERE r <= %s",
            [scope, dimension, series.name, *params, series.top],
        )
        return cursor.rowcount


def _create_rows(scope, series, dimension, incidents, dimension_ids=None):
    rows = series.rows(incidents, dimension)
    if dimension_ids is not None:
        rows = [row for row in rows if row[0] in dimension_ids]
    SummaryCount.objects.bulk_create(
        (
            SummaryCount(
                scope=scope,
                dimension=dimension,
                dimension_id=dimension_id,
                period=period,
                series=series.name,
                key=key[:220],
                count=count,
                value=value,
            )
            for dimension_id, period, key, count, value in rows
        ),
        batch_size=5000,
    )
    return len(rows)


def _write(scope, series, dimension, incidents, dimension_ids=None):
    """Write one series' rows of one dimension (only those of `dimension_ids` when given)."""
    fast = connection.vendor == "postgresql"
    if fast and isinstance(series, Series):
        return _insert_counts(scope, series, dimension, incidents, dimension_ids)
    if fast and isinstance(series, TopOrganisationSeries):
        return _insert_top_organisations(scope, series, dimension, incidents, dimension_ids)
    return _create_rows(scope, series, dimension, incidents, dimension_ids)


def _lock():
    """Inside the transaction: wait for any other rebuild or update to commit (PostgreSQL;
    SQLite lets one writer in at a time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


@transaction.atomic
def summaries_rebuild(progress=None):
    """Replace every summary row. Returns how many were written."""
    started = time.monotonic()
    _lock()
    SummaryCount.objects.all().delete()
    written = 0
    for scope in Scope.values:
        incidents = scope_incidents(scope)
        for series in SERIES:
            for dimension in series.dimensions:
                written += _write(scope, series, dimension, incidents)
                if progress:
                    progress(f"{scope} {series.name} by {dimension}: {written} rows")
    log.info("Rebuilt %d summary rows in %.1f s", written, time.monotonic() - started)
    return written


@dataclass
class Affected:
    """The summary rows some incidents reach: those of the organisations they involve, the
    tags they carry and the months they occurred in (None for undated ones)."""

    incident_ids: set = field(default_factory=set)
    organisation_ids: set = field(default_factory=set)
    tag_ids: set = field(default_factory=set)
    months: set = field(default_factory=set)

    @classmethod
    def of(cls, incident_ids):
        incident_ids = set(incident_ids)
        if not incident_ids:
            return cls()
        months = Incident.objects.filter(pk__in=incident_ids).annotate(
            month=TruncMonth("occurred_at")
        )
        return cls(
            incident_ids=incident_ids,
            organisation_ids=set(
                IncidentOrganisation.objects.filter(incident_id__in=incident_ids).values_list(
                    "organisation_id", flat=True
                )
            ),
            tag_ids=set(
                Incident.tags.through.objects.filter(incident_id__in=incident_ids).values_list(
                    "tag_id", flat=True
                )
            ),
            months={_as_date(month) for month in months.values_list("month", flat=True)},
        )

    def __or__(self, other):
        return Affected(
            self.incident_ids | other.incident_ids,
            self.organisation_ids | other.organisation_ids,
            self.tag_ids | other.tag_ids,
            self.months | other.months,
        )

    def __bool__(self):
        return bool(self.incident_ids)

    def is_broad(self):
        """Whether it reaches so much of the base that a rebuild is the cheaper way."""
        return len(self.incident_ids) > UPDATE_AT_MOST * Incident.objects.count()

    def as_payload(self):
        return {
            "incidents": sorted(self.incident_ids),
            "organisations": sorted(self.organisation_ids),
            "tags": sorted(self.tag_ids),
            # None, the undated, sorts first.
            "months": sorted(
                (month.isoformat() if month else None for month in self.months),
                key=lambda month: month or "",
            ),
        }

    @classmethod
    def from_payload(cls, payload):
        return cls(
            set(payload["incidents"]),
            set(payload["organisations"]),
            set(payload["tags"]),
            {date.fromisoformat(month) if month else None for month in payload["months"]},
        )


def _as_date(value):
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


class SummaryChange:
    """Taken before some incidents change, so that afterwards `affected()` names the rows they
    reached before as well as those they reach now (an incident moves between months,
    organisations and tags). A party whose kind changed meanwhile joins or leaves the ranked
    organisations: every incident involving it is affected."""

    def __init__(self, incident_ids=()):
        self.before = Affected()
        self.ranked = self._ranked_organisations()
        self.watch(incident_ids)

    @staticmethod
    def _ranked_organisations():
        kind = Organisation.Kind.ORGANISATION
        return set(Organisation.objects.filter(kind=kind).values_list("pk", flat=True))

    def watch(self, incident_ids):
        """Add incidents about to change (their state now)."""
        self.before |= Affected.of(incident_ids)

    def affected(self, incident_ids=()):
        """What the watched incidents and these (created or changed) reach now, and reached."""
        changed_ids = set(incident_ids) | self.before.incident_ids
        moved = self._ranked_organisations() ^ self.ranked
        if moved:
            involving = IncidentOrganisation.objects.filter(organisation_id__in=moved)
            changed_ids |= set(involving.values_list("incident_id", flat=True))
        return self.before | Affected.of(changed_ids)


def _in_months(months):
    """Incidents that occurred in one of these months (None: undated ones)."""
    condition = Q(pk__in=[])
    for month in months:
        if month is None:
            condition |= Q(occurred_at__isnull=True)
        else:
            start, end = (
                timezone.make_aware(datetime.combine(day, midnight.min))
                for day in (month, shift_months(month, 1))
            )
            condition |= Q(occurred_at__gte=start, occurred_at__lt=end)
    return condition


def _periods(series, months):
    """The periods of a series' rows that incidents of these months count in."""
    if series.granularity == MONTH:
        return months
    if series.granularity == QUARTER:
        return {quarter_start(month) for month in months if month}
    return None  # undated: one row over all time, always computed again


def _months_of(periods, granularity):
    if granularity == QUARTER:
        return {shift_months(quarter, n) for quarter in periods for n in range(3)}
    return periods


def _in_periods(rows, periods):
    condition = Q(period__in=[period for period in periods if period])
    if None in periods:
        condition |= Q(period__isnull=True)
    return rows.filter(condition)


@transaction.atomic
def summaries_update(affected):
    """Compute again only the summary rows `affected` names, leaving exactly what a rebuild
    would: every row of the organisations and tags named, the rows of the "all" dimension in
    the months (or quarters) named, and the figures over all time of the "all" dimension
    (a handful of rows each). Returns how many rows were written."""
    if not affected:
        return 0
    if affected.is_broad():
        return summaries_rebuild()
    started = time.monotonic()
    _lock()
    written = 0
    narrowed = {
        Dimension.ORGANISATION: (
            affected.organisation_ids,
            IncidentOrganisation.objects.filter(organisation_id__in=affected.organisation_ids),
        ),
        Dimension.TAG: (
            affected.tag_ids,
            Incident.tags.through.objects.filter(tag_id__in=affected.tag_ids),
        ),
    }
    for scope in Scope.values:
        incidents = scope_incidents(scope)
        rows = SummaryCount.objects.filter(scope=scope)
        for dimension, (ids, memberships) in narrowed.items():
            rows.filter(dimension=dimension, dimension_id__in=ids).delete()
            involved = incidents.filter(pk__in=memberships.values("incident_id"))
            for series in SERIES:
                if ids and dimension in series.dimensions:
                    written += _write(scope, series, dimension, involved, ids)
        for series in SERIES:
            periods = _periods(series, affected.months)
            all_rows = rows.filter(dimension=Dimension.ALL, series=series.name)
            if periods is None:
                all_rows.delete()
                written += _write(scope, series, Dimension.ALL, incidents)
            elif periods:
                _in_periods(all_rows, periods).delete()
                dated = incidents.filter(_in_months(_months_of(periods, series.granularity)))
                written += _write(scope, series, Dimension.ALL, dated)
    log.info("Updated %d summary rows in %.1f s", written, time.monotonic() - started)
    return written
