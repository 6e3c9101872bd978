"""Two people (or two workers) doing the same thing at the same moment: it happens once.

Each action runs in its own thread with its own database connection, released together by a
barrier, many times over, because a race lost once in ten trials is still a race. SQLite
lets one writer in at a time, so these run on PostgreSQL (`.ci/run`'s second pass).

Personas: Ada the author (a reporter), Rui and Eve who can review (a reviewer and an editor).
"""

import threading

import pytest
from django.core import mail
from django.db import connection, connections
from django.urls import reverse

from incidents.models import AuditEvent, Incident, Notification, Review
from incidents.services import notifications
from incidents.services import review as review_service

from .factories import signed_in, snapshot_of

TRIALS = 12

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent transactions need PostgreSQL (SQLite admits one writer at a time); "
        "`.ci/run` runs these on PostgreSQL",
    ),
    # Rows the migrations wrote (groups, severities) are put back after each flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def at_once(*actions):
    """Run each action in a thread of its own, all released at the same moment; return what
    each one returned (or raised)."""
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = action()
        except Exception as error:  # noqa: BLE001 - handed back to the test to assert on
            outcomes[index] = error
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return outcomes


def submitted_by(author, title):
    incident = review_service.incident_create(snapshot=snapshot_of(title=title), by=author)
    review_service.review_submit(incident=incident, by=author)
    incident.refresh_from_db()
    return incident


def posting(user, url, data=None):
    """A form post by `user`, to be sent later; each has its own client, as two browsers do."""
    client = signed_in(user)
    return lambda: client.post(url, data or {})


def decide(user, incident, decision, comment=""):
    """What the review page posts: the decision and the revision the reviewer read."""
    revision = incident.latest_revision().number
    return posting(
        user,
        reverse("incident_review", args=[incident.number]),
        {"decision": decision, "comment": comment, "revision": revision},
    )


def test_two_reviewers_approving_at_once_publish_it_once(ada, rui, eve):
    for trial in range(TRIALS):
        incident = submitted_by(ada, f"Agent wiped the staging cluster, trial {trial}")
        mail.outbox.clear()

        responses = at_once(decide(rui, incident, "approve"), decide(eve, incident, "approve"))

        assert sorted(response.status_code for response in responses) == [302, 403], trial
        review = Review.objects.get(revision__incident=incident)
        refused = next(response for response in responses if response.status_code == 403)
        assert f"already approved and published by {review.reviewer}" in refused.text
        events = AuditEvent.objects.filter(incident=incident)
        assert events.filter(action=AuditEvent.Action.APPROVED).count() == 1
        assert events.filter(action=AuditEvent.Action.PUBLISHED).count() == 1
        incident.refresh_from_db()
        assert incident.status == Incident.Status.PUBLISHED
        assert incident.published_revision == review.revision
        to_ada = [message for message in mail.outbox if message.to == ["ada@example.com"]]
        assert len(to_ada) == 1, [message.subject for message in to_ada]


def test_approving_and_requesting_changes_at_once_records_one_decision(ada, rui, eve):
    for trial in range(TRIALS):
        incident = submitted_by(ada, f"Support bot promised a refund, trial {trial}")

        approved, sent_back = at_once(
            decide(rui, incident, "approve"),
            decide(eve, incident, "request_changes", "Name the vendor."),
        )

        review = Review.objects.get(revision__incident=incident)
        incident.refresh_from_db()
        if review.decision == Review.Decision.APPROVE:
            assert (approved.status_code, sent_back.status_code) == (302, 403), trial
            assert "already approved and published by rui" in sent_back.text
            assert incident.status == Incident.Status.PUBLISHED
        else:
            assert (approved.status_code, sent_back.status_code) == (403, 302), trial
            assert "already sent back with changes requested by eve" in approved.text
            assert incident.status == Incident.Status.CHANGES_REQUESTED
            assert incident.published_revision is None
        assert incident.review_requested_at is None


def test_submitting_twice_at_once_asks_for_one_review(ada):
    for trial in range(TRIALS):
        incident = review_service.incident_create(
            snapshot=snapshot_of(title=f"Agent merged its own pull request, trial {trial}"), by=ada
        )
        url = reverse("incident_submit", args=[incident.number])

        # A double click, or the same form in two tabs.
        at_once(posting(ada, url), posting(ada, url))

        submitted = AuditEvent.objects.filter(incident=incident, action="submitted")
        assert submitted.count() == 1, trial


def test_two_editors_confirming_a_retraction_at_once_retract_it_once(ada, rui, eve, ed, sue):
    for trial in range(TRIALS):
        incident = submitted_by(ada, f"Staged video of a rogue agent, trial {trial}")
        review_service.review_approve_and_publish(incident=incident, by=rui)
        review_service.retraction_request(incident=incident, by=eve, reason="The video was staged.")
        url = reverse("incident_retract", args=[incident.number])

        responses = at_once(
            posting(ed, url, {"action": "confirm"}), posting(sue, url, {"action": "confirm"})
        )

        assert sorted(response.status_code for response in responses) == [302, 403], trial
        retracted = AuditEvent.objects.filter(incident=incident, action="retracted")
        assert retracted.count() == 1, trial
        refused = next(response for response in responses if response.status_code == 403)
        assert f"already retracted by {retracted.get().actor}" in refused.text


def test_two_senders_at_once_send_each_email_once(ada):
    for trial in range(TRIALS):
        for n in range(10):
            Notification.objects.create(
                key=f"race:{trial}:{n}",
                recipient=f"reader{n}@example.com",
                subject=f"Email {n} of trial {trial}",
                body="Once.\n",
            )
        mail.outbox.clear()

        counts = at_once(*[notifications.send_pending] * 4)

        assert sum(counts) == 10, (trial, counts)
        subjects = sorted(message.subject for message in mail.outbox)
        assert subjects == sorted(f"Email {n} of trial {trial}" for n in range(10)), trial
        assert not Notification.objects.filter(sent_at=None).exists()
