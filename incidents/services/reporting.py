"""Reporting clocks: the regimes marked on an incident, their deadlines, the reports filed,
and reminders through the notification outbox. Internal only."""

import zoneinfo
from urllib.parse import unquote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from incidents.models import IncidentRevision, ReportingClock, ReportingDeadline
from incidents.permissions import can_file, people_who_can_file
from incidents.services.notifications import queue_email

TIME_ZONE_COOKIE = "tz"


def reader_timezone(request):
    """The reader's time zone: the one their browser reported (a cookie set by
    `static/js/timezone.js`), else the site's (UTC)."""
    name = unquote(request.COOKIES.get(TIME_ZONE_COOKIE, ""))
    try:
        return zoneinfo.ZoneInfo(name) if name else zoneinfo.ZoneInfo(settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _require_filer(by):
    if not can_file(by):
        raise PermissionDenied("Only reporters can mark reporting obligations.")


def _schedule(clock):
    """Create or move each stage's deadline; reports already filed are kept, and a moved
    deadline may be reminded about again."""
    existing = {deadline.stage_id: deadline for deadline in clock.deadlines.all()}
    previous = None
    for stage in clock.trigger.stages.order_by("position", "pk"):
        start = clock.aware_at
        if stage.after_previous_stage and previous is not None:
            start = previous.filed_at or previous.due_at
        due_at = stage.due_from(start)
        deadline = existing.pop(stage.pk, None)
        if deadline is None:
            deadline = ReportingDeadline.objects.create(clock=clock, stage=stage, due_at=due_at)
        elif deadline.due_at != due_at:
            deadline.due_at = due_at
            deadline.reminded_due_soon_at = deadline.reminded_overdue_at = None
            deadline.save(update_fields=["due_at", "reminded_due_soon_at", "reminded_overdue_at"])
        previous = deadline
    # Stages removed from the regime since: drop their open deadlines, keep filed reports.
    for deadline in existing.values():
        if deadline.filed_at is None:
            deadline.delete()


@transaction.atomic
def reporting_clock_set(*, incident, trigger, aware_at, notes="", by):
    """Mark a trigger of a regime as applying to the incident, from when the organisation
    became aware of it; marking it again moves the clock."""
    _require_filer(by)
    if aware_at is None:
        raise ValidationError("Say when the organisation became aware of the incident.")
    if aware_at > timezone.now():
        raise ValidationError("Awareness cannot be in the future.")
    clock, _ = ReportingClock.objects.update_or_create(
        incident=incident, trigger=trigger, defaults={"aware_at": aware_at, "notes": notes}
    )
    _schedule(clock)
    return clock


@transaction.atomic
def reporting_clock_remove(*, clock, by):
    _require_filer(by)
    if clock.deadlines.exclude(filed_at=None).exists():
        raise ValidationError("A report was already filed under this regime; it stays on record.")
    clock.delete()


@transaction.atomic
def report_filed(*, deadline, filed_at, reference, by):
    """Record the report filed for one stage (or clear it with filed_at=None); the stages
    counted from it move accordingly."""
    _require_filer(by)
    if filed_at is not None and filed_at > timezone.now():
        raise ValidationError("A report cannot have been filed in the future.")
    if filed_at is not None and filed_at < deadline.clock.aware_at:
        raise ValidationError("A report cannot have been filed before awareness.")
    deadline.filed_at = filed_at
    deadline.reference = reference if filed_at else ""
    deadline.save(update_fields=["filed_at", "reference"])
    _schedule(deadline.clock)
    return deadline


def clocks_for(incident):
    """The incident's clocks with their deadlines, in the order they were marked; two queries."""
    return incident.reporting_clocks.select_related("trigger__regime").prefetch_related(
        "deadlines__stage"
    )


class _Recipients:
    """Who hears about a deadline: the incident's authors, else every reporter. Loaded once
    per run for all the deadlines at hand."""

    def __init__(self, incident_ids):
        User = get_user_model()
        authors = IncidentRevision.objects.filter(incident_id__in=incident_ids).exclude(author=None)
        self.author_ids = {}
        for incident_id, author_id in authors.values_list("incident_id", "author_id").distinct():
            self.author_ids.setdefault(incident_id, set()).add(author_id)
        wanted = set().union(*self.author_ids.values()) if self.author_ids else set()
        self.people = User.objects.filter(is_active=True).in_bulk(wanted)
        self.reporters = list(people_who_can_file())

    def of(self, incident_id):
        people = [
            self.people[pk] for pk in self.author_ids.get(incident_id, ()) if pk in self.people
        ]
        return people or self.reporters


def _remind(deadline, kind, recipients):
    incident = deadline.clock.incident
    what = f"{deadline.clock.trigger.regime}: {deadline.stage.name}"
    if kind == "overdue":
        subject = f"Overdue: {what} for {incident.public_number}"
    else:
        subject = f"Due within a day: {what} for {incident.public_number}"
    stamp = deadline.due_at.isoformat()
    for person in recipients.of(incident.pk):
        queue_email(
            key=f"reporting-{kind}:{deadline.pk}:{stamp}:{person.pk}",
            to=person,
            subject=subject,
            template="reporting_reminder.txt",
            context={"incident": incident, "deadline": deadline, "overdue": kind == "overdue"},
        )


def reporting_reminders(*, now=None):
    """Queue one reminder per deadline when it is due within a day and one when it is
    overdue. Running it again sends nothing new. Returns how many deadlines were reminded."""
    now = now or timezone.now()
    reminded = 0
    batches = [
        (
            "due-soon",
            ReportingDeadline.objects.due_soon(now).filter(reminded_due_soon_at=None),
            "reminded_due_soon_at",
        ),
        (
            "overdue",
            ReportingDeadline.objects.overdue(now).filter(reminded_overdue_at=None),
            "reminded_overdue_at",
        ),
    ]
    related = ("stage", "clock__trigger__regime", "clock__incident")
    for kind, deadlines, marker in batches:
        deadlines = list(deadlines.select_related(*related))
        recipients = _Recipients({deadline.clock.incident_id for deadline in deadlines})
        for deadline in deadlines:
            with transaction.atomic():
                # Claim it first, so two runs at once cannot both remind.
                claimed = ReportingDeadline.objects.filter(pk=deadline.pk, **{marker: None}).update(
                    **{marker: now}
                )
                if claimed:
                    _remind(deadline, kind, recipients)
                    reminded += 1
    return reminded
