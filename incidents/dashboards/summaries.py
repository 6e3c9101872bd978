"""The summary tables behind the dashboards, so a dashboard request reads a few hundred
summary rows instead of aggregating every incident.

Kept up to date by deltas: after incidents change (a Celery task queued by
`incidents.queueing`), each one's contribution as last counted (`SummaryContribution`) is taken
back from the rows it reached and its contribution now is added, for every series that is a
sum; the series that are not (medians, rankings, reaches) are computed again only for the
dimension rows and quarters those incidents sit in. A full rebuild writes every row and
contribution afresh; the nightly check (`manage.py summaries_check`) rebuilds and reports
how the maintained rows differed."""

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as midnight

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from incidents.dashboards.periods import QUARTER, UNDATED, quarter_start, shift_months
from incidents.dashboards.series import (
    PER_INCIDENT,
    SERIES,
    SERIES_BY_NAME,
    FactorReachSeries,
    Series,
    TopOrganisationSeries,
)
from incidents.models import (
    Incident,
    IncidentOrganisation,
    Organisation,
    SummaryContribution,
    SummaryCount,
)
from incidents.models.patterns import UNDATED_PERIOD
from incidents.permissions import can_read_internal

log = logging.getLogger(__name__)

# Set while a rebuild is queued, so a burst of rebuilds queues one (see incidents.queueing).
REBUILD_QUEUED_KEY = "dashboard-summaries-queued"
Scope = SummaryCount.Scope
Dimension = SummaryCount.Dimension
# Names the summaries as they stand, for the dashboard's cache keys.
VERSION_KEY = "dashboard-summaries-version"
# Held by a rebuild or an update until it commits, so two never interleave their writes.
_LOCK_KEY = 7_294_311_505


def summaries_version():
    """Changes whenever a rebuild or an update of the summaries commits (and when the cache
    forgot it: charts are then built once more)."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(VERSION_KEY) or time.time_ns()
    return version


def _summaries_changed():
    """Now, and again once the change commits: charts built in between, from the rows as
    they were, are then left behind."""

    def bump():
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)

    bump()
    transaction.on_commit(bump)


def reader_scope(user):
    """Viewers, reviewers and editors read internal figures; everyone else public ones."""
    return Scope.INTERNAL if can_read_internal(user) else Scope.PUBLIC


def scope_incidents(scope):
    """Public figures count published public incidents; internal ones every published one."""
    if scope == Scope.PUBLIC:
        return Incident.objects.published()
    return Incident.objects.reviewed()


# Which of the incidents internal figures count public ones count too, as scope_incidents has it.
PUBLIC_AMONG_INTERNAL = {"visibility": Incident.Visibility.PUBLIC}


_COLUMNS = ["scope", "dimension", "dimension_id", "period", "series", "key", "count", "value"]


def _insert_counts(scope, series, dimension, incidents, dimension_ids=None):
    """PostgreSQL: INSERT ... SELECT the grouped counts without fetching them."""
    grouped = series.grouped(incidents, dimension, dimension_ids)
    sql, params = grouped.query.sql_with_params()
    return _insert(
        "SELECT %s, %s, g.summary_dimension, CAST(g.summary_period AS date), %s, "
        f"COALESCE(g.summary_key, ''), g.summary_count, NULL FROM ({sql}) g",
        [scope, dimension, series.name, *params],
    )


def _insert(select, params):
    """PostgreSQL: INSERT the rows `select` gives, its columns in _COLUMNS order; returns how
    many."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SummaryCount._meta.db_table} ({', '.join(_COLUMNS)}) {select}", params
        )
        return cursor.rowcount


def _insert_top_organisations(scope, series, dimension, incidents, dimension_ids=None):
    """PostgreSQL: the organisations with the most incidents per dimension, ranked by window
    functions in the database, as TopOrganisationSeries.rows ranks them in Python."""
    grouped = series.roles.grouped(incidents, dimension, dimension_ids)
    sql, params = grouped.query.sql_with_params()
    organisation = "split_part(g.summary_key, ':', 1)"
    return _insert(
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


def _insert_counts_of_both_scopes(series, dimension):
    """PostgreSQL: one grouping of the internal incidents writes the rows of both scopes, the
    public count of each group taken alongside (half the work of grouping each scope)."""
    grouped = series.grouped(
        scope_incidents(Scope.INTERNAL), dimension, counted_apart=PUBLIC_AMONG_INTERNAL
    )
    sql, params = grouped.query.sql_with_params()
    return _insert(
        "SELECT s.scope, %s, g.summary_dimension, CAST(g.summary_period AS date), %s, "
        "COALESCE(g.summary_key, ''), s.count, NULL "
        f"FROM ({sql}) g CROSS JOIN LATERAL (VALUES (%s, g.summary_count_apart), "
        "(%s, g.summary_count)) s(scope, count) WHERE s.count > 0",
        [dimension, series.name, *params, Scope.PUBLIC, Scope.INTERNAL],
    )


def _create_rows(scope, series, dimension, incidents, dimension_ids=None):
    rows = series.rows(incidents, dimension)
    if dimension_ids is not None:
        rows = [row for row in rows if row[0] in dimension_ids]
    return _create(scope, series, dimension, rows)


def _create(scope, series, dimension, rows):
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
    for series in SERIES:
        for dimension in series.dimensions:
            if connection.vendor == "postgresql" and isinstance(series, Series):
                written += _insert_counts_of_both_scopes(series, dimension)
            else:
                for scope in Scope.values:
                    written += _write(scope, series, dimension, scope_incidents(scope))
            if progress:
                progress(f"{series.name} by {dimension}: {written} rows")
    _contributions_remember_all()
    _summaries_changed()
    log.info("Rebuilt %d summary rows in %.1f s", written, time.monotonic() - started)
    return written


def _as_date(value):
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


class SummaryChange:
    """Taken before some incidents change, so that afterwards `incident_ids()` names every
    incident whose figures may have moved: those watched and those named then, and, when a
    party's kind changed meanwhile (it joined or left the ranked organisations), every
    incident involving it."""

    def __init__(self, incident_ids=()):
        self.watched = set(incident_ids)
        self.ranked = self._ranked_organisations()

    @staticmethod
    def _ranked_organisations():
        kind = Organisation.Kind.ORGANISATION
        return set(Organisation.objects.filter(kind=kind).values_list("pk", flat=True))

    def watch(self, incident_ids):
        """Add incidents about to change."""
        self.watched |= set(incident_ids)

    def incident_ids(self, incident_ids=()):
        changed = set(incident_ids) | self.watched
        moved = self._ranked_organisations() ^ self.ranked
        if moved:
            involving = IncidentOrganisation.objects.filter(organisation_id__in=moved)
            changed |= set(involving.values_list("incident_id", flat=True))
        return changed


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


def _months_of(periods, granularity):
    if granularity == QUARTER:
        return {shift_months(quarter, n) for quarter in periods for n in range(3)}
    return periods


# Incidents whose contributions are computed together: a handful of queries per batch.
_BATCH = 1000
ADDITIVE = [series for series in SERIES if series.additive]
RECOUNTED = [series for series in SERIES if not series.additive]


def _batches(ids, size=_BATCH):
    ids = sorted(ids)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def contributions(incident_ids):
    """{incident id: unsaved SummaryContribution} for these incidents as they stand now;
    those counted in no scope (drafts, retracted, deleted) have none."""
    found = {}
    for batch in _batches(incident_ids):
        found.update(_contributions_of(Q(pk__in=batch)))
    return found


def _contributions_of(among):
    """Contributions of the counted incidents matching `among` (a condition on incidents),
    in a handful of queries."""
    scopes = defaultdict(list)
    for scope in Scope.values:
        for pk in scope_incidents(scope).filter(among).values_list("pk", flat=True):
            scopes[pk].append(scope)
    if not scopes:
        return {}
    counted = scope_incidents(Scope.INTERNAL).filter(among)
    made = {
        pk: SummaryContribution(
            incident_id=pk, scopes=scopes[pk], organisation_ids=[], ranked_roles=[], tag_ids=[]
        )
        for pk in scopes
    }
    for pk, month in counted.annotate(month=TruncMonth("occurred_at")).values_list("pk", "month"):
        made[pk].month = _as_date(month)
    roles = IncidentOrganisation.objects.filter(incident__in=counted)
    for pk, organisation_id, role, kind in roles.values_list(
        "incident_id", "organisation_id", "role", "organisation__kind"
    ):
        made[pk].organisation_ids.append(organisation_id)
        if kind == Organisation.Kind.ORGANISATION:
            made[pk].ranked_roles.append(f"{organisation_id}:{role}")
    links = Incident.tags.through.objects.filter(incident__in=counted)
    for pk, tag_id in links.values_list("incident_id", "tag_id"):
        made[pk].tag_ids.append(tag_id)
    for series in ADDITIVE:
        for pk, period, key, count, value in series.rows(counted, PER_INCIDENT):
            period = _as_date(period)
            made[pk].rows.append(
                [series.name, period.isoformat() if period else None, key[:220], count, value]
            )
    for contribution in made.values():
        _normalise(contribution)
    return made


def _normalise(contribution):
    """Sorted, so that two contributions compare equal when they count the same."""
    contribution.organisation_ids = sorted(set(contribution.organisation_ids))
    contribution.ranked_roles = sorted(set(contribution.ranked_roles))
    contribution.tag_ids = sorted(set(contribution.tag_ids))
    contribution.rows = sorted(contribution.rows, key=lambda row: [str(part) for part in row])
    if isinstance(contribution.month, str):
        contribution.month = date.fromisoformat(contribution.month)


def _same(before, after):
    if before is None or after is None:
        return before is after
    fields = ["scopes", "organisation_ids", "ranked_roles", "tag_ids", "month", "rows"]
    return all(getattr(before, name) == getattr(after, name) for name in fields)


def _memberships(contribution):
    """What rankings and reaches depend on: where an incident is counted and who took part."""
    if contribution is None:
        return None
    return (
        contribution.scopes,
        contribution.organisation_ids,
        contribution.ranked_roles,
        contribution.tag_ids,
    )


def _summary_rows(contribution):
    """(row, count, value) for each summary row this contribution counts in, the row named
    by (scope, dimension, dimension id, period, series, key)."""
    dimension_ids = {
        Dimension.ALL: [0],
        Dimension.ORGANISATION: contribution.organisation_ids,
        Dimension.TAG: contribution.tag_ids,
    }
    for scope in contribution.scopes:
        for name, period, key, count, value in contribution.rows:
            series = SERIES_BY_NAME.get(name)  # None: a series since removed
            for dimension in series.dimensions if series else ():
                for dimension_id in dimension_ids[dimension]:
                    yield (scope, dimension, dimension_id, period, name, key), count, value


def _deltas(before, after):
    """{row: (count, value)}: what moving from one contribution to the other adds to each
    row (negative where it takes away), rows left unchanged left out."""
    totals = defaultdict(lambda: [0, None])
    for contribution, sign in ((before, -1), (after, 1)):
        if contribution is None:
            continue
        for row, count, value in _summary_rows(contribution):
            total = totals[row]
            total[0] += sign * count
            if value is not None:
                total[1] = (total[1] or 0.0) + sign * value
    return {row: (count, value) for row, (count, value) in totals.items() if count or value}


def _columns(deltas):
    """The deltas as one list per column, for unnest() on PostgreSQL."""
    rows = (row + tuple(delta) for row, delta in deltas.items())
    return [list(column) for column in zip(*rows, strict=True)]


_UNNEST = (
    "unnest(%s::varchar[], %s::varchar[], %s::bigint[], %s::date[], %s::varchar[],"
    " %s::varchar[], %s::integer[], %s::float8[])"
    " AS d(scope, dimension, dimension_id, period, series, key, count, value)"
)
_SAME_ROW = (
    "t.scope = d.scope AND t.dimension = d.dimension AND t.dimension_id = d.dimension_id"
    " AND t.series = d.series AND t.key = d.key"
    " AND COALESCE(t.period, %s) = COALESCE(d.period, %s)"
)
_ADDED_VALUE = "CASE WHEN {d}.value IS NULL THEN t.value ELSE COALESCE(t.value, 0) + {d}.value END"


def _apply_sql(deltas):
    """PostgreSQL: rows that gain are upserted in one statement, rows that lose updated in
    another (a negative count may not be inserted, even when it would conflict), and the
    rows left at zero deleted, as a rebuild would not write them."""
    table = SummaryCount._meta.db_table
    gains = {row: delta for row, delta in deltas.items() if delta[0] >= 0}
    losses = {row: delta for row, delta in deltas.items() if delta[0] < 0}
    undated = [UNDATED_PERIOD, UNDATED_PERIOD]
    with connection.cursor() as cursor:
        if gains:
            cursor.execute(
                f"INSERT INTO {table} AS t ({', '.join(_COLUMNS)}) "
                f"SELECT * FROM {_UNNEST} "
                "ON CONFLICT (scope, dimension, series, dimension_id, key,"
                f" COALESCE(period, '{UNDATED_PERIOD.isoformat()}'::date)) DO UPDATE SET"
                " count = t.count + EXCLUDED.count,"
                f" value = {_ADDED_VALUE.format(d='EXCLUDED')}",
                _columns(gains),
            )
        if losses:
            columns = _columns(losses)
            cursor.execute(
                f"UPDATE {table} AS t SET count = GREATEST(t.count + d.count, 0),"
                f" value = {_ADDED_VALUE.format(d='d')} "
                f"FROM {_UNNEST} WHERE {_SAME_ROW}",
                [*columns, *undated],
            )
            cursor.execute(
                f"DELETE FROM {table} AS t USING {_UNNEST} WHERE {_SAME_ROW} AND t.count = 0",
                [*columns, *undated],
            )


def _apply_orm(deltas):
    for (scope, dimension, dimension_id, period, series, key), (count, value) in deltas.items():
        row, _ = SummaryCount.objects.get_or_create(
            scope=scope,
            dimension=dimension,
            dimension_id=dimension_id,
            period=date.fromisoformat(period) if period else None,
            series=series,
            key=key,
        )
        row.count = max(row.count + count, 0)
        if value is not None:
            row.value = (row.value or 0.0) + value
        if row.count:
            row.save()
        else:
            row.delete()


@dataclass
class _Touched:
    """The dimension rows and months the figures that are not sums are computed again for."""

    organisation_ids: set = field(default_factory=set)
    tag_ids: set = field(default_factory=set)
    months: set = field(default_factory=set)

    def add(self, contribution):
        self.organisation_ids.update(contribution.organisation_ids)
        self.tag_ids.update(contribution.tag_ids)
        self.months.add(contribution.month)

    def dimension_ids(self, dimension):
        return {
            Dimension.ALL: {0} if self.months else set(),  # nothing added: no row at all
            Dimension.ORGANISATION: self.organisation_ids,
            Dimension.TAG: self.tag_ids,
        }[dimension]


def _involved(incidents, dimension, ids):
    if dimension == Dimension.ORGANISATION:
        memberships = IncidentOrganisation.objects.filter(organisation_id__in=ids)
    elif dimension == Dimension.TAG:
        memberships = Incident.tags.through.objects.filter(tag_id__in=ids)
    else:
        return incidents
    return incidents.filter(pk__in=memberships.values("incident_id"))


def _recount(touched, moved):
    """Compute again the rows of medians, rankings and reaches the changed incidents sit in:
    medians of their dimensions in the quarters they occurred in (`touched`); the
    organisation rankings of their dimensions and the reach of their factors when they moved
    between scopes, organisations, roles or tags (`moved`), as a new severity or date leaves
    those as they were."""
    quarters = {quarter_start(month) for month in touched.months if month}
    written = 0
    for scope in Scope.values:
        incidents = scope_incidents(scope)
        rows = SummaryCount.objects.filter(scope=scope)
        for series in RECOUNTED:
            mine = rows.filter(series=series.name)
            if isinstance(series, FactorReachSeries):
                tag_ids = moved.tag_ids
                if tag_ids:
                    mine.filter(
                        dimension=Dimension.ALL, key__in=[str(pk) for pk in tag_ids]
                    ).delete()
                    found = series.rows(incidents, Dimension.ALL, tag_ids)
                    written += _create(scope, series, Dimension.ALL, found)
                continue
            for dimension in series.dimensions:
                ids = (moved if series.granularity == UNDATED else touched).dimension_ids(dimension)
                if not ids:
                    continue
                involved = _involved(incidents, dimension, ids)
                of_dimension = mine.filter(dimension=dimension, dimension_id__in=ids)
                if series.granularity == QUARTER:
                    if not quarters:
                        continue
                    of_dimension.filter(period__in=quarters).delete()
                    dated = involved.filter(_in_months(_months_of(quarters, QUARTER)))
                    found = [
                        row
                        for row in series.rows(dated, dimension)
                        if row[0] in ids and row[1] in quarters
                    ]
                    written += _create(scope, series, dimension, found)
                else:
                    of_dimension.delete()
                    written += _write(scope, series, dimension, involved, ids)
    return written


@transaction.atomic
def summaries_apply(incident_ids):
    """Bring the summaries up to date with these incidents (changed, created, deleted): take
    back what each added when last counted, add what it adds now, and compute again the
    figures that are not sums where they sit. Returns how many rows changed."""
    incident_ids = set(incident_ids)
    if not incident_ids:
        return 0
    started = time.monotonic()
    _lock()
    if SummaryCount.objects.exists() and not SummaryContribution.objects.exists():
        # Counted by a rebuild from before contributions were remembered.
        return summaries_rebuild()
    deltas = defaultdict(lambda: [0, None])
    touched, moved = _Touched(), _Touched()
    changed = set()
    for batch in _batches(incident_ids):
        before = SummaryContribution.objects.in_bulk(batch)
        for contribution in before.values():
            _normalise(contribution)
        after = contributions(batch)
        for pk in batch:
            if _same(before.get(pk), after.get(pk)):
                continue
            changed.add(pk)
            for contribution in filter(None, (before.get(pk), after.get(pk))):
                touched.add(contribution)
                if _memberships(before.get(pk)) != _memberships(after.get(pk)):
                    moved.add(contribution)
            for row, (count, value) in _deltas(before.get(pk), after.get(pk)).items():
                total = deltas[row]
                total[0] += count
                if value is not None:
                    total[1] = (total[1] or 0.0) + value
        SummaryContribution.objects.filter(pk__in=changed.intersection(batch)).delete()
        SummaryContribution.objects.bulk_create(
            contribution for pk, contribution in after.items() if pk in changed
        )
    deltas = {row: tuple(delta) for row, delta in deltas.items() if delta[0] or delta[1]}
    if connection.vendor == "postgresql":
        _apply_sql(deltas)
    else:
        _apply_orm(deltas)
    recounted = _recount(touched, moved) if changed else 0
    if changed:
        _summaries_changed()
    log.info(
        "Applied %d incidents' changes to %d summary rows (%d computed again) in %.2f s",
        len(changed),
        len(deltas),
        recounted,
        time.monotonic() - started,
    )
    return len(deltas) + recounted


def _contributions_remember_all():
    """Remember what every counted incident adds, as a rebuild just counted it (internal
    figures count every incident public ones do)."""
    SummaryContribution.objects.all().delete()
    counted = scope_incidents(Scope.INTERNAL).order_by("pk").values_list("pk", flat=True)
    for chunk in _batches(list(counted), size=_REMEMBER_CHUNK):
        # Every counted incident of the chunk lies in its range: no list of ids to send.
        made = _contributions_of(Q(pk__gte=chunk[0], pk__lte=chunk[-1]))
        _contributions_save(made.values())


# Incidents whose contributions a rebuild computes and writes together.
_REMEMBER_CHUNK = 10_000
_CONTRIBUTION_COLUMNS = [
    "incident_id",
    "scopes",
    "organisation_ids",
    "ranked_roles",
    "tag_ids",
    "month",
    "rows",
]


def _contributions_save(made):
    """Insert new contributions: by COPY on PostgreSQL, many times faster than bulk_create."""
    if connection.vendor != "postgresql":
        SummaryContribution.objects.bulk_create(made, batch_size=1000)
        return
    table = SummaryContribution._meta.db_table
    with connection.cursor() as cursor:
        copy = f"COPY {table} ({', '.join(_CONTRIBUTION_COLUMNS)}) FROM STDIN"
        with cursor.cursor.copy(copy) as writer:
            for c in made:
                writer.write_row(
                    (
                        c.incident_id,
                        json.dumps(c.scopes),
                        json.dumps(c.organisation_ids),
                        json.dumps(c.ranked_roles),
                        json.dumps(c.tag_ids),
                        c.month,
                        json.dumps(c.rows),
                    )
                )


@dataclass
class CheckReport:
    """How the maintained summary rows compared with a full rebuild: rows that were missing
    or wrong (`missing`, as the rebuild wrote them) and rows that should not have been there
    or were wrong (`extra`, as they were kept), with a few of each to show."""

    rows: int
    missing: int
    extra: int
    examples: list

    @property
    def equal(self):
        return not self.missing and not self.extra


# Sums kept by deltas may differ from a fresh sum in the last bits of a float.
_COMPARED = (
    "scope, dimension, dimension_id, period, series, key, count,"
    " ROUND(CAST(value AS NUMERIC), 4) AS value"
)


@transaction.atomic
def summaries_check(progress=None):
    """Rebuild the summaries and compare them with the rows kept up to date by deltas,
    which the rebuild replaces (so any difference is repaired as it is reported)."""
    _lock()
    table = SummaryCount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS summary_maintained")
        cursor.execute(f"CREATE TEMP TABLE summary_maintained AS SELECT {_COMPARED} FROM {table}")
        rows = summaries_rebuild(progress)
        counts = {}
        examples = []
        for name, first, second in (
            ("missing", table, "summary_maintained"),
            ("extra", "summary_maintained", table),
        ):
            differing = f"SELECT {_COMPARED} FROM {first} EXCEPT SELECT {_COMPARED} FROM {second}"
            cursor.execute(f"SELECT COUNT(*) FROM ({differing}) differing")
            counts[name] = cursor.fetchone()[0]
            cursor.execute(f"{differing} ORDER BY 1, 2, 3, 4, 5, 6 LIMIT 5")
            examples += [(name, *row) for row in cursor.fetchall()]
        cursor.execute("DROP TABLE summary_maintained")
    report = CheckReport(rows, counts["missing"], counts["extra"], examples)
    if not report.equal:
        log.warning("Summary rows differed from a rebuild (repaired): %s", report)
    return report
