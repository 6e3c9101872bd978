"""Emails, through an outbox table drained by a Celery task.

A change writes its emails to the outbox in its own transaction, with bodies rendered from
`templates/emails/`; `send_pending` sends them. Several senders run at once (one is queued after
every change that writes an email, and beat starts one each minute), so a sender claims each
email before sending it.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import ngettext

from incidents import queueing
from incidents.models import ActionItem, Notification
from incidents.permissions import people_who_can_review

# Tries per email, failed sends and claims by senders that died alike; then it is left in the
# outbox (visible in the admin with its last error) for someone to look at.
MAX_ATTEMPTS = 10
# A claim this old was left by a sender that died between claiming and sending: no SMTP
# conversation for one email takes this long.
CLAIM_TIMEOUT = timedelta(minutes=10)


def queue_email(*, key, to, subject, template, context):
    """Put an email to the user `to` in the outbox, its body rendered from
    `templates/emails/<template>` with `site_url` added to the context. Queued once per key:
    queueing the same key again does nothing."""
    if not to.email:
        return
    body = render_to_string(
        f"emails/{template}", {"site_url": settings.SITE_URL.rstrip("/"), **context}
    )
    try:
        with transaction.atomic():
            Notification.objects.create(key=key, recipient=to.email, subject=subject, body=body)
    except IntegrityError:
        pass  # already queued
    queueing.notifications_send()


def notify_review_requested(*, incident, by):
    revision = incident.latest_revision()
    authors = incident.authors_since_publication()
    for user in people_who_can_review().exclude(pk__in=authors):
        queue_email(
            key=f"review-requested:{revision.pk}:{user.pk}",
            to=user,
            subject=f"Review requested: {incident.public_number} {incident.title}",
            template="review_requested.txt",
            context={"incident": incident, "revision": revision, "submitter": by},
        )


def notify_review_outcome(*, review):
    incident = review.revision.incident
    User = get_user_model()
    template = {
        review.Decision.APPROVE: "review_approved.txt",
        review.Decision.REQUEST_CHANGES: "changes_requested.txt",
    }[review.decision]
    authors = set(incident.revisions.exclude(author=None).values_list("author_id", flat=True))
    for user in User.objects.filter(pk__in=authors, is_active=True):
        queue_email(
            key=f"review-outcome:{review.pk}:{user.pk}",
            to=user,
            subject=f"{incident.public_number} {review.outcome}",
            template=template,
            context={"incident": incident, "review": review},
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
        queue_email(
            key=f"overdue:{today.isoformat()}:{person.pk}",
            to=person,
            subject=ngettext("%d overdue action item", "%d overdue action items", len(items))
            % len(items),
            template="overdue_action_items.txt",
            context={"items": items},
        )
    return len(by_person)


def _claim(*, skipping):
    """Take the oldest email nobody is sending, or None. The update changes the row only while
    it is still claimable, so two senders never both take it; skip_locked lets senders on
    PostgreSQL pass over a row another one is claiming instead of waiting for it."""
    now = timezone.now()
    claimable = Q(sent_at=None, attempts__lt=MAX_ATTEMPTS) & (
        Q(claimed_at=None) | Q(claimed_at__lte=now - CLAIM_TIMEOUT)
    )
    lost = set()
    while True:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True)
                .filter(claimable)
                .exclude(pk__in=skipping | lost)
                .order_by("created_at", "pk")
                .first()
            )
            if notification is None:
                return None
            taken = Notification.objects.filter(claimable, pk=notification.pk).update(
                claimed_at=now, attempts=F("attempts") + 1
            )
            if taken:
                notification.claimed_at = now
                return notification
        lost.add(notification.pk)


def send_pending(limit=200):
    """Send what is waiting, one claimed email at a time; a failure is recorded and retried by
    a later run, up to MAX_ATTEMPTS. Returns how many were sent."""
    sent, tried = 0, set()
    while len(tried) < limit:
        notification = _claim(skipping=tried)
        if notification is None:
            break
        tried.add(notification.pk)
        try:
            send_mail(
                notification.subject,
                notification.body,
                settings.DEFAULT_FROM_EMAIL,
                [notification.recipient],
            )
        except Exception as error:  # noqa: BLE001 - recorded, retried by a later run
            # Released for a later run, unless it was claimed again meanwhile (this send
            # outlasted CLAIM_TIMEOUT) and is another sender's now.
            Notification.objects.filter(
                pk=notification.pk, claimed_at=notification.claimed_at
            ).update(claimed_at=None, last_error=str(error)[:2000])
            continue
        Notification.objects.filter(pk=notification.pk).update(sent_at=timezone.now())
        sent += 1
    return sent
