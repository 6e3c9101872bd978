"""/my/api-token/: a reporter makes, replaces and revokes the token their tools file with."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from .factories import signed_in

pytestmark = pytest.mark.django_db


def test_my_page_links_to_the_token_page(ada):
    html = signed_in(ada).get("/my/").content.decode()

    assert 'href="/my/api-token/"' in html


def test_a_reporter_creates_a_token_and_sees_it_once(ada):
    client = signed_in(ada)

    created = client.post("/my/api-token/", {"action": "create"})
    later = client.get("/my/api-token/")

    key = Token.objects.get(user=ada).key
    assert created.status_code == 200
    assert key in created.content.decode()
    assert created["Cache-Control"] == "no-store"
    assert key not in later.content.decode()
    assert "You have a token" in later.content.decode()


def test_replacing_the_token_stops_the_old_one(ada):
    client = signed_in(ada)
    client.post("/my/api-token/", {"action": "create"})
    old = Token.objects.get(user=ada).key

    client.post("/my/api-token/", {"action": "create"})

    new = Token.objects.get(user=ada).key
    assert new != old
    refused = Client().get("/api/v1/postmortems/1/", HTTP_AUTHORIZATION=f"Token {old}")
    assert refused.status_code == 401


def test_revoking_removes_the_token(ada):
    client = signed_in(ada)
    client.post("/my/api-token/", {"action": "create"})

    response = client.post("/my/api-token/", {"action": "revoke"}, follow=True)

    assert not Token.objects.filter(user=ada).exists()
    assert "revoked" in response.content.decode()


def test_an_unknown_action_changes_nothing(ada):
    client = signed_in(ada)
    client.post("/my/api-token/", {"action": "create"})
    key = Token.objects.get(user=ada).key

    response = client.post("/my/api-token/", {"action": "delete-everything"})

    assert response.status_code == 400
    assert Token.objects.get(user=ada).key == key


def test_only_reporters_get_tokens(vic_client):
    assert vic_client.post("/my/api-token/", {"action": "create"}).status_code == 403
    assert not Token.objects.exists()
