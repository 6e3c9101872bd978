"""The dashboard's charts, each with the table behind it (shown to every reader and offered
as CSV) and the configuration Chart.js draws it from."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from html import escape

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import ngettext

from incidents.dashboards.periods import (
    MONTH,
    QUARTER,
    Timeline,
    is_partial,
    month_label,
    month_range,
    month_start,
    period_label,
    quarter_range,
    quarter_start,
    shift_months,
)
from incidents.models import (
    Incident,
    IncidentOrganisation,
    Organisation,
    PerpetratorKind,
    PolicyChange,
    PolicyChangeIncident,
    Severity,
    Tag,
)

TOP = 10
HEATMAP_SIZE = 8
TREND_MONTHS = 12
# A factor is called rising or falling only when its two 12-month windows hold this many
# incidents between them: 0 against 1 is not a trend.
TREND_MINIMUM = 5
# Without a From date the time charts start this many years before their last period (or
# where the data starts, if later): a handful of old incidents would otherwise stretch the
# axis over decades of nothing.
DEFAULT_YEARS = 10
# Keys that say nothing was assessed: charted as the count they leave out, never as a bar.
UNASSESSED = {"", "unknown"}
# Hours past which a median is shown in days.
DAYS_AFTER_HOURS = 72
TREND_COLOURS = [
    ("rising", "Rising", "#dc2626"),
    ("falling", "Falling", "#16a34a"),
    ("steady", "Steady", "#6b7280"),
    ("too few", "Too few incidents to tell", "#cbd5e1"),
]
PALETTE = [
    "#2563eb",
    "#dc2626",
    "#16a34a",
    "#d97706",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#65a30d",
    "#6b7280",
    "#92400e",
]
ROLE_LABELS = dict(IncidentOrganisation.Role.choices)
AGE_BUCKETS = [
    ("overdue_90", "Overdue by more than 90 days", "#7f1d1d"),
    ("overdue_30", "Overdue by 31 to 90 days", "#dc2626"),
    ("overdue_7", "Overdue by 8 to 30 days", "#f97316"),
    ("overdue", "Overdue by up to 7 days", "#facc15"),
    ("due", "Not yet due", "#16a34a"),
    ("undated", "No due date", "#9ca3af"),
]
# The monthly and quarterly series the charts read in one go; a new series (near misses,
# say) is read by adding its name here and a chart below.
SERIES_READ = [
    "total",
    "severity",
    "perpetrator",
    "autonomy",
    "kind",
    "organisation_role",
    "outage_hours",
    "users_affected",
    "time_to_detect",
    "time_to_resolve",
    "with_factors",
]


@dataclass
class Chart:
    slug: str
    title: str
    description: str
    columns: list
    rows: list
    config: dict = field(default_factory=dict)  # Chart.js; empty for the heat map table
    notes: list = field(default_factory=list)
    heatmap: bool = False
    heatmap_rows: list = field(default_factory=list)
    # Per row, whether its period was still running: drawn lighter (hatched in images).
    partial: list = field(default_factory=list)

    @property
    def empty(self):
        return not self.rows

    def table_html(self):
        """The data table. Built here rather than in a template: a long range has hundreds of
        rows per chart, and template loops over them would cost more than every query."""
        head = "".join(f'<th scope="col">{escape(str(column))}</th>' for column in self.columns)
        body = "".join(
            f'<tr><th scope="row">{escape(str(row[0]))}</th>'
            + "".join(f"<td>{_cell(value)}</td>" for value in row[1:])
            + "</tr>"
            for row in self.rows
        )
        return mark_safe(
            f"<table><caption>{escape(self.title)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


def _cell(value):
    if value is None:
        return "–"
    if isinstance(value, int | float):
        return str(value)
    return escape(str(value))


def _first_shown(query, periods):
    """The first month charted: the range's start; without one, the first with data within
    DEFAULT_YEARS (by calendar year) of the last."""
    if query.start or not periods:
        return query.start
    last = query.end or max(periods)
    cut = date(last.year - DEFAULT_YEARS + 1, 1, 1)
    return min((period for period in periods if period >= cut), default=cut)


def _span(query, periods, granularity):
    """Every month (or quarter) from the range's start (see _first_shown) to its end."""
    if not periods and not (query.start and query.end):
        return []
    first = _first_shown(query, periods)
    last = query.end or max(periods)
    if granularity == QUARTER:
        return quarter_range(first, last)
    return month_range(first, last)


def _left_out(count, first):
    if not count:
        return []
    return [
        ngettext(
            "%(count)s incident before %(first)s is left out: choose a From date to see it.",
            "%(count)s incidents before %(first)s are left out: choose a From date to see them.",
            count,
        )
        % {"count": f"{count:,}", "first": month_label(first)}
    ]


def _partial_note(label, unit):
    return (
        f"{label} is not over: it is counted to that day, drawn lighter, and is not a whole "
        f"{unit} to compare with the others."
    )


def _axis(title, counts=False, stacked=None):
    axis = {"title": {"display": bool(title), "text": title or ""}}
    if counts:
        axis["beginAtZero"] = True
        axis["ticks"] = {"precision": 0}
    if stacked is not None:
        axis["stacked"] = stacked
    return axis


def _stacked_bars(
    labels,
    datasets,
    horizontal=False,
    stacked=True,
    value_title="Incidents",
    category_title=None,
    partial=None,
):
    """A bar chart of counts: whole-number ticks on the value axis, both axes titled, and the
    bars of a period still running drawn lighter."""
    if partial and any(partial):
        for dataset in datasets:
            colour = dataset["backgroundColor"]
            dataset["backgroundColor"] = [colour + "59" if p else colour for p in partial]
            dataset["borderColor"] = colour
            dataset["borderWidth"] = [2 if p else 0 for p in partial]
    value, category = ("x", "y") if horizontal else ("y", "x")
    return {
        "type": "bar",
        "data": {"labels": labels, "datasets": datasets},
        "options": {
            "indexAxis": "y" if horizontal else "x",
            "scales": {
                value: _axis(value_title, counts=True, stacked=stacked),
                category: _axis(category_title, stacked=stacked),
            },
        },
    }


def _timeline_counts(query, rows, today):
    """(timeline, {(bucket, key): count}, incidents left out before the first bucket)."""
    periods = {period for period, _, _, _ in rows if period is not None}
    months = _span(query, periods, MONTH)
    timeline = Timeline.of_months(months, today)
    counts, earlier = defaultdict(int), 0
    for period, key, count, _ in rows:
        if period is None:
            continue
        if months and period < months[0]:
            earlier += count
        else:
            counts[(timeline.bucket(period), key)] += count
    return timeline, counts, (_left_out(earlier, months[0]) if months else [])


def monthly_stacked(query, rows, slug, title, description, keys, today=None, assessed=None):
    """`keys`: [(key, label, colour)] in order; keys not listed are shown as "Unknown". With
    `assessed` (what was assessed, "Severity"), unassessed incidents are not drawn: the table
    counts them, and a note says how many incidents the chart stands on."""
    timeline, counts, notes = _timeline_counts(query, rows, today)
    known = {key for key, _, _ in keys}
    present = {key for _, key in counts}
    keys = [k for k in keys if k[0] in present]
    unassessed_column = False
    if assessed:
        keys = [k for k in keys if k[0] not in UNASSESSED]
        charted = {key for key, _, _ in keys}
        measured = sum(count for (_, key), count in counts.items() if key in charted)
        total = sum(counts.values())
        if measured < total:
            unassessed_column = True
            notes.insert(
                0,
                f"{assessed} on {measured:,} of {total:,} incidents; the {total - measured:,} "
                "not assessed are counted in the table, not drawn.",
            )
    elif present - known:
        keys.append(("\0other", "Unknown", "#9ca3af"))
        for (period, key), count in list(counts.items()):
            if key not in known:
                counts[(period, "\0other")] += count
    charted = [key for key, _, _ in keys]
    table = []
    for bucket in timeline.buckets:
        row = [timeline.label(bucket), *(counts.get((bucket, key), 0) for key in charted)]
        if unassessed_column:
            row.append(
                sum(n for (b, key), n in counts.items() if b == bucket and key not in charted)
            )
        table.append(row)
    partial = [timeline.partial(bucket) for bucket in timeline.buckets]
    undated = sum(count for period, _, count, _ in rows if period is None)
    if undated:
        notes.append(
            ngettext(
                "%d incident without a known date is not in this chart.",
                "%d incidents without a known date are not in this chart.",
                undated,
            )
            % undated
        )
    if timeline.unit == "year":
        title = title.replace("per month", "per year")
        description = description.replace("each month", "each year")
        notes.append("Over more than three years the figures are counted per year.")
    if any(partial):
        notes.append(_partial_note(table[partial.index(True)][0], timeline.unit))
    chart = Chart(
        slug=slug,
        title=title,
        description=description,
        columns=[
            timeline.unit.capitalize(),
            *(label for _, label, _ in keys),
            *(["Not assessed"] if unassessed_column else []),
        ],
        rows=table if any(sum(row[1:]) for row in table) else [],
        notes=notes,
        partial=partial,
    )
    chart.config = _stacked_bars(
        [row[0] for row in table],
        [
            {"label": label, "data": [row[i + 1] for row in table], "backgroundColor": colour}
            for i, (_, label, colour) in enumerate(keys)
        ],
        category_title=timeline.unit.capitalize(),
        partial=partial,
    )
    return chart


def build(query, source, today=None):
    """Every chart of the dashboard, in page order."""
    today = today or timezone.localdate()
    rows = source.rows(SERIES_READ)
    severities = [(s.name, f"{s.name} {s.label}", s.colour) for s in Severity.objects.all()]
    perpetrators = [
        (p.slug, p.name, PALETTE[i % len(PALETTE)])
        for i, p in enumerate(PerpetratorKind.objects.all())
    ]
    autonomy = [
        (value, label, PALETTE[i % len(PALETTE)])
        for i, (value, label) in enumerate(Incident.Autonomy.choices)
    ]
    charts = [
        monthly_stacked(
            query,
            rows["severity"],
            "incidents-by-severity",
            "Incidents per month, by severity",
            "How many incidents occurred each month, stacked by severity.",
            severities,
            today,
            assessed="Severity assessed",
        ),
        monthly_stacked(
            query,
            rows["perpetrator"],
            "incidents-by-perpetrator",
            "Incidents per month, by what acted",
            "How many incidents occurred each month, stacked by the kind of system that acted.",
            perpetrators,
            today,
            assessed="What acted is known",
        ),
        monthly_stacked(
            query,
            rows["autonomy"],
            "incidents-by-autonomy",
            "Incidents per month, by autonomy",
            "How many incidents occurred each month, stacked by how autonomously the AI acted.",
            autonomy,
            today,
            assessed="Autonomy known",
        ),
        kinds_per_month(query, rows["kind"], today),
        policy_timeline(query, rows["total"], today),
        time_to_detect_and_resolve(
            query, rows["time_to_detect"], rows["time_to_resolve"], rows["total"], today
        ),
        blast_radius(query, rows["outage_hours"], rows["users_affected"], today),
    ]
    factors, top_ids = top_factors(query, source, rows["total"], rows["with_factors"])
    charts += [
        factors,
        cooccurrence(source, top_ids[:HEATMAP_SIZE]),
        organisations_by_role(rows["organisation_role"]),
        action_items(source),
    ]
    return charts


KIND_COLOURS = {"incident": "#dc2626", "near_miss": "#f59e0b", "hazard": "#6b7280"}


def kinds_per_month(query, rows, today=None):
    """Incidents beside near misses and hazards, with the near-miss to incident ratio: many
    near misses per incident means controls are catching what would have been incidents."""
    kinds = [(value, label, KIND_COLOURS[value]) for value, label in Incident.Kind.choices]
    chart = monthly_stacked(
        query,
        rows,
        "incidents-by-kind",
        "Incidents, near misses and hazards per month",
        "How many incidents, near misses (caught before harm) and hazards (credible risk, no "
        "event) occurred each month.",
        kinds,
        today,
    )
    totals = defaultdict(int)
    for _, key, count, _ in rows:
        totals[key] += count
    incidents, near_misses = totals[Incident.Kind.INCIDENT], totals[Incident.Kind.NEAR_MISS]
    if incidents and near_misses:
        ratio = f"{near_misses / incidents:.2f}"
        counted = (
            ngettext("%d near miss", "%d near misses", near_misses) % near_misses,
            ngettext("%d incident", "%d incidents", incidents) % incidents,
        )
        chart.notes.append(f"Near misses per incident: {ratio} ({', '.join(counted)}).")
    return chart


def policy_timeline(query, total_rows, today=None):
    policies = PolicyChange.objects.filter(
        Q(effective_on__isnull=False) | Q(announced_on__isnull=False)
    ).order_by("effective_on", "announced_on", "title")
    if query.organisation:
        policies = policies.filter(organisation=query.organisation)
    if query.tag:
        tagged = Incident.tags.through.objects.filter(
            tag=query.tag, incident_id=OuterRef("incident_id")
        )
        links = PolicyChangeIncident.objects.filter(policy_change=OuterRef("pk")).filter(
            Exists(tagged)
        )
        policies = policies.filter(Exists(links))
    in_range = []
    for policy in policies.only("title", "effective_on", "announced_on", "slug"):
        month = month_start(policy.effective_on or policy.announced_on)
        if (query.start is None or month >= query.start) and (
            query.end is None or month <= query.end
        ):
            in_range.append((month, policy.title))
    # The policy months count as periods with zero incidents, so the span covers them too.
    rows = list(total_rows) + [(month, "", 0, None) for month, _ in in_range]
    timeline, counts, notes = _timeline_counts(query, rows, today)
    unit = timeline.unit
    titles = defaultdict(list)
    for month, title in in_range:
        if not timeline.buckets or month >= timeline.buckets[0]:
            titles[timeline.bucket(month)].append(title)
    per_bucket = defaultdict(int)
    for (bucket, _), count in counts.items():
        per_bucket[bucket] += count
    table = [
        [timeline.label(bucket), per_bucket.get(bucket, 0), "; ".join(titles.get(bucket, []))]
        for bucket in timeline.buckets
    ]
    partial = [timeline.partial(bucket) for bucket in timeline.buckets]
    if any(partial):
        notes.append(_partial_note(table[partial.index(True)][0], unit))
    chart = Chart(
        slug="policy-timeline",
        title="Incidents and policy changes over time",
        description=(
            f"Incidents per {unit}; the marked points are {unit}s in which a policy change took "
            "effect (or, without an effective date, was announced)."
        ),
        columns=[unit.capitalize(), "Incidents", "Policy changes taking effect"],
        rows=table if any(row[1] or row[2] for row in table) else [],
        notes=notes,
        partial=partial,
    )
    chart.config = {
        "type": "line",
        "data": {
            "labels": [row[0] for row in table],
            "datasets": [
                {
                    "label": "Incidents",
                    "data": [row[1] for row in table],
                    "borderColor": "#2563eb",
                    "backgroundColor": "#2563eb",
                    # Only the period still running gets a point: a hollow one.
                    "pointRadius": [5 if p else 0 for p in partial],
                    "pointBackgroundColor": "#ffffff",
                    "order": 2,
                },
                {
                    "label": "Policy change takes effect",
                    "type": "scatter",
                    "data": [row[1] if row[2] else None for row in table],
                    "titles": [row[2] for row in table],
                    "backgroundColor": "#dc2626",
                    "borderColor": "#dc2626",
                    "pointRadius": 6,
                    "pointStyle": "triangle",
                    "order": 1,
                },
            ],
        },
        "options": {
            "scales": {
                "x": _axis(unit.capitalize()),
                "y": _axis("Incidents", counts=True),
            }
        },
    }
    return chart


def _by_quarter(rows):
    return {period: (count, value) for period, _, count, value in rows if period is not None}


def _total(rows):
    return sum(count for _, _, count, _ in rows)


def time_to_detect_and_resolve(query, detect_rows, resolve_rows, total_rows=(), today=None):
    detect, resolve = _by_quarter(detect_rows), _by_quarter(resolve_rows)
    quarters = _span(query, set(detect) | set(resolve), QUARTER)
    first = quarters[0] if quarters else None
    values = [
        value
        for found in (detect, resolve)
        for quarter, (_, value) in found.items()
        if value is not None and (first is None or quarter >= first)
    ]
    in_days = max(values, default=0) > DAYS_AFTER_HOURS
    unit, per = ("days", 24) if in_days else ("hours", 1)

    def median(found, quarter):
        count, value = found.get(quarter, (0, None))
        # A quarter no incident was measured in is a gap in the line, not a zero.
        return (round(value / per, 1) if value is not None and count else None), count

    table, partial = [], []
    for quarter in quarters:
        detect_value, detect_count = median(detect, quarter)
        resolve_value, resolve_count = median(resolve, quarter)
        table.append(
            [
                period_label(quarter, "quarter", today),
                detect_value,
                detect_count,
                resolve_value,
                resolve_count,
            ]
        )
        partial.append(is_partial(quarter, "quarter", today))
    detected, resolved = sum(r[2] for r in table), sum(r[4] for r in table)
    total = _total(total_rows)
    notes = [
        f"Time to detect measured on {detected:,} of {total:,} incidents, time to resolve on "
        f"{resolved:,}: only those whose occurrence and detection (or resolution) dates are "
        "both recorded, the occurrence to the day."
    ]
    if in_days:
        notes.append(
            "Dates are mostly known to the day: a detection on the day of the incident counts "
            "as 0 days. Resolution here is when the record says the matter closed (a fix, a "
            "ruling, a report), which can be years later."
        )
    earlier = sum(
        count
        for found in (detect, resolve)
        for quarter, (count, _) in found.items()
        if first and quarter < first
    )
    if earlier:
        notes.append(
            f"Left out, from before {period_label(first, 'quarter')}: {earlier:,} "
            "measured incidents; choose a From date to see them."
        )
    if any(partial):
        notes.append(_partial_note(table[partial.index(True)][0], "quarter"))
    chart = Chart(
        slug="time-to-detect-and-resolve",
        title="Median time to detect and to resolve, per quarter",
        description=(
            f"Median {unit} from occurrence to detection and to resolution, over incidents whose "
            "occurrence is known to the day."
        ),
        columns=[
            "Quarter",
            f"Median {unit} to detect",
            "Incidents measured (detect)",
            f"Median {unit} to resolve",
            "Incidents measured (resolve)",
        ],
        rows=table if any(row[2] or row[4] for row in table) else [],
        notes=notes,
        partial=partial,
    )
    chart.config = {
        "type": "line",
        "data": {
            "labels": [row[0] for row in table],
            "datasets": [
                {
                    "label": f"Median {unit} to detect",
                    "data": [row[1] for row in table],
                    "borderColor": "#d97706",
                    "backgroundColor": "#d97706",
                    "spanGaps": False,
                },
                {
                    "label": f"Median {unit} to resolve",
                    "data": [row[3] for row in table],
                    "borderColor": "#2563eb",
                    "backgroundColor": "#2563eb",
                    "spanGaps": False,
                },
            ],
        },
        "options": {
            "scales": {
                "x": _axis("Quarter"),
                "y": {**_axis(unit.capitalize()), "beginAtZero": True},
            }
        },
    }
    return chart


def _quarter_sums(rows):
    sums = defaultdict(float)
    for period, _, _, value in rows:
        if period is not None and value is not None:
            sums[quarter_start(period)] += value
    return sums


def blast_radius(query, outage_rows, user_rows, today=None):
    outages, users = _quarter_sums(outage_rows), _quarter_sums(user_rows)
    quarters = _span(query, set(outages) | set(users), QUARTER)
    table = [
        [period_label(q, "quarter", today), round(outages.get(q, 0.0), 1), int(users.get(q, 0))]
        for q in quarters
    ]
    partial = [is_partial(q, "quarter", today) for q in quarters]
    measured_outages = sum(count for period, _, count, _ in outage_rows if period is not None)
    measured_users = sum(count for period, _, count, _ in user_rows if period is not None)
    notes = [
        f"Outage hours recorded for {measured_outages:,} incidents, users affected for "
        f"{measured_users:,}."
    ]
    if any(partial):
        notes.append(_partial_note(table[partial.index(True)][0], "quarter"))
    chart = Chart(
        slug="blast-radius",
        title="Blast radius per quarter",
        description=(
            "Total outage hours and total users or customers affected by the incidents of each "
            "quarter, where recorded."
        ),
        columns=["Quarter", "Outage hours", "Users or customers affected"],
        rows=table if any(row[1] or row[2] for row in table) else [],
        notes=notes,
        partial=partial,
    )
    chart.config = _stacked_bars(
        [row[0] for row in table],
        [
            {
                "label": "Outage hours",
                "data": [row[1] for row in table],
                "backgroundColor": "#dc2626",
                "yAxisID": "y",
            }
        ],
        stacked=False,
        value_title="Outage hours",
        category_title="Quarter",
        partial=partial,
    )
    chart.config["data"]["datasets"].append(
        {
            "label": "Users or customers affected",
            "data": [row[2] for row in table],
            "backgroundColor": "#2563eb",
            "borderColor": "#2563eb",
            "yAxisID": "y1",
            "type": "line",
        }
    )
    chart.config["options"]["scales"]["y"]["position"] = "left"
    chart.config["options"]["scales"]["y1"] = {
        **_axis("Users or customers affected", counts=True),
        "position": "right",
        "grid": {"drawOnChartArea": False},
    }
    return chart


def trend(earlier, recent):
    if earlier + recent < TREND_MINIMUM:
        return "too few"
    if recent > earlier:
        return "rising"
    if recent < earlier:
        return "falling"
    return "steady"


def top_factors(query, source, total_rows=(), factored_rows=()):
    """The most frequent contributing factors and failure modes, with their trend: the last
    12 months of the range (or of the data) against the 12 before."""
    totals = {int(key): count for key, count in source.totals("factor").items()}
    latest = query.end or source.latest_period("factor")
    monthly = defaultdict(int)
    if latest:
        recent_from = shift_months(latest, -(TREND_MONTHS - 1))
        earlier_from = shift_months(latest, -(2 * TREND_MONTHS - 1))
        window = source.rows(["factor"], first=earlier_from, last=latest)
        for period, key, count, _ in window["factor"]:
            monthly[(int(key), period)] += count
    top = sorted(totals, key=lambda pk: (-totals[pk], pk))[:TOP]
    tags = Tag.objects.in_bulk(top)
    # A tag deleted since the summaries were rebuilt is left out until the next rebuild.
    top = [pk for pk in top if pk in tags]
    table = []
    for pk in top:
        recent = earlier = 0
        if latest:
            for (tag_id, period), count in monthly.items():
                if tag_id != pk:
                    continue
                if recent_from <= period <= latest:
                    recent += count
                elif earlier_from <= period < recent_from:
                    earlier += count
        tag = tags[pk]
        table.append(
            [tag.name, tag.get_facet_display(), totals[pk], earlier, recent, trend(earlier, recent)]
        )
    factored, total = _total(factored_rows), _total(total_rows)
    chart = Chart(
        slug="top-factors",
        title="Top contributing factors and failure modes",
        description=(
            "Incidents carrying each contributing factor or failure mode, with the last 12 "
            "months against the 12 before."
            + (f" The last 12 months end in {month_label(latest)}." if latest else "")
        ),
        columns=[
            "Factor",
            "Facet",
            "Incidents",
            "Earlier 12 months",
            "Last 12 months",
            "Trend",
        ],
        rows=table,
        notes=[
            f"Factors are recorded on {factored:,} of {total:,} incidents; the ranking stands on "
            f"those {factored:,}. A trend needs {TREND_MINIMUM} incidents in the two 12-month "
            "windows together."
        ],
    )
    chart.config = _stacked_bars(
        [row[0] for row in table],
        [
            {
                "label": label,
                "data": [row[2] if row[5] == key else None for row in table],
                "backgroundColor": colour,
            }
            for key, label, colour in TREND_COLOURS
            if any(row[5] == key for row in table)
        ],
        horizontal=True,
        category_title="Factor",
    )
    return chart, top


def cooccurrence(source, tag_ids):
    tags = Tag.objects.in_bulk(tag_ids)
    tag_ids = [pk for pk in tag_ids if pk in tags]
    pairs, counted = source.cooccurrence(tag_ids) if tag_ids else ({}, None)
    names = [tags[pk].name for pk in tag_ids]
    highest = max([count for (a, b), count in pairs.items() if a != b] or [0])
    rows = []
    for pk in tag_ids:
        cells = []
        for other in tag_ids:
            count = pairs.get((pk, other), 0)
            shade = 0 if pk == other or not highest else round(100 * count / highest)
            cells.append({"count": count, "shade": shade, "diagonal": pk == other})
        rows.append({"label": tags[pk].name, "cells": cells})
    chart = Chart(
        slug="factor-co-occurrence",
        title="Which factors appear together",
        description=(
            "Incidents carrying both factors, for the most frequent contributing factors and "
            "failure modes; the diagonal counts each factor alone. Darker cells: more often "
            "together."
        ),
        columns=["Factor", *names],
        rows=[[row["label"], *(cell["count"] for cell in row["cells"])] for row in rows]
        if pairs
        else [],
        heatmap=True,
        heatmap_rows=rows,
    )
    if counted:
        chart.notes.append(
            f"Counted over the newest {counted:,} incidents with these factors, not all of them."
        )
    return chart


def organisations_by_role(rows):
    counts = defaultdict(int)
    for _, key, count, _ in rows:
        organisation_id, _, role = key.partition(":")
        counts[(int(organisation_id), role)] += count
    totals = defaultdict(int)
    for (organisation_id, _), count in counts.items():
        totals[organisation_id] += count
    top = sorted(totals, key=lambda pk: (-totals[pk], pk))[:TOP]
    # Never a person, a group or a placeholder ("Unknown"), even one reclassified since.
    names = dict(Organisation.objects.ranked().filter(pk__in=top).values_list("pk", "name"))
    top = [pk for pk in top if pk in names]  # not one deleted since the rebuild
    roles = list(ROLE_LABELS)
    table = [[names[pk], *(counts.get((pk, role), 0) for role in roles), totals[pk]] for pk in top]
    chart = Chart(
        slug="organisations-by-role",
        title="Organisations with the most incidents, by role",
        description="Incidents per organisation, by the part it played.",
        notes=[
            "Only organisations are ranked: people, groups of people and placeholders such as "
            "\u201cUnknown\u201d are not."
        ],
        columns=["Organisation", *ROLE_LABELS.values(), "All roles"],
        rows=table,
    )
    chart.config = _stacked_bars(
        [row[0] for row in table],
        [
            {
                "label": ROLE_LABELS[role],
                "data": [row[i + 1] for row in table],
                "backgroundColor": PALETTE[i],
            }
            for i, role in enumerate(roles)
        ],
        horizontal=True,
        category_title="Organisation",
    )
    return chart


def action_items(source, today=None):
    today = today or timezone.localdate()
    counts = source.action_item_ages(today)
    totals = defaultdict(int)
    for (owner, _), count in counts.items():
        totals[owner] += count
    owners = sorted(totals, key=lambda o: (-totals[o], o))[:TOP]
    table = [
        [
            owner or "Unassigned",
            *(counts.get((owner, bucket), 0) for bucket, _, _ in AGE_BUCKETS),
            totals[owner],
        ]
        for owner in owners
    ]
    chart = Chart(
        slug="open-action-items",
        title="Open and overdue action items, by owner and age",
        description=(
            f"Open action items of the incidents shown, per owner, by how late they are on "
            f"{today:%-d %b %Y}. The date range does not apply here."
        ),
        columns=["Owner", *(label for _, label, _ in AGE_BUCKETS), "Open"],
        rows=table,
    )
    chart.config = _stacked_bars(
        [row[0] for row in table],
        [
            {"label": label, "data": [row[i + 1] for row in table], "backgroundColor": colour}
            for i, (_, label, colour) in enumerate(AGE_BUCKETS)
        ],
        horizontal=True,
        value_title="Open action items",
        category_title="Owner",
    )
    return chart
