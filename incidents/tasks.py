"""Celery tasks: thin shells that load by id and call a service. Queued through
`incidents.queueing`, never imported by the code that queues them."""

from celery import shared_task
from django.core.cache import cache

from incidents.dashboards import summaries
from incidents.importers.jobs import import_job_run
from incidents.models import ImportJob, Incident
from incidents.services import digest, notifications, patterns, related, reporting


@shared_task
def recompute_related_incidents(incident_id):
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return 0
    related.related_incidents_recompute(incident=incident)
    recompute_pattern_clusters.delay_on_commit()
    return incident.related_links.count()


@shared_task
def recompute_all_related_incidents():
    related.related_incidents_recompute_all()
    recompute_pattern_clusters.delay_on_commit()


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


@shared_task
def rebuild_dashboard_summaries():
    cache.delete(summaries.REBUILD_QUEUED_KEY)
    return summaries.summaries_rebuild()


@shared_task
def recompute_pattern_clusters():
    return patterns.clusters_recompute()


@shared_task
def send_weekly_digests():
    return digest.send_weekly_digests()
