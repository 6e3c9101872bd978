"""Reads and writes at a million incidents (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/scale.py

Builds the scratch database with bulk SQL up to BENCH_TOTAL incidents (1,000,000 by default;
see _scale_build.py), unless it holds that many already (BENCH_REUSE=1 with a kept or copied
database: migrations still run). Then:

Reads: N requests per page in process with Django's test Client, p50/p95/max server time in
ms and queries per request, cold (the cache cleared before every request, as after a
publication; the first reader, and every signed-in reader when lists are not cached for them)
and cached: the list, ?organisation=, ?tag=, both, search ?q= on the web and in the API, an
incident page, /dashboard/ anonymous and internal (unfiltered and ?tag=), /, the feeds, one
sitemap page, the list signed in as an editor, and a bare Django page (a view added to this
process's URLs only) as the reference for the framework's own cost.

Writes: each step in a subprocess of its own, timed, with its peak memory (ru_maxrss) beside
the subprocess's memory once Django is set up, and stopped past BENCH_STEP_LIMIT seconds (600):
an editor saves a published incident through the editor's service (its summary reworded, its
severity changed) and a reviewer publishes it, with the follow-up work they queue held back;
then that follow-up work one piece at a time: the incident's related incidents, the cascade to
the incidents whose lists it may enter, the dashboard summary rows it reaches, the full summary
rebuild; and an import of 1,000 changed AIID records end to end, its follow-up work run inline
as a worker would. The writes change the database: run them on a copy.

Environment:
    BENCH_TOTAL=1000000     incidents to build up to
    BENCH_REQUESTS=20       timed requests per row (3 more warm up first)
    BENCH_READS=0           leave out the reads
    BENCH_CACHED=0          leave out the cached rows
    BENCH_WRITES=0          leave out the writes
    BENCH_ROWS=a,b          only the read rows whose names contain one of these
    BENCH_SKIP=a,b          leave out these write steps: save, summaries, related, cascade,
                            import, rebuild
    BENCH_STEP_LIMIT=600    seconds after which a write step is stopped
    BENCH_IMPORT_SIZE=1000  records in the import step
    CONN_MAX_AGE=60         keep the database connection between requests, as production should;
                            without it every request connects afresh (the default)
and those of _scratch.py (BENCH_DATABASE, BENCH_KEEP, BENCH_REUSE).
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scale_build  # noqa: E402
import _scratch  # noqa: E402

TOTAL = int(os.environ.get("BENCH_TOTAL", "1000000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20"))
STEP_LIMIT = int(os.environ.get("BENCH_STEP_LIMIT", "600"))
IMPORT_SIZE = int(os.environ.get("BENCH_IMPORT_SIZE", "1000"))
SKIPPED = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
ROWS = list(filter(None, os.environ.get("BENCH_ROWS", "").split(",")))
# The cheap steps first, so a run cut short still has them.
WRITE_STEPS = ["save", "summaries", "related", "cascade", "import", "rebuild"]
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
# The incident every write step works on: an AIID original, stored in the database by the
# save step so the later steps (each a subprocess) find it.
WRITTEN_MARK = "bench-scale-written"


def enabled(name):
    return os.environ.get(name, "1") != "0"


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--step":
        run_step(sys.argv[2])
        return
    _scratch.require_postgresql()
    shared = _scratch.require_shared_data()
    cleanup = _scratch.setup()
    try:
        from incidents.models import Incident

        if Incident.objects.count() < TOTAL:
            _scale_build.build(shared, TOTAL)
        print(f"{Incident.objects.count()} incidents", flush=True)
        if enabled("BENCH_READS"):
            measure_reads()
        if enabled("BENCH_WRITES"):
            measure_writes(shared)
    finally:
        cleanup()


# Reads


def bare(request):
    from django.http import HttpResponse

    return HttpResponse("ok")


def _urls_with_bare_page():
    """This process's URLs: the site's and /bench-bare/, a view that only answers."""
    from django.urls import include, path

    module = type(sys)("bench_urls")
    module.urlpatterns = [path("bench-bare/", bare), path("", include("config.urls"))]
    return module


def measure_reads():
    from django.conf import settings
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import setup_test_environment

    from incidents import semantic
    from incidents.models import Incident, IncidentOrganisation, Tag

    setup_test_environment()
    settings.ROOT_URLCONF = _urls_with_bare_page()
    # Pages render {% static %} without a collectstatic manifest, as in the tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    anonymous = Client()
    viewer = _user("bench-viewer", "viewer")
    internal = Client()
    internal.force_login(viewer)
    editor = Client()
    editor.force_login(_user("bench-editor", "editor"))

    busy = list(
        IncidentOrganisation.objects.values("organisation__slug")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("organisation__slug", flat=True)[:20]
    )
    tags = list(
        Tag.objects.annotate(n=Count("incidents")).order_by("-n").values_list("facet", "slug")[:10]
    )
    tag_values = [f"{facet}:{slug}" for facet, slug in tags]
    # The same 200 incidents in every run, spread over the whole base.
    highest = Incident.objects.order_by("-number").values_list("number", flat=True).first()
    spread = range(1, highest + 1, max(1, highest // 200))
    published = list(
        Incident.objects.published()
        .filter(number__in=list(spread))
        .order_by("number")
        .values_list("number", "slug")
    )
    # Sitemap pages hold 10,000 URLs each: the first five that exist.
    sitemap_pages = max(1, min(5, Incident.objects.published().count() // 10_000))
    pages = {
        "bare Django page": (anonymous, lambda i: "/bench-bare/"),
        "/incidents/": (anonymous, lambda i: f"/incidents/?page={1 + i % 5}"),
        "?organisation=": (anonymous, lambda i: f"/incidents/?organisation={busy[i % 20]}"),
        "?tag=": (anonymous, lambda i: f"/incidents/?tag={tag_values[i % len(tag_values)]}"),
        "?organisation=&tag=": (
            anonymous,
            lambda i: f"/incidents/?organisation={busy[i % 20]}&tag={tag_values[i % 3]}",
        ),
        "search ?q=": (anonymous, lambda i: f"/incidents/?q={SEARCHES[i % len(SEARCHES)]}"),
        "API ?q=": (anonymous, lambda i: f"/api/v1/incidents/?q={SEARCHES[i % len(SEARCHES)]}"),
        "incident page (anonymous)": (
            anonymous,
            lambda i: "/incidents/{}/{}/".format(*published[i % len(published)]),
        ),
        "/dashboard/ anonymous": (anonymous, lambda i: "/dashboard/"),
        "/dashboard/ ?tag= anonymous": (
            anonymous,
            lambda i: f"/dashboard/?tag={tag_values[i % len(tag_values)]}",
        ),
        "/dashboard/ internal": (internal, lambda i: "/dashboard/"),
        "/dashboard/ ?tag= internal": (
            internal,
            lambda i: f"/dashboard/?tag={tag_values[i % len(tag_values)]}",
        ),
        "/": (anonymous, lambda i: "/"),
        "feed /feeds/incidents/rss/": (anonymous, lambda i: "/feeds/incidents/rss/"),
        "feed of a tag (atom)": (
            anonymous,
            lambda i: "/feeds/tags/{}/{}/atom/".format(*tags[i % len(tags)]),
        ),
        "feed of an organisation": (
            anonymous,
            lambda i: f"/feeds/organisations/{busy[i % 20]}/rss/",
        ),
        "sitemap-incidents.xml ?p=": (
            anonymous,
            lambda i: f"/sitemap-incidents.xml?p={1 + i % sitemap_pages}",
        ),
        "/incidents/ signed in (editor)": (editor, lambda i: f"/incidents/?page={1 + i % 5}"),
    }
    if semantic.enabled():
        # A serving process loads the model in the background after its first request; here
        # that would be importing torch on both cores while the first rows are timed.
        semantic.encode(["load the model"])
    rows = []
    for name, (client, url_for) in pages.items():
        if ROWS and not any(part == name or (len(part) > 1 and part in name) for part in ROWS):
            continue
        for cold in (True, False) if enabled("BENCH_CACHED") else (True,):
            rows.append(_time_page(name, client, url_for, cold))
            print(" | ".join(rows[-1]), flush=True)
    print()
    print(
        f"{Incident.objects.count()} incidents, PostgreSQL, {REQUESTS} requests per row, "
        f"CONN_MAX_AGE={settings.DATABASES['default']['CONN_MAX_AGE']}"
    )
    print(_scratch.table(rows, ["page", "p50 ms", "p95 ms", "max ms", "queries", "status"]))
    print(flush=True)


def _user(username, group):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username=username)
    user.groups.add(Group.objects.get(name=group))
    return user


def _time_page(name, client, url_for, cold):
    from django.core.cache import cache
    from django.db import close_old_connections, connection
    from django.test.utils import CaptureQueriesContext

    if not cold:
        for i in range(REQUESTS + 3):
            client.get(url_for(i))  # every URL of the row once, to fill the cache
    times, queries, statuses = [], [], set()
    for i in range(REQUESTS + 3):
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url_for(i))
            # As a server does at the end of a request (the test client does not): closed
            # unless CONN_MAX_AGE keeps it, so the next request pays for a new connection.
            close_old_connections()
            elapsed = 1000 * (time.perf_counter() - started)
        statuses.add(response.status_code)
        if i >= 3:  # the first requests warm templates (and, when cached, the cache)
            times.append(elapsed)
            queries.append(len(captured))
    label = f"{name} ({'cold' if cold else 'cached'})"
    return _scratch.timing_row(label, times, queries, statuses)


# Writes


def measure_writes(shared):
    rows = []
    for name in WRITE_STEPS:
        if name in SKIPPED:
            continue
        started = time.monotonic()
        try:
            finished = subprocess.run(
                [sys.executable, __file__, "--step", name],
                capture_output=True,
                text=True,
                timeout=STEP_LIMIT,
                env={**os.environ, "SHARED_DATA": str(shared)},
            )
        except subprocess.TimeoutExpired:
            rows.append((name, f"over {STEP_LIMIT} s (stopped)", "-", "-", "-"))
            print(" | ".join(rows[-1]), flush=True)
            continue
        elapsed = time.monotonic() - started
        result = _result_of(finished.stdout)
        if finished.returncode or result is None:
            print(finished.stdout[-2000:], finished.stderr[-4000:], sep="\n", flush=True)
            rows.append((name, f"failed after {elapsed:.0f} s", "-", "-", "-"))
        else:
            rows.append(
                (
                    name,
                    f"{result['seconds']:.2f} s",
                    f"{result['peak_mb']:.0f} MB",
                    f"{result['baseline_mb']:.0f} MB",
                    result["detail"],
                )
            )
        print(" | ".join(rows[-1]), flush=True)
    print()
    print(f"writes, each step in a subprocess stopped after {STEP_LIMIT} s")
    print(_scratch.table(rows, ["step", "time", "peak memory", "after setup", "detail"]))


def _result_of(stdout):
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    return None


def _megabytes_so_far():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_step(name):
    """In the subprocess: one write step on the database the parent set up."""
    sys.path.insert(0, str(_scratch.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        # A stopped step must not leave its query running on the server.
        cursor.execute(f"SET statement_timeout = '{STEP_LIMIT}s'")
    baseline = _megabytes_so_far()
    started = time.monotonic()
    detail = STEPS[name]()
    seconds = time.monotonic() - started
    result = {
        "seconds": seconds,
        "peak_mb": _megabytes_so_far(),
        "baseline_mb": baseline,
        "detail": detail,
    }
    print("RESULT " + json.dumps(result), flush=True)


def _written_incident():
    from incidents.models import Incident

    marked = Incident.objects.filter(blast_radius_notes__contains=WRITTEN_MARK).first()
    if marked:
        return marked
    # An AIID original with tags and organisations, as an editor would open.
    return (
        Incident.objects.published()
        .filter(provenances__dataset="aiid", tags__isnull=False, organisations__isnull=False)
        .order_by("number")
        .first()
    )


def step_save():
    """An editor saves a published incident as the editor form does, then a reviewer
    publishes the revision; what they queue is recorded, not run."""
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment

    from incidents import queueing
    from incidents.models import PendingWork, Severity
    from incidents.services import review

    setup_test_environment()
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    pending_before = PendingWork.objects.count()
    queued = []
    queueing.publish = lambda name, *args: queued.append(name) or True
    incident = _written_incident()
    editor, reviewer = _user("bench-editor", "editor"), _user("bench-reviewer", "reviewer")
    snapshot = review.working_snapshot(incident)
    latest = incident.latest_revision()
    fields = snapshot["fields"]
    fields["summary"] = f"{fields['summary']} Updated by the benchmark."
    # Another severity, so that the save moves the incident between dashboard rows.
    fields["severity"] = (
        Severity.objects.exclude(pk=fields["severity"]).order_by("pk").values_list("pk", flat=True)
    )[0]
    fields["blast_radius_notes"] = f"{fields['blast_radius_notes']} {WRITTEN_MARK}".strip()
    started = time.monotonic()
    review.incident_save(
        incident=incident,
        snapshot=snapshot,
        by=editor,
        base_revision_number=latest.number if latest else 0,
    )
    saved = time.monotonic() - started
    review.review_submit(incident=incident, by=editor)
    review.review_approve_and_publish(incident=incident, by=reviewer)
    pending = PendingWork.objects.count() - pending_before
    page = Client().get(incident.get_absolute_url())
    shown = "Updated by the benchmark." in page.content.decode()
    return (
        f"incident {incident.number}: save {saved:.2f} s, then submit and publish; "
        f"its page {'shows' if shown else 'does not show'} the edit at once; "
        f"held back: {', '.join(sorted(set(queued)))} ({pending} pending work)"
    )


def step_related():
    from incidents.models import RelatedIncident
    from incidents.services.related import related_incidents_recompute

    incident = _written_incident()
    related_incidents_recompute(incident=incident, cascade=False)
    return f"{RelatedIncident.objects.filter(incident=incident).count()} related"


def step_cascade():
    from incidents.services.related import related_incidents_recompute_many

    refreshed = related_incidents_recompute_many([_written_incident().pk])
    return f"{len(refreshed)} lists refreshed"


def step_summaries():
    from incidents.dashboards.summaries import summaries_apply

    return f"{summaries_apply([_written_incident().pk])} rows changed"


def step_rebuild():
    from incidents.dashboards.summaries import summaries_rebuild

    return f"{summaries_rebuild()} rows"


def step_import():
    """1,000 AIID records retitled upstream, imported with their follow-up work inline
    (similar incidents around them, the summary rows they reach), as a worker runs it."""
    import import_speed

    shared = _scratch.require_shared_data()
    with tempfile.TemporaryDirectory(prefix="bench-scale-import-") as scratch:
        folder = import_speed.changed_snapshot(
            shared / "aiid-snapshot-2026-02",
            Path(scratch) / "aiid-2026-03",
            IMPORT_SIZE,
            f"retitled {time.time():.0f}",
        )
        summary = _scratch.import_dataset("aiid", folder)
    return str(summary)


STEPS = {
    "save": step_save,
    "related": step_related,
    "cascade": step_cascade,
    "summaries": step_summaries,
    "rebuild": step_rebuild,
    "import": step_import,
}


if __name__ == "__main__":
    main()
