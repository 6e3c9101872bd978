"""The incident list's presentation: pages (keyset where the sort allows), facet options with
their counts, and the chips that remove one active filter each."""

import base64
import hashlib
import math
from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.utils.text import capfirst

from incidents.models import Dataset, Incident, IncidentOrganisation, Tag

TOP_TAGS = 8
MAX_PAGES = 50  # numbered pages are OFFSET queries; deeper than this, narrow the filters
PAGINATION = ("page", "after", "before")


def facets_cache_key(request, filterset):
    """Facet counts depend on the filters (not the page or the sort) and on whether the
    reader may see unpublished incidents."""
    params = request.GET.copy()
    for key in [*PAGINATION, "sort"]:
        params.pop(key, None)
    scope = "internal" if "status" in filterset.form.fields else "public"
    digest = hashlib.sha256(params.urlencode().encode()).hexdigest()[:20]
    return f"incident-facets:{scope}:{digest}"


def query(request, **replace):
    """The current query string without pagination and with `replace`d parameters."""
    params = request.GET.copy()
    for key in [*PAGINATION, *replace]:
        params.pop(key, None)
    for key, value in replace.items():
        params[key] = value
    return params.urlencode()


def _without(request, name, value):
    params = request.GET.copy()
    for key in PAGINATION:
        params.pop(key, None)
    params.setlist(name, [v for v in params.getlist(name) if v != value])
    if name == "organisation":
        params.pop("role", None)
    return "?" + params.urlencode()


def numbered_page(request, queryset, total):
    size = settings.PAGE_SIZE
    num_pages = max(1, min(math.ceil(total / size), MAX_PAGES))
    problems = []
    try:
        number = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        number = 1
    if number > num_pages:
        if number > MAX_PAGES:
            problems.append(
                f"Only the first {MAX_PAGES} pages can be shown in this order: narrow the "
                "filters, or sort by newest or oldest to page through everything."
            )
        number = num_pages
    offset = (number - 1) * size
    page = ListPage(
        object_list=list(queryset[offset : offset + size]),
        number=number,
        num_pages=max(1, math.ceil(total / size)),
        previous_url="?" + query(request, page=number - 1) if number > 1 else None,
        next_url="?" + query(request, page=number + 1) if number < num_pages else None,
    )
    return page, problems


class ListPage:
    def __init__(self, *, object_list, number, num_pages, previous_url, next_url):
        self.object_list = object_list
        self.number = number
        self.num_pages = num_pages
        self.previous_url = previous_url
        self.next_url = next_url

    def __iter__(self):
        return iter(self.object_list)

    @property
    def has_other_pages(self):
        return bool(self.previous_url or self.next_url)


class BadCursor(ValueError):
    pass


def _encode_cursor(sort, incident, number):
    raw = f"{sort}|{incident.sort_date.isoformat()}|{incident.number}|{number}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor, sort):
    """(sort date, incident number, page number) from a cursor made for this sort."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        cursor_sort, sort_date, incident_number, page_number = raw.split("|")
        sort_date = datetime.fromisoformat(sort_date)
        incident_number, page_number = int(incident_number), int(page_number)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadCursor from error
    if cursor_sort != sort or sort_date.tzinfo is None or min(incident_number, page_number) < 1:
        raise BadCursor
    return sort_date, incident_number, page_number


def keyset_page(request, queryset, sort, total, narrow=None):
    """A page after (or before) the incident a cursor names, with no OFFSET however deep.
    `narrow(queryset, after, descending, count)`, when given, narrows the page's query to a
    few incidents that include the next `count` in that direction after (sort date, number)."""
    size = settings.PAGE_SIZE
    num_pages = max(1, math.ceil(total / size))
    direction = "before" if request.GET.get("before") else "after"
    cursor = request.GET.get(direction)
    number, problems = 1, []
    if cursor:
        try:
            sort_date, incident_number, number = _decode_cursor(cursor, sort)
        except BadCursor:
            cursor = None
            problems.append(
                "That page link is not valid (perhaps cut short): the first page is shown."
            )
    backwards = bool(cursor) and direction == "before"
    if narrow:
        after = (sort_date, incident_number) if cursor else None
        queryset = narrow(queryset, after, (sort == "newest") != backwards, size + 1)
    if cursor:
        # Newest first walks down the (sort date, number) key; "before" walks the other way.
        lookup = "lt" if (sort == "newest") != backwards else "gt"
        queryset = queryset.filter(
            Q(**{f"sort_date__{lookup}": sort_date})
            | Q(sort_date=sort_date, **{f"number__{lookup}": incident_number})
        )
    if backwards:
        rows = list(queryset.reverse()[: size + 1])
        more_before, rows = len(rows) > size, rows[:size][::-1]
        more_after = True
        if not more_before:
            number = 1
    else:
        rows = list(queryset[: size + 1])
        more_after, rows = len(rows) > size, rows[:size]
        more_before = number > 1
    page = ListPage(
        object_list=rows,
        number=number,
        num_pages=max(num_pages, number),
        previous_url=(
            "?" + query(request, before=_encode_cursor(sort, rows[0], number - 1))
            if more_before and rows
            else None
        ),
        next_url=(
            "?" + query(request, after=_encode_cursor(sort, rows[-1], number + 1))
            if more_after and rows
            else None
        ),
    )
    return page, problems


def _option(request, name, value, label, count, selected):
    return {
        "name": name,
        "value": value,
        "label": label,
        "count": count,
        "checked": value in selected,
        "id": f"filter-{name}-{value}".replace(":", "-"),
    }


def _options(request, name, rows):
    selected = request.GET.getlist(name)
    options = [_option(request, name, *row, selected) for row in rows]
    # A chosen value no incident has any more stays visible, so it can be unticked.
    shown = {option["value"] for option in options}
    options += [_option(request, name, v, v, 0, selected) for v in selected if v not in shown]
    return options


FACET_LEGENDS = {
    "kind": "Kind",
    "severity": "Severity",
    "perpetrator": "What acted",
    "autonomy": "Autonomy",
    "has_policy": "Prompted a policy change",
    "dataset": "Imported from",
}


def facet_groups(request, filterset, facets):
    groups = []
    for name, legend in FACET_LEGENDS.items():
        options = _options(request, name, facets[name])
        if name == "has_policy":
            for option in options:
                option["single"] = True
        if options:
            groups.append({"name": name, "legend": legend, "options": options})
    return groups


def tag_groups(request, facets):
    facet_names = dict(Tag.Facet.choices)
    selected = request.GET.getlist("tag")
    groups = []
    for facet, legend in facet_names.items():
        rows = facets["tags"].get(facet, [])
        options = [_option(request, "tag", *row, selected) for row in rows]
        shown = {option["value"] for option in options}
        for value in selected:
            if value.startswith(f"{facet}:") and value not in shown:
                options.append(_option(request, "tag", value, value.split(":", 1)[1], 0, selected))
        if options:
            groups.append({"legend": legend, "options": options})
    return groups


def chips(request, filterset):
    """One removable chip per value of each filter in force."""
    applied = filterset.applied
    cleaned = filterset.form.cleaned_data
    names = {}
    for key in ("severity", "perpetrator"):
        field = "name" if key == "severity" else "slug"
        names[key] = {getattr(obj, field): obj.name for obj in applied.get(key, [])}
    names["tag"] = {
        f"{t.facet}:{t.slug}": f"{t.get_facet_display()}: {t.name}" for t in applied.get("tag", [])
    }
    names["autonomy"] = dict(Incident.Autonomy.choices)
    names["kind"] = dict(Incident.Kind.choices)
    names["dataset"] = {k: capfirst(v) for k, v in Dataset.choices}
    names["status"] = dict(Incident.Status.choices)
    names["has_policy"] = {"yes": "Prompted a policy change", "no": "No policy change"}
    prefixes = {
        "q": "Search",
        "severity": "Severity",
        "perpetrator": "What acted",
        "autonomy": "Autonomy",
        "kind": "Kind",
        "organisation": "Organisation",
        "ai_system": "AI system",
        "tag": "Tag",
        "occurred_after": "From",
        "occurred_before": "To",
        "outage_min": "Outage at least (min)",
        "outage_max": "Outage at most (min)",
        "dataset": "Imported from",
        "status": "Status",
        "has_policy": "",
    }
    chips = []
    for name in applied:
        for raw in request.GET.getlist(name):
            if not raw:
                continue
            label = names.get(name, {}).get(raw, raw)
            if name == "organisation":
                label = applied[name].name
                if cleaned.get("role"):
                    label += f" (as {IncidentOrganisation.Role(cleaned['role']).label.lower()})"
            elif name == "ai_system":
                label = str(applied[name])
            prefix = prefixes.get(name, name)
            chips.append(
                {
                    "label": f"{prefix}: {label}" if prefix else label,
                    "remove_url": _without(request, name, raw),
                }
            )
    return chips
