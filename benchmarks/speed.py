"""Server time of the public pages with 100,000 incidents (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/speed.py

Builds a scratch database `blast_radius_bench` (see _scratch.py): imports the AI Incident
Database (2026-02) and AIAAIC sheet, then copies those incidents with shifted dates, suffixed
titles and rotated organisations and tags up to TOTAL (BENCH_TOTAL to change it), rebuilds every
search vector in one UPDATE, and times N requests per page in process with Django's test Client:
p50/p95 in milliseconds and queries per request, each page twice: cold (the cache cleared before
every request, as after a publication, so facet counts are computed afresh) and cached.
Targets: p95 < 100 ms for search, < 50 ms for the other pages. Related-incident lists are
computed for the imported incidents only.
BENCH_KEEP=1 keeps the scratch database afterwards; BENCH_REUSE=1 measures it again without
rebuilding (migrations still run, so new indexes are measured).
"""

import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

TOTAL = int(os.environ.get("BENCH_TOTAL", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
SEARCHES = [
    "chatbot",
    "self-driving car pedestrian",
    "facial recognition wrongful arrest",
    '"deepfake" -election',
    "Clearveiw",
    "autopliot crash",
    "amazon hiring bias women",
    "deleted production database",
]


def main():
    _scratch.require_postgresql()
    shared = _scratch.require_shared_data()
    cleanup = _scratch.setup()
    try:
        from incidents.models import Incident

        if Incident.objects.count() < TOTAL:
            build(shared)
        measure()
    finally:
        cleanup()


def build(shared):
    from django.db import connection, transaction

    from incidents import facet_counts
    from incidents.models import Incident, IncidentOrganisation
    from incidents.search_index import search_index_update

    started = time.monotonic()
    _scratch.import_dataset("aiid", shared / "aiid-snapshot-2026-02")
    _scratch.import_dataset("aiaaic", shared / "aiaaic-2025-12")
    originals = list(Incident.objects.order_by("pk"))
    tags = list(Incident.tags.through.objects.values_list("incident_id", "tag_id"))
    roles = list(IncidentOrganisation.objects.values_list("incident_id", "organisation_id", "role"))
    print(f"imported {len(originals)} incidents in {time.monotonic() - started:.0f} s", flush=True)

    started = time.monotonic()
    tags_of, roles_of = {}, {}
    for incident_id, tag_id in tags:
        tags_of.setdefault(incident_id, []).append(tag_id)
    for incident_id, organisation_id, role in roles:
        roles_of.setdefault(incident_id, []).append((organisation_id, role))
    all_tags = sorted({tag_id for _, tag_id in tags})
    all_organisations = sorted({organisation_id for _, organisation_id, _ in roles})
    number = Incident.objects.order_by("-number").values_list("number", flat=True).first()
    rng = random.Random(5)
    copy = 0
    while Incident.objects.count() < TOTAL:
        copy += 1
        batch = []
        for original in originals[: TOTAL - Incident.objects.count()]:
            number += 1
            incident = Incident(
                **{
                    field.attname: getattr(original, field.attname)
                    for field in Incident._meta.concrete_fields
                    if field.attname not in ("id", "number", "slug", "search_vector")
                },
            )
            incident.number = number
            incident.slug = f"{original.slug[:100]}-v{copy}"
            incident.title = f"{original.title[:180]} (variant {copy})"
            if incident.occurred_at:
                incident.occurred_at -= timedelta(days=rng.randint(1, 3650))
            incident.detected_at = incident.mitigated_at = incident.resolved_at = None
            batch.append((original.pk, incident))
        with transaction.atomic():
            Incident.objects.bulk_create([incident for _, incident in batch], batch_size=2000)
            Incident.tags.through.objects.bulk_create(
                [
                    Incident.tags.through(incident_id=incident.pk, tag_id=tag_id)
                    for original_id, incident in batch
                    for tag_id in {
                        *tags_of.get(original_id, [])[1:],
                        rng.choice(all_tags),
                    }
                ],
                batch_size=5000,
            )
            IncidentOrganisation.objects.bulk_create(
                [
                    IncidentOrganisation(
                        incident_id=incident.pk, organisation_id=organisation_id, role=role
                    )
                    for original_id, incident in batch
                    for organisation_id, role in {
                        *roles_of.get(original_id, [])[1:],
                        (rng.choice(all_organisations), IncidentOrganisation.Role.DEPLOYER),
                    }
                ],
                batch_size=5000,
                ignore_conflicts=True,
            )
    print(
        f"copied up to {Incident.objects.count()} incidents in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    started = time.monotonic()
    search_index_update()
    print(f"rebuilt every search vector in {time.monotonic() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    started = time.monotonic()
    written = facet_counts.rebuild()  # the bulk copies above sent no signal
    print(f"counted {written} facet counts in {time.monotonic() - started:.0f} s", flush=True)


def measure():
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from incidents import search
    from incidents.models import Incident, IncidentOrganisation

    setup_test_environment()
    # Pages render {% static %} without a collectstatic manifest, as in the tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    client = Client()
    rng = random.Random(7)
    busy = list(
        IncidentOrganisation.objects.values("organisation__slug")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("organisation__slug", flat=True)[:20]
    )
    tag = Incident.tags.through.objects.select_related("tag").order_by("?").first().tag
    published = list(Incident.objects.published().values_list("number", "slug")[::97])

    pages = {
        "list /incidents/": lambda i: f"/incidents/?page={1 + i % 5}",
        "filtered ?organisation=": lambda i: f"/incidents/?organisation={busy[i % len(busy)]}",
        "filtered ?tag=": lambda i: f"/incidents/?tag={tag.facet}:{tag.slug}",
        "filtered ?severity=": lambda i: "/incidents/?severity=SEV1",
        "filtered ?severity=&autonomy=": lambda i: "/incidents/?severity=SEV1&autonomy=unknown",
        "filtered ?tag=&organisation=": lambda i: (
            f"/incidents/?tag={tag.facet}:{tag.slug}&organisation={busy[i % len(busy)]}"
        ),
        "search /incidents/?q=": lambda i: f"/incidents/?q={SEARCHES[i % len(SEARCHES)]}",
        "detail": lambda i: "/incidents/{}/{}/".format(*rng.choice(published)),
    }
    rows = []
    for name, url_for in pages.items():
        for cold in (True, False):
            if not cold:
                for i in range(REQUESTS + 3):
                    client.get(url_for(i))  # every URL of the row once, to fill the cache
            times, queries, statuses = [], [], set()
            for i in range(REQUESTS + 3):
                if cold:
                    cache.clear()  # facet counts computed afresh, as after any publication
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get(url_for(i))
                    elapsed = 1000 * (time.perf_counter() - started)
                statuses.add(response.status_code)
                if i >= 3:  # the first requests warm templates (and, when warm, the cache)
                    times.append(elapsed)
                    queries.append(len(captured))
            rows.append(
                _scratch.timing_row(
                    f"{name} ({'cold' if cold else 'cached'})", times, queries, statuses
                )
            )

    # search.search itself, as the list view calls it, without rendering.
    times = []
    for i in range(REQUESTS):
        started = time.perf_counter()
        results = search.search(Incident.objects.published().for_list(), SEARCHES[i % 8])
        list(results[:20])
        results.count()
        times.append(1000 * (time.perf_counter() - started))
    rows.append(_scratch.timing_row("search.search + count (no page)", times, [0], {"-"}))
    print()
    print(f"{Incident.objects.count()} incidents, PostgreSQL, {REQUESTS} requests per row")
    print(_scratch.table(rows, ["page", "p50 ms", "p95 ms", "max ms", "queries", "status"]))


if __name__ == "__main__":
    main()
