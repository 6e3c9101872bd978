from django.conf import settings
from django.core.management.base import BaseCommand

from incidents.tasks import sweep_pending_work


class Command(BaseCommand):
    help = (
        "Queue the follow-up work that could not be queued when it was set off (a broker "
        "outage): similar incidents, dashboard summaries, patterns and uploaded imports. Also "
        "marks import jobs whose worker stopped as failed. Celery beat runs this every few "
        "minutes; run it by hand once the broker is back to catch up at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace",
            type=int,
            default=settings.PENDING_WORK_GRACE_SECONDS,
            help="Leave work queued less than this many seconds ago (it may still be in the "
            "broker's queue); default PENDING_WORK_GRACE_SECONDS.",
        )

    def handle(self, *args, grace, **options):
        outcome = sweep_pending_work(grace=grace)
        self.stderr.write(
            f"Queued {outcome['queued']} piece(s) of pending work; marked "
            f"{outcome['jobs_failed']} stalled import job(s) as failed."
        )
