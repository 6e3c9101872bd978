"""Follow-up work for the Celery worker, queued once the transaction commits.

Tasks are looked up by name rather than imported: the tasks call the services and the services
queue tasks, so importing `incidents.tasks` here would close an import cycle. The app registers
the tasks when Django starts (`IncidentsConfig.ready`).
"""

import logging

from celery import current_app
from django.core.cache import cache
from django.db import transaction

from incidents.dashboards.summaries import REBUILD_QUEUED_KEY

log = logging.getLogger(__name__)


def _task(name):
    return current_app.tasks[f"incidents.tasks.{name}"]


def related_incidents(incident_id):
    """Recompute one incident's similar incidents (and its neighbours')."""
    _task("recompute_related_incidents").delay_on_commit(incident_id)


def all_related_incidents():
    """Recompute every incident's similar incidents, after an import."""
    _task("recompute_all_related_incidents").delay_on_commit()


def pattern_clusters():
    _task("recompute_pattern_clusters").delay_on_commit()


def import_job(job_id):
    _task("run_import_job").delay_on_commit(job_id)


def summaries_rebuild():
    """Rebuild the dashboard summaries once the transaction commits. Many saves in a row queue
    one rebuild, not one each (the task clears the mark when it starts)."""

    def queue():
        if cache.add(REBUILD_QUEUED_KEY, True, timeout=600):
            try:
                _task("rebuild_dashboard_summaries").delay()
            except Exception:  # noqa: BLE001 - the beat schedule rebuilds later anyway
                cache.delete(REBUILD_QUEUED_KEY)
                log.warning("Could not queue the summary rebuild", exc_info=True)

    transaction.on_commit(queue)


def notifications_send():
    """Send the outbox once the transaction that wrote to it commits."""

    def queue():
        try:
            _task("send_notifications").delay()
        except Exception:  # noqa: BLE001 - any broker failure: the beat schedule retries later
            log.warning("Could not queue sending notifications; beat retries", exc_info=True)

    transaction.on_commit(queue)
