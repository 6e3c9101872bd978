"""API tokens: a reporter's tools send `Authorization: Token <key>`; only a hash of the key is
stored (django-rest-knox), so the key is shown once, when it is made, and never again."""

from django.db import transaction
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from knox.models import AuthToken
from rest_framework import exceptions


class TokenAuthentication(auth.TokenAuthentication):
    def authenticate_credentials(self, token):
        # Knox decodes the key as UTF-8 unguarded; a stray Latin-1 byte must be a 401, not a 500.
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI schema documents the header, under the name it had before hashing."""

    target_class = TokenAuthentication
    name = "tokenAuth"


def issue_token(*, user):
    """A new key for the user's tools, returned once; any older key stops working."""
    with transaction.atomic():
        AuthToken.objects.filter(user=user).delete()
        _token, key = AuthToken.objects.create(user=user, expiry=None)
    return key


def revoke_tokens(*, user):
    AuthToken.objects.filter(user=user).delete()


def token_of(user):
    """The user's token record (its date, never its key), or None."""
    return AuthToken.objects.filter(user=user).order_by("-created").first()
