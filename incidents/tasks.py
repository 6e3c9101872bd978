from celery import shared_task

from incidents import services
from incidents.models import Incident


@shared_task
def recompute_related_incidents(incident_id):
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return 0
    services.related_incidents_recompute(incident=incident)
    recompute_pattern_clusters.delay_on_commit()
    return incident.related_links.count()


@shared_task
def recompute_all_related_incidents():
    services.related_incidents_recompute_all()
    recompute_pattern_clusters.delay_on_commit()


@shared_task
def run_import_job(job_id):
    from incidents.importers.jobs import import_job_run
    from incidents.models import ImportJob

    job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).first()
    if job is not None:
        import_job_run(job)


@shared_task
def send_notifications():
    from incidents.services.notifications import send_pending

    return send_pending()


@shared_task
def remind_overdue_action_items():
    from incidents.services.notifications import notify_overdue_action_items

    return notify_overdue_action_items()


@shared_task
def remind_reporting_deadlines():
    from incidents.services.reporting import reporting_reminders

    return reporting_reminders()


@shared_task
def rebuild_dashboard_summaries():
    from django.core.cache import cache

    from incidents.dashboards.summaries import QUEUED_KEY, summaries_rebuild

    cache.delete(QUEUED_KEY)
    return summaries_rebuild()


@shared_task
def recompute_pattern_clusters():
    from incidents.services.patterns import clusters_recompute

    return clusters_recompute()


@shared_task
def send_weekly_digests():
    from incidents.services.digest import send_weekly_digests

    return send_weekly_digests()
