import logging
import logging.config
import os

from celery import Celery, signals
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("blast_radius")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def log_like_the_site(loglevel, **kwargs):
    """A worker logs through the site's LOGGING (JSON lines when LOG_FORMAT=json) rather than
    Celery's own setup, at the level given with --loglevel, its task lines included."""
    logging.config.dictConfig(settings.LOGGING)
    for name in ["", "celery"]:
        logging.getLogger(name).setLevel(loglevel)
