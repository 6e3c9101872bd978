"""Celery tasks: thin shells that load by id and call a service. Queued through
`incidents.queueing`, never imported by the code that queues them.

Tasks that recompute a result from the current data are idempotent, so they acknowledge their
message only when done (`acks_late`) and a worker killed mid-task (out of memory, a deploy)
hands it back to the broker (`reject_on_worker_lost`) for another run, rather than losing it.
An import job is not retried that way: an upload that killed one worker would kill the next;
the sweep marks it failed instead and an editor retries it from the admin.
"""

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from incidents import duplicates, queueing, semantic
from incidents.dashboards import summaries
from incidents.importers import VOCABULARIES
from incidents.importers.jobs import import_job_run, import_jobs_sweep
from incidents.models import ImportJob, Incident
from incidents.services import crosswalk, digest, notifications, patterns, related, reporting

# Run again after a lost worker: each replaces stored results with ones computed afresh.
recomputes = shared_task(acks_late=True, reject_on_worker_lost=True)


@recomputes
def recompute_related_incidents(incident_id):
    with queueing.pending_work_done("recompute_related_incidents", incident_id):
        incident = Incident.objects.filter(pk=incident_id).first()
        if incident is None:
            return 0
        semantic.embeddings_update([incident_id])
        related.related_incidents_recompute(incident=incident)
        patterns.clusters_follow([incident_id])
    return incident.related_links.count()


@recomputes
def recompute_related_incidents_of(incident_ids):
    """Many incidents' pending `recompute_related_incidents` work, done in one pass."""
    with queueing.pending_work_done("recompute_related_incidents", arguments=incident_ids):
        semantic.embeddings_update(incident_ids)
        refreshed = related.related_incidents_recompute_many(incident_ids)
        patterns.clusters_follow(incident_ids)
    return len(refreshed)


@recomputes
def recompute_all_related_incidents():
    with queueing.pending_work_done("recompute_all_related_incidents"):
        semantic.embeddings_update()
        related.related_incidents_recompute_all()
        queueing.pattern_clusters()


@recomputes
def flag_duplicates():
    """Every recorded import's likely duplicates, flagged once their vectors are made."""
    with queueing.pending_work_done("flag_duplicates") as payloads:
        incident_ids = sorted({pk for payload in payloads for pk in payload or ()})
        semantic.embeddings_update(incident_ids)
        return duplicates.flag_duplicates(incident_ids)


@recomputes
def rederive_crosswalk_entry(entry_id=None):
    with queueing.pending_work_done("rederive_crosswalk_entry", entry_id):
        reached = crosswalk.crosswalk_entry_reach(entry_id)
        changed = crosswalk.incidents_rederive(
            incident_ids=reached, vocabulary_order=list(VOCABULARIES)
        )
        if changed:
            queueing.summaries_apply(reached)
    return changed


@shared_task
def run_import_job(job_id):
    job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).first()
    if job is not None:
        import_job_run(job)


@shared_task
def send_notifications():
    return notifications.send_pending()


@shared_task
def remind_overdue_action_items():
    return notifications.notify_overdue_action_items()


@shared_task
def remind_reporting_deadlines():
    return reporting.reporting_reminders()


@recomputes
def rebuild_dashboard_summaries():
    cache.delete(summaries.REBUILD_QUEUED_KEY)
    # A rebuild counts every incident as it stands, so the deltas already recorded are done.
    with (
        queueing.pending_work_done("rebuild_dashboard_summaries"),
        queueing.pending_work_done("apply_summary_deltas"),
    ):
        return summaries.summaries_rebuild()


@recomputes
def apply_summary_deltas():
    """Every recorded change of incidents, applied to the summaries in one run."""
    with queueing.pending_work_done("apply_summary_deltas") as payloads:
        incident_ids = {pk for payload in payloads for pk in payload or ()}
        return summaries.summaries_apply(incident_ids)


@recomputes
def update_dashboard_summaries():
    """Work recorded before summaries were kept by deltas: the incidents it names."""
    with queueing.pending_work_done("update_dashboard_summaries") as payloads:
        incident_ids = {pk for payload in payloads for pk in (payload or {}).get("incidents", ())}
        return summaries.summaries_apply(incident_ids)


@recomputes
def check_dashboard_summaries():
    """Rebuild the summaries and report how the rows kept by deltas differed (repaired)."""
    with (
        queueing.pending_work_done("rebuild_dashboard_summaries"),
        queueing.pending_work_done("apply_summary_deltas"),
    ):
        report = summaries.summaries_check()
    return {"rows": report.rows, "missing": report.missing, "extra": report.extra}


@recomputes
def recompute_pattern_clusters():
    with queueing.pending_work_done("recompute_pattern_clusters"):
        return patterns.clusters_recompute()


@recomputes
def place_in_patterns():
    """Every recorded change of incidents' patterns (a retraction), placed in one run."""
    with queueing.pending_work_done("place_in_patterns") as payloads:
        return patterns.clusters_follow(sorted({pk for p in payloads for pk in p or ()}))


@shared_task
def send_weekly_digests():
    return digest.send_weekly_digests()


@recomputes
def sweep_pending_work(grace=None):
    """Queue what a broker outage left over, and fail import jobs whose worker stopped."""
    if grace is None:
        grace = settings.PENDING_WORK_GRACE_SECONDS
    queued = queueing.pending_work_sweep(grace=grace)
    jobs_queued, jobs_failed = import_jobs_sweep(
        grace=grace, stale_after=settings.IMPORT_JOB_STALE_SECONDS
    )
    return {"queued": queued + jobs_queued, "jobs_failed": jobs_failed}
