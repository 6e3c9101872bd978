"""Which database answers: anonymous reads the replica, writes and signed-in people the primary.

The "replica" here is a second connection to the test database, so the routing is seen by which
connection ran each query; tests/test_replica.py runs the same against a streaming replica.
"""

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.urls import reverse

from config.db_routers import REPLICA, STICKY_COOKIE
from incidents.api.authentication import issue_token
from incidents.models import Incident

from .factories import IncidentFactory

# Rows the migrations wrote (severities, groups) are put back after each flush; the second
# connection sees only committed rows, hence a transactional test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def replica(monkeypatch):
    """A "replica" alias on the primary's test database, removed again afterwards."""
    primary = connections["default"].settings_dict
    monkeypatch.setitem(settings.DATABASES, REPLICA, {**primary})
    connection = connections[REPLICA]
    # Connected now: Django's test case refuses to open connections to aliases it was not
    # told of when the test began, but uses one that is already open.
    connection.connect()
    yield
    connection.close()
    del connections[REPLICA]


@pytest.fixture
def queries_by_database(replica):
    """Counts the queries each alias runs while the test makes its requests."""
    counts = {"default": 0, REPLICA: 0}
    wrappers = []
    for alias in counts:

        def count(execute, sql, params, many, context, alias=alias):
            counts[alias] += 1
            return execute(sql, params, many, context)

        wrappers.append(connections[alias].execute_wrapper(count))
        wrappers[-1].__enter__()
    yield counts
    for wrapper in wrappers:
        wrapper.__exit__(None, None, None)


def test_an_anonymous_page_is_read_from_the_replica(queries_by_database):
    incident = IncidentFactory(title="Agent deleted the staging cluster")
    queries_by_database.update({"default": 0, REPLICA: 0})

    response = Client().get(incident.get_absolute_url())

    assert response.status_code == 200
    assert b"Agent deleted the staging cluster" in response.content
    # Every read of the page, the incident and its parts included, went to the replica.
    assert queries_by_database[REPLICA] > 0
    assert queries_by_database["default"] == 0


def test_a_signed_in_reader_reads_the_primary(queries_by_database, vic_client):
    incident = IncidentFactory(title="Agent deleted the staging cluster")
    queries_by_database.update({"default": 0, REPLICA: 0})

    response = vic_client.get(incident.get_absolute_url())

    assert response.status_code == 200
    assert queries_by_database["default"] > 0
    assert queries_by_database[REPLICA] == 0


def test_an_anonymous_search_with_facet_counts_is_read_from_the_replica(queries_by_database):
    IncidentFactory(title="Agent deleted the staging cluster")
    queries_by_database.update({"default": 0, REPLICA: 0})

    response = Client().get(reverse("incident_list"), {"q": "staging cluster"})

    assert b"Agent deleted the staging cluster" in response.content
    assert queries_by_database["default"] == 0


def test_an_api_client_with_a_token_reads_the_primary(queries_by_database, vic):
    incident = IncidentFactory(title="Agent deleted the staging cluster")
    queries_by_database.update({"default": 0, REPLICA: 0})
    token = issue_token(user=vic)

    response = Client().get(
        f"/api/v1/incidents/{incident.number}/", HTTP_AUTHORIZATION=f"Token {token}"
    )

    assert response.status_code == 200
    assert queries_by_database["default"] > 0
    assert queries_by_database[REPLICA] == 0


def test_after_a_post_the_same_browser_reads_the_primary_for_a_while(queries_by_database):
    IncidentFactory(title="Agent deleted the staging cluster")
    browser = Client()

    browser.post(reverse("login"), {"username": "nobody", "password": "wrong"})
    assert browser.cookies[STICKY_COOKIE]["max-age"] == settings.REPLICA_STICKY_SECONDS
    queries_by_database.update({"default": 0, REPLICA: 0})
    response = browser.get(reverse("incident_list"))

    assert b"Agent deleted the staging cluster" in response.content
    assert queries_by_database[REPLICA] == 0


def test_writes_go_to_the_primary_even_when_reads_may_not(replica):
    # A write during an anonymous page (a counter, a cache row) must never reach the replica.
    from config.db_routers import reads_from_replica

    token = reads_from_replica.set(True)
    try:
        incident = IncidentFactory()
        assert incident._state.db == "default"
        assert Incident.objects.using("default").filter(pk=incident.pk).exists()
        assert Incident.objects.get(pk=incident.pk).pk == incident.pk
    finally:
        reads_from_replica.reset(token)


def test_without_a_replica_every_query_uses_the_primary(db, client):
    incident = IncidentFactory(title="Agent deleted the staging cluster")

    response = client.get(incident.get_absolute_url())

    assert response.status_code == 200
    assert REPLICA not in settings.DATABASES
    assert not client.cookies.get(STICKY_COOKIE)
