"""Follow-up work that a write set off, recorded in the write's own transaction."""

from django.db import models
from django.utils import timezone


class PendingWork(models.Model):
    """One task to run for one object (or for everything, with no argument). Written with the
    save that needs it and deleted by the task once done, so a broker outage delays the work
    but never loses it: `incidents.queueing.pending_work_sweep` queues what is left over."""

    task = models.CharField(max_length=60)
    argument = models.BigIntegerField(null=True, blank=True)
    # What the work is about when one id cannot say it (the summary rows an import reached).
    payload = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The last time it was handed to the broker (or tried to be); the sweep waits a grace
    # period after it, so work still in the queue is not queued twice.
    queued_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name_plural = "pending work"

    def __str__(self):
        return self.task if self.argument is None else f"{self.task}({self.argument})"
