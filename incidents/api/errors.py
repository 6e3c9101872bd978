"""Every API error is JSON with a `detail` message; field errors add `errors` by field."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(error, context):
    if isinstance(error, PermissionDenied) and str(error):
        # The review services explain why they refuse; keep their words.
        error = exceptions.PermissionDenied(str(error))
    elif isinstance(error, Http404):
        error = exceptions.NotFound("Not found: no published record has this address.")
    response = drf_exception_handler(error, context)
    if response is None:
        return None
    if isinstance(error, exceptions.ValidationError):
        errors = response.data
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
        response.data = {"detail": "The request has invalid fields; see errors.", "errors": errors}
    elif isinstance(error, exceptions.Throttled):
        response.data = {
            "detail": f"Too many requests: try again in {error.wait or 1:.0f} seconds.",
        }
    return response


@csrf_exempt  # writes to unknown addresses get this answer too, not a CSRF page
def not_found(request, *args, **kwargs):
    """Unknown addresses under /api/ answer JSON too."""
    return JsonResponse(
        {"detail": "No such API endpoint; see /api/v1/docs/ for the list."},
        status=status.HTTP_404_NOT_FOUND,
    )


def server_error(*, unavailable):
    """The answer to an error no view handled (see `incidents.views.errors`)."""
    if unavailable:
        detail = "The database is unavailable for a moment (a restart or failover); try again."
        return JsonResponse({"detail": detail}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    detail = "Something went wrong on our side; it has been logged."
    return JsonResponse({"detail": detail}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def bad_request():
    detail = "Bad request: check the address, the Host header and the size of the body."
    return JsonResponse({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)


def permission_denied(error):
    detail = str(error) or "You do not have permission to do this."
    return JsonResponse({"detail": detail}, status=status.HTTP_403_FORBIDDEN)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ValidationErrorSerializer(ErrorSerializer):
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Messages by field name, when fields or parameters were invalid.",
    )


class ConflictSerializer(ErrorSerializer):
    latest_revision = serializers.IntegerField()
