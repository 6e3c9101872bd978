"""Two workers doing the same thing at the same moment: it happens once.

Each action runs in its own thread with its own database connection, released together by a
barrier, many times over, because a race lost once in ten trials is still a race. SQLite
lets one writer in at a time, so these run on PostgreSQL (`.ci/run`'s second pass).
"""

import threading

import pytest
from django.core import mail
from django.db import connection, connections

from incidents.models import Notification
from incidents.services import notifications

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


def test_two_senders_at_once_send_each_email_once():
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
