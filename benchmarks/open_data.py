"""Server time of the open-data surface with 100,000 incidents (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/open_data.py

Builds the same scratch database as speed.py (named `blast_radius_bench_open_data`, or
BENCH_DATABASE), then times N requests per address in process with Django's test Client:
p50/p95 in milliseconds and queries per request. Public pages are timed twice: "cold" empties
the cache before every request (what the first reader after a change waits), "cached" is every
later anonymous reader. API pages include a page deep in the cursor walk. BENCH_TOTAL,
BENCH_REQUESTS, BENCH_KEEP and BENCH_REUSE work as in speed.py.
"""

import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

_scratch.BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "blast_radius_bench_open_data")

import speed  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
DEEP_PAGES = 50


def main():
    _scratch.require_postgresql()
    shared = _scratch.require_shared_data()
    cleanup = _scratch.setup()
    try:
        from incidents.models import Incident

        if Incident.objects.count() < speed.TOTAL:
            speed.build(shared)
        measure()
    finally:
        cleanup()


def timed(client, url, clear_cache):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if clear_cache:
        cache.clear()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = 1000 * (time.perf_counter() - started)
    return elapsed, len(captured), response


def measure():
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment

    from incidents.models import Incident

    setup_test_environment()
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anonymous": None, "token": None},
    }
    client = Client()
    rng = random.Random(7)
    published = list(Incident.objects.published().values_list("number", "slug")[::97])
    tag = Incident.tags.through.objects.select_related("tag").order_by("?").first().tag

    deep = "/api/v1/incidents/"
    for _ in range(DEEP_PAGES):
        deep = client.get(deep).json()["next"]
    print(f"followed {DEEP_PAGES} cursor pages", flush=True)

    def detail(i):
        return "/incidents/{}/{}/".format(*rng.choice(published))

    def api_detail(i):
        return f"/api/v1/incidents/{rng.choice(published)[0]}/"

    pages = [
        ("page /incidents/<n>/<slug>/", detail, ("cold", "cached")),
        ("page /incidents/", lambda i: "/incidents/", ("cold", "cached")),
        ("page /", lambda i: "/", ("cold", "cached")),
        ("feed /feeds/incidents/rss/", lambda i: "/feeds/incidents/rss/", ("cold", "cached")),
        ("sitemap-incidents.xml (10,000 URLs)", lambda i: "/sitemap-incidents.xml", ("cold",)),
        ("API /api/v1/incidents/", lambda i: "/api/v1/incidents/", ("cold",)),
        (f"API page {DEEP_PAGES + 1} (cursor)", lambda i: deep, ("cold",)),
        ("API ?tag=", lambda i: f"/api/v1/incidents/?tag={tag.facet}:{tag.slug}", ("cold",)),
        (
            "API ?q=",
            lambda i: f"/api/v1/incidents/?q={speed.SEARCHES[i % len(speed.SEARCHES)]}",
            ("cold",),
        ),
        ("API /api/v1/incidents/<n>/", api_detail, ("cold",)),
    ]
    rows = []
    for name, url_for, modes in pages:
        for mode in modes:
            times, queries, statuses = [], [], set()
            requests = REQUESTS if "sitemap" not in name else max(3, REQUESTS // 10)
            for i in range(requests + 2):
                url = url_for(i)
                if mode == "cached":
                    client.get(url)  # the first reader fills the cache
                elapsed, count, response = timed(client, url, clear_cache=mode == "cold")
                statuses.add(response.status_code)
                if i >= 2:  # warm templates and connections first
                    times.append(elapsed)
                    queries.append(count)
            rows.append(_scratch.timing_row(f"{name} [{mode}]", times, queries, statuses))
    print()
    print(f"{Incident.objects.count()} incidents, {REQUESTS} requests per address")
    width = max(len(r[0]) for r in rows)
    header = ("p50 ms", "p95 ms", "max ms", "queries", "status")
    print("address".ljust(width), *(h.rjust(8) for h in header))
    for name, *figures in rows:
        print(name.ljust(width), *(f.rjust(8) for f in figures))


if __name__ == "__main__":
    main()
