"""What similar incidents cost after a save and after an import, on a base already built.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_DATABASE=x BENCH_REUSE=1 \
        BENCH_KEEP=1 .venv/bin/python benchmarks/related_work.py

Measures, in one fresh process on the base BENCH_DATABASE names (build it first, for instance
with the scale benchmark): the follow-up work of one save (`related_incidents_recompute`, its
cascade included) for a few incidents spread over the base, then that of an import of the
RELATED_IMPORT most recent incidents (`related_incidents_recompute_many`), with the queries,
the lists refreshed and the peak memory of the process. Writes the lists it recomputes.
"""

import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

SAVES = 5
IMPORTED = int(os.environ.get("RELATED_IMPORT", "1000"))


def main():
    _scratch.require_postgresql()
    cleanup = _scratch.setup()
    try:
        run()
    finally:
        cleanup()


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidents.models import Incident
    from incidents.services import related

    total = Incident.objects.count()
    by_pk = Incident.objects.order_by("pk")
    print(f"{total} incidents, {peak_mb():.0f} MB before", flush=True)
    rows = []
    for n in range(SAVES):
        incident = by_pk[(2 * n + 1) * total // (2 * SAVES)]
        with CaptureQueriesContext(connection) as queries:
            started = time.monotonic()
            refreshed = related.related_incidents_recompute_many([incident.pk])
            elapsed = time.monotonic() - started
        rows.append(
            (
                f"save {incident.pk}",
                f"{elapsed:.2f}",
                len(queries),
                len(refreshed),
                f"{peak_mb():.0f}",
            )
        )
        print(rows[-1], flush=True)
    imported = list(by_pk.reverse().values_list("pk", flat=True)[:IMPORTED])
    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        refreshed = related.related_incidents_recompute_many(imported)
        elapsed = time.monotonic() - started
    rows.append(
        (
            f"import of {len(imported)}",
            f"{elapsed:.2f}",
            len(queries),
            len(refreshed),
            f"{peak_mb():.0f}",
        )
    )
    print()
    print(_scratch.table(rows, ["work", "time (s)", "queries", "lists refreshed", "peak MB"]))


if __name__ == "__main__":
    main()
