"""The dashboard summaries kept up to date by deltas, held to what a full rebuild writes."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from incidents.dashboards import summaries
from incidents.dashboards.summaries import summaries_apply, summaries_check, summaries_rebuild
from incidents.models import (
    ActionItem,
    ControlAssessment,
    Incident,
    IncidentOrganisation,
    Organisation,
    PendingWork,
    Severity,
    SummaryContribution,
    SummaryCount,
)
from incidents.services import followups

from .factories import (
    ActionItemFactory,
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    TagFactory,
    assess,
    person,
    signed_in,
)
from .test_dashboard_summaries import summary_rows

pytestmark = pytest.mark.django_db


def at(day, hour=9):
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def base():
    acme, globex = OrganisationFactory(name="Acme"), OrganisationFactory(name="Globex")
    destructive = TagFactory(facet="failure-mode", name="Destructive action")
    permissions = TagFactory(facet="contributing-factor", name="Broad permissions")
    finance = TagFactory(facet="sector", name="Finance")
    incidents = []
    for n in range(8):
        occurred = at(date(2025, 1 + n % 4, 3 + n))
        incident = IncidentFactory(
            occurred_at=occurred,
            detected_at=occurred + timedelta(hours=n + 1),
            resolved_at=occurred + timedelta(hours=10 * (n + 1)),
            outage_duration=timedelta(minutes=90 * (n + 1)),
            users_affected=10 * (n + 1),
            organisations=[(acme, globex)[n % 2]],
            tags=[destructive, permissions][: 1 + n % 2],
            internal=n == 7,
        )
        incidents.append(incident)
    ActionItemFactory(incident=incidents[0], due_on=date(2025, 6, 1))
    assess(incidents[1], "deletion-protection", "would_have_stopped")
    summaries_rebuild()
    return {
        "acme": acme,
        "globex": globex,
        "destructive": destructive,
        "permissions": permissions,
        "finance": finance,
        "incidents": incidents,
    }


def assert_equal_to_a_rebuild():
    report = summaries_check()
    assert report.equal, report.examples


def moved_by(incident, delta):
    for name in ("occurred_at", "detected_at", "resolved_at"):
        if getattr(incident, name):
            setattr(incident, name, getattr(incident, name) + delta)


def test_edits_of_every_kind_leave_what_a_rebuild_leaves(base):
    first, second, third, fourth, *_, internal = base["incidents"]

    def edit(*incidents):
        summaries_apply([incident.pk for incident in incidents])
        assert_equal_to_a_rebuild()

    first.severity = Severity.objects.get(name="SEV1")
    first.autonomy = Incident.Autonomy.AUTONOMOUS
    first.save()
    edit(first)

    moved_by(second, timedelta(days=120))  # to another month and quarter
    second.outage_duration = timedelta(hours=7)
    second.users_affected = None
    second.save()
    edit(second)

    third.occurred_at = third.detected_at = third.resolved_at = None  # undated
    third.save()
    edit(third)

    fourth.tags.set([base["finance"], base["permissions"]])
    fourth.organisation_roles.all().delete()
    IncidentOrganisationFactory(incident=fourth, organisation=base["acme"])
    IncidentOrganisationFactory(
        incident=fourth, organisation=base["globex"], role=IncidentOrganisation.Role.DEVELOPER
    )
    edit(fourth)

    fourth.organisation_roles.filter(organisation=base["acme"]).update(
        role=IncidentOrganisation.Role.DEVELOPER  # the same parties in other roles
    )
    edit(fourth)

    ActionItem.objects.filter(incident=first).update(status=ActionItem.Status.DONE)
    ActionItemFactory(incident=second, owner="Security", due_on=None)
    ControlAssessment.objects.filter(incident=base["incidents"][1]).delete()
    assess(first, "deletion-protection", "would_have_stopped")
    edit(first, second, base["incidents"][1])

    internal.visibility = Incident.Visibility.PUBLIC  # into the public figures
    internal.save()
    edit(internal)

    fourth.status = Incident.Status.RETRACTED
    fourth.retraction_reason = "A duplicate."
    fourth.save()
    edit(fourth)

    base["globex"].kind = Organisation.Kind.PERSON  # leaves the organisation rankings
    base["globex"].save()
    edit(*base["incidents"])

    created = IncidentFactory(
        occurred_at=at(date(2024, 11, 30)), organisations=[base["acme"]], tags=[base["finance"]]
    )
    edit(created)

    gone = base["incidents"][5]
    gone_id = gone.pk
    gone.delete()
    summaries_apply([gone_id])
    assert_equal_to_a_rebuild()

    edit(first, second)  # unchanged since: nothing moves


def test_the_check_reports_rows_no_delta_followed_and_repairs_them(base):
    first = base["incidents"][0]
    first.severity = Severity.objects.get(name="SEV1")
    first.save()  # and no delta applied

    report = summaries_check()

    assert not report.equal
    assert report.missing and report.extra
    assert any(example[5] == "severity" for example in report.examples)
    assert_equal_to_a_rebuild()
    summaries_apply([first.pk])  # the check remembered what it counted: nothing to add twice
    assert_equal_to_a_rebuild()


def test_the_check_command_fails_when_rows_differed(base, capsys):
    SummaryCount.objects.filter(series="kind").update(count=99)
    with pytest.raises(CommandError):
        call_command("summaries_check")
    assert "were missing or wrong" in capsys.readouterr().out
    call_command("summaries_check")


def severity_count(response, label):
    """A severity's incidents in the severity chart's table, summed over its months (a
    severity without any has no column)."""
    chart = next(c for c in response.context["charts"] if c.slug == "incidents-by-severity")
    if label not in chart.columns:
        return 0
    column = chart.columns.index(label)
    return sum(row[column] for row in chart.rows)


def test_a_save_reaches_the_dashboard_by_its_deltas_without_a_rebuild(
    base, django_capture_on_commit_callbacks
):
    reader = signed_in(person("vi", "viewer"))
    before = severity_count(reader.get("/dashboard/"), "SEV1 critical")
    rows = set(SummaryCount.objects.values_list("pk", flat=True))
    incident = base["incidents"][2]
    incident.severity = Severity.objects.get(name="SEV1")
    incident.save()

    with django_capture_on_commit_callbacks(execute=True):
        followups.incident_saved(incident=incident)

    assert not PendingWork.objects.filter(task__contains="summar").exists()
    assert severity_count(reader.get("/dashboard/"), "SEV1 critical") == before + 1
    # Most rows were kept (updated in place), not written again.
    assert len(rows & set(SummaryCount.objects.values_list("pk", flat=True))) > len(rows) / 2
    assert summary_rows() and summaries_check().equal


def test_an_action_item_closed_in_the_admin_leaves_the_open_ones_counted(
    base, sue, django_capture_on_commit_callbacks
):
    item = ActionItem.objects.get(incident=base["incidents"][0])
    open_items = SummaryCount.objects.filter(series="open_action_items", dimension="all")
    assert open_items.filter(scope="public").get().count == 1
    admin = signed_in(sue)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            f"/admin/incidents/actionitem/{item.pk}/change/",
            {
                "title": item.title,
                "incident": item.incident_id,
                "owner": item.owner,
                "due_on": "2025-06-01",
                "status": ActionItem.Status.DONE,
            },
        )

    assert response.status_code == 302
    assert not open_items.exists()
    assert_equal_to_a_rebuild()


def test_a_rebuild_remembers_what_each_incident_adds_as_one_computed_alone(base, monkeypatch):
    monkeypatch.setattr(summaries, "_REMEMBER_CHUNK", 3)  # several chunks, one of them short
    acme = base["acme"]
    IncidentFactory(occurred_at=None, organisations=[acme], tags=[base["finance"]])
    IncidentFactory(occurred_at=at(date(2024, 12, 30)), organisations=[], tags=[])
    IncidentFactory(draft=True, organisations=[acme])
    twice = IncidentFactory(occurred_at=at(date(2025, 2, 9)), organisations=[acme])
    IncidentOrganisationFactory(
        incident=twice, organisation=acme, role=IncidentOrganisation.Role.DEVELOPER
    )
    summaries_rebuild()

    remembered = SummaryContribution.objects.in_bulk()
    alone = summaries.contributions(Incident.objects.values_list("pk", flat=True))
    assert sorted(remembered) == sorted(alone)
    for pk, contribution in remembered.items():
        summaries._normalise(contribution)
        assert summaries._same(contribution, alone[pk]), pk
