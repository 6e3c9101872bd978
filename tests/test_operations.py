"""What an operator runs the site with: the health check, metrics, error reports, logs, and the
restore drill that proves the backups work."""

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from incidents.models import Incident, IncidentRevision
from incidents.services import review as review_service

from .factories import IncidentFactory, snapshot_of
from .test_worker import _database_url, _needs_worker_setup

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    """A port nothing listens on, so a connection to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(code, **environment):
    """Run Python code in a fresh process, as starting the site would."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def health(client):
    return client.get("/health/", HTTP_ACCEPT="application/json")


def check_named(checks, name):
    """The status of the check whose name starts with `name`, e.g. "Database"."""
    [status] = [status for check, status in checks.items() if check.startswith(name)]
    return status


# The health check, for load balancers.


def test_the_health_check_answers_anyone_quickly_and_is_never_cached(reader, db):
    health(reader)  # the first request of a process loads the URLs and the middleware
    started = time.monotonic()
    response = health(reader)

    assert time.monotonic() - started < 2
    assert response.status_code == 200
    checks = response.json()
    assert check_named(checks, "Database") == "OK"
    assert check_named(checks, "Cache") == "OK"
    assert "no-store" in response["Cache-Control"]
    # A probe that asks for nothing in particular gets the same answer as a page.
    page = reader.get("/health/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    # Without CELERY_BROKER_URL tasks run in the web process: there is no broker to check.
    if settings.CELERY_TASK_ALWAYS_EAGER:
        assert not [check for check in checks if check.startswith("Broker")]


def test_the_health_check_is_reached_over_plain_http_when_https_is_enforced(reader, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert health(reader).status_code == 200
    assert reader.get("/").status_code == 301


def test_an_unreachable_cache_fails_the_health_check(reader, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }

    response = health(reader)

    assert response.status_code == 500
    assert check_named(response.json(), "Cache") != "OK"
    assert check_named(response.json(), "Database") == "OK"


def test_an_unreachable_broker_fails_the_health_check(reader, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://user:secret-password@127.0.0.1:{free_port()}/0"

    started = time.monotonic()
    response = health(reader)

    assert time.monotonic() - started < 5
    assert response.status_code == 500
    assert check_named(response.json(), "Broker") == "Unavailable: the broker refused a connection"
    assert "secret-password" not in response.text


def test_a_reachable_broker_passes_the_health_check(reader, db):
    if settings.CELERY_TASK_ALWAYS_EAGER:
        if os.environ.get("REQUIRE_WORKER"):
            pytest.fail("REQUIRE_WORKER is set but CELERY_BROKER_URL is not")
        pytest.skip("CELERY_BROKER_URL is not set; `.ci/run` runs this with Redis")

    response = health(reader)

    assert response.status_code == 200
    assert check_named(response.json(), "Broker") == "OK"


# Prometheus metrics.

METRICS_TOKEN = "scrape-" + "x" * 24


def test_metrics_are_not_served_unless_a_token_is_set(reader, db, settings):
    settings.METRICS_TOKEN = ""
    assert reader.get("/metrics").status_code == 404


def test_metrics_need_the_token(reader, db, settings):
    settings.METRICS_TOKEN = METRICS_TOKEN

    refused = reader.get("/metrics")
    wrong = reader.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")

    assert refused.status_code == wrong.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert b"django_http" not in refused.content + wrong.content


def test_metrics_count_requests_by_view_and_database_queries(reader, db, settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    IncidentFactory()
    reader.get("/incidents/")

    response = reader.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'django_http_requests_total_by_view_transport_method_total{method="GET",' in text
    assert 'view="incident_list"' in text
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert f'django_db_execute_total{{alias="default",vendor="{connection.vendor}"}}' in text


# Error reports to Sentry, only when SENTRY_DSN is set.


class _FakeSentry(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sentry():
    """A Sentry ingestion endpoint on this machine: what the SDK posts, decompressed."""
    _FakeSentry.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeSentry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _FakeSentry.received
    server.shutdown()
    server.server_close()


# A page fails with an exception nobody catches; Django answers 500 and Sentry hears of it.
FAILING_PAGE = """
import django
django.setup()
from unittest import mock
import sentry_sdk
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
with mock.patch("incidents.exporters.published_files", side_effect=RuntimeError("probe-7731")):
    status = Client(raise_request_exception=False).get("/data/").status_code
sentry_sdk.flush(timeout=10)
print(status, sentry_sdk.get_client().is_active())
"""


def test_an_error_is_reported_to_sentry_when_a_dsn_is_set(fake_sentry):
    port, received = fake_sentry

    run = start(FAILING_PAGE, SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/1", DEBUG="0")

    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["500", "True"]
    events = [body for body in received if b"probe-7731" in body]
    assert events, received
    event = json.loads(next(line for line in events[0].splitlines() if b'"exception"' in line))
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["transaction"] == "/data/"
    assert {"django", "celery"} <= set(event["sdk"]["integrations"])
    assert "user" not in event or "ip_address" not in event["user"]


def test_nothing_is_sent_without_a_dsn(fake_sentry):
    _port, received = fake_sentry

    run = start(FAILING_PAGE, SENTRY_DSN="", DEBUG="0")

    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["500", "False"]
    assert received == []


def test_a_malformed_dsn_stops_the_start():
    run = start("import config.settings", SENTRY_DSN="sentry.example/1")
    assert "ImproperlyConfigured: SENTRY_DSN='sentry.example/1' is not a Sentry DSN" in run.stderr


# Logs: JSON lines when asked.

LOG_A_LINE = """
import django
django.setup()
import logging
logging.getLogger("incidents.probe").warning("disk %s is full", "/var")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("incidents.probe").exception("sum failed")
"""


def test_logs_are_json_lines_when_asked():
    run = start(LOG_A_LINE, LOG_FORMAT="json")

    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    warning, error = lines[-2], lines[-1]
    assert warning["message"] == "disk /var is full"
    assert warning["level"] == "WARNING" and warning["logger"] == "incidents.probe"
    assert warning["time"][:2] == "20"
    assert error["level"] == "ERROR" and "ZeroDivisionError" in error["exc_info"]


def test_logs_are_plain_text_by_default():
    run = start(LOG_A_LINE, LOG_FORMAT="")

    assert run.returncode == 0, run.stderr
    assert "disk /var is full" in run.stderr.splitlines()
    assert not [line for line in run.stderr.splitlines() if line.startswith("{")]


def test_an_unknown_log_format_stops_the_start():
    run = start("import config.settings", LOG_FORMAT="xml")
    assert "ImproperlyConfigured: LOG_FORMAT='xml' is not text or json" in run.stderr


# A real worker logs its tasks at the level it was started with.


class Worker:
    """A Celery worker process whose output is read as it comes."""

    def __init__(self, **environment):
        self.lines = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                ",".join(queue.name for queue in settings.CELERY_TASK_QUEUES),
            ],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": _database_url(), **environment},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            found = [line for line in self.lines if text in line]
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"no line with {text!r}:\n" + "\n".join(self.lines))

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)
        print("\n".join(self.lines))


@pytest.fixture
def start_worker():
    _needs_worker_setup()
    workers = []

    def start_one(**environment):
        workers.append(Worker(**environment))
        celery_app.conf.task_always_eager = False
        return workers[-1]

    yield start_one
    for worker in workers:
        worker.stop()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_started_at_info_logs_its_task_lines(start_worker):
    worker = start_worker(LOG_FORMAT="text")
    worker.wait_for("ready.")

    celery_app.send_task("incidents.tasks.send_notifications")

    worker.wait_for("Task incidents.tasks.send_notifications[")
    worker.wait_for("succeeded in")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_logs_json_lines_when_asked(start_worker):
    worker = start_worker(LOG_FORMAT="json")
    worker.wait_for("ready.")

    celery_app.send_task("incidents.tasks.send_notifications")

    [line] = worker.wait_for("succeeded in")
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"].startswith("celery")
    assert "incidents.tasks.send_notifications" in entry["message"]


# The restore drill: a backup is only as good as the last restore that worked.

DRILL = ROOT / "scripts" / "restore-drill"


def run_drill(database_url):
    return subprocess.run(
        [str(DRILL), database_url], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def test_the_restore_drill_refuses_a_database_that_is_not_postgresql():
    run = run_drill("sqlite:///db.sqlite3")
    assert run.returncode == 2
    assert "needs a postgres:// DATABASE_URL" in run.stderr


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_restore_drill_restores_a_dump_into_a_scratch_database_and_compares(ada):
    if connection.vendor != "postgresql":
        pytest.skip("the database is not PostgreSQL; `.ci/run` runs this on PostgreSQL")
    for title in ["Agent wiped a disk", "Agent emailed every customer"]:
        review_service.incident_create(snapshot=snapshot_of(title=title), by=ada)
    incidents, revisions = Incident.objects.count(), IncidentRevision.objects.count()

    run = run_drill(_database_url())

    assert run.returncode == 0, run.stdout + run.stderr
    assert f"incidents_incident: {incidents} rows in both" in run.stdout
    assert f"incidents_incidentrevision: {revisions} rows in both" in run.stdout
    assert "Restore drill passed" in run.stdout
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE '%restore_drill%'")
        assert cursor.fetchall() == []


@pytest.mark.django_db
def test_the_restore_drill_fails_on_a_database_it_cannot_read():
    if connection.vendor != "postgresql":
        pytest.skip("the database is not PostgreSQL; `.ci/run` runs this on PostgreSQL")
    missing = _database_url().rsplit("/", 1)[0] + "/no_such_database_for_the_drill"

    run = run_drill(missing)

    assert run.returncode == 1
    assert "Restore drill FAILED: could not read the database." in run.stderr
