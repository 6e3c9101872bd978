"""The months, quarters and weeks the dashboards and the digest count in."""

from datetime import date

import pytest

from incidents.dashboards.periods import (
    MONTH,
    QUARTER,
    Timeline,
    last_day,
    month_label,
    month_range,
    month_start,
    period_label,
    quarter_label,
    quarter_range,
    quarter_start,
    shift_months,
    week_label,
)


@pytest.mark.parametrize(
    ("day", "month", "quarter"),
    [
        (date(2025, 1, 1), date(2025, 1, 1), date(2025, 1, 1)),
        (date(2025, 3, 31), date(2025, 3, 1), date(2025, 1, 1)),
        (date(2025, 4, 1), date(2025, 4, 1), date(2025, 4, 1)),
        (date(2025, 8, 15), date(2025, 8, 1), date(2025, 7, 1)),
        (date(2025, 12, 31), date(2025, 12, 1), date(2025, 10, 1)),
    ],
)
def test_a_day_belongs_to_the_month_and_quarter_it_falls_in(day, month, quarter):
    assert month_start(day) == month
    assert quarter_start(day) == quarter


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        (0, date(2025, 3, 1)),
        (1, date(2025, 4, 1)),
        (10, date(2026, 1, 1)),
        (-2, date(2025, 1, 1)),
        (-3, date(2024, 12, 1)),
        (-23, date(2023, 4, 1)),
    ],
)
def test_shifting_by_months_crosses_years(months, expected):
    assert shift_months(date(2025, 3, 17), months) == expected


def test_a_range_of_months_holds_both_ends_across_a_new_year():
    assert month_range(date(2024, 11, 20), date(2025, 2, 3)) == [
        date(2024, 11, 1),
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2025, 2, 1),
    ]
    assert month_range(date(2025, 2, 1), date(2025, 2, 28)) == [date(2025, 2, 1)]
    assert month_range(date(2025, 3, 1), date(2025, 2, 1)) == []


def test_a_range_of_quarters_starts_at_the_quarter_of_its_first_day():
    assert quarter_range(date(2024, 12, 5), date(2025, 7, 1)) == [
        date(2024, 10, 1),
        date(2025, 1, 1),
        date(2025, 4, 1),
        date(2025, 7, 1),
    ]


@pytest.mark.parametrize(
    ("period", "granularity", "expected"),
    [
        (date(2024, 2, 1), MONTH, date(2024, 2, 29)),
        (date(2025, 2, 1), MONTH, date(2025, 2, 28)),
        (date(2025, 12, 1), MONTH, date(2025, 12, 31)),
        (date(2025, 1, 1), QUARTER, date(2025, 3, 31)),
        (date(2025, 10, 1), QUARTER, date(2025, 12, 31)),
    ],
)
def test_the_last_day_of_a_period(period, granularity, expected):
    assert last_day(period, granularity) == expected


def test_periods_read_as_on_the_dashboard_and_in_the_digest():
    assert month_label(date(2025, 9, 1)) == "Sep 2025"
    assert [quarter_label(q) for q in quarter_range(date(2025, 1, 1), date(2025, 12, 1))] == [
        "Q1 2025",
        "Q2 2025",
        "Q3 2025",
        "Q4 2025",
    ]
    assert week_label(date(2025, 2, 12)) == "2025-W07"
    # ISO weeks belong to the year their Thursday is in.
    assert week_label(date(2024, 12, 30)) == "2025-W01"
    assert week_label(date(2021, 1, 3)) == "2020-W53"


def test_three_years_of_months_are_shown_by_month_and_more_by_year():
    three_years = month_range(date(2022, 1, 1), date(2024, 12, 1))
    monthly = Timeline.of_months(three_years)
    assert monthly.unit == "month"
    assert monthly.buckets == three_years
    assert monthly.bucket(date(2023, 6, 1)) == date(2023, 6, 1)
    assert monthly.label(date(2023, 6, 1)) == "Jun 2023"

    yearly = Timeline.of_months([date(2021, 12, 1), *three_years])
    assert yearly.unit == "year"
    assert yearly.buckets == [date(year, 1, 1) for year in range(2021, 2025)]
    assert yearly.bucket(date(2023, 6, 1)) == date(2023, 1, 1)
    assert yearly.label(date(2023, 1, 1)) == "2023"


def test_the_period_still_running_is_labelled_with_the_day_it_is_counted_to():
    today = date(2026, 12, 2)
    assert period_label(date(2026, 1, 1), "year", today) == "2026 (to 2 Dec)"
    assert period_label(date(2026, 10, 1), "quarter", today) == "Q4 2026 (to 2 Dec)"
    assert period_label(date(2026, 12, 1), "month", today) == "Dec 2026 (to 2 Dec)"
    assert period_label(date(2026, 11, 1), "month", today) == "Nov 2026"
    assert period_label(date(2025, 1, 1), "year", today) == "2025"
    assert Timeline.of_months([date(2026, 11, 1), date(2026, 12, 1)], today).partial(
        date(2026, 12, 1)
    )
