"""Emails about the review flow, through an outbox table drained by a Celery task."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from incidents import queueing
from incidents.models import ActionItem, Notification
from incidents.permissions import people_who_can_review


def _site_url(path):
    return settings.SITE_URL.rstrip("/") + path


def _queue(key, user, subject, body):
    if not user.email:
        return
    try:
        with transaction.atomic():
            Notification.objects.create(key=key, recipient=user.email, subject=subject, body=body)
    except IntegrityError:
        pass  # already queued: notifications are idempotent by key
    queueing.notifications_send()


def notify_review_requested(*, incident):
    revision = incident.latest_revision()
    authors = incident.authors_since_publication()
    link = _site_url(reverse("incident_review", args=[incident.number]))
    for user in people_who_can_review().exclude(pk__in=authors):
        _queue(
            f"review-requested:{revision.pk}:{user.pk}",
            user,
            f"Review requested: {incident.public_number} {incident.title}",
            f"Revision {revision.number} of {incident.title} awaits your review.\n\n{link}\n",
        )


def notify_review_outcome(*, review):
    incident = review.revision.incident
    User = get_user_model()
    verb = (
        "approved and published"
        if review.decision == "approve"
        else "sent back with changes requested"
    )
    link = _site_url(reverse("incident_edit", args=[incident.number]))
    body = f"{review.reviewer} {verb} revision {review.revision.number} of {incident.title}.\n"
    if review.comment:
        body += f"\nComment:\n{review.comment}\n"
    authors = set(incident.revisions.exclude(author=None).values_list("author_id", flat=True))
    for user in User.objects.filter(pk__in=authors, is_active=True):
        _queue(
            f"review-outcome:{review.pk}:{user.pk}",
            user,
            f"{incident.public_number} {verb}",
            body + f"\n{link}\n",
        )


def notify_overdue_action_items(*, today=None):
    """One reminder per person per day listing their overdue action items."""
    today = today or timezone.localdate()
    overdue = (
        ActionItem.objects.filter(status=ActionItem.Status.OPEN, due_on__lt=today)
        .exclude(assignee=None)
        .select_related("assignee", "incident")
        .order_by("assignee", "due_on")
    )
    by_person = {}
    for item in overdue:
        by_person.setdefault(item.assignee, []).append(item)
    for person, items in by_person.items():
        lines = [
            f"- {item.title} ({item.incident.public_number}, due {item.due_on:%d %b %Y})"
            for item in items
        ]
        _queue(
            f"overdue:{today.isoformat()}:{person.pk}",
            person,
            ngettext("%d overdue action item", "%d overdue action items", len(items)) % len(items),
            "These action items are past their due date:\n\n" + "\n".join(lines) + "\n",
        )
    return len(by_person)


def send_pending(limit=200):
    """Send what is waiting; a failure is recorded and retried on the next run."""
    sent = 0
    pending = Notification.objects.filter(sent_at=None, attempts__lt=10).order_by("created_at")
    for notification in pending[:limit]:
        try:
            send_mail(
                notification.subject,
                notification.body,
                settings.DEFAULT_FROM_EMAIL,
                [notification.recipient],
            )
        except Exception as error:  # noqa: BLE001 - recorded, retried by the next run
            notification.attempts += 1
            notification.last_error = str(error)[:2000]
            notification.save(update_fields=["attempts", "last_error"])
            continue
        Notification.objects.filter(pk=notification.pk, sent_at=None).update(
            sent_at=timezone.now(), attempts=notification.attempts + 1
        )
        sent += 1
    return sent
