"""A scratch database for the benchmarks, chosen before Django reads its settings.

PostgreSQL (when DATABASE_URL names it): a database `blast_radius_bench` on the same server,
dropped and created afresh, and dropped again at the end (kept with BENCH_KEEP=1, to look
into it). Otherwise a temporary SQLite file.
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# BENCH_DATABASE names another scratch database, so two runs on one server do not collide.
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "blast_radius_bench")
CANDIDATES = [
    os.environ.get("SHARED_DATA", ""),
    ROOT.parent / "shared" / "data",
    "/work/shared/data",
]
SHARED = next((Path(c) for c in CANDIDATES if c and Path(c).is_dir()), None)


def _server_connection(url):
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    connection = psycopg.connect(
        dbname="postgres",
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        autocommit=True,
    )
    return connection, config


def setup():
    """Point DATABASE_URL at a fresh scratch database, run Django's setup and migrate.
    Returns a function that removes the scratch database."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Follow-up tasks (related incidents) run inline, never on a worker of the real site.
    os.environ.pop("CELERY_BROKER_URL", None)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        server, config = _server_connection(url)
        exists = server.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]
        ).fetchone()
        # BENCH_REUSE keeps a database an earlier run left with BENCH_KEEP: no rebuild.
        if not (os.environ.get("BENCH_REUSE") and exists):
            server.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
            server.execute(f"CREATE DATABASE {BENCH_DATABASE}")
        server.close()
        base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
        os.environ["DATABASE_URL"] = f"{base}/{BENCH_DATABASE}"

        def cleanup():
            from django.db import connections

            connections.close_all()
            if os.environ.get("BENCH_KEEP"):
                return
            server, _ = _server_connection(url)
            server.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
            server.close()

    else:
        folder = tempfile.TemporaryDirectory(prefix="blast-radius-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder.name}/bench.sqlite3"

        def cleanup():
            from django.db import connections

            connections.close_all()
            folder.cleanup()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return cleanup


def require_postgresql():
    """These benchmarks measure the production setup; SQLite would say nothing about it."""
    script = Path(sys.argv[0]).name
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit(
            f"{script} measures the production setup: set DATABASE_URL to a PostgreSQL server, "
            "e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres"
        )


def require_shared_data():
    if SHARED is None:
        sys.exit("The public datasets were not found: set SHARED_DATA to their folder.")
    return SHARED


def import_dataset(source, path):
    from incidents.importers import IMPORTERS, run_import

    return run_import(IMPORTERS[source](path))


def table(rows, headers):
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
    lines = [" | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    for row in rows:
        lines.append(" | ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def timing_row(name, times, queries, statuses):
    """One row of a timing table: p50, p95 and max in ms, the query range, the statuses."""
    import statistics

    times = sorted(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return (
        name,
        f"{statistics.median(times):.1f}",
        f"{p95:.1f}",
        f"{times[-1]:.1f}",
        f"{min(queries)}-{max(queries)}",
        ",".join(str(s) for s in sorted(statuses, key=str)),
    )
