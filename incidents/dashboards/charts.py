"""The dashboard's charts, each with the table behind it (shown to every reader and offered
as CSV) and the configuration Chart.js draws it from."""

from collections import defaultdict
from dataclasses import dataclass, field
from html import escape

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import ngettext

from incidents.dashboards.periods import (
    MONTH,
    QUARTER,
    Timeline,
    month_label,
    month_range,
    month_start,
    quarter_label,
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


def _span(query, periods, granularity):
    """Every month (or quarter) from the range's start, or the first with data, to its end."""
    if not periods and not (query.start and query.end):
        return []
    first = query.start or min(periods)
    last = query.end or max(periods)
    if granularity == QUARTER:
        return quarter_range(first, last)
    return month_range(first, last)


def _timeline(query, periods):
    return Timeline.of_months(_span(query, periods, MONTH))


def _stacked_bars(labels, datasets, horizontal=False, stacked=True):
    return {
        "type": "bar",
        "data": {"labels": labels, "datasets": datasets},
        "options": {
            "indexAxis": "y" if horizontal else "x",
            "scales": {"x": {"stacked": stacked}, "y": {"stacked": stacked}},
        },
    }


def monthly_stacked(query, rows, slug, title, description, keys):
    """`keys`: [(key, label, colour)] in order; keys not listed are shown as "Unknown"."""
    periods = {period for period, _, _, _ in rows if period is not None}
    timeline = _timeline(query, periods)
    counts = defaultdict(int)
    for period, key, count, _ in rows:
        if period is not None:
            counts[(timeline.bucket(period), key)] += count
    known = {key for key, _, _ in keys}
    present = {key for _, key in counts}
    keys = [k for k in keys if k[0] in present]
    if present - known:
        keys.append(("\0other", "Unknown", "#9ca3af"))
        for (period, key), count in list(counts.items()):
            if key not in known:
                counts[(period, "\0other")] += count
    table = [
        [timeline.label(bucket), *(counts.get((bucket, key), 0) for key, _, _ in keys)]
        for bucket in timeline.buckets
    ]
    undated = sum(count for period, _, count, _ in rows if period is None)
    notes = []
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
        notes.append("Over more than ten years the figures are counted per year.")
    chart = Chart(
        slug=slug,
        title=title,
        description=description,
        columns=[timeline.unit.capitalize(), *(label for _, label, _ in keys)],
        rows=table if any(sum(row[1:]) for row in table) else [],
        notes=notes,
    )
    chart.config = _stacked_bars(
        [row[0] for row in table],
        [
            {"label": label, "data": [row[i + 1] for row in table], "backgroundColor": colour}
            for i, (_, label, colour) in enumerate(keys)
        ],
    )
    return chart


def build(query, source):
    """Every chart of the dashboard, in page order."""
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
        ),
        monthly_stacked(
            query,
            rows["perpetrator"],
            "incidents-by-perpetrator",
            "Incidents per month, by what acted",
            "How many incidents occurred each month, stacked by the kind of system that acted.",
            perpetrators,
        ),
        monthly_stacked(
            query,
            rows["autonomy"],
            "incidents-by-autonomy",
            "Incidents per month, by autonomy",
            "How many incidents occurred each month, stacked by how autonomously the AI acted.",
            autonomy,
        ),
        kinds_per_month(query, rows["kind"]),
        policy_timeline(query, rows["total"]),
        time_to_detect_and_resolve(query, rows["time_to_detect"], rows["time_to_resolve"]),
        blast_radius(query, rows["outage_hours"], rows["users_affected"]),
    ]
    factors, top_ids = top_factors(query, source)
    charts += [
        factors,
        cooccurrence(source, top_ids[:HEATMAP_SIZE]),
        organisations_by_role(rows["organisation_role"]),
        action_items(source),
    ]
    return charts


KIND_COLOURS = {"incident": "#dc2626", "near_miss": "#f59e0b", "hazard": "#6b7280"}


def kinds_per_month(query, rows):
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


def policy_timeline(query, total_rows):
    counts = defaultdict(int)
    for period, _, count, _ in total_rows:
        if period is not None:
            counts[period] += count
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
    timeline = _timeline(query, set(counts) | {month for month, _ in in_range})
    unit = timeline.unit
    per_bucket, titles = defaultdict(int), defaultdict(list)
    for month, count in counts.items():
        per_bucket[timeline.bucket(month)] += count
    for month, title in in_range:
        titles[timeline.bucket(month)].append(title)
    table = [
        [timeline.label(bucket), per_bucket.get(bucket, 0), "; ".join(titles.get(bucket, []))]
        for bucket in timeline.buckets
    ]
    chart = Chart(
        slug="policy-timeline",
        title="Incidents and policy changes over time",
        description=(
            f"Incidents per {unit}; the marked points are {unit}s in which a policy change took "
            "effect (or, without an effective date, was announced)."
        ),
        columns=[unit.capitalize(), "Incidents", "Policy changes taking effect"],
        rows=table if any(row[1] or row[2] for row in table) else [],
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
                    "pointRadius": 0,
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
    }
    return chart


def _by_quarter(rows):
    return {period: (count, value) for period, _, count, value in rows if period is not None}


def time_to_detect_and_resolve(query, detect_rows, resolve_rows):
    detect, resolve = _by_quarter(detect_rows), _by_quarter(resolve_rows)
    quarters = _span(query, set(detect) | set(resolve), QUARTER)

    def hours(found, quarter):
        count, value = found.get(quarter, (0, None))
        return (round(value, 1) if value is not None else None), count

    table = []
    for quarter in quarters:
        detect_hours, detect_count = hours(detect, quarter)
        resolve_hours, resolve_count = hours(resolve, quarter)
        table.append(
            [quarter_label(quarter), detect_hours, detect_count, resolve_hours, resolve_count]
        )
    chart = Chart(
        slug="time-to-detect-and-resolve",
        title="Median time to detect and to resolve, per quarter",
        description=(
            "Median hours from occurrence to detection and to resolution, over incidents whose "
            "occurrence is known to the day."
        ),
        columns=[
            "Quarter",
            "Median hours to detect",
            "Incidents measured (detect)",
            "Median hours to resolve",
            "Incidents measured (resolve)",
        ],
        rows=table if any(row[2] or row[4] for row in table) else [],
    )
    chart.config = {
        "type": "line",
        "data": {
            "labels": [row[0] for row in table],
            "datasets": [
                {
                    "label": "Median hours to detect",
                    "data": [row[1] for row in table],
                    "borderColor": "#d97706",
                    "backgroundColor": "#d97706",
                    "spanGaps": True,
                },
                {
                    "label": "Median hours to resolve",
                    "data": [row[3] for row in table],
                    "borderColor": "#2563eb",
                    "backgroundColor": "#2563eb",
                    "spanGaps": True,
                },
            ],
        },
    }
    return chart


def _quarter_sums(rows):
    sums = defaultdict(float)
    for period, _, _, value in rows:
        if period is not None and value is not None:
            sums[quarter_start(period)] += value
    return sums


def blast_radius(query, outage_rows, user_rows):
    outages, users = _quarter_sums(outage_rows), _quarter_sums(user_rows)
    quarters = _span(query, set(outages) | set(users), QUARTER)
    table = [
        [quarter_label(q), round(outages.get(q, 0.0), 1), int(users.get(q, 0))] for q in quarters
    ]
    chart = Chart(
        slug="blast-radius",
        title="Blast radius per quarter",
        description=(
            "Total outage hours and total users or customers affected by the incidents of each "
            "quarter, where recorded."
        ),
        columns=["Quarter", "Outage hours", "Users or customers affected"],
        rows=table if any(row[1] or row[2] for row in table) else [],
    )
    chart.config = {
        "type": "bar",
        "data": {
            "labels": [row[0] for row in table],
            "datasets": [
                {
                    "label": "Outage hours",
                    "data": [row[1] for row in table],
                    "backgroundColor": "#dc2626",
                    "yAxisID": "y",
                },
                {
                    "label": "Users or customers affected",
                    "data": [row[2] for row in table],
                    "backgroundColor": "#2563eb",
                    "yAxisID": "y1",
                    "type": "line",
                },
            ],
        },
        "options": {
            "scales": {
                "y": {"position": "left", "title": {"display": True, "text": "Hours"}},
                "y1": {
                    "position": "right",
                    "title": {"display": True, "text": "Users"},
                    "grid": {"drawOnChartArea": False},
                },
            }
        },
    }
    return chart


def trend(earlier, recent):
    if recent > earlier:
        return "rising"
    if recent < earlier:
        return "falling"
    return "steady"


def top_factors(query, source):
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
    )
    chart.config = _stacked_bars(
        [row[0] for row in table],
        [
            {
                "label": "Incidents",
                "data": [row[2] for row in table],
                "backgroundColor": [
                    {"rising": "#dc2626", "falling": "#16a34a"}.get(row[5], "#6b7280")
                    for row in table
                ],
            }
        ],
        horizontal=True,
        stacked=False,
    )
    chart.config["options"]["plugins"] = {"legend": {"display": False}}
    return chart, top


def cooccurrence(source, tag_ids):
    tags = Tag.objects.in_bulk(tag_ids)
    tag_ids = [pk for pk in tag_ids if pk in tags]
    pairs = source.cooccurrence(tag_ids) if tag_ids else {}
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
    names = dict(Organisation.objects.filter(pk__in=top).values_list("pk", "name"))
    top = [pk for pk in top if pk in names]  # not one deleted since the rebuild
    roles = list(ROLE_LABELS)
    table = [[names[pk], *(counts.get((pk, role), 0) for role in roles), totals[pk]] for pk in top]
    chart = Chart(
        slug="organisations-by-role",
        title="Organisations with the most incidents, by role",
        description="Incidents per organisation, by the part it played.",
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
    )
    return chart
