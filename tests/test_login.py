"""Signing in through the login form: repeated wrong passwords lock the account out from that
address for a while, and a forgotten password is reset through a link sent by email."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def sign_in(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def is_signed_in(client):
    return "_auth_user_id" in client.session


def test_a_few_mistakes_then_the_right_password_signs_in(ada):
    client = Client()
    for _ in range(3):
        assert sign_in(client, "ada", "wrong").status_code == 200

    response = sign_in(client, "ada", PASSWORD)

    assert response.status_code == 302
    assert is_signed_in(client)


def test_thirty_wrong_passwords_then_the_right_one_is_refused(ada):
    client = Client()
    for _ in range(30):
        sign_in(client, "ada", "wrong")

    response = sign_in(client, "ada", PASSWORD)

    assert response.status_code == 429
    assert not is_signed_in(client)
    html = response.content.decode()
    assert "Too many failed sign-ins" in html
    assert "15 minutes" in html
    assert 'href="/accounts/password-reset/"' in html


def test_the_lockout_is_kept_in_the_database_not_the_cache(ada, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "ada", "wrong")

    cache.clear()  # a restarted or emptied cache must not lift it
    response = sign_in(client, "ada", PASSWORD)

    assert response.status_code == 429
    assert not is_signed_in(client)


def test_the_lockout_holds_on_the_admin_login_too(eve, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "eve", "wrong")

    response = client.post("/admin/login/", {"username": "eve", "password": PASSWORD})

    assert response.status_code == 429
    assert not is_signed_in(client)


def test_an_attacker_elsewhere_does_not_lock_the_owner_out(ada, settings):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT + 5):
        sign_in(attacker, "ada", "wrong")

    owner = Client(REMOTE_ADDR="198.51.100.7")
    response = sign_in(owner, "ada", PASSWORD)

    assert response.status_code == 302
    assert is_signed_in(owner)


def test_the_login_page_offers_a_password_reset(reader):
    html = reader.get(LOGIN).content.decode()

    assert 'href="/accounts/password-reset/"' in html


def reset_link():
    """The address in the one reset email sent, as a path on this site."""
    assert len(mail.outbox) == 1
    found = re.search(r"http://localhost:8000(/accounts/reset/\S+/)", mail.outbox[0].body)
    assert found, mail.outbox[0].body
    return found[1]


def test_a_forgotten_password_is_reset_through_the_emailed_link(ada):
    client = Client()
    requested = client.post("/accounts/password-reset/", {"email": "ada@example.com"}, follow=True)

    assert "Check your email" in requested.content.decode()
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert message.subject == "Reset your Blast Radius password"
    assert "ada" in message.body
    form = client.get(reset_link(), follow=True)
    assert "Choose a new password" in form.content.decode()
    new_password = "a brand new passphrase for ada"
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
        follow=True,
    )

    assert "Your password was changed" in done.content.decode()
    assert sign_in(Client(), "ada", new_password).status_code == 302
    assert sign_in(Client(), "ada", PASSWORD).status_code == 200


def test_an_unknown_address_gets_the_same_answer_and_no_email(reader):
    response = reader.post("/accounts/password-reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_resetting_the_password_lifts_a_lockout(ada, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "ada", "wrong")
    client.post("/accounts/password-reset/", {"email": "ada@example.com"})
    form = client.get(reset_link(), follow=True)
    new_password = "a brand new passphrase for ada"
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )

    response = sign_in(client, "ada", new_password)

    assert response.status_code == 302
    assert is_signed_in(client)


def test_a_used_reset_link_does_not_work_twice(ada):
    client = Client()
    client.post("/accounts/password-reset/", {"email": "ada@example.com"})
    link = reset_link()
    form = client.get(link, follow=True)
    new_password = "a brand new passphrase for ada"
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )

    again = Client().get(link, follow=True)

    assert "This reset link has expired or was already used" in again.content.decode()
