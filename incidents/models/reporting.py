"""Reporting obligations to regulators, kept as data, and the clocks they start on an incident.

Internal only: none of this is shown on public pages, feeds, exports or the anonymous API.
"""

from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext

from .incident import Incident

DUE_SOON = timedelta(hours=24)


class ReportingRegime(models.Model):
    """A law that obliges someone to report an incident, such as the EU AI Act, Art. 73."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    citation = models.CharField(max_length=200, blank=True)
    url = models.URLField("URL", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ReportingTrigger(models.Model):
    """What makes a regime apply; each trigger has its own deadlines."""

    regime = models.ForeignKey(ReportingRegime, on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["regime__name", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["regime", "slug"], name="unique_trigger_per_regime")
        ]

    def __str__(self):
        return f"{self.regime}: {self.name}"


class ReportingStage(models.Model):
    """One report a trigger calls for, due a fixed time after awareness (or, for a follow-up
    report, after the previous stage)."""

    trigger = models.ForeignKey(ReportingTrigger, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    within = models.DurationField(default=timedelta(0), help_text="Hours or days allowed.")
    within_months = models.PositiveSmallIntegerField(
        default=0, help_text="Calendar months allowed, added to the above."
    )
    after_previous_stage = models.BooleanField(
        default=False,
        help_text="Counted from the previous stage's report (or, until it is filed, its "
        "deadline) instead of from awareness.",
    )
    incomplete_allowed = models.BooleanField(
        "an initial, incomplete report is allowed", default=False
    )

    class Meta:
        ordering = ["trigger", "position"]

    def __str__(self):
        return f"{self.trigger}: {self.name}"

    def due_from(self, start):
        return start + self.within + relativedelta(months=self.within_months)

    @property
    def period_display(self):
        parts = []
        months = self.within_months
        if months:
            parts.append(ngettext("%d month", "%d months", months) % months)
        hours = int(self.within.total_seconds() // 3600)
        if hours and hours % 24 == 0 and hours > 72:
            parts.append(ngettext("%d day", "%d days", hours // 24) % (hours // 24))
        elif hours:
            parts.append(ngettext("%d hour", "%d hours", hours) % hours)
        base = "the previous report" if self.after_previous_stage else "awareness"
        return f"{' and '.join(parts) or 'immediately'} after {base}"


class ReportingClock(models.Model):
    """A trigger marked on an incident, running from when the organisation became aware."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="reporting_clocks"
    )
    trigger = models.ForeignKey(ReportingTrigger, on_delete=models.PROTECT, related_name="clocks")
    aware_at = models.DateTimeField("became aware at")
    notes = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["aware_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "trigger"], name="one_clock_per_trigger")
        ]

    def __str__(self):
        return f"{self.incident.public_number}: {self.trigger}"


class ReportingDeadlineQuerySet(models.QuerySet):
    def open(self):
        return self.filter(filed_at=None)

    def overdue(self, now=None):
        return self.open().filter(due_at__lt=now or timezone.now())

    def due_soon(self, now=None, within=DUE_SOON):
        now = now or timezone.now()
        return self.open().filter(due_at__gte=now, due_at__lt=now + within)

    def needing_attention(self, now=None):
        now = now or timezone.now()
        return self.open().filter(Q(due_at__lt=now + DUE_SOON))

    def for_list(self):
        return self.select_related("stage", "clock__trigger__regime", "clock__incident").order_by(
            "due_at", "pk"
        )


class ReportingDeadline(models.Model):
    """One stage of a clock: when its report is due, and the report once filed."""

    clock = models.ForeignKey(ReportingClock, on_delete=models.CASCADE, related_name="deadlines")
    stage = models.ForeignKey(ReportingStage, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(db_index=True)
    filed_at = models.DateTimeField("report filed at", null=True, blank=True)
    reference = models.CharField("report reference", max_length=200, blank=True)
    reminded_due_soon_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_overdue_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ReportingDeadlineQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["clock", "stage"], name="one_deadline_per_stage")
        ]

    def __str__(self):
        return f"{self.clock}: {self.stage.name} due {self.due_at:%Y-%m-%d %H:%M}"

    def state(self, now=None):
        now = now or timezone.now()
        if self.filed_at:
            return "filed late" if self.filed_at > self.due_at else "filed"
        if self.due_at < now:
            return "overdue"
        if self.due_at < now + DUE_SOON:
            return "due soon"
        return "open"
