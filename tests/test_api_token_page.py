"""/my/api-token/: a reporter makes, replaces and revokes the token their tools file with.

Only a hash of each key is stored, so a copy of the database (a backup, a leaked dump) holds
no key that a tool could use."""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from knox.models import AuthToken

from .factories import IncidentFactory, signed_in

pytestmark = pytest.mark.django_db

# A key in DRF's old format (40 hex digits), as tools created before hashing hold them.
OLD_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"


def status_with(key):
    """What the API answers a tool holding this key, asking for a draft postmortem."""
    draft = IncidentFactory(draft=True)
    url = f"/api/v1/postmortems/{draft.number}/"
    return Client().get(url, HTTP_AUTHORIZATION=f"Token {key}").status_code


def created_key(client):
    response = client.post("/my/api-token/", {"action": "create"})
    assert response.status_code == 200
    return response.context["new_key"]


def test_my_page_links_to_the_token_page(ada):
    html = signed_in(ada).get("/my/").content.decode()

    assert 'href="/my/api-token/"' in html


def test_a_reporter_creates_a_token_and_sees_it_once(ada):
    client = signed_in(ada)

    created = client.post("/my/api-token/", {"action": "create"})
    later = client.get("/my/api-token/")

    key = created.context["new_key"]
    assert created.status_code == 200
    assert key in created.content.decode()
    assert created["Cache-Control"] == "no-store"
    assert key not in later.content.decode()
    assert "You have a token" in later.content.decode()


def test_the_key_works_but_the_database_holds_only_its_hash(ada):
    key = created_key(signed_in(ada))

    stored = list(AuthToken.objects.filter(user=ada).values())
    answer = status_with(key)

    assert answer == 200
    assert len(stored) == 1
    assert not any(key in str(value) for value in stored[0].values())


def test_replacing_the_token_stops_the_old_one(ada):
    client = signed_in(ada)
    old = created_key(client)

    new = created_key(client)

    assert new != old
    assert AuthToken.objects.filter(user=ada).count() == 1
    refused = status_with(old)
    accepted = status_with(new)
    assert refused == 401
    assert accepted == 200


def test_revoking_removes_the_token(ada):
    client = signed_in(ada)
    key = created_key(client)

    response = client.post("/my/api-token/", {"action": "revoke"}, follow=True)

    assert not AuthToken.objects.filter(user=ada).exists()
    assert "revoked" in response.content.decode()
    refused = status_with(key)
    assert refused == 401


def test_an_unknown_action_changes_nothing(ada):
    client = signed_in(ada)
    key = created_key(client)

    response = client.post("/my/api-token/", {"action": "delete-everything"})

    assert response.status_code == 400
    accepted = status_with(key)
    assert accepted == 200


def test_only_reporters_get_tokens(vic_client):
    assert vic_client.post("/my/api-token/", {"action": "create"}).status_code == 403
    assert not AuthToken.objects.exists()


def test_a_token_header_that_is_not_utf8_is_refused_not_an_error(db):
    # The header arrives as Latin-1; "\xe9" alone is not valid UTF-8 once re-encoded.
    answer = Client().get("/api/v1/postmortems/1/", HTTP_AUTHORIZATION="Token caf\xe9").status_code

    assert answer == 401


# SQLite alters its schema only outside a transaction; the rollback keeps the migrated rows.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_keys_made_before_hashing_keep_working_and_leave_no_clear_copy(ada):
    """The migration hashes every key of the old clear-text table, then drops that table."""
    migration = importlib.import_module("incidents.migrations.0020_hash_api_tokens")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [OLD_KEY, "2026-01-05 10:00:00", ada.pk],
        )
    try:
        with connection.schema_editor() as schema_editor:
            migration.hash_clear_text_tokens(apps, schema_editor)
        tables_after = connection.introspection.table_names()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS authtoken_token")

    assert status_with(OLD_KEY) == 200
    assert "authtoken_token" not in tables_after
    token = AuthToken.objects.get(user=ada)
    assert OLD_KEY not in token.digest + token.token_key
    assert token.created.year == 2026 and token.expiry is None
