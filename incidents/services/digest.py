"""The weekly digest: new incidents, rising patterns and overdue action items, by email to
those who subscribed on /my/. Queued through the notifications outbox, keyed by ISO week and
person, so running it twice in a week sends nothing more."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from incidents.dashboards.periods import week_label
from incidents.dashboards.series import FACTOR_FACETS
from incidents.dashboards.summaries import reader_scope, scope_incidents
from incidents.models import ActionItem, DigestSubscription, Notification, Tag
from incidents.services.notifications import _queue, _site_url

LISTED = 10
# A pattern is rising when its last four weeks hold more incidents than the four before,
# and at least this many.
RISING_MINIMUM = 2


@transaction.atomic
def digest_subscribe(*, user, subscribed):
    if subscribed:
        DigestSubscription.objects.get_or_create(user=user)
    else:
        DigestSubscription.objects.filter(user=user).delete()


def rising_patterns(incidents, today):
    """[(tag, last four weeks, four weeks before)] for factors occurring more often lately."""
    start = timezone.make_aware(datetime.combine(today - timedelta(days=56), time.min))
    middle = start + timedelta(days=28)
    counts = (
        Tag.objects.filter(facet__in=FACTOR_FACETS, incidents__in=incidents)
        .annotate(
            recent=Count("incidents", filter=_occurred(middle, None)),
            earlier=Count("incidents", filter=_occurred(start, middle)),
        )
        .filter(recent__gte=RISING_MINIMUM)
    )
    rising = [(tag, tag.recent, tag.earlier) for tag in counts if tag.recent > tag.earlier]
    return sorted(rising, key=lambda row: (row[2] - row[1], row[0].name))[:LISTED]


def _occurred(start, end):
    condition = Q(incidents__occurred_at__gte=start)
    if end is not None:
        condition &= Q(incidents__occurred_at__lt=end)
    return condition


def digest_body(*, user, today):
    incidents = scope_incidents(reader_scope(user))
    since = timezone.now() - timedelta(days=7)
    new = list(incidents.filter(published_at__gte=since).order_by("-published_at")[: LISTED + 1])
    lines = [f"Blast Radius, week {week_label(today)}", ""]
    lines.append("New incidents this week:")
    if new:
        lines += [
            f"- {i.public_number} {i.title}\n  {_site_url(i.get_absolute_url())}"
            for i in new[:LISTED]
        ]
        if len(new) > LISTED:
            lines.append(f"- and more: {_site_url(reverse('incident_list'))}")
    else:
        lines.append("- None.")
    lines += ["", "Rising patterns (last four weeks against the four before):"]
    rising = rising_patterns(incidents, today)
    lines += [f"- {tag.name}: {recent} (was {earlier})" for tag, recent, earlier in rising] or [
        "- None."
    ]
    overdue = (
        ActionItem.objects.filter(
            status=ActionItem.Status.OPEN, due_on__lt=today, incident__in=incidents
        )
        .select_related("incident")
        .order_by("due_on", "pk")
    )
    overdue_count = overdue.count()
    lines += ["", f"Overdue action items: {overdue_count}"]
    lines += [
        f"- {item.title} ({item.owner or 'unassigned'}, {item.incident.public_number}, "
        f"due {item.due_on:%-d %b %Y})"
        for item in overdue[:LISTED]
    ]
    lines += ["", f"Dashboard: {_site_url(reverse('dashboard'))}"]
    lines += [f"Stop these emails: {_site_url(reverse('my_postmortems'))}", ""]
    return "\n".join(lines)


def send_weekly_digests(*, today=None):
    """Queue this week's digest for every subscriber who has not had it. Returns how many
    subscribers were considered."""
    today = today or timezone.localdate()
    week = week_label(today)
    subscriptions = DigestSubscription.objects.select_related("user").filter(user__is_active=True)
    for subscription in subscriptions:
        user = subscription.user
        key = f"digest:{week}:{user.pk}"
        if Notification.objects.filter(key=key).exists():
            continue
        with transaction.atomic():
            _queue(
                key,
                user,
                f"Blast Radius weekly digest, {week}",
                digest_body(user=user, today=today),
            )
    return len(subscriptions)
