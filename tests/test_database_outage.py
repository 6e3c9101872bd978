"""A database restart or failover: the API answers JSON 503 while the database is away (every
API error is JSON, 500s included), HTML pages get a plain page, and the site works again as
soon as the database is back, persistent connections included."""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from incidents.api.views import IncidentViewSet
from incidents.models import Incident

from .factories import IncidentFactory
from .outages import TcpProxy, free_port

ROOT = Path(__file__).resolve().parent.parent

connection_lost = OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def browser(db):
    """A client that shows the error page a visitor gets, rather than raising the error."""
    return Client(raise_request_exception=False)


def test_the_api_answers_json_503_when_the_database_is_unreachable(browser):
    with mock.patch.object(IncidentViewSet, "list", side_effect=connection_lost):
        response = browser.get("/api/v1/incidents/")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert "database" in response.json()["detail"]
    assert response["Retry-After"]


def test_an_unexpected_api_error_is_json_too(browser):
    with mock.patch.object(IncidentViewSet, "list", side_effect=RuntimeError("a bug")):
        response = browser.get("/api/v1/incidents/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "a bug" not in response.text
    assert response.json() == {"detail": "Something went wrong on our side; it has been logged."}


def test_a_page_gets_a_plain_503_page_when_the_database_is_unreachable(browser):
    with mock.patch.object(Incident.objects, "published", side_effect=connection_lost):
        response = browser.get(reverse("home"))

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert "cannot reach its database" in response.text


def test_an_unexpected_page_error_gets_the_plain_500_page(browser):
    with mock.patch.object(Incident.objects, "published", side_effect=RuntimeError("a bug")):
        response = browser.get(reverse("home"))

    assert response.status_code == 500
    assert "Something went wrong" in response.text and "a bug" not in response.text


def test_a_bad_api_request_is_answered_in_json(browser):
    response = browser.get("/api/v1/incidents/", headers={"host": "evil.example"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


# The real thing: gunicorn with persistent connections, through a proxy that is restarted.


def _needs_postgresql():
    if connection.vendor != "postgresql":
        if os.environ.get("REQUIRE_WORKER"):
            pytest.fail("REQUIRE_WORKER is set but the database is not PostgreSQL")
        pytest.skip("needs PostgreSQL; `.ci/run` runs this in its second pass")


@pytest.fixture
def proxied_site():
    """gunicorn serving the test database through a TCP proxy: `(url, proxy)`."""
    _needs_postgresql()
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)).start()
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    port = free_port()
    env = {
        **{
            name: value
            for name, value in os.environ.items()
            if name not in ("CACHE_URL", "CONN_HEALTH_CHECKS")
        },
        "DATABASE_URL": f"postgres://{user}{password}@127.0.0.1:{proxy.port}/{db['NAME']}",
        "CONN_MAX_AGE": "600",
        "DEBUG": "0",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers=1",
            f"--bind=127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/robots.txt", timeout=2).close()
            break
        except OSError:
            time.sleep(0.2)
    yield url, proxy
    server.terminate()
    server.wait(timeout=20)
    proxy.stop()


def get(url):
    """(status, content type, body) of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_database_restart_answers_json_503_then_the_site_works_again(proxied_site):
    site, proxy = proxied_site
    api = f"{site}/api/v1/incidents/{IncidentFactory(title='Still here').number}/"
    assert get(api)[0] == 200  # the worker now holds a persistent connection

    proxy.stop()  # the database goes away
    status, content_type, body = get(api)
    assert (status, content_type) == (503, "application/json")
    assert "database" in json.loads(body)["detail"]
    page_status, page_type, page = get(f"{site}/")
    assert (page_status, page_type.split(";")[0]) == (503, "text/html")
    assert b"cannot reach its database" in page

    proxy.start()  # and comes back
    assert get(api)[0] == 200

    # A restart between two requests: the held connection is dead, and is checked before use.
    proxy.stop()
    proxy.start()
    status, _, body = get(api)
    assert status == 200, body[:500]
    assert json.loads(body)["title"] == "Still here"
