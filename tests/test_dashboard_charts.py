"""The dashboard's charts tell the truth: partial periods marked, whole-number axes with titles,
what each chart stands on, no placeholder ranked, gaps left open, and images to download."""

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from incidents.dashboards.summaries import summaries_rebuild
from incidents.models import Organisation

from .factories import IncidentFactory, OrganisationFactory, TagFactory

pytestmark = pytest.mark.django_db


def configs(response):
    html = response.content.decode()
    found = re.search(r'<script id="dashboard-charts" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


def csv_rows(client, slug, query=""):
    response = client.get(f"/dashboard/{slug}.csv{query}")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


def section(response, slug):
    return response.content.decode().split(f'id="{slug}"', 1)[1].split("</section>", 1)[0]


@pytest.fixture
def this_month_and_earlier(db):
    now = timezone.now()
    IncidentFactory(title="This month", occurred_at=now - timedelta(hours=1))
    IncidentFactory(title="Months ago", occurred_at=now - timedelta(days=70))
    summaries_rebuild()
    return timezone.localdate()


def test_the_month_still_running_is_marked_in_labels_table_and_csv(reader, this_month_and_earlier):
    today = this_month_and_earlier
    label = f"{today:%b %Y} (to {today.day} {today:%b})"

    response = reader.get("/dashboard/")

    assert label in section(response, "incidents-by-severity")
    assert "is not over: it is counted to that day" in section(response, "incidents-by-severity")
    assert csv_rows(reader, "incidents-by-severity")[-1][0] == label
    chart = configs(response)["incidents-by-severity"]
    assert chart["data"]["labels"][-1] == label
    colours = chart["data"]["datasets"][0]["backgroundColor"]
    assert colours[-1] != colours[0], "the running month's bar is drawn lighter"


def test_count_axes_take_whole_numbers_and_every_axis_has_a_title(reader, this_month_and_earlier):
    found = configs(reader.get("/dashboard/"))

    for slug in ["incidents-by-severity", "incidents-by-kind", "policy-timeline", "top-factors"]:
        if slug not in found:
            continue
        scales = found[slug]["options"]["scales"]
        value = "x" if found[slug]["options"].get("indexAxis") == "y" else "y"
        assert scales[value]["ticks"]["precision"] == 0, slug
        assert scales[value]["title"] == {"display": True, "text": "Incidents"}, slug
    assert found["incidents-by-severity"]["options"]["scales"]["x"]["title"]["text"] == "Month"


def test_unassessed_incidents_are_not_drawn_and_the_chart_says_what_it_stands_on(reader):
    when = datetime(2025, 3, 10, tzinfo=UTC)
    IncidentFactory(occurred_at=when)
    IncidentFactory(occurred_at=when)
    IncidentFactory(occurred_at=when, severity=None)
    summaries_rebuild()

    response = reader.get("/dashboard/")

    assert "Severity assessed on 2 of 3 incidents" in section(response, "incidents-by-severity")
    labels = [d["label"] for d in configs(response)["incidents-by-severity"]["data"]["datasets"]]
    assert "Unknown" not in labels
    rows = csv_rows(reader, "incidents-by-severity")
    assert rows[0][-1] == "Not assessed"
    assert rows[1][-1] == "1"


def test_placeholders_people_and_groups_are_never_ranked_among_organisations(reader):
    acme = OrganisationFactory(name="Acme")
    unknown = OrganisationFactory(name="Unknown", kind=Organisation.Kind.UNKNOWN)
    public = OrganisationFactory(name="General public", kind=Organisation.Kind.GROUP)
    for _ in range(3):
        IncidentFactory(
            occurred_at=datetime(2025, 3, 10, tzinfo=UTC), organisations=[acme, unknown, public]
        )
    summaries_rebuild()

    ranked = [row[0] for row in csv_rows(reader, "organisations-by-role")[1:]]

    assert ranked == ["Acme"]


def test_a_quarter_nothing_was_measured_in_is_a_gap_not_a_line(reader):
    for month in (1, 7):
        occurred = datetime(2025, month, 10, tzinfo=UTC)
        IncidentFactory(occurred_at=occurred, resolved_at=occurred + timedelta(hours=10))
    IncidentFactory(occurred_at=datetime(2025, 4, 10, tzinfo=UTC))
    summaries_rebuild()

    response = reader.get("/dashboard/?occurred_after=2025-01-01&occurred_before=2025-09-30")

    resolve = configs(response)["time-to-detect-and-resolve"]["data"]["datasets"][1]
    assert resolve["data"] == [10.0, None, 10.0]
    assert resolve["spanGaps"] is False
    assert "time to resolve on 2" in section(response, "time-to-detect-and-resolve")


def test_medians_of_many_hours_are_shown_in_days(reader):
    occurred = datetime(2024, 2, 10, tzinfo=UTC)
    IncidentFactory(occurred_at=occurred, resolved_at=occurred + timedelta(days=600))
    summaries_rebuild()

    rows = csv_rows(reader, "time-to-detect-and-resolve")

    assert rows[0][3] == "Median days to resolve"
    assert rows[1][3] == "600.0"


def test_a_factor_going_from_none_to_one_is_not_called_rising(reader):
    factor = TagFactory(facet="failure-mode", name="Destructive action")
    IncidentFactory(occurred_at=datetime(2025, 3, 10, tzinfo=UTC), tags=[factor])
    IncidentFactory(occurred_at=datetime(2025, 3, 11, tzinfo=UTC))
    summaries_rebuild()

    response = reader.get("/dashboard/")

    assert csv_rows(reader, "top-factors")[1][-1] == "too few"
    datasets = configs(response)["top-factors"]["data"]["datasets"]
    assert [d["label"] for d in datasets] == ["Too few incidents to tell"]
    assert "Factors are recorded on 1 of 2 incidents" in section(response, "top-factors")


def test_by_default_a_lone_incident_decades_before_the_rest_is_left_out_and_counted(reader):
    IncidentFactory(title="Oldest", occurred_at=datetime(1983, 1, 10, tzinfo=UTC))
    IncidentFactory(title="Newest", occurred_at=datetime(2025, 2, 10, tzinfo=UTC))
    summaries_rebuild()

    response = reader.get("/dashboard/")

    periods = [row[0] for row in csv_rows(reader, "incidents-by-kind")[1:]]
    assert (periods[0], periods[-1]) == ("Feb 2025", "Feb 2025")
    assert "1 incident before Feb 2025 is left out" in section(response, "incidents-by-kind")


def test_each_chart_downloads_as_png_and_svg(reader, this_month_and_earlier):
    page = reader.get("/dashboard/").content.decode()
    assert 'href="/dashboard/incidents-by-severity.png"' in page
    assert 'href="/dashboard/incidents-by-severity.svg"' in page

    png = reader.get("/dashboard/incidents-by-severity.png")
    svg = reader.get("/dashboard/incidents-by-severity.svg")

    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    assert svg["Content-Type"] == "image/svg+xml"
    text = svg.content.decode()
    assert "<svg" in text
    assert "Incidents per month, by severity" in text
    assert "Incidents" in text and "Month" in text  # the axis titles


def test_an_unknown_chart_has_no_image(reader, this_month_and_earlier):
    assert reader.get("/dashboard/no-such-chart.png").status_code == 404
    assert reader.get("/dashboard/no-such-chart.svg").status_code == 404


def test_the_factor_charts_download_as_images_too(reader):
    factor = TagFactory(facet="failure-mode", name="Destructive action")
    IncidentFactory(occurred_at=datetime(2025, 3, 10, tzinfo=UTC), tags=[factor])
    summaries_rebuild()

    for slug, title in [
        ("top-factors", "Top contributing factors and failure modes"),
        ("factor-co-occurrence", "Which factors appear together"),
    ]:
        svg = reader.get(f"/dashboard/{slug}.svg")
        assert svg.status_code == 200, slug
        assert title in svg.content.decode()
        assert "Destructive action" in svg.content.decode()
