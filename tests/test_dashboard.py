"""The dashboard page: who sees what, filters in the URL, data tables and CSV downloads."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.dashboards.summaries import summaries_rebuild

from .factories import IncidentFactory, OrganisationFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def incidents():
    acme = OrganisationFactory(name="Acme", slug="acme")
    destructive = TagFactory(facet="failure-mode", name="Destructive action")
    IncidentFactory(
        title="Public outage",
        occurred_at=datetime(2025, 1, 10, tzinfo=UTC),
        organisations=[acme],
        tags=[destructive],
    )
    IncidentFactory(title="Other public outage", occurred_at=datetime(2025, 2, 10, tzinfo=UTC))
    IncidentFactory(
        title="Internal outage",
        occurred_at=datetime(2025, 3, 10, tzinfo=UTC),
        internal=True,
        organisations=[acme],
    )
    IncidentFactory(title="Draft outage", occurred_at=datetime(2025, 4, 10, tzinfo=UTC), draft=True)
    summaries_rebuild()
    return {"acme": acme, "destructive": destructive}


def severity_table(response):
    """The rows of the "by severity" data table, as (month, count) pairs."""
    html = response.content.decode()
    section = html.split('id="incidents-by-severity"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', section)
    return [
        (month, sum(int(n) for n in re.findall(r"<td>(\d+)</td>", cells))) for month, cells in rows
    ]


def test_the_public_dashboard_counts_only_published_public_incidents(reader, incidents):
    response = reader.get("/dashboard/")
    assert response.status_code == 200
    assert severity_table(response) == [("Jan 2025", 1), ("Feb 2025", 1)]
    assert "Published public incidents." in response.content.decode()


def test_internal_viewers_see_internal_incidents_but_not_drafts(incidents, vic_client):
    response = vic_client.get("/dashboard/")
    assert severity_table(response) == [("Jan 2025", 1), ("Feb 2025", 1), ("Mar 2025", 1)]
    public = vic_client.get("/dashboard/?scope=public")
    assert severity_table(public) == [("Jan 2025", 1), ("Feb 2025", 1)]


def test_filters_live_in_a_shareable_url(reader, incidents):
    response = reader.get("/dashboard/?organisation=acme&occurred_after=2025-01-01")
    assert severity_table(response) == [("Jan 2025", 1)]
    html = response.content.decode()
    assert '<option value="acme" selected>Acme</option>' in html
    assert (
        'href="/dashboard/incidents-by-severity.csv?organisation=acme&amp;occurred_after=2025-01-01"'
        in html
    )


def test_a_tag_narrows_the_dashboard(reader, incidents):
    response = reader.get("/dashboard/?tag=failure-mode:destructive-action")
    assert severity_table(response) == [("Jan 2025", 1)]


def test_bad_filters_are_explained_and_ignored(reader, incidents):
    response = reader.get("/dashboard/?organisation=nobody&tag=nonsense&occurred_after=31-31-2025")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Some of what was asked for was ignored" in html
    assert "organisation" in html and "use facet:slug" in html
    assert severity_table(response) == [("Jan 2025", 1), ("Feb 2025", 1)]


def test_a_reversed_date_range_is_refused_with_a_reason(reader, incidents):
    response = reader.get("/dashboard/?occurred_after=2025-03-01&occurred_before=2025-01-01")
    assert "The date range ends before it starts" in response.content.decode()


def test_every_chart_has_a_data_table_and_a_csv_download(reader, incidents):
    html = reader.get("/dashboard/").content.decode()
    canvases = re.findall(r'<canvas data-chart="([a-z-]+)"', html)
    assert "incidents-by-severity" in canvases and "policy-timeline" in canvases
    for slug in canvases:
        section = html.split(f'id="{slug}"', 1)[1].split("</section>", 1)[0]
        assert "<table>" in section and "<caption>" in section
        assert f"/dashboard/{slug}.csv" in section
    assert "vendor/chartjs/chart.umd.min.js" in html


def test_the_csv_holds_the_table_of_the_chart(reader, incidents):
    response = reader.get("/dashboard/incidents-by-severity.csv?organisation=acme")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["Month", "SEV3 moderate"], ["Jan 2025", "1"]]


def test_a_name_that_a_spreadsheet_would_run_as_a_formula_is_written_as_text(reader, db):
    formula = '=HYPERLINK("https://evil.example","Click")'
    IncidentFactory(organisations=[OrganisationFactory(name=formula)])
    IncidentFactory(organisations=[OrganisationFactory(name="-1+2")])
    summaries_rebuild()

    response = reader.get("/dashboard/organisations-by-role.csv")

    names = [row[0] for row in csv.reader(io.StringIO(response.content.decode()))][1:]
    assert sorted(names) == ["'-1+2", f"'{formula}"]


def test_an_unknown_chart_is_not_found(reader, incidents):
    assert reader.get("/dashboard/nothing-here.csv").status_code == 404


def test_an_empty_base_shows_empty_states(reader, db):
    summaries_rebuild()
    html = reader.get("/dashboard/").content.decode()
    assert "No incidents to chart with these filters." in html


def test_the_dashboard_reads_summaries_never_the_incidents_table(reader, incidents):
    for url in ("/dashboard/", "/dashboard/?occurred_after=2025-01-01&occurred_before=2025-06-30"):
        with CaptureQueriesContext(connection) as captured:
            assert reader.get(url).status_code == 200
        # Only the data version's index lookup (incidents.caching) may name the table.
        incident_table = [
            q["sql"]
            for q in captured
            if '"incidents_incident"' in q["sql"] and not q["sql"].startswith("SELECT (SELECT MAX")
        ]
        assert incident_table == [], url
        # The charts' figures, then the headline's: its periods, controls and follow-ups.
        assert len(captured) <= 25, url


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/?organisation=acme",
        "/dashboard/?tag=failure-mode:destructive-action",
        "/dashboard/?organisation=acme&tag=failure-mode:destructive-action",
    ],
)
def test_a_filtered_dashboard_takes_a_bounded_number_of_queries(
    reader, incidents, url, django_assert_max_num_queries
):
    # Factor pairs within one organisation's or tag's incidents are counted from those
    # incidents alone (an EXISTS on the filter); everything else comes from the summaries. With
    # both at once, the headline's figures are counted from the incidents too.
    with django_assert_max_num_queries(35 if "&" not in url else 49):
        assert reader.get(url).status_code == 200


def test_a_dashboard_is_built_once_until_the_summaries_are_rebuilt(reader, incidents):
    assert severity_table(reader.get("/dashboard/")) == [("Jan 2025", 1), ("Feb 2025", 1)]
    with CaptureQueriesContext(connection) as captured:
        reader.get("/dashboard/")
    # Only the data's version (once per cached part: charts, headline, filter choices); no
    # chart is rebuilt and no summary row read.
    assert len(captured) <= 3
    assert not [q for q in captured if "incidents_summarycount" in q["sql"]]
    IncidentFactory(occurred_at=datetime(2025, 2, 20, tzinfo=UTC))
    # Until the queued rebuild has run, the summaries still say what they said.
    assert severity_table(reader.get("/dashboard/")) == [("Jan 2025", 1), ("Feb 2025", 1)]
    summaries_rebuild()
    assert severity_table(reader.get("/dashboard/")) == [("Jan 2025", 1), ("Feb 2025", 2)]


def test_what_summaries_do_not_hold_is_counted_once_until_the_data_changes(reader, incidents):
    url = "/dashboard/?organisation=acme&tag=failure-mode:destructive-action"
    assert severity_table(reader.get(url)) == [("Jan 2025", 1)]
    with CaptureQueriesContext(connection) as captured:
        assert severity_table(reader.get(url)) == [("Jan 2025", 1)]
    # Only the checks that the chosen organisation and tag are public read incidents.
    name_checks = ('SELECT "incidents_organisation".', 'SELECT "incidents_tag".')
    assert not [
        q
        for q in captured
        if '"incidents_incident"' in q["sql"] and not q["sql"].startswith(name_checks)
    ]
    IncidentFactory(
        occurred_at=datetime(2025, 2, 3, tzinfo=UTC),
        organisations=[incidents["acme"]],
        tags=[incidents["destructive"]],
    )
    assert severity_table(reader.get(url)) == [("Jan 2025", 1), ("Feb 2025", 1)]


def test_near_misses_are_counted_beside_incidents_with_their_ratio(reader):
    january = datetime(2025, 1, 10, tzinfo=UTC)
    IncidentFactory(occurred_at=january)
    IncidentFactory(occurred_at=january)
    IncidentFactory(occurred_at=january, kind="near_miss")
    IncidentFactory(occurred_at=datetime(2025, 2, 3, tzinfo=UTC), kind="near_miss")
    IncidentFactory(occurred_at=datetime(2025, 2, 4, tzinfo=UTC), kind="near_miss", draft=True)
    summaries_rebuild()

    html = reader.get("/dashboard/").content.decode()

    section = html.split('id="incidents-by-kind"', 1)[1].split("</section>", 1)[0]
    head = re.findall(r'<th scope="col">([^<]+)</th>', section)
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', section)
    assert head == ["Month", "Incident", "Near miss"]
    assert [(month, re.findall(r"<td>(\d+)</td>", cells)) for month, cells in rows] == [
        ("Jan 2025", ["2", "1"]),
        ("Feb 2025", ["0", "1"]),
    ]
    assert "Near misses per incident: 1.00 (2 near misses, 2 incidents)." in section


def test_a_tag_or_organisation_deleted_since_the_rebuild_is_left_out(reader, incidents):
    kept = TagFactory(facet="contributing-factor", name="No review step")
    gone = TagFactory(facet="contributing-factor", name="Broad credentials")
    globex = OrganisationFactory(name="Globex", slug="globex")
    IncidentFactory(occurred_at=datetime(2025, 2, 1, tzinfo=UTC), tags=[kept, gone])
    IncidentFactory(occurred_at=datetime(2025, 2, 2, tzinfo=UTC), organisations=[globex])
    summaries_rebuild()
    # The editor untangles and deletes them; the summaries still name both until rebuilt.
    gone.delete()
    globex.incident_roles.all().delete()
    globex.delete()

    response = reader.get("/dashboard/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "No review step" in html and "Acme" in html
    assert "Broad credentials" not in html and "Globex" not in html
    for slug in ("top-factors", "factor-co-occurrence", "organisations-by-role"):
        csv_response = reader.get(f"/dashboard/{slug}.csv")
        assert csv_response.status_code == 200, slug
        assert "Broad credentials" not in csv_response.content.decode()
        assert "Globex" not in csv_response.content.decode()


def test_an_unbounded_date_range_is_clamped_to_the_months_with_incidents(reader):
    IncidentFactory(title="Oldest", occurred_at=datetime(1983, 1, 10, tzinfo=UTC))
    IncidentFactory(title="Newest", occurred_at=datetime(2025, 2, 10, tzinfo=UTC))
    summaries_rebuild()

    response = reader.get("/dashboard/?occurred_after=0001-01-01&occurred_before=9999-12-31")
    download = reader.get(
        "/dashboard/incidents-by-severity.csv?occurred_after=0001-01-01&occurred_before=9999-12-31"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "occurred_after = \u201c0001-01-01\u201d: no incidents before Jan 1983" in html
    assert "shown from Jan 1983" in html
    assert "shown to Feb 2025" in html
    # Over 42 years the chart counts by year: 1983 to 2025, not year 1 to 9999.
    periods = [row[0] for row in csv.reader(io.StringIO(download.content.decode()))][1:]
    assert (periods[0], periods[-1], len(periods)) == ("1983", "2025", 43)


def test_a_range_within_the_data_is_kept_as_asked(reader, incidents):
    response = reader.get("/dashboard/?occurred_after=2025-02-01&occurred_before=2025-02-28")

    assert severity_table(response) == [("Feb 2025", 1)]
    assert "shown from" not in response.content.decode()
