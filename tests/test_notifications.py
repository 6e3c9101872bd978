"""Emails about the review flow: who gets them, that they are sent once, and that a broker
outage delays them without blocking the change they report.

Personas: Ada the author (a reporter), Rui and Eve who can review (a reviewer and an editor),
Sam who writes and reviews, and Vic, a viewer who never reviews. All of them are there in every
test, so each test shows who is left out.
"""

from datetime import date, timedelta
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from incidents.models import ActionItem, Incident, Notification
from incidents.services import notifications
from incidents.services import review as review_service

from .factories import signed_in, snapshot_of

pytestmark = pytest.mark.usefixtures("ada", "rui", "eve", "sam", "vic")


def draft_by(author, title="Agent emptied the S3 bucket"):
    return review_service.incident_create(snapshot=snapshot_of(title=title), by=author)


def submit(client, incident, capture):
    with capture(execute=True):
        response = client.post(reverse("incident_submit", args=[incident.number]))
    assert response.status_code == 302
    return response


def recipients():
    return sorted(address for message in mail.outbox for address in message.to)


def test_entering_review_emails_every_reviewer_but_the_author(
    sam, django_capture_on_commit_callbacks
):
    incident = draft_by(sam)
    mail.outbox.clear()

    submit(signed_in(sam), incident, django_capture_on_commit_callbacks)

    assert recipients() == ["eve@example.com", "rui@example.com"]
    message = mail.outbox[0]
    assert message.subject == f"Review requested: {incident.public_number} {incident.title}"
    assert message.body.startswith(
        f"sam asks you to review revision 1 of Agent emptied the S3 bucket "
        f"({incident.public_number}).\n"
    )
    assert reverse("incident_review", args=[incident.number]) in message.body
    assert not Notification.objects.filter(sent_at=None).exists()


def test_changes_requested_emails_the_authors_with_the_comment(
    ada, rui, django_capture_on_commit_callbacks
):
    incident = draft_by(ada)
    review_service.review_submit(incident=incident, by=ada)
    notifications.send_pending()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        signed_in(rui).post(
            reverse("incident_review", args=[incident.number]),
            {"decision": "request_changes", "comment": "Which region was affected?"},
        )

    assert recipients() == ["ada@example.com"]
    message = mail.outbox[0]
    assert message.subject == f"{incident.public_number} sent back with changes requested"
    assert message.body.startswith(
        f"rui sent revision 1 of Agent emptied the S3 bucket ({incident.public_number}) back "
        "with changes requested:\n\nWhich region was affected?\n"
    )
    assert reverse("incident_edit", args=[incident.number]) in message.body


def test_approval_emails_every_author_since_the_last_publication(
    ada, rui, sam, django_capture_on_commit_callbacks
):
    incident = draft_by(ada)
    latest = incident.latest_revision()
    review_service.incident_save(
        incident=incident,
        snapshot={**latest.data, "fields": {**latest.data["fields"], "summary": "More detail."}},
        by=sam,
        base_revision_number=latest.number,
    )
    review_service.review_submit(incident=incident, by=ada)
    notifications.send_pending()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        signed_in(rui).post(
            reverse("incident_review", args=[incident.number]), {"decision": "approve"}
        )

    assert recipients() == ["ada@example.com", "sam@example.com"]
    for message in mail.outbox:
        assert message.subject == f"{incident.public_number} approved and published"
        assert message.body.startswith(
            f"rui approved and published revision 2 of Agent emptied the S3 bucket "
            f"({incident.public_number}).\n"
        )
        assert incident.get_absolute_url() in message.body
        assert "comment" not in message.body  # Rui wrote none


def test_email_bodies_are_plain_text_not_html(ada, rui):
    incident = draft_by(ada, title='Agent\'s "cleanup" deleted R&D <data>')
    review_service.review_submit(incident=incident, by=ada)
    review_service.review_request_changes(
        incident=incident, by=rui, comment="Say what <data> means & who's affected."
    )
    notifications.send_pending()

    bodies = "\n".join(message.body for message in mail.outbox)
    assert 'Agent\'s "cleanup" deleted R&D <data>' in bodies
    assert "Say what <data> means & who's affected." in bodies
    assert "&amp;" not in bodies and "&lt;" not in bodies and "&#x27;" not in bodies


def test_queuing_the_same_notification_again_sends_it_once(ada):
    incident = draft_by(ada)
    review_service.review_submit(incident=incident, by=ada)
    notifications.send_pending()
    sent = len(mail.outbox)

    notifications.notify_review_requested(incident=incident, by=ada)
    with pytest.raises(review_service.NotAllowed, match="already waiting for review"):
        review_service.review_submit(incident=incident, by=ada)  # same revision again
    notifications.send_pending()

    assert sent == 3  # rui, eve, sam
    assert len(mail.outbox) == sent
    assert Notification.objects.count() == sent


def test_the_overdue_reminder_is_sent_once_a_day(ada, eve):
    incident = draft_by(ada)
    today = date(2026, 3, 10)
    for title in ["Rotate the leaked key", "Add a dry-run flag"]:
        ActionItem.objects.create(
            incident=incident, title=title, assignee=ada, due_on=today - timedelta(days=3)
        )
    ActionItem.objects.create(
        incident=incident, title="Not due", assignee=eve, due_on=today + timedelta(days=5)
    )
    ActionItem.objects.create(
        incident=incident,
        title="Done late",
        assignee=eve,
        due_on=today - timedelta(days=9),
        status=ActionItem.Status.DONE,
    )

    assert notifications.notify_overdue_action_items(today=today) == 1
    notifications.notify_overdue_action_items(today=today)
    notifications.send_pending()
    notifications.send_pending()

    assert recipients() == ["ada@example.com"]
    assert mail.outbox[0].subject == "2 overdue action items"
    assert mail.outbox[0].body.startswith(
        "These action items of yours are past their due date:\n\n"
        f"- Rotate the leaked key ({incident.public_number}, due 7 Mar 2026)\n"
        f"- Add a dry-run flag ({incident.public_number}, due 7 Mar 2026)\n"
    )
    assert reverse("my_postmortems") in mail.outbox[0].body

    notifications.notify_overdue_action_items(today=today + timedelta(days=1))
    notifications.send_pending()

    assert recipients() == ["ada@example.com", "ada@example.com"]


def test_a_broker_outage_does_not_block_submitting(ada, django_capture_on_commit_callbacks):
    incident = draft_by(ada)
    broker_down = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with mock.patch("incidents.tasks.send_notifications.delay", side_effect=broker_down) as delay:
        submit(signed_in(ada), incident, django_capture_on_commit_callbacks)

    assert delay.called
    incident.refresh_from_db()
    assert incident.status == Incident.Status.IN_REVIEW
    pending = Notification.objects.filter(sent_at=None)
    assert pending.count() == 3
    assert mail.outbox == []

    assert notifications.send_pending() == 3

    assert recipients() == ["eve@example.com", "rui@example.com", "sam@example.com"]
    assert not pending.exists()


def test_a_broker_outage_does_not_block_filing_or_saving(ada, django_capture_on_commit_callbacks):
    broker_down = OperationalError("Connection refused.")

    with (
        mock.patch("incidents.tasks.send_notifications.delay", side_effect=broker_down),
        django_capture_on_commit_callbacks(execute=True),
    ):
        incident = draft_by(ada, title="Filed while Redis was down")
        review_service.review_submit(incident=incident, by=ada)

    assert Incident.objects.get(pk=incident.pk).title == "Filed while Redis was down"
    assert Notification.objects.filter(sent_at=None).count() == 3


def test_a_mail_server_failure_is_recorded_and_retried(ada, settings):
    incident = draft_by(ada)
    review_service.review_submit(incident=incident, by=ada)

    with mock.patch(
        "incidents.services.notifications.send_mail", side_effect=ConnectionRefusedError("smtp")
    ):
        assert notifications.send_pending() == 0

    failed = Notification.objects.filter(sent_at=None)
    assert failed.count() == 3
    assert {(row.attempts, row.last_error) for row in failed} == {(1, "smtp")}
    assert notifications.send_pending() == 3
    assert len(mail.outbox) == 3


def outboxed(subject, **fields):
    return Notification.objects.create(
        key=subject, recipient="ada@example.com", subject=subject, body="Hello.\n", **fields
    )


def test_an_email_claimed_by_a_sender_that_died_is_sent_after_a_while():
    now = timezone.now()
    outboxed("Left by a sender that died", claimed_at=now - notifications.CLAIM_TIMEOUT, attempts=1)
    being_sent = outboxed("Being sent right now", claimed_at=now, attempts=1)

    assert notifications.send_pending() == 1

    assert [message.subject for message in mail.outbox] == ["Left by a sender that died"]
    being_sent.refresh_from_db()
    assert being_sent.sent_at is None


def test_an_email_that_keeps_failing_is_given_up_after_a_limit():
    outboxed("Bounces every time")

    with mock.patch(
        "incidents.services.notifications.send_mail", side_effect=ConnectionRefusedError("smtp")
    ):
        for _ in range(notifications.MAX_ATTEMPTS + 2):
            notifications.send_pending()

    assert notifications.send_pending() == 0
    assert mail.outbox == []
    given_up = Notification.objects.get()
    assert (given_up.attempts, given_up.last_error, given_up.sent_at) == (
        notifications.MAX_ATTEMPTS,
        "smtp",
        None,
    )
