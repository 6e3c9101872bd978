"""Follow-up work for the Celery worker, queued once the transaction commits.

The save has succeeded by the time a task is published, so publishing never fails a request:
a broker error is logged and the work stays recorded as `PendingWork`, written in the same
transaction as the save. The task deletes the record once done; `pending_work_sweep` (Celery
beat, and `manage.py sweep_pending_work`) queues whatever is still recorded after a grace
period, so work set off during a broker outage runs once the broker is back.

Tasks are looked up by name rather than imported: the tasks call the services and the services
queue tasks, so importing `incidents.tasks` here would close an import cycle. The app registers
the tasks when Django starts (`IncidentsConfig.ready`).
"""

import logging
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from incidents.dashboards.summaries import REBUILD_QUEUED_KEY
from incidents.models import PendingWork

log = logging.getLogger(__name__)

PATTERNS_QUEUED_KEY = "pattern-clusters-queued"


def _task(name):
    return current_app.tasks[f"incidents.tasks.{name}"]


def publish(name, *args):
    """Hand a task to the broker now. Returns whether it was queued; a broker that cannot be
    reached is logged, not raised (Celery raises kombu's OperationalError once its publish
    retries are spent). In eager mode the task runs here and its own errors propagate."""
    try:
        _task(name).delay(*args)
    except BrokerUnreachable:
        log.warning("Could not queue %s%r; it stays pending", name, args, exc_info=True)
        return False
    return True


def _queue_on_commit(name, argument=None):
    PendingWork.objects.create(task=name, argument=argument)
    args = () if argument is None else (argument,)
    transaction.on_commit(partial(publish, name, *args))


@contextmanager
def pending_work_done(name, argument=None, *, arguments=None):
    """Around a task's work: the records it finds as it starts are deleted once the work is
    done. Their saves committed before the task read anything, so it saw their data; records
    written meanwhile stay for the run their own save queued. A task doing the work of many
    records at once names their `arguments`."""
    if arguments is None:
        recorded = PendingWork.objects.filter(task=name, argument=argument)
    else:
        recorded = PendingWork.objects.filter(task=name, argument__in=arguments)
    seen = dict(recorded.values_list("pk", "payload"))
    yield list(seen.values())
    PendingWork.objects.filter(pk__in=seen).delete()


def pending_work_sweep(*, grace=None):
    """Queue each piece of recorded work once, if it was last queued longer ago than the grace
    period (younger work may still be waiting in the broker). Returns how many were queued."""
    if grace is None:
        grace = settings.PENDING_WORK_GRACE_SECONDS
    now = timezone.now()
    due = PendingWork.objects.filter(queued_at__lte=now - timedelta(seconds=grace))
    queued = 0
    for name, argument in due.values_list("task", "argument").distinct().order_by("task"):
        PendingWork.objects.filter(task=name, argument=argument, queued_at__lte=now).update(
            queued_at=now
        )
        args = () if argument is None else (argument,)
        if not publish(name, *args):
            break  # the broker is still down: the next sweep tries again
        queued += 1
    return queued


def related_incidents(incident_id):
    """Recompute one incident's similar incidents (and its neighbours')."""
    _queue_on_commit("recompute_related_incidents", incident_id)


def related_incidents_of(incident_ids):
    """Recompute the similar incidents of many incidents (and their neighbours') in one task,
    after an import. Each is recorded as its own pending work, so after a broker outage the
    sweep queues them one by one and nothing is lost."""
    incident_ids = sorted(set(incident_ids))
    PendingWork.objects.bulk_create(
        [PendingWork(task="recompute_related_incidents", argument=pk) for pk in incident_ids],
        batch_size=1000,
    )
    transaction.on_commit(partial(publish, "recompute_related_incidents_of", incident_ids))


def duplicates_flag(incident_ids):
    """Flag the likely duplicates of these incidents once the worker has made their vectors
    (`incidents.duplicates.flag_duplicates`). The ids are the pending work's payload: the task
    merges every payload it finds, so after a broker outage one swept task flags them all."""
    PendingWork.objects.create(task="flag_duplicates", payload=sorted(set(incident_ids)))
    transaction.on_commit(partial(publish, "flag_duplicates"))


def related_incidents_all():
    """Recompute every incident's similar incidents, embedding any whose text changed first."""
    _queue_on_commit("recompute_all_related_incidents")


def crosswalk_entry_rederive(entry_id):
    """Derive again the incidents a changed (or deleted) crosswalk entry reaches."""
    _queue_on_commit("rederive_crosswalk_entry", entry_id)


def pattern_clusters():
    """Grouping compares every incident with its neighbours, a job on the whole base: saves
    queue at most one per PATTERNS_RECOMPUTE_SECONDS (Celery beat runs one nightly too), so
    a busy site is not grouping again after every save."""
    # add() is False while one was queued within the interval; None means the cache is down,
    # and then one recompute too many beats none.
    if cache.add(PATTERNS_QUEUED_KEY, True, timeout=settings.PATTERNS_RECOMPUTE_SECONDS) is False:
        return
    _queue_on_commit("recompute_pattern_clusters")


def pattern_placement(incident_ids):
    """Place these incidents in (or out of) the recurring patterns, or regroup on a small base
    (`incidents.services.patterns.clusters_follow`). The ids are the pending work's payload,
    merged by the task as `duplicates_flag`'s are."""
    PendingWork.objects.create(task="place_in_patterns", payload=sorted(set(incident_ids)))
    transaction.on_commit(partial(publish, "place_in_patterns"))


def import_job(job_id):
    """The job row itself records the work: the sweep queues jobs still queued after the grace
    period (`incidents.importers.jobs.import_jobs_sweep`)."""
    transaction.on_commit(partial(publish, "run_import_job", job_id))


def summaries_rebuild():
    """Rebuild the dashboard summaries once the transaction commits (after bulk loads, which
    change too much for deltas). Many in a row queue one rebuild, not one each (the task
    clears the mark when it starts)."""
    PendingWork.objects.create(task="rebuild_dashboard_summaries")

    def queue():
        # add() is False when a rebuild is already queued; None means the cache is down,
        # and then one rebuild too many beats none.
        if cache.add(REBUILD_QUEUED_KEY, True, timeout=600) is not False and not publish(
            "rebuild_dashboard_summaries"
        ):
            cache.delete(REBUILD_QUEUED_KEY)

    transaction.on_commit(queue)


def summaries_apply(incident_ids):
    """Bring the dashboard summaries up to date with these incidents once the transaction
    commits, by the change in what each adds to them. The ids are the pending work's
    payload: the task merges every payload it finds, so a burst of saves, or the sweep after
    a broker outage, is done in one run."""
    incident_ids = sorted(set(incident_ids))
    if not incident_ids:
        return
    PendingWork.objects.create(task="apply_summary_deltas", payload=incident_ids)
    transaction.on_commit(partial(publish, "apply_summary_deltas"))


def notifications_send():
    """Send the outbox once the transaction that wrote to it commits. Unsent notifications are
    their own record: the beat schedule sends them every minute."""
    transaction.on_commit(partial(publish, "send_notifications"))
