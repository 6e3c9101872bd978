"""The summary tables behind the dashboards: rebuilt whole by a Celery task after saves and
imports (queued by `incidents.queueing`, and by Celery beat), so a dashboard request reads a few
hundred summary rows instead of aggregating every incident."""

import logging
import time

from django.db import connection, transaction

from incidents.dashboards.series import SERIES, Series, TopOrganisationSeries
from incidents.models import Incident, SummaryCount
from incidents.permissions import can_read_internal

log = logging.getLogger(__name__)

# Set while a rebuild is queued, so a burst of saves queues one (see incidents.queueing).
REBUILD_QUEUED_KEY = "dashboard-summaries-queued"
Scope = SummaryCount.Scope


def reader_scope(user):
    """Viewers, reviewers and editors read internal figures; everyone else public ones."""
    return Scope.INTERNAL if can_read_internal(user) else Scope.PUBLIC


def scope_incidents(scope):
    """Public figures count published public incidents; internal ones every published one."""
    if scope == Scope.PUBLIC:
        return Incident.objects.published()
    return Incident.objects.reviewed()


_COLUMNS = ["scope", "dimension", "dimension_id", "period", "series", "key", "count", "value"]


def _insert_counts(scope, series, dimension, incidents):
    """PostgreSQL: INSERT ... SELECT the grouped counts without fetching them."""
    grouped = series.grouped(incidents, dimension)
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


def _insert_top_organisations(scope, series, dimension, incidents):
    """PostgreSQL: the organisations with the most incidents per dimension, ranked by window
    functions in the database, as TopOrganisationSeries.rows ranks them in Python."""
    sql, params = series.roles.grouped(incidents, dimension).query.sql_with_params()
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


def _create_rows(scope, series, dimension, incidents):
    rows = series.rows(incidents, dimension)
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


@transaction.atomic
def summaries_rebuild(progress=None):
    """Replace every summary row. Returns how many were written."""
    started = time.monotonic()
    SummaryCount.objects.all().delete()
    written = 0
    fast = connection.vendor == "postgresql"
    for scope in Scope.values:
        incidents = scope_incidents(scope)
        for series in SERIES:
            for dimension in series.dimensions:
                if fast and isinstance(series, Series):
                    written += _insert_counts(scope, series, dimension, incidents)
                elif fast and isinstance(series, TopOrganisationSeries):
                    written += _insert_top_organisations(scope, series, dimension, incidents)
                else:
                    written += _create_rows(scope, series, dimension, incidents)
                if progress:
                    progress(f"{scope} {series.name} by {dimension}: {written} rows")
    log.info("Rebuilt %d summary rows in %.1f s", written, time.monotonic() - started)
    return written
