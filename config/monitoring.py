"""What operators and their tools read: the health check for load balancers and the Prometheus
metrics. Neither is a page for people, so neither goes through the page cache or asks anyone
to sign in."""

import dataclasses

import kombu
from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView
from health_check import Cache, Database, HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from kombu.exceptions import OperationalError


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker takes a connection, so work queued on commit can leave the web process.
    Whether a worker is running is not the web server's health, and is not checked here."""

    url: str = dataclasses.field(default="", repr=False)

    def run(self):
        try:
            with kombu.Connection(self.url, connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=0, timeout=3)
        except (OSError, OperationalError) as error:
            # The address can hold a password: the answer names no more than the service.
            raise ServiceUnavailable("the broker refused a connection") from error


class Health(HealthCheckView):
    """200 when the database, the cache and (when tasks are queued) the broker answer, 500
    with the failing check named otherwise. Without CELERY_BROKER_URL tasks run in the web
    process, so there is no broker to check."""

    def get_checks(self):
        yield Database()
        yield Cache()
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            yield Broker(url=settings.CELERY_BROKER_URL)


@never_cache
def metrics(request):
    """Prometheus metrics, for a scraper that sends `Authorization: Bearer <METRICS_TOKEN>`.
    A token, not an address list: behind a proxy every request comes from the proxy's address,
    and the forwarded address is whatever the client says."""
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are off: METRICS_TOKEN is not set.")
    given = request.headers.get("Authorization", "")
    if not constant_time_compare(given, f"Bearer {settings.METRICS_TOKEN}"):
        response = HttpResponse(
            "Metrics need the bearer token.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return ExportToDjangoView(request)
