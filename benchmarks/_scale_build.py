"""Build a benchmark base of BENCH_TOTAL incidents with bulk SQL (PostgreSQL only).

Imports the AI Incident Database (2026-02) and the AIAAIC sheet through the real importers
(so the originals keep their sources, related lists and search vectors), then copies them with
`INSERT ... SELECT` from the originals CROSS JOIN generate_series: a new number, slug and
title suffix, the occurrence date shifted back by up to ten years, everything else (search
vector included) copied. Tag and organisation links are copied by SQL too, each copy leaving
out one of its original's links and gaining one chosen from all of them, so facets do not
repeat the originals exactly. The secondary indexes are dropped while copying and built again
afterwards (faster than maintaining them row by row), then ANALYZE, the dashboard summaries
(summaries_rebuild, their unique index built afterwards), the list's facet counts and VACUUM
ANALYZE. Every step prints its time.
"""

import math
import time
from contextlib import contextmanager

# One copy in this many per statement: the progress lines come this often.
COPIES_PER_STATEMENT = 25
COPIED_TABLES = [
    "incidents_incident",
    "incidents_incident_tags",
    "incidents_incident_ai_systems",
    "incidents_incidentorganisation",
]


@contextmanager
def step(name, timings):
    started = time.monotonic()
    print(f"{name} ...", flush=True)
    yield
    elapsed = time.monotonic() - started
    timings.append((name, elapsed))
    print(f"{name}: {elapsed:.1f} s", flush=True)


def build(shared, total):
    """Fill the (migrated, empty) database up to `total` incidents; returns [(step, seconds)]."""
    import _scratch
    from django.db import connection, transaction

    from incidents.models import Incident

    timings = []
    started = time.monotonic()
    # A base holding only the originals (a run stopped while copying, rolled back) is reused.
    if not Incident.objects.exists():
        with step("import AIID 2026-02", timings):
            _scratch.import_dataset("aiid", shared / "aiid-snapshot-2026-02")
        with step("import AIAAIC 2025-12", timings):
            _scratch.import_dataset("aiaaic", shared / "aiaaic-2025-12")
    with connection.cursor() as cursor:
        # Bulk work for this session only: the server's settings stay as they are.
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET work_mem = '64MB'")
        cursor.execute("SET synchronous_commit = off")
        with step("ANALYZE the originals", timings):
            cursor.execute("ANALYZE")
        # One transaction: a failed copy leaves the originals and their indexes as they were.
        with transaction.atomic():
            _copy(cursor, total, timings)
        with step("ANALYZE", timings):
            cursor.execute("ANALYZE")
    _summaries(timings)
    _facet_counts(timings)
    with connection.cursor() as cursor, step("VACUUM ANALYZE", timings):
        cursor.execute("VACUUM ANALYZE")
    timings.append(("total", time.monotonic() - started))
    print(f"built in {timings[-1][1]:.0f} s", flush=True)
    return timings


def _copy(cursor, total, timings):
    from incidents.models import Incident

    cursor.execute(
        "CREATE TEMP TABLE scale_original AS "
        "SELECT id, row_number() OVER (ORDER BY id) AS rank FROM incidents_incident"
    )
    cursor.execute("SELECT count(*), max(number) FROM incidents_incident")
    originals, base = cursor.fetchone()
    wanted = total - originals
    if wanted <= 0:
        return
    copies = math.ceil(wanted / originals)
    print(f"{originals} originals, {copies} copies of them for {wanted} more", flush=True)

    indexes = _secondary_indexes(cursor)
    with step(f"drop {len(indexes)} secondary indexes", timings):
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')

    columns = [f.column for f in Incident._meta.concrete_fields if f.column != "id"]
    computed = {
        "number": f"{base} + (c.copy - 1) * {originals} + o.rank",
        "slug": "left(i.slug, 100) || '-v' || c.copy",
        "title": "left(i.title, 180) || ' (variant ' || c.copy || ')'",
        "occurred_at": "i.occurred_at - make_interval(days => "
        "1 + ((o.rank * 7919 + c.copy * 104729) %% 3650)::int)",
        # The copies' own dates would break the order checks against the shifted occurrence.
        "detected_at": "NULL",
        "mitigated_at": "NULL",
        "resolved_at": "NULL",
    }
    select = ", ".join(computed.get(column, f"i.{column}") for column in columns)
    # Copied rows reference rows that exist already: no foreign-key trigger needs to check them.
    cursor.execute("SET session_replication_role = replica")
    with step(f"copy incidents up to {total}", timings):
        for first in range(1, copies + 1, COPIES_PER_STATEMENT):
            last = min(copies, first + COPIES_PER_STATEMENT - 1)
            cursor.execute(
                f"INSERT INTO incidents_incident ({', '.join(columns)}) "
                f"SELECT {select} FROM incidents_incident i "
                "JOIN scale_original o ON o.id = i.id "
                "CROSS JOIN generate_series(%s, %s) AS c(copy) "
                f"WHERE (c.copy - 1) * {originals} + o.rank <= %s",
                [first, last, wanted],
            )
            print(f"  copies {first}-{last}: {base + min(last * originals, wanted)}", flush=True)
    with step("map copies to originals", timings):
        cursor.execute(
            "CREATE TEMP TABLE scale_copy AS SELECT i.id AS copy_id, o.id AS original_id, "
            f"(i.number - {base} - 1) / {originals} + 1 AS copy "
            "FROM incidents_incident i "
            f"JOIN scale_original o ON o.rank = (i.number - {base} - 1) % {originals} + 1 "
            f"WHERE i.number > {base}"
        )
        cursor.execute("ANALYZE scale_copy")
    with step("copy tag links", timings):
        _copy_links(cursor, "incidents_incident_tags", "tag_id")
    with step("copy organisation links", timings):
        _copy_links(cursor, "incidents_incidentorganisation", "organisation_id", role=True)
    with step("copy AI system links", timings):
        cursor.execute(
            "INSERT INTO incidents_incident_ai_systems (incident_id, aisystem_id) "
            "SELECT c.copy_id, l.aisystem_id FROM scale_copy c "
            "JOIN incidents_incident_ai_systems l ON l.incident_id = c.original_id"
        )
    cursor.execute("SET session_replication_role = DEFAULT")
    with step(f"build {len(indexes)} secondary indexes", timings):
        for _, definition in indexes:
            cursor.execute(definition)


def _copy_links(cursor, table, target, role=False):
    """Each copy keeps its original's links but one (a different one per copy) and gains one
    of the linked rows, picked by its number."""
    role_column = ", role" if role else ""
    role_value = ", l.role" if role else ""
    # Organisation links carry their incident's list and feed order, which a trigger fills
    # (migration 0036): triggers are off while copying, so it is copied here.
    carried, carried_from, carried_join = "", "", ""
    if role:
        carried = ", incident_listed, incident_published_at, incident_sort_date, incident_number"
        carried_from = (
            ", i.status = 'published' AND i.visibility = 'public', i.published_at,"
            " COALESCE(i.occurred_at, i.published_at, i.created_at), i.number"
        )
        carried_join = " JOIN incidents_incident i ON i.id = c.copy_id"
    cursor.execute(
        f"CREATE TEMP TABLE scale_links AS SELECT incident_id, {target}{role_column}, "
        f"row_number() OVER (PARTITION BY incident_id ORDER BY {target}) AS k, "
        "count(*) OVER (PARTITION BY incident_id) AS m "
        f"FROM {table}"
    )
    cursor.execute("ANALYZE scale_links")
    cursor.execute(
        f"INSERT INTO {table} (incident_id, {target}{role_column}{carried}) "
        f"SELECT c.copy_id, l.{target}{role_value}{carried_from} FROM scale_copy c "
        f"JOIN scale_links l ON l.incident_id = c.original_id{carried_join} "
        "WHERE l.k <> 1 + c.copy % l.m"
    )
    cursor.execute(f"SELECT array_agg(DISTINCT {target} ORDER BY {target}) FROM scale_links")
    (linked,) = cursor.fetchone()
    cursor.execute(
        f"INSERT INTO {table} (incident_id, {target}{role_column}{carried}) "
        f"SELECT c.copy_id, (%s::bigint[])[1 + (c.copy_id * 40503) %% %s]"
        f"{', %s' if role else ''}{carried_from} FROM scale_copy c{carried_join} "
        "ON CONFLICT DO NOTHING",
        [linked, len(linked), *(["deployer"] if role else [])],
    )
    cursor.execute("DROP TABLE scale_links")


def _secondary_indexes(cursor):
    """The indexes of the copied tables that back no constraint: (name, CREATE statement)."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = 'public' AND tablename = ANY(%s) AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conindid <> 0)",
        [COPIED_TABLES],
    )
    return cursor.fetchall()


def _facet_counts(timings):
    """The list's stored facet counts: saves keep them, a load by raw SQL does not."""
    from incidents import facet_counts

    with step("facet counts (facet_counts.rebuild)", timings):
        written = facet_counts.rebuild()
    print(f"  {written} facet counts", flush=True)


def _summaries(timings):
    """The dashboard summaries, written without their unique index, which is built afterwards
    (its key is wider than a row: each statement ran 40% faster without it)."""
    from django.db import connection, transaction

    from incidents.dashboards.summaries import summaries_rebuild
    from incidents.models import SummaryCount

    (unique,) = [c for c in SummaryCount._meta.constraints if c.name == "summary_row_unique"]
    with transaction.atomic():
        with connection.schema_editor() as editor:
            editor.remove_constraint(SummaryCount, unique)
        with step("dashboard summaries (summaries_rebuild)", timings):
            summaries_rebuild(progress=lambda line: print(f"  {line}", flush=True))
        index_built = step("dashboard summaries' unique index", timings)
        with index_built, connection.schema_editor() as editor:
            editor.add_constraint(SummaryCount, unique)
    print(f"  {SummaryCount.objects.count()} summary rows", flush=True)
