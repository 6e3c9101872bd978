"""The dashboard's top row: a handful of figures for one period against the period of the same
length before it, the controls that would have stopped the most incidents, and who holds
overdue follow-ups. Read from the summaries (and, for the controls, one cached aggregate), so
it costs the same on a hundred incidents as on a hundred thousand.

Only complete months are compared: the month under way is left out of a range that has
complete months, and shown alone, marked and uncompared, when it is all that was asked for.
"""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date

from incidents.dashboards.figures import months_with_incidents, source_for
from incidents.dashboards.periods import month_label, month_range, month_start, shift_months
from incidents.dashboards.series import bucket_width
from incidents.models import Control, Incident, Severity

DEFAULT_MONTHS = 12
SEVERE_LEVELS = 2  # the top two steps of the severity scale
CONTROLS_SHOWN = 5
OWNERS_SHOWN = 8
OVERDUE = {"overdue", "overdue_7", "overdue_30", "overdue_90"}


@dataclass(frozen=True)
class Period:
    start: date  # the first day of the first month
    end: date  # the first day of the last month
    partial_to: date | None = None  # the day a month under way is counted to

    @property
    def months(self):
        return len(month_range(self.start, self.end))

    @property
    def label(self):
        if self.partial_to:
            return f"{month_label(self.start)} so far, to {self.partial_to:%-d %b}"
        if self.start == self.end:
            return month_label(self.start)
        return f"{month_label(self.start)} to {month_label(self.end)}"


@dataclass
class Figure:
    label: str
    value: str
    previous: str = ""  # the same figure over the previous period, formatted
    change: str = ""  # e.g. "+12 (+8%)"
    direction: str = ""  # "up", "down" or "same"
    basis: str = ""  # what the figure stands on


@dataclass
class Headline:
    period: Period | None
    previous: Period | None
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # why a comparison is missing or cut short
    severe: str = ""  # what "severe" means here
    owners: list = field(default_factory=list)  # [(owner, overdue, oldest due date, days late)]
    more_owners: int = 0
    overdue: int = 0
    today: date | None = None
    controls: list = field(default_factory=list)  # [RankedControl], best first
    assessed: int = 0  # incidents judged against the control catalogue


def periods(query, today, first_month, last_month=None):
    """(period, previous period or None, notes) for a query, in whole months. Without a range
    chosen: the twelve complete months before the newest month on record (a snapshot of a
    dataset may end part way through its last month), or before the month under way."""
    under_way = month_start(today)
    last_complete = shift_months(under_way, -1)
    notes = []
    if query.dated:
        start = query.start or first_month or under_way
        end = query.end or under_way  # open-ended: to today
    elif last_month and last_month < under_way:
        end = shift_months(last_month, -1)
        start = shift_months(end, -(DEFAULT_MONTHS - 1))
        notes.append(
            f"The newest incident on record occurred in {month_label(last_month)}: that month "
            "may not be fully recorded and is not counted."
        )
    else:
        start, end = shift_months(under_way, -DEFAULT_MONTHS), under_way
    if end >= under_way:
        if start >= under_way:
            notes.append(
                f"{month_label(under_way)} is under way: its figures are not compared with a "
                "complete month."
            )
            return Period(under_way, under_way, partial_to=today), None, notes
        end = last_complete
        notes.append(
            f"{month_label(under_way)} is under way (to {today:%-d %b}) and is not counted: "
            "only complete months are compared."
        )
    period = Period(start, max(start, end))
    previous = Period(shift_months(start, -period.months), shift_months(start, -1))
    if first_month is None:
        notes.append("No dated incident is on record yet.")
        previous = None
    elif previous.end < first_month:
        notes.append(
            f"No incidents on record before {month_label(first_month)}: there is no earlier "
            "period to compare with."
        )
        previous = None
    return period, previous, notes


def _change(now, before):
    difference = now - before
    if not before:
        return (f"+{now:,}" if now else "no change"), ("up" if now else "same")
    percent = round(100 * difference / before)
    sign = "+" if difference > 0 else "\u2212" if difference < 0 else "\u00b1"
    text = f"{sign}{abs(difference):,} ({sign}{abs(percent)}%)"
    return text, "up" if difference > 0 else "down" if difference < 0 else "same"


def format_hours(hours):
    if hours is None:
        return "No data"
    if hours < 48:
        return f"{hours:.0f} hours" if hours >= 2 else f"{hours:.1f} hours"
    days = hours / 24
    if days < 10:
        return f"{days:.1f} days"
    if days < 365:
        return f"{days:.0f} days"
    return f"{days / 365.25:.1f} years"


def median_hours(histogram):
    """The median of {bucket lower bound in hours: incidents}, each incident taken at the
    middle of its bucket; None without incidents."""
    total = sum(histogram.values())
    if not total:
        return None
    middles = {(total - 1) // 2, total // 2}  # one incident, or the two either side
    found, seen = [], 0
    for lower in sorted(histogram):
        count = histogram[lower]
        found += [lower + bucket_width(lower) / 2 for m in middles if seen <= m < seen + count]
        seen += count
    return sum(found) / len(found)


def _within(rows, period):
    if period is None:
        return []
    return [row for row in rows if row[0] is not None and period.start <= row[0] <= period.end]


def _incidents_word(count):
    return f"{count:,} incident{'' if count == 1 else 's'}"


def _counted(rows, period):
    """{key: count} over the months of a period."""
    totals = defaultdict(int)
    for _, key, count, _ in _within(rows, period):
        totals[key] += count
    return totals


def build(query, today):
    """The headline figures and the overdue follow-ups for a DashboardQuery."""
    first_month, last_month = months_with_incidents(query.scope)
    period, previous, notes = periods(query, today, first_month, last_month)
    # Read over the whole timeline: the previous period lies outside the range asked for.
    source = source_for(replace(query, start=None, end=None))
    earliest = previous.start if previous else period.start
    rows = source.rows(["kind", "severity", "resolve_hours"], first=earliest, last=period.end)
    scale = list(Severity.objects.order_by("rank"))
    severe_levels = scale[:SEVERE_LEVELS]
    severe_names = {level.name for level in severe_levels}
    headline = Headline(period=period, previous=previous, notes=notes, today=today)
    headline.severe = (
        "Severe: rated "
        + " or ".join(f"{level.name} ({level.label})" for level in severe_levels)
        + ", the top two steps of the severity scale."
        if severe_levels
        else ""
    )

    kinds = {p: _counted(rows["kind"], p) for p in (period, previous)}
    severities = {p: _counted(rows["severity"], p) for p in (period, previous)}
    resolve = {
        p: {int(key): count for key, count in _counted(rows["resolve_hours"], p).items()}
        for p in (period, previous)
    }

    def count_figure(label, now, before, basis=""):
        figure = Figure(label, f"{now:,}", basis=basis)
        if previous:
            figure.previous = f"{before:,}"
            figure.change, figure.direction = _change(now, before)
        return figure

    for label, kind in (
        ("Incidents", Incident.Kind.INCIDENT),
        ("Near misses", Incident.Kind.NEAR_MISS),
    ):
        headline.figures.append(
            count_figure(label, kinds[period].get(kind, 0), kinds[previous].get(kind, 0))
        )

    def severe(p):
        return sum(severities[p].get(name, 0) for name in severe_names)

    records = sum(kinds[period].values())
    assessed = sum(count for name, count in severities[period].items() if name)
    headline.figures.append(
        count_figure(
            "Severe incidents",
            severe(period),
            severe(previous),
            basis=f"severity assessed on {assessed:,} of {records:,}",
        )
    )

    median_now, median_before = median_hours(resolve[period]), median_hours(resolve[previous])
    measured = sum(resolve[period].values())
    figure = Figure(
        "Median time to resolve",
        format_hours(median_now),
        basis=f"over {_incidents_word(measured)} with a known resolution",
    )
    if previous and median_now is not None and median_before is not None:
        figure.previous = format_hours(median_before)
        figure.direction = (
            "up" if median_now > median_before else "down" if median_now < median_before else "same"
        )
        figure.change = {"up": "longer", "down": "shorter", "same": "the same"}[figure.direction]
    headline.figures.append(figure)

    overdue_by_owner = defaultdict(lambda: [0, None])
    open_items = 0
    for due_on, owner, count, _ in source.rows(["open_action_items"])["open_action_items"]:
        open_items += count
        if due_on is not None and due_on < today:
            entry = overdue_by_owner[owner]
            entry[0] += count
            entry[1] = due_on if entry[1] is None else min(entry[1], due_on)
    ranked = sorted(overdue_by_owner.items(), key=lambda item: (-item[1][0], item[1][1], item[0]))
    headline.overdue = sum(count for _, (count, _) in ranked)
    headline.owners = [
        (owner or "Unassigned", count, oldest, (today - oldest).days)
        for owner, (count, oldest) in ranked[:OWNERS_SHOWN]
    ]
    headline.more_owners = max(0, len(ranked) - OWNERS_SHOWN)
    headline.figures.append(
        Figure(
            "Overdue action items",
            f"{headline.overdue:,}",
            basis=f"of {open_items:,} open, on {today:%-d %b %Y}",
        )
    )
    headline.controls, headline.assessed = top_controls(query, len(scale))
    return headline


@dataclass
class RankedControl:
    slug: str
    name: str
    stopped: int
    stopped_weight: int


def top_controls(query, lowest):
    """([RankedControl], incidents assessed): the controls that would have stopped the most of
    the query's incidents, weighted by severity as /controls/ ranks them (with `lowest` the
    number of steps of the scale), from the summaries."""
    rows = source_for(query).rows(["control_stopped", "assessed"])
    lowest = lowest or 1
    stopped, weight = defaultdict(int), defaultdict(int)
    for _, key, count, _ in rows["control_stopped"]:
        control, _, rank = key.partition(":")
        stopped[int(control)] += count
        weight[int(control)] += count * (lowest + 1 - (int(rank) if rank else lowest))
    controls = Control.objects.in_bulk(list(stopped)) if stopped else {}
    ranked = sorted(
        (pk for pk in stopped if pk in controls),
        key=lambda pk: (-weight[pk], -stopped[pk], controls[pk].name),
    )
    shown = [
        RankedControl(controls[pk].slug, controls[pk].name, stopped[pk], weight[pk])
        for pk in ranked[:CONTROLS_SHOWN]
    ]
    return shown, sum(count for _, _, count, _ in rows["assessed"])
