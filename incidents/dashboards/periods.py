"""The periods figures are counted in: months, quarters, years and ISO weeks.

A month, quarter or year is named by its first day (a quarter by the 1st of January, April,
July or October), so periods compare, sort and store as plain dates.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

# How finely a series is counted; an undated series is counted over all time.
MONTH, QUARTER, UNDATED = "month", "quarter", "undated"

# Past three years, monthly bars are too thin to read (and the tables long): count per year.
YEARLY_AFTER_MONTHS = 36

# Months per unit a figure is counted in.
UNIT_MONTHS = {"month": 1, "quarter": 3, "year": 12}

# A month of average length, leap years included, for rates per month over spans of days.
DAYS_PER_MONTH = 365.25 / 12


def month_start(day):
    return day.replace(day=1)


def quarter_start(day):
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def year_start(day):
    return date(day.year, 1, 1)


def _month_number(day):
    return day.year * 12 + day.month - 1


def _from_month_number(number):
    return date(number // 12, number % 12 + 1, 1)


def shift_months(day, months):
    """The first day of the month `months` after (or, when negative, before) `day`'s month."""
    return _from_month_number(_month_number(day) + months)


def month_range(first, last):
    """The first day of every month from `first`'s to `last`'s, both included."""
    return [
        _from_month_number(number)
        for number in range(_month_number(first), _month_number(last) + 1)
    ]


def quarter_range(first, last):
    """The first day of every quarter from `first`'s to `last`'s, both included."""
    return month_range(quarter_start(first), quarter_start(last))[::3]


def last_day(period, granularity):
    """The last day of the month (or quarter) that starts on `period`."""
    return shift_months(period, 3 if granularity == QUARTER else 1) - timedelta(days=1)


def month_label(month):
    return month.strftime("%b %Y")


def quarter_label(quarter):
    return f"Q{(quarter.month - 1) // 3 + 1} {quarter.year}"


def year_label(year):
    return str(year.year)


def unit_last_day(start, unit):
    """The last day of the month, quarter or year that starts on `start`."""
    return shift_months(start, UNIT_MONTHS[unit]) - timedelta(days=1)


def is_partial(start, unit, today):
    """Whether the period has not ended yet on `today`: its figures are not a whole period's."""
    return today is not None and start <= today <= unit_last_day(start, unit)


def period_label(start, unit, today=None):
    """ "Q3 2025", or for the period still running, "2026 (to 2 Dec)"."""
    label = {"month": month_label, "quarter": quarter_label, "year": year_label}[unit](start)
    if is_partial(start, unit, today):
        label += f" (to {today.day} {today:%b})"
    return label


def week_label(day):
    """The ISO week of a day, as in "2025-W07"."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Timeline:
    """The buckets a monthly figure is shown in: its months, or their years past
    YEARLY_AFTER_MONTHS."""

    unit: str  # "month" or "year"
    buckets: list = field(default_factory=list)  # the first day of each bucket, in order
    today: date | None = None  # the bucket holding it is still running

    @classmethod
    def of_months(cls, months, today=None):
        if len(months) <= YEARLY_AFTER_MONTHS:
            return cls("month", list(months), today)
        return cls("year", sorted({year_start(month) for month in months}), today)

    def bucket(self, month):
        """The first day of the bucket holding `month`."""
        return month if self.unit == "month" else year_start(month)

    def label(self, bucket):
        return period_label(bucket, self.unit, self.today)

    def partial(self, bucket):
        return is_partial(bucket, self.unit, self.today)
