from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "incidents"
    verbose_name = "Incidents and policy changes"

    def ready(self):
        # Registers the Celery tasks in every process (web, worker, commands), so that
        # `incidents.queueing` can queue them by name; imported here, once the models are ready.
        from incidents import tasks  # noqa: F401
