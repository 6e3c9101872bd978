"""Facet counts of the incident list kept up to date by the write path, for the unfiltered list
and every single-filter list (one value of one facet, an organisation, a status), so the list
never counts its matches in these cases.

Every incident is counted under its facet keys (`severity:<id>`, `tag:<id>`, `dataset:aiid`,
...): for each scope it belongs to, each key it has as a filter (and "" for no filter) counts
one for each key it has as a facet (and `total`). Its keys are kept (`IncidentFacetKeys`), so
a change is counted as the difference between the keys it had and those it has now.

A write only records which incidents changed (`FacetCountPending`, in its own transaction,
from signals on the incident and the rows it links to, and by the bulk writes that send none);
the next reader of the counts counts the difference first, so the counts are right at once and
a write costs one small INSERT. `facet_counts_rebuild` computes everything from scratch;
`facet_counts_check` compares with the exact counts.
"""

from collections import Counter

from django.db import connection, transaction

from incidents.models import (
    FacetCount,
    FacetCountPending,
    Incident,
    IncidentFacetKeys,
    IncidentOrganisation,
    PolicyChangeIncident,
    Provenance,
)

Scope = FacetCount.Scope
PUBLIC_MARK = "scope:public"
TOTAL = "total"
# Keys that narrow the list but are not counted as facets of it.
FILTER_ONLY = ("organisation:", "status:")
BATCH = 1000


def _in(column, ids):
    if ids is None:
        return "", []
    return f" WHERE {column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _keys_sql(ids=None):
    """(incident id, key) rows of these incidents (every incident when None), plus
    `scope:public` for those the public list shows."""
    incidents = Incident._meta.db_table
    tags = Incident.tags.through._meta.db_table
    where, params = _in("id", ids)
    parts, all_params = [], []

    def part(sql, where, params):
        parts.append(sql + where)
        all_params.extend(params)

    for column in ("severity_id", "perpetrator_id"):
        name = column.removesuffix("_id")
        null = f"{column} IS NOT NULL"
        condition = f"{where} AND {null}" if where else f" WHERE {null}"
        part(f"SELECT id, '{name}:' || {column} FROM {incidents}", condition, params)
    for column in ("autonomy", "kind", "status"):
        part(f"SELECT id, '{column}:' || {column} FROM {incidents}", where, params)
    public = (
        f"visibility = '{Incident.Visibility.PUBLIC}' AND status = '{Incident.Status.PUBLISHED}'"
    )
    part(
        f"SELECT id, '{PUBLIC_MARK}' FROM {incidents}",
        f"{where} AND {public}" if where else f" WHERE {public}",
        params,
    )
    policies = PolicyChangeIncident._meta.db_table
    part(
        f"SELECT id, CASE WHEN EXISTS (SELECT 1 FROM {policies} p WHERE p.incident_id = "
        f"{incidents}.id) THEN 'has_policy:yes' ELSE 'has_policy:no' END FROM {incidents}",
        where,
        params,
    )
    linked_where, linked_params = _in("incident_id", ids)
    for table, expression in (
        (tags, "'tag:' || tag_id"),
        (IncidentOrganisation._meta.db_table, "'organisation:' || organisation_id"),
        (Provenance._meta.db_table, "'dataset:' || dataset"),
    ):
        part(f"SELECT DISTINCT incident_id, {expression} FROM {table}", linked_where, linked_params)
    return " UNION ALL ".join(parts), all_params


def incident_keys(ids):
    """{incident id: (shown publicly, set of keys)} for the incidents among `ids` that exist."""
    sql, params = _keys_sql(ids)
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for incident_id, key in cursor.fetchall():
            found.setdefault(incident_id, set()).add(key)
    return {pk: (PUBLIC_MARK in keys, keys - {PUBLIC_MARK}) for pk, keys in found.items()}


def contributions(public, keys):
    """The (scope, filter key, facet key) counts one incident adds."""
    facets = [TOTAL, *(key for key in keys if not key.startswith(FILTER_ONLY))]
    scopes = [Scope.INTERNAL, Scope.PUBLIC] if public else [Scope.INTERNAL]
    for scope in scopes:
        filters = ["", *(key for key in keys if scope == Scope.INTERNAL or key[:7] != "status:")]
        for filter_key in filters:
            for facet_key in facets:
                yield scope, filter_key, facet_key


class _CountOnCommit:
    """Queued on commit by the first change recorded in a transaction (or savepoint): counts
    the changes once it commits, and remembers which incidents it recorded, so that a save
    touching many rows of one incident writes one record. Django drops it, as the database
    drops the records, when its savepoint rolls back: those still queued recorded for good."""

    def __init__(self):
        self.recorded = set()

    def __call__(self):
        count_pending()


def changed(incident_ids):
    """Record that these incidents' facet keys may have changed (one INSERT)."""
    incident_ids = {pk for pk in incident_ids if pk is not None}
    here = None
    if connection.in_atomic_block:
        savepoints = set(connection.savepoint_ids)
        for queued_in, callback, _ in connection.run_on_commit:
            if isinstance(callback, _CountOnCommit):
                incident_ids -= callback.recorded
                here = callback if queued_in == savepoints else here
        if here is None and incident_ids:
            here = _CountOnCommit()
            transaction.on_commit(here, robust=True)
    if not incident_ids:
        return
    FacetCountPending.objects.bulk_create(
        [FacetCountPending(incident_id=pk) for pk in incident_ids], ignore_conflicts=True
    )
    if here is not None:
        here.recorded |= incident_ids


def is_built():
    # Every scope has its total row once built; naming the scope makes this one index probe,
    # where the key alone scanned the table (280 ms at a million incidents).
    return FacetCount.objects.filter(scope=Scope.INTERNAL, filter_key="", facet_key=TOTAL).exists()


def _forget_recorded():
    """The records are counted (deleted): a later change in this transaction records again."""
    for _, callback, _ in connection.run_on_commit:
        if isinstance(callback, _CountOnCommit):
            callback.recorded.clear()


def _claim_pending():
    """Take (and delete) a batch of recorded changes. Deleting first means a change committed
    meanwhile either is seen by this count or stays recorded for the next."""
    table = FacetCountPending._meta.db_table
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE incident_id IN "
            f"(SELECT incident_id FROM {table} LIMIT {BATCH}{lock}) RETURNING incident_id"
        )
        return [row[0] for row in cursor.fetchall()]


def count_pending():
    """Count the difference of every recorded change. Returns how many incidents it counted."""
    counted = 0
    if not FacetCountPending.objects.exists():
        return 0
    with transaction.atomic():
        if not is_built():
            return 0  # `facet_counts_rebuild` counts everything, these included
        _forget_recorded()
        claimed = BATCH
        while claimed == BATCH and (ids := _claim_pending()):
            counted, claimed = counted + len(ids), len(ids)
            kept = IncidentFacetKeys.objects.select_for_update().filter(incident_id__in=ids)
            before = {
                pk: (public, set(keys.split()))
                for pk, public, keys in kept.values_list("incident_id", "public", "keys")
            }
            after = incident_keys(ids)
            delta = Counter()
            for pk in ids:
                if before.get(pk) == after.get(pk):
                    continue
                if pk in before:
                    delta.subtract(contributions(*before[pk]))
                if pk in after:
                    delta.update(contributions(*after[pk]))
            _add(delta)
            IncidentFacetKeys.objects.filter(incident_id__in=ids).delete()
            IncidentFacetKeys.objects.bulk_create(
                IncidentFacetKeys(incident_id=pk, public=public, keys=" ".join(sorted(keys)))
                for pk, (public, keys) in after.items()
            )
    return counted


def _add(delta):
    """Add counts in place (INSERT ... ON CONFLICT DO UPDATE, which PostgreSQL and SQLite both
    speak), in key order so that two writers never wait on each other in a circle."""
    rows = sorted((key, n) for key, n in delta.items() if n)
    table = FacetCount._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            cursor.execute(
                f"INSERT INTO {table} AS t (scope, filter_key, facet_key, count) VALUES "
                + ", ".join(["(%s, %s, %s, %s)"] * len(batch))
                + " ON CONFLICT (scope, filter_key, facet_key) "
                "DO UPDATE SET count = t.count + excluded.count",
                [value for (scope, f, k), n in batch for value in (scope, f, k, n)],
            )


@transaction.atomic
def rebuild():
    """Count every incident from scratch. Returns how many count rows were written."""
    keys, params = _keys_sql()
    counts, kept, pending = (
        model._meta.db_table for model in (FacetCount, IncidentFacetKeys, FacetCountPending)
    )
    incidents = Incident._meta.db_table
    facet = f"c.facet_key <> '' AND c.facet_key <> '{PUBLIC_MARK}' " + " ".join(
        f"AND c.facet_key NOT LIKE '{prefix}%%'" for prefix in FILTER_ONLY
    )
    with connection.cursor() as cursor:
        for table in (counts, kept, pending):
            cursor.execute(f"DELETE FROM {table}")
        cursor.execute("DROP TABLE IF EXISTS facet_keys")
        cursor.execute(
            "CREATE TEMPORARY TABLE facet_keys (incident_id bigint, facet_key varchar(80))"
        )
        cursor.execute(
            f"INSERT INTO facet_keys {keys} UNION ALL SELECT id, '' FROM {incidents} "
            f"UNION ALL SELECT id, '{TOTAL}' FROM {incidents}",
            params,
        )
        cursor.execute("CREATE INDEX facet_keys_incident ON facet_keys (incident_id)")
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE facet_keys")
        # One pass over the pairs of keys counts both scopes: the public count, of the
        # incidents marked public and of no status key, is taken alongside.
        public = "p.incident_id IS NOT NULL AND f.facet_key NOT LIKE 'status:%%'"
        cursor.execute(
            f"WITH pairs AS (SELECT f.facet_key AS filter_key, c.facet_key AS facet_key, "
            f"COUNT(*) AS internal, SUM(CASE WHEN {public} THEN 1 ELSE 0 END) AS public "
            "FROM facet_keys f JOIN facet_keys c ON c.incident_id = f.incident_id "
            "LEFT JOIN facet_keys p "
            f"ON p.incident_id = f.incident_id AND p.facet_key = '{PUBLIC_MARK}' "
            f"WHERE f.facet_key <> '{TOTAL}' AND f.facet_key <> '{PUBLIC_MARK}' AND {facet} "
            "GROUP BY f.facet_key, c.facet_key) "
            f"INSERT INTO {counts} (scope, filter_key, facet_key, count) "
            f"SELECT '{Scope.INTERNAL}', filter_key, facet_key, internal FROM pairs "
            f"UNION ALL SELECT '{Scope.PUBLIC}', filter_key, facet_key, public FROM pairs "
            "WHERE public > 0"
        )
        written = cursor.rowcount
        # An empty scope still says that its counts are kept.
        for scope in Scope.values:
            cursor.execute(
                f"INSERT INTO {counts} (scope, filter_key, facet_key, count) "
                f"SELECT %s, '', '{TOTAL}', 0 WHERE NOT EXISTS (SELECT 1 FROM {counts} "
                f"WHERE scope = %s AND filter_key = '' AND facet_key = '{TOTAL}')",
                [scope, scope],
            )
        real_key = f"CASE WHEN facet_key <> '{PUBLIC_MARK}' THEN facet_key END"
        joined = (
            f"string_agg({real_key}, ' ')"
            if connection.vendor == "postgresql"
            else f"group_concat({real_key}, ' ')"
        )
        cursor.execute(
            f"INSERT INTO {kept} (incident_id, public, keys) SELECT incident_id, "
            f"MAX(CASE WHEN facet_key = '{PUBLIC_MARK}' THEN 1 ELSE 0 END) = 1, "
            f"COALESCE({joined}, '') FROM facet_keys WHERE facet_key NOT IN ('', '{TOTAL}') "
            "GROUP BY incident_id"
        )
        cursor.execute("DROP TABLE facet_keys")
    return written


def maintained(scope, filter_key):
    """{facet key: count} of one scope and filter, or None when the counts are not kept."""
    count_pending()
    in_scope = FacetCount.objects.filter(scope=scope).values_list(
        "filter_key", "facet_key", "count"
    )
    # A UNION, not an OR, so that each half is one index range.
    rows = in_scope.filter(filter_key=filter_key).union(
        in_scope.filter(filter_key="", facet_key=TOTAL), all=True
    )
    found, built = {}, False
    for row_filter, facet_key, count in rows:
        built = built or (row_filter == "" and facet_key == TOTAL)
        if row_filter == filter_key and count:
            found[facet_key] = count
    return found if built else None


def holders(facet, ids):
    """{id: incidents holding it} of these values of a facet ("tag", "organisation"), every
    incident counted whatever its status, or None when the counts are not kept."""
    if not is_built():
        return None
    count_pending()
    keys = {f"{facet}:{pk}": pk for pk in ids}
    rows = FacetCount.objects.filter(
        scope=Scope.INTERNAL, filter_key__in=list(keys), facet_key=TOTAL
    ).values_list("filter_key", "count")
    return dict.fromkeys(ids, 0) | {keys[key]: count for key, count in rows}


def published_total():
    """How many incidents the public list shows, from the kept counts (a COUNT of a million
    rows otherwise), or None when they are not kept."""
    kept = maintained(Scope.PUBLIC, "")
    return None if kept is None else kept.get(TOTAL, 0)


def differences():
    """(scope, filter key, facet key, kept, exact) wherever the kept counts are wrong."""
    kept = Counter()
    for scope, filter_key, facet_key, count in FacetCount.objects.values_list(
        "scope", "filter_key", "facet_key", "count"
    ).iterator():
        if count:
            kept[scope, filter_key, facet_key] = count
    right = Counter()
    ids = list(Incident.objects.values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        for public, keys in incident_keys(ids[start : start + BATCH]).values():
            right.update(contributions(public, keys))
    return sorted(
        (*key, kept[key], right[key]) for key in set(kept) | set(right) if kept[key] != right[key]
    )
