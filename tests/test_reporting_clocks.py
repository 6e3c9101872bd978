"""Reporting clocks: obligations shipped as data, deadlines from awareness, the reader's time
zone, reports filed, the due list, reminders, and none of it in public."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents.models import Notification, ReportingDeadline, ReportingStage, ReportingTrigger
from incidents.services import reporting as reporting_service
from incidents.services import review as review_service
from incidents.tasks import remind_reporting_deadlines
from incidents.templatetags.reporting_format import countdown
from incidents.views import reporting as reporting_views

from .factories import IncidentFactory, signed_in, snapshot_of

pytestmark = pytest.mark.django_db


def trigger(regime, slug):
    return ReportingTrigger.objects.get(regime__slug=regime, slug=slug)


def stages(regime, slug):
    return [
        (s.name, s.within, s.within_months, s.incomplete_allowed)
        for s in trigger(regime, slug).stages.order_by("position")
    ]


def due_dates(clock):
    return [(d.stage.name, d.due_at) for d in clock.deadlines.order_by("stage__position")]


def reporting_url(incident):
    return f"/postmortems/{incident.number}/reporting/"


AWARE = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


# Obligations as data


def test_the_eu_ai_act_deadlines_are_shipped():
    assert stages("eu-ai-act-art-73", "serious-incident")[0][1:] == (timedelta(days=15), 0, True)
    assert stages("eu-ai-act-art-73", "death")[0][1] == timedelta(days=10)
    assert stages("eu-ai-act-art-73", "widespread-or-critical-infrastructure")[0][1] == timedelta(
        days=2
    )


def test_gdpr_and_nis2_deadlines_are_shipped():
    assert stages("gdpr-art-33", "personal-data-breach")[0][1] == timedelta(hours=72)
    assert stages("nis2-art-23", "significant-incident") == [
        ("Early warning", timedelta(hours=24), 0, True),
        ("Incident notification", timedelta(hours=72), 0, False),
        ("Final report", timedelta(0), 1, False),
    ]


def test_each_stage_says_how_long_it_allows():
    nis2 = trigger("nis2-art-23", "significant-incident").stages.order_by("position")
    assert [stage.period_display for stage in nis2] == [
        "24 hours after awareness",
        "72 hours after awareness",
        "1 month after the previous report",
    ]
    ai_act = trigger("eu-ai-act-art-73", "serious-incident").stages.get()
    assert ai_act.period_display == "15 days after awareness"
    assert ReportingStage(within=timedelta(hours=1)).period_display == "1 hour after awareness"
    assert ReportingStage(within_months=2).period_display == "2 months after awareness"
    assert ReportingStage().period_display == "immediately after awareness"


# Deadlines


def test_marking_a_regime_sets_each_stage_deadline_from_awareness(ada):
    clock = reporting_service.reporting_clock_set(
        incident=IncidentFactory(),
        trigger=trigger("nis2-art-23", "significant-incident"),
        aware_at=AWARE,
        by=ada,
    )
    assert due_dates(clock) == [
        ("Early warning", datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),
        ("Incident notification", datetime(2026, 3, 4, 10, 0, tzinfo=UTC)),
        # One calendar month after the notification.
        ("Final report", datetime(2026, 4, 4, 10, 0, tzinfo=UTC)),
    ]


def test_the_final_report_counts_from_the_notification_actually_filed(ada):
    clock = reporting_service.reporting_clock_set(
        incident=IncidentFactory(),
        trigger=trigger("nis2-art-23", "significant-incident"),
        aware_at=AWARE,
        by=ada,
    )
    notification = clock.deadlines.get(stage__name="Incident notification")
    reporting_service.report_filed(
        deadline=notification,
        filed_at=datetime(2026, 3, 3, 12, 0, tzinfo=UTC),
        reference="CSIRT-2026-114",
        by=ada,
    )
    final = clock.deadlines.get(stage__name="Final report")
    assert final.due_at == datetime(2026, 4, 3, 12, 0, tzinfo=UTC)


def test_a_death_shortens_the_ai_act_deadline_to_ten_days(ada):
    clock = reporting_service.reporting_clock_set(
        incident=IncidentFactory(),
        trigger=trigger("eu-ai-act-art-73", "death"),
        aware_at=AWARE,
        by=ada,
    )
    assert due_dates(clock) == [
        ("Report to the market surveillance authority", AWARE + timedelta(days=10))
    ]


def test_marking_again_moves_the_clock_and_keeps_reports_filed(ada):
    incident = IncidentFactory()
    gdpr = trigger("gdpr-art-33", "personal-data-breach")
    clock = reporting_service.reporting_clock_set(
        incident=incident, trigger=gdpr, aware_at=AWARE, by=ada
    )
    later = AWARE + timedelta(hours=5)
    clock = reporting_service.reporting_clock_set(
        incident=incident, trigger=gdpr, aware_at=later, by=ada
    )
    assert incident.reporting_clocks.count() == 1
    assert clock.deadlines.get().due_at == later + timedelta(hours=72)


def test_awareness_in_the_future_is_refused(ada):
    with pytest.raises(ValidationError, match="future"):
        reporting_service.reporting_clock_set(
            incident=IncidentFactory(),
            trigger=trigger("gdpr-art-33", "personal-data-breach"),
            aware_at=timezone.now() + timedelta(days=1),
            by=ada,
        )


def test_only_reporters_may_mark_obligations(vic):
    with pytest.raises(Exception, match="Only reporters"):
        reporting_service.reporting_clock_set(
            incident=IncidentFactory(),
            trigger=trigger("gdpr-art-33", "personal-data-breach"),
            aware_at=AWARE,
            by=vic,
        )


# The pages


def test_a_reporter_marks_a_regime_with_awareness_typed_in_their_time_zone(ada_client):
    incident = IncidentFactory()
    ada_client.cookies["tz"] = "Asia%2FTokyo"  # as the browser's script stores it
    response = ada_client.post(
        reporting_url(incident),
        {
            "action": "clock",
            "trigger": trigger("gdpr-art-33", "personal-data-breach").pk,
            "aware_at": "2026-03-01T19:00",
            "notes": "Customer records were in the deleted database.",
        },
    )
    assert response.status_code == 302
    clock = incident.reporting_clocks.get()
    assert clock.aware_at == AWARE  # 19:00 in Tokyo is 10:00 UTC

    page = ada_client.get(reporting_url(incident)).content.decode()
    assert "Asia/Tokyo" in page
    # Due 72 hours later, shown in Tokyo time.
    assert "4 Mar 2026 19:00" in page
    assert "overdue by" in page or "left" in page


def test_without_a_known_time_zone_times_are_in_utc(ada_client, ada):
    incident = IncidentFactory()
    reporting_service.reporting_clock_set(
        incident=incident, trigger=trigger("gdpr-art-33", "personal-data-breach"),
        aware_at=AWARE, by=ada,
    )  # fmt: skip
    ada_client.cookies["tz"] = "Not/AZone"
    page = ada_client.get(reporting_url(incident)).content.decode()
    assert "4 Mar 2026 10:00" in page
    assert "UTC" in page


def test_the_page_shows_time_left_and_the_report_filed(ada_client, ada):
    incident = IncidentFactory()
    aware = timezone.now() - timedelta(hours=60)
    clock = reporting_service.reporting_clock_set(
        incident=incident,
        trigger=trigger("nis2-art-23", "significant-incident"),
        aware_at=aware,
        by=ada,
    )
    early = clock.deadlines.get(stage__name="Early warning")
    response = ada_client.post(
        reporting_url(incident),
        {
            "action": "filed",
            "deadline": early.pk,
            f"deadline-{early.pk}-filed_at": (aware + timedelta(hours=20))
            .astimezone(UTC)
            .strftime("%Y-%m-%dT%H:%M"),
            f"deadline-{early.pk}-reference": "CSIRT-EW-7",
        },
    )
    assert response.status_code == 302
    page = ada_client.get(reporting_url(incident)).content.decode()
    assert "CSIRT-EW-7" in page
    assert "filed on time" in page
    assert re.search(r"11\xa0hours(, \d+\xa0minutes)? left", page)  # the 72-hour notification
    # The internal incident page shows the same deadlines.
    detail = ada_client.get(incident.get_absolute_url()).content.decode()
    assert "Reporting obligations" in detail
    assert "CSIRT-EW-7" in detail


def test_a_filed_report_needs_a_reference_and_keeps_what_was_typed(ada_client, ada):
    incident = IncidentFactory()
    clock = reporting_service.reporting_clock_set(
        incident=incident, trigger=trigger("gdpr-art-33", "personal-data-breach"),
        aware_at=AWARE, by=ada,
    )  # fmt: skip
    deadline = clock.deadlines.get()
    response = ada_client.post(
        reporting_url(incident),
        {
            "action": "filed",
            "deadline": deadline.pk,
            f"deadline-{deadline.pk}-filed_at": "2026-03-02T09:30",
            f"deadline-{deadline.pk}-reference": "",
        },
    )
    assert response.status_code == 400
    assert "Give the authority" in response.content.decode()
    assert 'value="2026-03-02T09:30"' in response.content.decode()
    deadline.refresh_from_db()
    assert deadline.filed_at is None


def test_a_regime_with_a_filed_report_cannot_be_unmarked(ada_client, ada):
    incident = IncidentFactory()
    clock = reporting_service.reporting_clock_set(
        incident=incident, trigger=trigger("gdpr-art-33", "personal-data-breach"),
        aware_at=AWARE, by=ada,
    )  # fmt: skip
    reporting_service.report_filed(
        deadline=clock.deadlines.get(), filed_at=AWARE + timedelta(hours=3), reference="DPA-1",
        by=ada,
    )  # fmt: skip
    response = ada_client.post(
        reporting_url(incident), {"action": "remove", "clock": clock.pk}, follow=True
    )
    assert "stays on record" in response.content.decode()
    assert incident.reporting_clocks.exists()


def test_an_unfiled_regime_can_be_unmarked(ada_client, ada):
    incident = IncidentFactory()
    clock = reporting_service.reporting_clock_set(
        incident=incident, trigger=trigger("gdpr-art-33", "personal-data-breach"),
        aware_at=AWARE, by=ada,
    )  # fmt: skip
    ada_client.post(reporting_url(incident), {"action": "remove", "clock": clock.pk})
    assert not incident.reporting_clocks.exists()


def test_a_viewer_reads_the_clocks_but_cannot_change_them(ada, vic_client):
    incident = IncidentFactory()
    assert vic_client.get(reporting_url(incident)).status_code == 200
    response = vic_client.post(
        reporting_url(incident),
        {"action": "clock", "trigger": trigger("gdpr-art-33", "personal-data-breach").pk},
    )
    assert response.status_code == 403


def test_the_due_list_shows_overdue_and_due_soon_deadlines(ada):
    now = timezone.now()
    overdue = IncidentFactory(title="Old breach")
    soon = IncidentFactory(title="Fresh breach")
    later = IncidentFactory(title="AI Act incident")
    gdpr = trigger("gdpr-art-33", "personal-data-breach")
    reporting_service.reporting_clock_set(
        incident=overdue, trigger=gdpr, aware_at=now - timedelta(days=4), by=ada
    )
    reporting_service.reporting_clock_set(
        incident=soon, trigger=gdpr, aware_at=now - timedelta(hours=60), by=ada
    )
    reporting_service.reporting_clock_set(
        incident=later, trigger=trigger("eu-ai-act-art-73", "serious-incident"),
        aware_at=now - timedelta(hours=1), by=ada,
    )  # fmt: skip
    client = signed_in(ada)
    response = client.get("/reporting/")
    assert response.context["counts"] == {"overdue": 1, "due_soon": 1, "later": 1}
    assert [d.clock.incident for d in response.context["page"]] == [overdue, soon]
    html = response.content.decode()
    assert "overdue by 1\xa0day" in html
    assert re.search(r"11\xa0hours(, \d+\xa0minutes)? left", html)
    everything = client.get("/reporting/", {"all": "1"})
    assert [d.clock.incident for d in everything.context["page"]] == [overdue, soon, later]


NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("due_at", "filed_at", "reads"),
    [
        (NOW + timedelta(hours=2, minutes=30), None, "2\xa0hours, 30\xa0minutes left"),
        (NOW + timedelta(days=2, hours=3, minutes=10), None, "2\xa0days, 3\xa0hours left"),
        (NOW + timedelta(days=10, hours=5), None, "1\xa0week, 3\xa0days left"),
        (NOW + timedelta(seconds=20), None, "0\xa0minutes left"),
        (NOW - timedelta(hours=5), None, "overdue by 5\xa0hours"),
        (NOW + timedelta(hours=1), NOW, "filed on time"),
        (NOW - timedelta(days=1, hours=2), NOW, "filed 1\xa0day, 2\xa0hours late"),
    ],
)
def test_a_deadline_reads_as_time_left_or_how_late_it_is(due_at, filed_at, reads):
    deadline = ReportingDeadline(due_at=due_at, filed_at=filed_at)
    assert countdown(deadline, NOW) == reads


def test_the_due_list_is_paginated(ada, monkeypatch):
    monkeypatch.setattr(reporting_views, "DEADLINES_PER_PAGE", 2)
    gdpr = trigger("gdpr-art-33", "personal-data-breach")
    for hours in (100, 90, 80):
        reporting_service.reporting_clock_set(
            incident=IncidentFactory(title=f"Breach {hours}"),
            trigger=gdpr,
            aware_at=timezone.now() - timedelta(hours=hours),
            by=ada,
        )
    response = signed_in(ada).get("/reporting/", {"page": 2})
    assert [d.clock.incident.title for d in response.context["page"]] == ["Breach 80"]


# Reminders


def test_reminders_are_sent_once_when_due_soon_and_once_when_overdue(ada):
    # Ada wrote the incident, so she hears about its deadlines.
    incident = review_service.incident_create(
        snapshot=snapshot_of(title="Customer data exposed by an agent"), by=ada
    )
    now = timezone.now()
    reporting_service.reporting_clock_set(
        incident=incident,
        trigger=trigger("gdpr-art-33", "personal-data-breach"),
        aware_at=now - timedelta(hours=60),
        by=ada,
    )
    assert reporting_service.reporting_reminders(now=now) == 1
    assert reporting_service.reporting_reminders(now=now) == 0
    reminder = Notification.objects.get(key__startswith="reporting-due-soon")
    assert reminder.recipient == ada.email
    assert "GDPR, Article 33" in reminder.subject
    assert f"/postmortems/{incident.number}/reporting/" in reminder.body

    assert reporting_service.reporting_reminders(now=now + timedelta(hours=13)) == 1
    assert reporting_service.reporting_reminders(now=now + timedelta(hours=14)) == 0
    assert Notification.objects.filter(key__startswith="reporting-").count() == 2


def test_a_filed_report_gets_no_reminder(ada):
    incident = IncidentFactory()
    now = timezone.now()
    clock = reporting_service.reporting_clock_set(
        incident=incident, trigger=trigger("gdpr-art-33", "personal-data-breach"),
        aware_at=now - timedelta(hours=80), by=ada,
    )  # fmt: skip
    reporting_service.report_filed(
        deadline=clock.deadlines.get(), filed_at=now - timedelta(hours=70), reference="DPA-9",
        by=ada,
    )  # fmt: skip
    assert reporting_service.reporting_reminders(now=now) == 0


def test_the_beat_schedule_runs_the_reminder_task(ada):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["remind-reporting-deadlines"]["task"] == (
        "incidents.tasks.remind_reporting_deadlines"
    )
    IncidentFactory()
    reporting_service.reporting_clock_set(
        incident=IncidentFactory(), trigger=trigger("gdpr-art-33", "personal-data-breach"),
        aware_at=timezone.now() - timedelta(days=5), by=ada,
    )  # fmt: skip
    assert remind_reporting_deadlines.delay().get() == 1
    assert remind_reporting_deadlines.delay().get() == 0
    assert ReportingDeadline.objects.get().reminded_overdue_at is not None


# Never in public


def test_nothing_about_reporting_reaches_the_public(reader, ada, olga_client):
    incident = IncidentFactory(title="A public incident with a regulator's clock")
    clock = reporting_service.reporting_clock_set(
        incident=incident, trigger=trigger("gdpr-art-33", "personal-data-breach"),
        aware_at=AWARE, by=ada,
    )  # fmt: skip
    reporting_service.report_filed(
        deadline=clock.deadlines.get(), filed_at=AWARE + timedelta(hours=3),
        reference="DPA-SECRET-REF", by=ada,
    )  # fmt: skip
    for url in [
        incident.get_absolute_url(),
        "/incidents/",
        "/",
        "/controls/",
        "/data/blast-radius-v2.json",
        "/data/blast-radius-v1.json",
    ]:
        response = reader.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"DPA-SECRET-REF" not in body, url
        assert b"GDPR, Article 33" not in body, url
        assert b"Reporting obligations" not in body, url
    assert reader.get(reporting_url(incident)).status_code == 302  # to the sign-in page
    assert reader.get("/reporting/").status_code == 302
    assert olga_client.get(reporting_url(incident)).status_code == 403
    assert olga_client.get("/reporting/").status_code == 403
    assert b"DPA-SECRET-REF" not in olga_client.get(incident.get_absolute_url()).content
