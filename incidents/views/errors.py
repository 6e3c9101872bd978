"""What a request that failed answers: JSON under /api/, a plain page elsewhere.

A database that cannot be reached (a restart, a failover) answers 503, since trying again
shortly will work; any other unexpected error 500. Neither answer touches the database, and the
pages render without the request's context, whose processors would.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.views import defaults

from incidents.api import errors as api_errors

RETRY_AFTER_SECONDS = 10


def _is_api(request):
    return request.path_info.startswith("/api/")


def server_error(request):
    """Django's handler500, called while the error is being handled (so `sys.exc_info`)."""
    unavailable = isinstance(sys.exc_info()[1], OperationalError | InterfaceError)
    if _is_api(request):
        response = api_errors.server_error(unavailable=unavailable)
    else:
        page = loader.get_template("500.html").render({"unavailable": unavailable})
        response = HttpResponse(page, status=503 if unavailable else 500)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def bad_request(request, exception):
    """A request Django refused before any view (an unknown host, a body over the limit)."""
    if _is_api(request):
        return api_errors.bad_request()
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_api(request):
        return api_errors.permission_denied(exception)
    return defaults.permission_denied(request, exception)
