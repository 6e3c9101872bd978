"""Anonymous reads on a streaming replica, everything else on the primary, shown on real servers.

    .venv/bin/python benchmarks/replica.py

Starts a private PostgreSQL 15 primary and a streaming replica made from it with
pg_basebackup, on ports of their own in a temporary directory (as the postgres user when run as
root), migrates the primary, loads the demo data, then makes requests in process with Django's
test Client: anonymous pages, a signed-in reader's pages and a write. For each it prints the
queries each alias ran and the rows each server returned (pg_stat_database), then the
replication lag, and stops both servers. BENCH_REQUESTS sets the anonymous requests per page.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path("/usr/lib/postgresql/15/bin")
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20"))
PAGES = ["/", "/incidents/", "/organisations/", "/tags/"]


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(*command):
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *map(str, command)], check=True, capture_output=True, text=True)


def start_servers(directory):
    primary, replica = directory / "primary", directory / "replica"
    ports = {"primary": free_port(), "replica": free_port()}
    as_postgres(BIN / "initdb", "-D", primary, "-U", "postgres", "--auth=trust")
    settings = f"port = {ports['primary']}\nlisten_addresses = '127.0.0.1'\n"
    settings += f"unix_socket_directories = '{directory}'\n"
    with open(primary / "postgresql.conf", "a") as conf:
        conf.write(settings)
    as_postgres(BIN / "pg_ctl", "-D", primary, "-l", directory / "primary.log", "-w", "start")
    # -R writes standby.signal and primary_conninfo: the copy starts as a streaming replica.
    as_postgres(
        BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", ports["primary"], "-U", "postgres",
        "-D", replica, "-R", "-X", "stream",
    )  # fmt: skip
    with open(replica / "postgresql.auto.conf", "a") as conf:
        conf.write(f"port = {ports['replica']}\n")
    as_postgres(BIN / "pg_ctl", "-D", replica, "-l", directory / "replica.log", "-w", "start")
    return ports


def stop_servers(directory):
    for name in ["replica", "primary"]:
        if (directory / name / "postmaster.pid").exists():
            as_postgres(BIN / "pg_ctl", "-D", directory / name, "-m", "fast", "-w", "stop")


def rows_returned(connection):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tup_returned + tup_fetched FROM pg_stat_database"
            " WHERE datname = current_database()"
        )
        return cursor.fetchone()[0]


def main():
    directory = Path(tempfile.mkdtemp(prefix="blast-radius-replica-"))
    shutil.chown(directory, "postgres") if os.geteuid() == 0 else None
    try:
        ports = start_servers(directory)
        print(f"primary on port {ports['primary']}, replica on port {ports['replica']}")
        subprocess.run(
            [sys.executable, "-c", "import psycopg; psycopg.connect("
             f"'postgres://postgres@127.0.0.1:{ports['primary']}/postgres', autocommit=True)"
             ".execute('CREATE DATABASE blast')"],
            check=True,
        )  # fmt: skip
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{ports['primary']}/blast"
        os.environ["DATABASE_REPLICA_URL"] = (
            f"postgres://postgres@127.0.0.1:{ports['replica']}/blast"
        )
        os.environ.setdefault("SEMANTIC_MATCHING", "0")
        for command in [["migrate", "--verbosity=0"], ["load_demo"]]:
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, check=True)
        measure()
    finally:
        stop_servers(directory)
        shutil.rmtree(directory, ignore_errors=True)


def measure():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    # Pages render {% static %} without a collectstatic manifest, as in the tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.test import Client

    from incidents.models import Tag

    aliases = ["default", "replica"]
    counts = dict.fromkeys(aliases, 0)

    def counter(alias):
        def count(execute, sql, params, many, context):
            counts[alias] += 1
            return execute(sql, params, many, context)

        return count

    for alias in aliases:
        connections[alias].execute_wrappers.append(counter(alias))

    def report(label, run):
        counts.update(dict.fromkeys(aliases, 0))
        before = {alias: rows_returned(connections[alias]) for alias in aliases}
        counts.update(dict.fromkeys(aliases, 0))
        run()
        seen = dict(counts)
        # pg_stat_database is updated when a backend reports, at the latest when it goes idle.
        time.sleep(1)
        for alias in aliases:
            connections[alias].close()
        time.sleep(0.6)
        after = {alias: rows_returned(connections[alias]) for alias in aliases}
        print(
            f"{label:<34} queries primary {seen['default']:>5}  replica {seen['replica']:>5}"
            f"   rows read by primary {after['default'] - before['default']:>8}"
            f"  replica {after['replica'] - before['replica']:>8}"
        )

    anonymous = Client(HTTP_HOST="localhost")
    reader = Client(HTTP_HOST="localhost")

    def anonymous_pages():
        for _ in range(REQUESTS):
            for page in PAGES:
                assert anonymous.get(page).status_code == 200, page

    def signed_in_pages():
        user = get_user_model().objects.filter(
            is_active=True
        ).first() or get_user_model().objects.create_user("bench")
        reader.force_login(user)
        for _ in range(REQUESTS):
            for page in PAGES:
                assert reader.get(page).status_code == 200, page

    def writes():
        for number in range(REQUESTS):
            Tag.objects.create(
                facet=Tag.objects.first().facet, name=f"bench {number}", slug=f"bench-{number}"
            )

    print(f"{REQUESTS} requests of each of {', '.join(PAGES)}")
    report("anonymous pages", anonymous_pages)
    report("signed-in pages", signed_in_pages)
    report(f"{REQUESTS} writes (Tag rows)", writes)

    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), replay_lag"
            " FROM pg_stat_replication"
        )
        for state, behind, lag in cursor.fetchall():
            print(f"replication: {state}, replica {behind} bytes behind, replay lag {lag}")
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), now() - pg_last_xact_replay_timestamp()")
        recovering, since = cursor.fetchone()
        print(f"replica in recovery: {recovering}, last replayed transaction {since} ago")
        cursor.execute("SELECT COUNT(*) FROM incidents_tag WHERE slug LIKE 'bench-%%'")
        print(f"replica sees {cursor.fetchone()[0]} of the {REQUESTS} written tags")
    for alias in aliases:
        connections[alias].close()


if __name__ == "__main__":
    main()
