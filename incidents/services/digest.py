"""The weekly digest: new incidents, rising patterns and overdue action items, by email to
those who subscribed on /my/. Queued through the notifications outbox, keyed by ISO week and
person, so running it twice in a week sends nothing more."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from incidents.dashboards.periods import week_label
from incidents.dashboards.series import FACTOR_FACETS
from incidents.dashboards.summaries import reader_scope, scope_incidents
from incidents.models import ActionItem, DigestSubscription, Notification, Tag
from incidents.services.notifications import queue_email

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


def _digest(*, user, today):
    """What the digest template shows `user`: only incidents they may read."""
    incidents = scope_incidents(reader_scope(user))
    since = timezone.now() - timedelta(days=7)
    new = list(incidents.filter(published_at__gte=since).order_by("-published_at")[: LISTED + 1])
    overdue = (
        ActionItem.objects.filter(
            status=ActionItem.Status.OPEN, due_on__lt=today, incident__in=incidents
        )
        .select_related("incident")
        .order_by("due_on", "pk")
    )
    return {
        "week": week_label(today),
        "new": new[:LISTED],
        "more": len(new) > LISTED,
        "rising": rising_patterns(incidents, today),
        "overdue_count": overdue.count(),
        "overdue": overdue[:LISTED],
    }


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
            queue_email(
                key=key,
                to=user,
                subject=f"Blast Radius weekly digest, {week}",
                template="weekly_digest.txt",
                context=_digest(user=user, today=today),
            )
    return len(subscriptions)
