"""The dashboard figures: hand-computed on a small world, and the summary tables against the
same figures aggregated directly from the incidents."""

import csv
import io
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from incidents import queueing, tasks
from incidents.dashboards import charts, figures
from incidents.dashboards.figures import DashboardQuery, DirectSource, SummarySource
from incidents.dashboards.series import SERIES
from incidents.dashboards.summaries import (
    Scope,
    SummaryChange,
    summaries_apply,
    summaries_rebuild,
)
from incidents.models import (
    ActionItem,
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
    import_,
    incident_for,
)
from .test_import_history import AIID

pytestmark = pytest.mark.django_db


def at(day, hour=9):
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def world():
    """Six incidents: three public and dated in Q1 2025, one internal, one draft, one public
    without a date."""
    acme, globex = OrganisationFactory(name="Acme"), OrganisationFactory(name="Globex")
    destructive = TagFactory(facet="failure-mode", name="Destructive action")
    permissions = TagFactory(facet="contributing-factor", name="Broad permissions")
    finance = TagFactory(facet="sector", name="Finance")
    sev1, sev2, sev3 = (Severity.objects.get(name=n) for n in ("SEV1", "SEV2", "SEV3"))
    deployer, developer = IncidentOrganisation.Role.DEPLOYER, IncidentOrganisation.Role.DEVELOPER

    def incident(day, severity, tags, roles, **fields):
        occurred = at(day) if day else None
        hours = {
            name: occurred + timedelta(hours=fields.pop(name))
            for name in ("detected_at", "resolved_at")
            if name in fields
        }
        made = IncidentFactory(
            occurred_at=occurred, severity=severity, tags=tags, **hours, **fields
        )
        for organisation, role in roles:
            IncidentOrganisationFactory(incident=made, organisation=organisation, role=role)
        return made

    first = incident(
        date(2025, 1, 10),
        sev1,
        [destructive, permissions],
        [(acme, deployer), (globex, developer)],
        detected_at=2,
        resolved_at=10,
        outage_duration=timedelta(hours=3),
        users_affected=100,
        autonomy=Incident.Autonomy.AUTONOMOUS,
    )
    second = incident(
        date(2025, 1, 20),
        sev2,
        [destructive],
        [(acme, deployer)],
        detected_at=4,
        resolved_at=20,
        outage_duration=timedelta(hours=1),
        users_affected=50,
        autonomy=Incident.Autonomy.APPROVED,
    )
    third = incident(
        date(2025, 3, 5), sev2, [permissions, finance], [(globex, deployer)], detected_at=6
    )
    internal = incident(
        date(2025, 2, 1), sev1, [destructive, permissions], [(acme, deployer)], internal=True
    )
    incident(date(2025, 1, 15), sev1, [destructive], [(acme, deployer)], draft=True)
    incident(None, sev3, [destructive], [(globex, deployer)])

    today = timezone.localdate()
    ActionItemFactory(incident=first, owner="Platform", due_on=today - timedelta(days=10))
    ActionItemFactory(incident=first, owner="Platform", status=ActionItem.Status.DONE)
    ActionItemFactory(incident=second, owner="Platform", due_on=today + timedelta(days=5))
    ActionItemFactory(incident=third, owner="", due_on=None)
    ActionItemFactory(incident=internal, owner="Security", due_on=today - timedelta(days=100))
    summaries_rebuild()
    return {
        "acme": acme,
        "globex": globex,
        "destructive": destructive,
        "permissions": permissions,
        "finance": finance,
    }


def chart(slug, query):
    built = charts.build(query, SummarySource(query))
    return next(c for c in built if c.slug == slug)


def test_it_counts_public_incidents_per_month_by_severity(world):
    severity = chart("incidents-by-severity", DashboardQuery(scope=Scope.PUBLIC))
    assert severity.columns == ["Month", "SEV1 critical", "SEV2 major"]
    assert severity.rows == [["Jan 2025", 1, 1], ["Feb 2025", 0, 0], ["Mar 2025", 0, 1]]
    assert severity.notes == ["1 incident without a known date is not in this chart."]


def test_internal_figures_include_internal_incidents_but_never_drafts(world):
    severity = chart("incidents-by-severity", DashboardQuery(scope=Scope.INTERNAL))
    assert severity.rows == [["Jan 2025", 1, 1], ["Feb 2025", 1, 0], ["Mar 2025", 0, 1]]


def test_an_organisation_narrows_every_figure_to_its_incidents(world):
    query = DashboardQuery(scope=Scope.PUBLIC, organisation=world["acme"])
    assert chart("incidents-by-severity", query).rows == [["Jan 2025", 1, 1]]
    assert chart("incidents-by-autonomy", query).rows == [["Jan 2025", 1, 1]]
    assert chart("incidents-by-autonomy", query).columns == [
        "Month",
        "Acted after human approval",
        "Acted autonomously",
    ]


def test_it_takes_medians_of_time_to_detect_and_resolve_per_quarter(world):
    times = chart("time-to-detect-and-resolve", DashboardQuery(scope=Scope.PUBLIC))
    # Detected after 2, 4 and 6 hours; resolved after 10 and 20.
    assert times.rows == [["Q1 2025", 4.0, 3, 15.0, 2]]


def test_it_sums_outage_hours_and_users_affected_per_quarter(world):
    blast = chart("blast-radius", DashboardQuery(scope=Scope.PUBLIC))
    assert blast.rows == [["Q1 2025", 4.0, 150]]


def test_it_ranks_factors_with_their_trend(world):
    factors = chart("top-factors", DashboardQuery(scope=Scope.PUBLIC))
    # Destructive action: two dated incidents and one undated; none in the 12 months before.
    # 0 against 2 is too few incidents to call a trend.
    assert factors.rows == [
        ["Destructive action", "Failure mode", 3, 0, 2, "too few"],
        ["Broad permissions", "Contributing factor", 2, 0, 2, "too few"],
    ]


def test_a_factor_is_rising_only_on_enough_incidents():
    assert charts.trend(0, 1) == "too few"
    assert charts.trend(1, 4) == "rising"
    assert charts.trend(4, 1) == "falling"
    assert charts.trend(3, 3) == "steady"


def test_the_heat_map_counts_factors_seen_together(world):
    heatmap = chart("factor-co-occurrence", DashboardQuery(scope=Scope.PUBLIC))
    assert heatmap.columns == ["Factor", "Destructive action", "Broad permissions"]
    assert heatmap.rows == [["Destructive action", 3, 1], ["Broad permissions", 1, 2]]
    internal = chart("factor-co-occurrence", DashboardQuery(scope=Scope.INTERNAL))
    assert internal.rows == [["Destructive action", 4, 2], ["Broad permissions", 2, 3]]


def test_pairs_within_a_filter_are_counted_over_its_newest_incidents(world, monkeypatch):
    acme = DashboardQuery(scope=Scope.PUBLIC, organisation=world["acme"])
    heatmap = chart("factor-co-occurrence", acme)
    assert heatmap.rows == [["Destructive action", 2, 1], ["Broad permissions", 1, 1]]
    assert not heatmap.notes
    monkeypatch.setattr(figures, "COOCCURRENCE_COUNTED", 1)
    heatmap = chart(
        "factor-co-occurrence", DashboardQuery(scope=Scope.INTERNAL, organisation=world["acme"])
    )
    # Acme's newest incident (1 February, internal) carries both factors.
    assert heatmap.rows == [["Destructive action", 1, 1], ["Broad permissions", 1, 1]]
    assert heatmap.notes == [
        "Counted over the newest 1 incidents with these factors, not all of them."
    ]


def test_it_ranks_organisations_by_role(world):
    organisations = chart("organisations-by-role", DashboardQuery(scope=Scope.PUBLIC))
    assert organisations.columns[:3] == ["Organisation", "Developer", "Deployer"]
    assert [row[:3] + row[-1:] for row in organisations.rows] == [
        ["Globex", 1, 2, 3],
        ["Acme", 0, 2, 2],
    ]


def test_it_ages_open_action_items_by_owner(world):
    items = chart("open-action-items", DashboardQuery(scope=Scope.PUBLIC))
    buckets = [key for key, _, _ in charts.AGE_BUCKETS]
    by_owner = {
        row[0]: dict(zip(buckets, row[1:-1], strict=True)) | {"open": row[-1]} for row in items.rows
    }
    assert by_owner["Platform"]["overdue_7"] == 1
    assert by_owner["Platform"]["due"] == 1
    assert by_owner["Platform"]["open"] == 2
    assert by_owner["Unassigned"]["undated"] == 1
    assert "Security" not in by_owner
    internal = chart("open-action-items", DashboardQuery(scope=Scope.INTERNAL))
    assert ["Security", 1, 0, 0, 0, 0, 0, 1] in internal.rows


def test_a_date_range_counts_whole_months(world):
    query = DashboardQuery(scope=Scope.PUBLIC, start=date(2025, 3, 1), end=date(2025, 3, 1))
    assert chart("incidents-by-severity", query).rows == [["Mar 2025", 1]]
    assert chart("top-factors", query).rows[0][:3] == [
        "Broad permissions",
        "Contributing factor",
        1,
    ]


def _sorted(rows):
    return {name: sorted(values, key=repr) for name, values in rows.items()}


@pytest.mark.parametrize("scope", Scope.values)
@pytest.mark.parametrize(
    "narrowing",
    [
        {},
        {"organisation": "acme"},
        {"organisation": "globex"},
        {"tag": "destructive"},
        {"tag": "finance"},
        {"start": date(2025, 1, 1), "end": date(2025, 2, 1)},
        {"organisation": "acme", "end": date(2025, 1, 1)},
        {"organisation": "globex", "start": date(2025, 2, 1)},
        {"tag": "permissions", "end": date(2025, 1, 1)},
    ],
)
def test_every_summary_equals_the_direct_aggregation(world, scope, narrowing):
    narrowing = {
        key: world[value] if isinstance(value, str) else value for key, value in narrowing.items()
    }
    query = DashboardQuery(scope=scope, **narrowing)
    names = [series.name for series in SERIES if series.dimensions != (SummaryCount.Dimension.ALL,)]
    summary, direct = SummarySource(query), DirectSource(query)
    assert _sorted(summary.rows(names)) == _sorted(direct.rows(names))
    tag_ids = [world["destructive"].pk, world["permissions"].pk]
    assert summary.cooccurrence(tag_ids) == direct.cooccurrence(tag_ids)
    today = timezone.localdate()
    assert summary.action_item_ages(today) == direct.action_item_ages(today)
    assert summary.rows(["total"])["total"]  # the world is not empty under any of these


def test_the_gap_figures_equal_the_direct_aggregation(world):
    query = DashboardQuery(scope=Scope.PUBLIC)
    names = ["factor_organisations", "factor_policies"]
    assert _sorted(SummarySource(query).rows(names)) == _sorted(DirectSource(query).rows(names))


def test_saving_an_incident_rebuilds_the_summaries_after_commit(
    world, django_capture_on_commit_callbacks
):
    late = IncidentFactory(
        occurred_at=at(date(2025, 3, 20)), severity=Severity.objects.get(name="SEV1")
    )
    with django_capture_on_commit_callbacks(execute=True):
        followups.incident_saved(incident=late)
    severity = chart("incidents-by-severity", DashboardQuery(scope=Scope.PUBLIC))
    assert severity.rows[-1] == ["Mar 2025", 1, 1]


def test_an_import_rebuilds_the_summaries_once_after_commit(
    world, django_capture_on_commit_callbacks
):
    imported = IncidentFactory(occurred_at=at(date(2025, 4, 2)))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        followups.incidents_imported(incident_ids=[imported.pk])
        followups.incidents_imported(incident_ids=[imported.pk])
    assert len(callbacks) >= 2
    total = SummaryCount.objects.get(
        scope=Scope.PUBLIC, dimension="all", series="total", period=date(2025, 4, 1)
    )
    assert total.count == 1


def test_the_busiest_ten_organisations_are_kept_per_dimension(db):
    shared = OrganisationFactory(name="Shared platform")
    for n in range(1, 13):
        organisation = OrganisationFactory(name=f"Busy {n:02d}")
        for _ in range(n):
            IncidentFactory(organisations=[organisation, shared])
    summaries_rebuild()
    for query in (
        DashboardQuery(scope=Scope.PUBLIC),
        DashboardQuery(scope=Scope.PUBLIC, organisation=shared),
    ):
        names = [row[0] for row in chart("organisations-by-role", query).rows]
        assert names == ["Shared platform", *(f"Busy {n:02d}" for n in range(12, 3, -1))]
        summary = SummarySource(query).rows(["organisation_role"])
        assert _sorted(summary) == _sorted(DirectSource(query).rows(["organisation_role"]))


def summary_rows():
    """Every summary row, as a reader of the dashboards sees it (its id aside)."""
    return Counter(
        SummaryCount.objects.values_list(
            "scope", "dimension", "dimension_id", "period", "series", "key", "count", "value"
        )
    )


def row_ids(**narrowing):
    return set(SummaryCount.objects.filter(**narrowing).values_list("pk", flat=True))


def test_updating_after_incidents_moved_leaves_what_a_rebuild_leaves(world):
    bystander = OrganisationFactory(name="Initech")
    IncidentFactory.create_batch(6, organisations=[bystander], occurred_at=at(date(2024, 6, 3)))
    summaries_rebuild()
    untouched = row_ids(dimension="organisation", dimension_id=bystander.pk)
    first = Incident.objects.get(users_affected=100)

    # To another quarter, organisation and tag; and a new incident in a month of its own.
    moved = at(date(2025, 5, 2)) - first.occurred_at
    for name in ("occurred_at", "detected_at", "resolved_at"):
        setattr(first, name, getattr(first, name) + moved)
    first.save()
    first.organisation_roles.filter(organisation=world["globex"]).delete()
    first.tags.set([world["finance"]])
    IncidentOrganisationFactory(incident=first, organisation=OrganisationFactory(name="Hooli"))
    created = IncidentFactory(occurred_at=at(date(2023, 8, 1)), tags=[world["destructive"]])
    summaries_apply([first.pk, created.pk])

    updated = summary_rows()
    assert row_ids(dimension="organisation", dimension_id=bystander.pk) == untouched
    summaries_rebuild()
    assert updated == summary_rows()


def test_a_party_no_longer_an_organisation_leaves_the_rankings_of_its_other_incidents(world):
    summaries_rebuild()
    change = SummaryChange()
    world["globex"].kind = Organisation.Kind.PERSON
    world["globex"].save()
    summaries_apply(change.incident_ids())

    updated = summary_rows()
    summaries_rebuild()
    assert updated == summary_rows()


def test_summaries_counted_before_contributions_were_remembered_are_rebuilt(world):
    summaries_rebuild()
    SummaryContribution.objects.all().delete()  # as after upgrading
    SummaryCount.objects.filter(series="total").delete()
    summaries_apply([Incident.objects.first().pk])
    updated = summary_rows()
    summaries_rebuild()
    assert updated and updated == summary_rows()


def changed_snapshot(folder, **dates):
    """With `dates`, {incident id: date} also changed (an empty date: undated)."""
    return _changed_snapshot(folder, dates)


def _changed_snapshot(folder, dates):
    """The 2026-02 AIID excerpt as a later snapshot might give it: Tay retitled, the Google
    car crash moved to another month and deployer, Uber's MIT domain changed, one new
    incident."""
    source = AIID / "2026-02"
    snapshot = folder / "2026-03"
    shutil.copytree(source, snapshot)
    rows = list(csv.DictReader(io.StringIO((source / "incidents.csv").read_text())))
    for row in rows:
        if row["incident_id"] == "6":
            row["title"] = "Tay posts abuse"
        if row["incident_id"] == "25":
            row["date"] = "2015-09-02"
            row["Alleged deployer of AI system"] = '["waymo"]'
    rows.append(rows[0] | {"_id": "new", "incident_id": "9001", "date": "2026-01-05"})
    for row in rows:
        row["date"] = dates.get(row["incident_id"], row["date"])
    with (snapshot / "incidents.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    mit = (snapshot / "classifications_MIT.csv").read_text()
    (snapshot / "classifications_MIT.csv").write_text(
        mit.replace('MIT,4,True,"7. AI system safety', 'MIT,4,True,"6. AI system safety')
    )
    return snapshot


def test_an_import_updates_only_the_summary_rows_it_reached(
    tmp_path, django_capture_on_commit_callbacks
):
    bystander = OrganisationFactory(name="Initech")
    IncidentFactory.create_batch(12, organisations=[bystander], occurred_at=at(date(2024, 6, 3)))
    with django_capture_on_commit_callbacks(execute=True):
        import_("aiid", AIID / "2026-02")
    summaries_rebuild()
    untouched = row_ids(dimension="organisation", dimension_id=bystander.pk)
    months_apart = row_ids(dimension="all", series="total", period=date(2024, 6, 1))

    with django_capture_on_commit_callbacks(execute=True):
        summary = import_("aiid", changed_snapshot(tmp_path))

    assert (summary.created, summary.updated) == (1, 3)
    assert not PendingWork.objects.exists()
    updated = summary_rows()
    assert row_ids(dimension="organisation", dimension_id=bystander.pk) == untouched
    assert row_ids(dimension="all", series="total", period=date(2024, 6, 1)) == months_apart
    summaries_rebuild()
    assert updated == summary_rows()


def test_an_import_reaching_undated_and_dated_months_is_recorded_and_done(
    tmp_path, django_capture_on_commit_callbacks
):
    IncidentFactory.create_batch(12, occurred_at=at(date(2024, 6, 3)))  # so it is no rebuild
    with django_capture_on_commit_callbacks(execute=True):
        import_("aiid", AIID / "2026-02")
    summaries_rebuild()

    with django_capture_on_commit_callbacks(execute=True):
        summary = import_("aiid", changed_snapshot(tmp_path, **{"6": ""}))

    assert summary.updated == 3 and incident_for("aiid", "6").occurred_at is None
    assert not PendingWork.objects.exists()
    updated = summary_rows()
    summaries_rebuild()
    assert updated == summary_rows()


def test_an_unchanged_import_queues_no_summary_work(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        import_("aiid", AIID / "2026-02")
    ids = row_ids()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        import_("aiid", AIID / "2026-02")

    assert callbacks == []
    assert ids and row_ids() == ids


def test_one_task_does_every_recorded_update_and_a_rebuild_does_them_too(
    world, django_capture_on_commit_callbacks
):
    IncidentFactory.create_batch(6)
    summaries_rebuild()
    moved = [IncidentFactory(occurred_at=at(date(2024, month, 1))) for month in (2, 3)]
    with django_capture_on_commit_callbacks() as callbacks:
        for incident in moved:
            queueing.summaries_apply([incident.pk])
    assert PendingWork.objects.filter(task="apply_summary_deltas").count() == 2

    callbacks[0]()

    assert not PendingWork.objects.exists()
    updated = summary_rows()
    summaries_rebuild()
    assert updated == summary_rows()
    queueing.summaries_apply([moved[0].pk])
    tasks.rebuild_dashboard_summaries()
    assert not PendingWork.objects.exists()
