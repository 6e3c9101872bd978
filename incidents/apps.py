from django.apps import AppConfig
from django.core import checks

from incidents.checks import shared_cache_in_production


class IncidentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "incidents"
    verbose_name = "Incidents and policy changes"

    def ready(self):
        checks.register(shared_cache_in_production, checks.Tags.caches)
        # Registers the Celery tasks in every process (web, worker, commands), so that
        # `incidents.queueing` can queue them by name; imported here, once the models are ready.
        from incidents import tasks  # noqa: F401
