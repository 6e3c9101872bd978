"""Pages anyone can read without an account."""

import base64
import math
from datetime import datetime

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import capfirst

from incidents import search
from incidents.filters import KEYSET_SORTS, IncidentFilter
from incidents.models import (
    Dataset,
    Incident,
    IncidentOrganisation,
    Organisation,
    PolicyChange,
    PolicyChangeIncident,
    Tag,
)
from incidents.models.incident import can_read_internal
from incidents.services.review import has_unpublished_changes


def _page(request, queryset):
    return Paginator(queryset, settings.PAGE_SIZE).get_page(request.GET.get("page"))


def home(request):
    incidents = Incident.objects.published().for_list()
    return render(
        request,
        "incidents/home.html",
        {
            "latest_incidents": incidents[:6],
            "incident_count": incidents.count(),
            "latest_policies": PolicyChange.objects.for_list()[:4],
        },
    )


def incident_list(request):
    filterset = IncidentFilter(request.GET, request=request)
    facets = filterset.facet_counts(top_tags=TOP_TAGS)
    total = facets["total"]
    sort = filterset.chosen_sort
    problems = [f"{name} = \u201c{given}\u201d: {why}" for name, given, why in filterset.ignored]
    if sort in KEYSET_SORTS and "page" not in request.GET:
        page, cursor_problem = _keyset_page(request, filterset.qs, sort, total)
        problems += cursor_problem
    else:
        page, page_problem = _numbered_page(request, filterset.qs, total)
        problems += page_problem
    query = (request.GET.get("q") or "").strip()
    suggestions = search.suggestions(query) if query and not total else []
    return render(
        request,
        "incidents/incident_list.html",
        {
            "filterset": filterset,
            "page": page,
            "total": total,
            "problems": problems,
            "facet_groups": _facet_groups(request, filterset, facets),
            "tag_groups": _tag_groups(request, facets),
            "chips": _chips(request, filterset),
            "clear_url": reverse("incident_list"),
            "filtered": bool(filterset.applied),
            "suggestions": [
                {"text": str(s), "url": "?" + _query(request, q=str(s))} for s in suggestions
            ],
            "has_status": "status" in filterset.form.fields,
        },
    )


# The incident list: pagination, facets and active-filter chips.

TOP_TAGS = 8
MAX_PAGES = 50  # numbered pages are OFFSET queries; deeper than this, narrow the filters
PAGINATION = ("page", "after", "before")


def _query(request, **replace):
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


def _numbered_page(request, queryset, total):
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
        previous_url="?" + _query(request, page=number - 1) if number > 1 else None,
        next_url="?" + _query(request, page=number + 1) if number < num_pages else None,
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


def _keyset_page(request, queryset, sort, total):
    """A page after (or before) the incident a cursor names, with no OFFSET however deep."""
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
            "?" + _query(request, before=_encode_cursor(sort, rows[0], number - 1))
            if more_before and rows
            else None
        ),
        next_url=(
            "?" + _query(request, after=_encode_cursor(sort, rows[-1], number + 1))
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
    "severity": "Severity",
    "perpetrator": "What acted",
    "autonomy": "Autonomy",
    "has_policy": "Prompted a policy change",
    "dataset": "Imported from",
}


def _facet_groups(request, filterset, facets):
    groups = []
    for name, legend in FACET_LEGENDS.items():
        options = _options(request, name, facets[name])
        if name == "has_policy":
            for option in options:
                option["single"] = True
        if options:
            groups.append({"name": name, "legend": legend, "options": options})
    return groups


def _tag_groups(request, facets):
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


def _chips(request, filterset):
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
    names["dataset"] = {k: capfirst(v) for k, v in Dataset.choices}
    names["status"] = dict(Incident.Status.choices)
    names["has_policy"] = {"yes": "Prompted a policy change", "no": "No policy change"}
    prefixes = {
        "q": "Search",
        "severity": "Severity",
        "perpetrator": "What acted",
        "autonomy": "Autonomy",
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


def incident_redirect(request, number):
    incident = get_object_or_404(Incident.objects.visible_to(request.user), number=number)
    return redirect(incident, permanent=True)


def incident_detail(request, number, slug):
    visible = Incident.objects.visible_to(request.user)
    incident = get_object_or_404(visible.for_detail().with_disputed(), number=number)
    if slug != incident.slug:
        return redirect(incident, permanent=True)
    policy_links = PolicyChangeIncident.objects.filter(incident=incident).select_related(
        "policy_change__organisation"
    )
    related = incident.related_links.filter(related__in=visible).select_related(
        "related__severity", "related__perpetrator"
    )[:6]
    context = {"incident": incident, "policy_links": policy_links, "related_links": related}
    if can_read_internal(request.user):
        # Staff read the public page too; tell them whether it is what the public reads.
        context["staff_bar"] = {"unpublished_changes": has_unpublished_changes(incident)}
    return render(request, "incidents/incident_detail.html", context)


def policy_list(request):
    page = _page(request, PolicyChange.objects.for_list())
    return render(request, "incidents/policy_list.html", {"page": page})


def policy_detail(request, slug):
    policy = get_object_or_404(
        PolicyChange.objects.select_related("organisation").prefetch_related("sources"), slug=slug
    )
    incident_links = policy.incident_links.filter(
        incident__in=Incident.objects.visible_to(request.user)
    ).select_related("incident__severity")
    return render(
        request,
        "incidents/policy_detail.html",
        {"policy": policy, "incident_links": incident_links},
    )


def organisation_list(request):
    published = Incident.objects.published()
    organisations = (
        Organisation.objects.annotate(
            incident_count=Count(
                "incident_roles__incident",
                filter=Q(incident_roles__incident__in=published),
                distinct=True,
            ),
            policy_count=Count("policy_changes", distinct=True),
        )
        .filter(Q(incident_count__gt=0) | Q(policy_count__gt=0))
        .order_by("name")
    )
    return render(
        request, "incidents/organisation_list.html", {"page": _page(request, organisations)}
    )


def organisation_detail(request, slug):
    organisation = get_object_or_404(Organisation, slug=slug)
    roles = (
        IncidentOrganisation.objects.filter(
            organisation=organisation,
            incident__in=Incident.objects.visible_to(request.user),
        )
        .select_related("incident__severity")
        .order_by("role", "-incident__occurred_at")
    )
    return render(
        request,
        "incidents/organisation_detail.html",
        {
            "organisation": organisation,
            "roles": roles,
            "policies": organisation.policy_changes.for_list(),
            "ai_systems": organisation.ai_systems.all(),
        },
    )


def tag_list(request):
    tags = Tag.objects.annotate(
        incident_count=Count("incidents", filter=Q(incidents__in=Incident.objects.published()))
    ).filter(incident_count__gt=0)
    return render(request, "incidents/tag_list.html", {"tags": tags})


def tag_detail(request, facet, slug):
    tag = get_object_or_404(Tag, facet=facet, slug=slug)
    page = _page(request, Incident.objects.published().filter(tags=tag).for_list())
    return render(request, "incidents/tag_detail.html", {"tag": tag, "page": page})
