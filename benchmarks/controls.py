"""Server time of the controls pages and of the reporting reminders at scale (PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/controls.py

Builds a scratch database (see _scratch.py; BENCH_DATABASE names it) with TOTAL synthetic
published incidents (BENCH_TOTAL, default 100,000), each with a severity, one in five a near
miss, two organisation roles among 500 organisations and three control assessments; 400 policy
changes adopting controls; and 10,000 reporting clocks (GDPR and NIS2). It then times N
requests (BENCH_REQUESTS; a quarter as many with the cache emptied first, as after any
change to the data) of /controls/, /controls/?organisation=..., /controls/<slug>/ and
/reporting/ in process with Django's test Client (p50/p95 in ms, queries per request), and one
run of the reminders with everything due.
"""

import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

TOTAL = int(os.environ.get("BENCH_TOTAL", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20"))
CLOCKS = int(os.environ.get("BENCH_CLOCKS", "10000"))
BATCH = 5000


def main():
    _scratch.require_postgresql()
    cleanup = _scratch.setup()
    try:
        from incidents.models import Incident

        if Incident.objects.count() < TOTAL:
            build()
        measure()
    finally:
        cleanup()


def build():
    from django.db import connection
    from django.utils import timezone

    from incidents.models import (
        Control,
        ControlAssessment,
        Incident,
        IncidentOrganisation,
        Organisation,
        PolicyChange,
        PolicyControl,
        Severity,
    )

    rng = random.Random(9)
    started = time.monotonic()
    severities = list(Severity.objects.values_list("pk", flat=True))
    controls = list(Control.objects.values_list("pk", flat=True))
    verdicts = [value for value, _ in ControlAssessment.Verdict.choices]
    organisations = Organisation.objects.bulk_create(
        Organisation(name=f"Bench organisation {n}", slug=f"bench-organisation-{n}")
        for n in range(500)
    )
    now = timezone.now()
    for start in range(0, TOTAL, BATCH):
        incidents = Incident.objects.bulk_create(
            Incident(
                number=n + 1,
                slug=f"bench-incident-{n + 1}",
                title=f"Bench incident {n + 1}",
                status=Incident.Status.PUBLISHED,
                visibility=Incident.Visibility.PUBLIC,
                kind=Incident.Kind.NEAR_MISS if n % 5 == 0 else Incident.Kind.INCIDENT,
                severity_id=rng.choice(severities),
                worst_credible_severity_id=rng.choice(severities) if n % 5 == 0 else None,
                occurred_at=now - timedelta(hours=n),
                published_at=now - timedelta(hours=n),
            )
            for n in range(start, min(start + BATCH, TOTAL))
        )
        IncidentOrganisation.objects.bulk_create(
            IncidentOrganisation(incident=incident, organisation=organisation, role=role)
            for incident in incidents
            for organisation, role in zip(
                rng.sample(organisations, 2), ["developer", "deployer"], strict=True
            )
        )
        ControlAssessment.objects.bulk_create(
            ControlAssessment(incident=incident, control_id=control, verdict=rng.choice(verdicts))
            for incident in incidents
            for control in rng.sample(controls, 3)
        )
        print(f"  {start + len(incidents)} incidents", flush=True)
    policies = PolicyChange.objects.bulk_create(
        PolicyChange(
            organisation=organisations[n % len(organisations)],
            title=f"Bench policy {n}",
            slug=f"bench-policy-{n}",
            kind=PolicyChange.Kind.GUARDRAIL,
        )
        for n in range(400)
    )
    PolicyControl.objects.bulk_create(
        PolicyControl(policy_change=policy, control_id=control)
        for policy in policies
        for control in rng.sample(controls, 2)
    )
    build_clocks(rng)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built {TOTAL} incidents in {time.monotonic() - started:.0f} s", flush=True)


def build_clocks(rng):
    from django.utils import timezone

    from incidents.models import (
        Incident,
        ReportingClock,
        ReportingDeadline,
        ReportingTrigger,
    )

    now = timezone.now()
    triggers = list(
        ReportingTrigger.objects.filter(
            slug__in=["personal-data-breach", "significant-incident"]
        ).prefetch_related("stages")
    )
    ids = list(Incident.objects.order_by("pk").values_list("pk", flat=True)[:CLOCKS])
    clocks = ReportingClock.objects.bulk_create(
        ReportingClock(
            incident_id=pk, trigger=rng.choice(triggers), aware_at=now - timedelta(hours=n % 120)
        )
        for n, pk in enumerate(ids)
    )
    ReportingDeadline.objects.bulk_create(
        ReportingDeadline(clock=clock, stage=stage, due_at=stage.due_from(clock.aware_at))
        for clock in clocks
        for stage in clock.trigger.stages.all()
    )


def timed(client, url, cold=False):
    """p50 and p95 in ms and queries per request; `cold` empties the cache before each
    request, as after any change to the data."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries = [], 0
    for _ in range(REQUESTS if not cold else max(3, REQUESTS // 4)):
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"{statistics.median(times):.0f}", f"{p95:.0f}", queries


def measure():
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.test import Client
    from django.test.utils import setup_test_environment

    from incidents.models import Control, Incident, Notification, ReportingDeadline
    from incidents.services.reporting import reporting_reminders

    setup_test_environment()
    # Pages render {% static %} without a collectstatic manifest, as in the tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    reader = Client()
    staff = Client()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-editor", defaults={"email": "bench-editor@example.com"}
    )
    user.groups.add(Group.objects.get(name="editor"))
    staff.force_login(user)
    reader.get("/controls/")  # warm up
    organisation = "bench-organisation-7"
    rows = [
        ("/controls/ (after a change)", *timed(reader, "/controls/", cold=True)),
        ("/controls/", *timed(reader, "/controls/")),
        (
            "/controls/?organisation=...",
            *timed(reader, f"/controls/?organisation={organisation}"),
        ),
        (
            "/controls/<slug>/ (after a change)",
            *timed(reader, f"/controls/{Control.objects.order_by('pk').first().slug}/", True),
        ),
        (
            "/controls/<slug>/",
            *timed(reader, f"/controls/{Control.objects.order_by('pk').first().slug}/"),
        ),
        ("/reporting/ (staff)", *timed(staff, "/reporting/")),
    ]
    print(f"\n{Incident.objects.count()} incidents, {REQUESTS} requests per page")
    print(_scratch.table(rows, ["page", "p50 ms", "p95 ms", "queries"]))

    open_deadlines = ReportingDeadline.objects.open().count()
    started = time.monotonic()
    with transaction.atomic():
        reminded = reporting_reminders()
        notifications = Notification.objects.count()
        transaction.set_rollback(True)
    print(
        f"\nreminders: {reminded} of {open_deadlines} open deadlines reminded, "
        f"{notifications} emails queued, in {time.monotonic() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
