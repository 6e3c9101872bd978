"""The weekly digest: subscribing on /my/, and one email per subscriber per ISO week."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from incidents.models import DigestSubscription, Notification
from incidents.services.digest import send_weekly_digests
from incidents.tasks import send_weekly_digests as send_weekly_digests_task

from .factories import ActionItemFactory, IncidentFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_a_signed_in_user_subscribes_and_unsubscribes_on_my_page(vic, vic_client):
    assert "Subscribe to the weekly digest" in vic_client.get("/my/").content.decode()
    response = vic_client.post("/my/digest/", {"subscribed": "1"}, follow=True)
    assert DigestSubscription.objects.filter(user=vic).exists()
    assert "You are subscribed at vic@example.com" in response.content.decode()
    vic_client.post("/my/digest/", {"subscribed": "0"})
    assert not DigestSubscription.objects.filter(user=vic).exists()


def test_anonymous_readers_cannot_subscribe(reader):
    response = reader.post("/my/digest/", {"subscribed": "1"})
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert not DigestSubscription.objects.exists()


@pytest.fixture
def week():
    today = timezone.localdate()
    hallucination = TagFactory(facet="contributing-factor", name="Hallucination")
    for days in (3, 10, 40):
        IncidentFactory(occurred_at=timezone.now() - timedelta(days=days), tags=[hallucination])
    IncidentFactory(title="Fresh public incident", published_at=timezone.now())
    IncidentFactory(title="Fresh internal incident", published_at=timezone.now(), internal=True)
    IncidentFactory(title="Old incident", published_at=datetime(2020, 1, 1, tzinfo=UTC))
    ActionItemFactory(title="Rotate the keys", owner="Security", due_on=today - timedelta(days=3))
    ActionItemFactory(title="Write the runbook", due_on=today + timedelta(days=3))
    return today


def test_subscribers_get_new_incidents_rising_patterns_and_overdue_items(week, vic, olga, rui):
    DigestSubscription.objects.create(user=vic)
    DigestSubscription.objects.create(user=olga)
    # Rui, who reads internal incidents too, has not subscribed.
    assert send_weekly_digests(today=week) == 2
    vic_mail = Notification.objects.get(recipient="vic@example.com")
    assert "Fresh public incident" in vic_mail.body
    assert "Fresh internal incident" in vic_mail.body
    assert "Old incident" not in vic_mail.body
    assert "- Hallucination: 2 (was 1)" in vic_mail.body
    assert "Overdue action items: 1" in vic_mail.body and "Rotate the keys" in vic_mail.body
    assert "Write the runbook" not in vic_mail.body
    olga_mail = Notification.objects.get(recipient="olga@example.com")
    assert "Fresh internal incident" not in olga_mail.body
    assert not Notification.objects.filter(recipient="rui@example.com").exists()


def test_the_digest_goes_once_per_iso_week(week, vic):
    DigestSubscription.objects.create(user=vic)
    monday = date(2026, 11, 23)
    send_weekly_digests(today=monday)
    send_weekly_digests(today=monday + timedelta(days=3))  # same ISO week
    assert Notification.objects.count() == 1
    assert Notification.objects.get().subject == "Blast Radius weekly digest, 2026-W48"
    send_weekly_digests(today=monday + timedelta(days=7))
    assert Notification.objects.count() == 2


def test_the_beat_task_queues_and_sends_the_digest(week, vic, django_capture_on_commit_callbacks):
    DigestSubscription.objects.create(user=vic)
    with django_capture_on_commit_callbacks(execute=True):
        send_weekly_digests_task.delay()
    assert [message.to for message in mail.outbox] == [["vic@example.com"]]
    assert mail.outbox[0].subject.startswith("Blast Radius weekly digest")
