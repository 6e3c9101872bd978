"""Anonymous reads go to the streaming replica (DATABASES["replica"]), the rest to the primary.

The middleware marks the requests whose reads may go to the replica: safe methods by a visitor
who is not signed in (no session, no API token) and has not just written. Celery tasks,
management commands and migrations never pass through it, so they read and write the primary.
"""

from contextvars import ContextVar

from django.conf import settings
from django.db import connections, router

REPLICA = "replica"
# Set after a write so that the same browser then reads from the primary and sees its change.
STICKY_COOKIE = "read_primary"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

reads_from_replica = ContextVar("reads_from_replica", default=False)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if reads_from_replica.get() and REPLICA in settings.DATABASES:
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same data.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


def may_read_from_replica(request):
    return (
        request.method in SAFE_METHODS
        and STICKY_COOKIE not in request.COOKIES
        and not request.user.is_authenticated
        # An API token is checked in the view, after this; its holder is signed in too.
        and "HTTP_AUTHORIZATION" not in request.META
    )


class ReplicaReadsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = reads_from_replica.set(may_read_from_replica(request))
        try:
            response = self.get_response(request)
        finally:
            reads_from_replica.reset(token)
        if request.method not in SAFE_METHODS and REPLICA in settings.DATABASES:
            response.set_cookie(
                STICKY_COOKIE,
                "1",
                max_age=settings.REPLICA_STICKY_SECONDS,
                secure=request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
        return response


def reading_connection():
    """The connection the ORM reads from just now: raw SQL that reads, or sets a session
    setting for the ORM's reads, must use it too."""
    return connections[router.db_for_read(None)]
