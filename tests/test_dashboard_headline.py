"""The top of the dashboard: headline figures against the previous period, the controls that
would have stopped most incidents, and overdue follow-ups by owner."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from incidents.dashboards.periods import month_label, month_start, shift_months
from incidents.dashboards.summaries import summaries_rebuild
from incidents.models import ControlAssessment, Incident, Severity

from .factories import ActionItemFactory, IncidentFactory, OrganisationFactory, assess

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
UNDER_WAY = month_start(TODAY)
LAST_COMPLETE = shift_months(UNDER_WAY, -1)
STOPPED = ControlAssessment.Verdict.WOULD_HAVE_STOPPED


def on(month, day=10, **fields):
    """An incident that occurred on `day` of the month starting on `month`."""
    at = datetime(month.year, month.month, day, 9, tzinfo=UTC)
    return IncidentFactory(occurred_at=at, **fields)


def resolved_after(month, hours, **fields):
    incident = on(month, **fields)
    incident.resolved_at = incident.occurred_at + timedelta(hours=hours)
    incident.save()
    return incident


def figures(response):
    return {figure.label: figure for figure in response.context["headline"].figures}


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def two_years():
    """The last twelve complete months against the twelve before, and the month under way."""
    sev1 = Severity.objects.get(name="SEV1")
    previous = shift_months(LAST_COMPLETE, -12)
    on(LAST_COMPLETE, severity=sev1)
    resolved_after(shift_months(LAST_COMPLETE, -3), 3 * 24 + 1)
    resolved_after(shift_months(LAST_COMPLETE, -11), 3 * 24 + 5)
    on(LAST_COMPLETE, kind=Incident.Kind.NEAR_MISS)
    resolved_after(previous, 20)
    on(shift_months(previous, -11))
    on(UNDER_WAY, day=1)  # under way: not compared
    on(shift_months(previous, -12))  # before both periods
    summaries_rebuild()


def test_the_headline_compares_the_last_twelve_complete_months_with_the_twelve_before(
    reader, two_years
):
    response = reader.get("/dashboard/")
    headline = response.context["headline"]
    assert headline.period.start == shift_months(LAST_COMPLETE, -11)
    assert headline.period.end == LAST_COMPLETE
    assert headline.previous.end == shift_months(LAST_COMPLETE, -12)
    found = figures(response)
    assert (found["Incidents"].value, found["Incidents"].previous) == ("3", "2")
    assert found["Incidents"].change == "+1 (+50%)"
    assert (found["Near misses"].value, found["Near misses"].change) == ("1", "+1")
    assert (found["Severe incidents"].value, found["Severe incidents"].previous) == ("1", "0")
    assert found["Severe incidents"].basis == "severity assessed on 4 of 4"
    resolve = found["Median time to resolve"]
    assert (resolve.value, resolve.previous, resolve.change) == ("3.5 days", "20 hours", "longer")
    assert resolve.basis == "over 2 incidents with a known resolution"
    page = text(response)
    assert (
        f"{month_label(headline.period.start)} to {month_label(LAST_COMPLETE)} "
        f'<span class="muted">against {month_label(headline.previous.start)}' in page
    )
    assert f"{month_label(UNDER_WAY)} is under way" in page
    assert "Severe: rated SEV1 (critical) or SEV2" in page


def test_a_range_reaching_into_the_month_under_way_stops_at_the_last_complete_month(
    reader, two_years
):
    start = shift_months(LAST_COMPLETE, -2)
    response = reader.get(f"/dashboard/?occurred_after={start}&occurred_before={TODAY}")
    headline = response.context["headline"]
    assert (headline.period.start, headline.period.end) == (start, LAST_COMPLETE)
    # Three months against the three before them.
    assert headline.previous.start == shift_months(start, -3)
    assert headline.previous.end == shift_months(start, -1)
    assert figures(response)["Incidents"].value == "1"
    assert f"{month_label(UNDER_WAY)} is under way" in text(response)


def test_the_month_under_way_alone_is_marked_partial_and_not_compared(reader, two_years):
    response = reader.get(f"/dashboard/?occurred_after={UNDER_WAY}")
    headline = response.context["headline"]
    assert headline.previous is None
    assert figures(response)["Incidents"].value == "1"
    assert figures(response)["Incidents"].change == ""
    page = text(response)
    assert f"{month_label(UNDER_WAY)} so far, to {TODAY:%-d %b}" in page
    assert "partial month" in page
    assert "against" not in page.split('id="headline-heading"')[1].split("</h2>")[0]


def test_with_no_earlier_records_there_is_nothing_to_compare_with(reader):
    on(LAST_COMPLETE)
    summaries_rebuild()
    response = reader.get("/dashboard/")
    assert response.context["headline"].previous is None
    assert figures(response)["Incidents"].change == ""
    assert "there is no earlier period to compare with" in text(response)


def test_a_snapshot_ending_before_this_month_is_read_to_the_month_before_its_last(reader):
    newest = shift_months(UNDER_WAY, -3)
    on(newest)
    on(shift_months(newest, -1))
    on(shift_months(newest, -13))
    summaries_rebuild()
    response = reader.get("/dashboard/")
    headline = response.context["headline"]
    assert headline.period.end == shift_months(newest, -1)
    assert headline.previous.end == shift_months(newest, -13)
    assert figures(response)["Incidents"].change == "\u00b10 (\u00b10%)"
    assert f"The newest incident on record occurred in {month_label(newest)}" in text(response)


def test_the_headline_follows_the_organisation_chosen(reader):
    acme = OrganisationFactory(name="Acme", slug="acme")
    on(UNDER_WAY, day=1)  # records are still being added
    on(LAST_COMPLETE, organisations=[acme])
    on(LAST_COMPLETE)
    summaries_rebuild()
    assert figures(reader.get("/dashboard/"))["Incidents"].value == "2"
    assert figures(reader.get("/dashboard/?organisation=acme"))["Incidents"].value == "1"


def test_overdue_follow_ups_are_listed_by_owner_with_the_oldest(reader):
    incident = on(LAST_COMPLETE)
    for days_late in (10, 40):
        ActionItemFactory(
            incident=incident, owner="Platform team", due_on=TODAY - timedelta(days_late)
        )
    ActionItemFactory(incident=incident, owner="Security", due_on=TODAY - timedelta(days=5))
    ActionItemFactory(incident=incident, owner="Security", due_on=TODAY + timedelta(days=5))
    ActionItemFactory(incident=incident, owner="Legal", due_on=None)
    summaries_rebuild()
    response = reader.get("/dashboard/")
    headline = response.context["headline"]
    assert [(owner, count, late) for owner, count, _, late in headline.owners] == [
        ("Platform team", 2, 40),
        ("Security", 1, 5),
    ]
    overdue = figures(response)["Overdue action items"]
    assert overdue.value == "3"
    assert overdue.basis.startswith("of 5 open, on ")
    page = text(response)
    oldest = TODAY - timedelta(days=40)
    assert (
        f'<tr><th scope="row">Platform team</th><td class="num">2</td>'
        f'<td><time datetime="{oldest:%Y-%m-%d}">' in page
    )
    # Near the top: before the filters and every chart.
    assert page.index("Overdue follow-ups, by owner") < page.index('id="dashboard-filters"')


def test_the_five_controls_that_would_have_stopped_most_are_linked(reader):
    ranked = [
        "deletion-protection",
        "spend-limits",
        "point-in-time-backups",
        "code-freeze-enforcement",
        "least-privilege-agent-credentials",
        "monitoring-anomaly-alerts",
    ]
    for times, slug in zip((6, 5, 4, 3, 2, 1), ranked, strict=True):
        for _ in range(times):
            assess(on(LAST_COMPLETE), slug, STOPPED)
    summaries_rebuild()
    response = reader.get("/dashboard/")
    headline = response.context["headline"]
    assert [control.slug for control in headline.controls] == ranked[:5]
    assert headline.assessed == 21
    page = text(response)
    panel = page.split('id="top-controls"')[1].split("</section>")[0]
    links = re.findall(r'<a href="(/controls/[^"]*)"', panel)
    assert links == [f"/controls/{slug}/" for slug in ranked[:5]] + ["/controls/"]
    first = re.search(r"<tbody>\s*<tr>(.*?)</tr>", panel).group(1)
    assert ">Deletion protection on production resources</a>" in first
    assert '<td class="num">6</td>' in first
    assert "judged on 21 assessed incidents of any date" in panel


def test_a_severe_incident_outranks_more_minor_ones_as_on_the_controls_page(reader):
    assess(on(LAST_COMPLETE, severity=Severity.objects.get(name="SEV1")), "spend-limits", STOPPED)
    for _ in range(2):
        minor = on(LAST_COMPLETE, severity=Severity.objects.get(name="SEV5"))
        assess(minor, "deletion-protection", STOPPED)
    summaries_rebuild()
    dashboard = [c.slug for c in reader.get("/dashboard/").context["headline"].controls]
    catalogue = [c.slug for c in reader.get("/controls/").context["ranked"]]
    assert dashboard == catalogue[:2] == ["spend-limits", "deletion-protection"]


@pytest.mark.parametrize(
    "query",
    [
        "organisation=&tag=&occurred_after=&occurred_before=",
        "organisation=acme&tag=&occurred_after=&occurred_before=",
        f"organisation=&tag=&occurred_after={LAST_COMPLETE}&occurred_before=",
    ],
)
def test_the_empty_fields_the_filter_form_sends_are_not_filters(reader, query):
    acme = OrganisationFactory(name="Acme", slug="acme")
    on(UNDER_WAY, day=1)
    on(LAST_COMPLETE, organisations=[acme])
    summaries_rebuild()
    response = reader.get(f"/dashboard/?{query}")
    assert response.status_code == 200
    assert "Some of what was asked for was ignored" not in response.content.decode()
    assert figures(response)["Incidents"].value == "1"


def test_the_filter_form_leaves_out_empty_fields_when_sent(reader):
    summaries_rebuild()
    page = reader.get("/dashboard/").content.decode()
    form = re.search(r'<form[^>]*id="dashboard-filters"[^>]*>', page).group(0)
    assert "data-omit-empty" in form
    assert "js/filters.js" in page
