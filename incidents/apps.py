from django.apps import AppConfig
from django.core import checks
from django.core.signals import request_started

from incidents.checks import semantic_matching_installed, shared_cache_in_production


class IncidentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "incidents"
    verbose_name = "Incidents and policy changes"

    def ready(self):
        checks.register(shared_cache_in_production, checks.Tags.caches)
        checks.register(semantic_matching_installed)
        # Imported here, once the models are ready. The tasks register themselves in every
        # process (web, worker, commands), so that `incidents.queueing` can queue them by name.
        from incidents import facet_signals, semantic, tasks  # noqa: F401

        # A web process starts loading the model at its first request, so searches stop
        # matching words only seconds after it starts, without making that request wait.
        request_started.connect(semantic.warm_up, dispatch_uid="semantic-warm-up")
