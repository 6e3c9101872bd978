"""Server time of the dashboard with 100,000 incidents (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/dashboard.py

Builds the scratch database as speed.py does (see _scratch.py; BENCH_DATABASE names it,
BENCH_KEEP=1 keeps it, BENCH_REUSE=1 measures a kept one again, without rebuilding its
summaries unless BENCH_REBUILD=1), adds action items, times the summary rebuild and the
pattern recompute, then times N requests per dashboard view, and of /patterns/ and /controls/,
in process with Django's test Client (p50/p95 in milliseconds, queries per request), for an
internal reader and for the public. For reference it times the same figures aggregated directly
from the incidents (GROUP BY over every matching row, no summaries; BENCH_DIRECT=0 leaves it
out) without rendering. Each view is timed cold (the cache cleared before every request, as
right after a summary rebuild) and cached.
Target: dashboard p95 < 50 ms.
"""

import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

TOTAL = int(os.environ.get("BENCH_TOTAL", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
# BENCH_DIRECT=0 leaves out the reference aggregated straight from the incidents (minutes).
DIRECT = os.environ.get("BENCH_DIRECT", "1") != "0"


def main():
    _scratch.require_postgresql()
    shared = _scratch.require_shared_data()
    cleanup = _scratch.setup()
    try:
        import speed

        from incidents.models import ActionItem, Incident, SummaryCount

        if Incident.objects.count() < TOTAL:
            speed.build(shared)
        if not ActionItem.objects.exists():
            add_action_items()
        reuse = os.environ.get("BENCH_REUSE") and not os.environ.get("BENCH_REBUILD")
        if not (reuse and SummaryCount.objects.exists()):
            rebuild()
        summary_table()
        save_followup()
        recompute_patterns()
        measure()
    finally:
        cleanup()


def add_action_items():
    """One open action item for every 20th incident, with owners and due dates spread out."""
    from incidents.models import ActionItem, Incident

    rng = random.Random(11)
    owners = [f"Team {n}" for n in range(30)] + [""]
    today = date.today()
    ActionItem.objects.bulk_create(
        [
            ActionItem(
                incident_id=pk,
                title=f"Follow-up {n}",
                owner=rng.choice(owners),
                due_on=today + timedelta(days=rng.randint(-200, 60)) if n % 7 else None,
            )
            for n, pk in enumerate(Incident.objects.values_list("pk", flat=True)[::20])
        ],
        batch_size=5000,
    )


def rebuild():
    from incidents.dashboards.summaries import summaries_rebuild
    from incidents.models import SummaryCount

    started = time.monotonic()
    summaries_rebuild()
    print(
        f"summary rebuild: {SummaryCount.objects.count()} rows "
        f"in {time.monotonic() - started:.1f} s",
        flush=True,
    )


def summary_table():
    """The summary table's rows and size, and the series and dimensions that hold most."""
    from django.db import connection
    from django.db.models import Count

    from incidents.models import SummaryContribution, SummaryCount

    with connection.cursor() as cursor:
        sizes = []
        for model in (SummaryCount, SummaryContribution):
            cursor.execute("SELECT pg_total_relation_size(%s)", [model._meta.db_table])
            sizes.append(f"{model.__name__} {cursor.fetchone()[0] / 2**20:.0f} MB")
    print(f"summary tables: {', '.join(sizes)}", flush=True)
    largest = (
        SummaryCount.objects.values("dimension", "series")
        .annotate(n=Count("id"))
        .order_by("-n")[:8]
    )
    print(
        "largest: " + ", ".join(f"{r['series']} by {r['dimension']} {r['n']}" for r in largest),
        flush=True,
    )


def save_followup():
    """The follow-up work of one save, as the worker does it: a busy incident (organisations,
    several tags) moved to another month and severity, its deltas applied. Python's peak
    memory during the work (tracemalloc) beside the time."""
    import tracemalloc

    from django.db.models import Count

    from incidents.dashboards.summaries import summaries_apply
    from incidents.models import Incident, Severity

    incident = (
        Incident.objects.published()
        .annotate(n=Count("tags", distinct=True))
        .filter(n__gte=3, organisation_roles__isnull=False, occurred_at__isnull=False)
        .order_by("-n", "pk")
        .first()
    )
    for severity in Severity.objects.exclude(pk=incident.severity_id)[:1]:
        incident.severity = severity
    incident.occurred_at -= timedelta(days=40)
    incident.save()
    tracemalloc.start()
    started = time.monotonic()
    changed = summaries_apply([incident.pk])
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"one save's summary deltas: {changed} rows in {elapsed * 1000:.0f} ms, "
        f"peak {peak / 2**20:.1f} MB",
        flush=True,
    )


def recompute_patterns():
    from incidents.models import PatternCluster
    from incidents.services.patterns import clusters_recompute

    started = time.monotonic()
    clusters_recompute()
    print(
        f"pattern recompute: {PatternCluster.objects.count()} clusters "
        f"in {time.monotonic() - started:.1f} s",
        flush=True,
    )


def measure():
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.cache import cache
    from django.db import connection
    from django.db.models import Count
    from django.test import Client, RequestFactory
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from incidents.dashboards import charts
    from incidents.dashboards.figures import DashboardQuery, DirectSource
    from incidents.models import IncidentOrganisation, Tag

    setup_test_environment()
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    viewer, _ = get_user_model().objects.get_or_create(username="bench-viewer")
    viewer.groups.add(Group.objects.get(name="viewer"))
    internal = Client()
    internal.force_login(viewer)
    public = Client()
    busy = list(
        IncidentOrganisation.objects.values("organisation__slug")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("organisation__slug", flat=True)[:20]
    )
    tags = list(
        Tag.objects.filter(facet__in=["contributing-factor", "failure-mode"])
        .annotate(n=Count("incidents"))
        .order_by("-n")[:10]
    )
    tag_values = [f"{tag.facet}:{tag.slug}" for tag in tags] or ["failure-mode:none"]
    views = {
        "dashboard": lambda i: "/dashboard/",
        "?organisation=": lambda i: f"/dashboard/?organisation={busy[i % len(busy)]}",
        "?tag=": lambda i: f"/dashboard/?tag={tag_values[i % len(tag_values)]}",
        "?occurred_after=&occurred_before=": lambda i: (
            f"/dashboard/?occurred_after={2015 + i % 8}-01-01&occurred_before=2024-12-31"
        ),
        "?organisation=&tag= (direct)": lambda i: (
            f"/dashboard/?organisation={busy[i % len(busy)]}&tag={tag_values[0]}"
        ),
        "/patterns/": lambda i: f"/patterns/?page={1 + i % 3}",
        "/controls/": lambda i: "/controls/",
    }
    rows = []
    for reader, client in (("internal", internal), ("public", public)):
        for name, url_for in views.items():
            for cold in (True, False):
                if not cold:
                    for i in range(REQUESTS + 3):
                        client.get(url_for(i))  # every URL of the row once, to fill the cache
                times, queries, statuses = [], [], set()
                for i in range(REQUESTS + 3):
                    if cold:
                        cache.clear()  # charts built afresh, as after a summary rebuild
                    connection.queries_log.clear()
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        response = client.get(url_for(i))
                        elapsed = 1000 * (time.perf_counter() - started)
                    statuses.add(response.status_code)
                    if i >= 3:
                        times.append(elapsed)
                        queries.append(len(captured))
                label = f"{reader} {name} ({'cold' if cold else 'cached'})"
                rows.append(_scratch.timing_row(label, times, queries, statuses))

    # The reference: the same figures aggregated straight from the incidents, not rendered.
    factory = RequestFactory()
    for name, url_for in list(views.items())[:4] if DIRECT else []:
        times, queries = [], []
        for i in range(min(REQUESTS, 10)):
            request = factory.get(url_for(i))
            request.user = viewer
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                query = DashboardQuery.from_request(request)
                charts.build(query, DirectSource(query))
                times.append(1000 * (time.perf_counter() - started))
            queries.append(len(captured))
        rows.append(_scratch.timing_row(f"direct GROUP BY {name}", times, queries, {"-"}))
    from incidents.models import Incident

    print()
    print(
        f"{Incident.objects.count()} incidents, PostgreSQL, {REQUESTS} requests per row "
        "(10 for the direct reference)"
    )
    print(_scratch.table(rows, ["view", "p50 ms", "p95 ms", "max ms", "queries", "status"]))


if __name__ == "__main__":
    main()
