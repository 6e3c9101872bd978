"""Leadership dashboards: the same page for everyone, over internal data for internal readers
and over published public incidents for the public."""

import hashlib
from html import escape

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from incidents.caching import cached_for_this_data
from incidents.csv_cells import SpreadsheetSafeWriter
from incidents.dashboards import charts as dashboard_charts
from incidents.dashboards import headline
from incidents.dashboards import images as dashboard_images
from incidents.dashboards.figures import DashboardQuery, given_parameters, source_for
from incidents.dashboards.summaries import Scope, summaries_version
from incidents.models import Organisation, SummaryCount, Tag
from incidents.permissions import can_read_internal

CHOICES_LISTED = 300


def _busiest(scope):
    """Organisations and tags to narrow by, the busiest first, from the summaries."""

    def busiest(dimension):
        return (
            SummaryCount.objects.filter(scope=scope, series="incidents", dimension=dimension)
            .order_by("-count")
            .values_list("dimension_id", flat=True)[:CHOICES_LISTED]
        )

    Dimension = SummaryCount.Dimension
    facets = dict(Tag.Facet.choices)
    organisations = list(
        Organisation.objects.ranked()
        .filter(pk__in=busiest(Dimension.ORGANISATION))
        .order_by("name")
        .values_list("slug", "name")
    )
    tags = [
        (f"{facet}:{slug}", f"{facets[facet]}: {name}")
        for facet, slug, name in Tag.objects.filter(pk__in=busiest(Dimension.TAG))
        .order_by("facet", "name")
        .values_list("facet", "slug", "name")
    ]
    return organisations, tags


def _choices(query, summaries):
    organisations, tags = cached_for_this_data(
        f"dashboard-choices:{query.scope}:{summaries}", lambda: _busiest(query.scope)
    )
    organisations, tags = list(organisations), list(tags)
    chosen_organisation = query.organisation.slug if query.organisation else None
    chosen_tag = f"{query.tag.facet}:{query.tag.slug}" if query.tag else None
    # The chosen one stays selectable even when it is not among the busiest.
    if chosen_organisation and chosen_organisation not in dict(organisations):
        organisations.insert(0, (chosen_organisation, query.organisation.name))
    if chosen_tag and chosen_tag not in dict(tags):
        tags.insert(0, (chosen_tag, str(query.tag)))
    return _options(organisations, chosen_organisation), _options(tags, chosen_tag)


def _options(choices, chosen):
    """<option> elements, built in one pass (hundreds of them on a large base)."""
    return mark_safe(
        "".join(
            f'<option value="{escape(value)}"{" selected" if value == chosen else ""}>'
            f"{escape(label)}</option>"
            for value, label in choices
        )
    )


def _scope_toggle_url(request, query):
    """Internal readers can look at the public version of the same view, and back."""
    if not can_read_internal(request.user):
        return None
    params = request.GET.copy()
    params.pop("scope", None)
    if query.scope == Scope.INTERNAL:
        params["scope"] = Scope.PUBLIC
    return "?" + params.urlencode()


def _digest(request):
    """The filters asked for, as a cache key: empty fields count as not given."""
    given = given_parameters(request.GET)
    params = sorted((name, sorted(values)) for name, values in given.lists())
    return hashlib.sha256(repr(params).encode()).hexdigest()[:20]


def _charts(request, query, summaries):
    """The charts of this view, built once per version of the data and of the summaries, and
    per day, since action items age."""
    key = f"dashboard:{query.scope}:{timezone.localdate()}:{summaries}:{_digest(request)}"
    return cached_for_this_data(key, lambda: dashboard_charts.build(query, source_for(query)))


def _chart(request, query, summaries, slug):
    chart = next((c for c in _charts(request, query, summaries) if c.slug == slug), None)
    if chart is None:
        raise Http404("No such chart.")
    return chart


def _headline(request, query, summaries):
    today = timezone.localdate()
    key = f"dashboard-headline:{query.scope}:{today}:{summaries}:{_digest(request)}"
    return cached_for_this_data(key, lambda: headline.build(query, today))


def _content(request, query, summaries):
    charts = _charts(request, query, summaries)
    organisation_options, tag_options = _choices(query, summaries)
    return render_to_string(
        "incidents/dashboards/_content.html",
        {
            "query": query,
            "charts": charts,
            "headline": _headline(request, query, summaries),
            "organisation_options": organisation_options,
            "tag_options": tag_options,
            "internal": query.scope == Scope.INTERNAL,
            "scope_toggle_url": _scope_toggle_url(request, query),
            "chart_data": {chart.slug: chart.config for chart in charts if chart.config},
        },
        request=request,
    )


@require_GET
def dashboard(request):
    """The page's body is the same for every reader of one scope asking the same thing (it
    holds no form token and no name): rendered once per version of the data, the summaries
    and the day, for signed-in readers too, whose pages are not cached whole."""
    query = DashboardQuery.from_request(request)
    summaries = summaries_version()
    asked = repr([request.get_full_path(), can_read_internal(request.user)])
    key = (
        f"dashboard-page:{query.scope}:{timezone.localdate()}:{summaries}:"
        f"{hashlib.sha256(asked.encode()).hexdigest()[:24]}"
    )
    content = cached_for_this_data(key, lambda: _content(request, query, summaries))
    return render(request, "incidents/dashboards/dashboard.html", {"content": mark_safe(content)})


@require_GET
def dashboard_csv(request, slug):
    chart = _chart(request, DashboardQuery.from_request(request), summaries_version(), slug)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}.csv"'
    writer = SpreadsheetSafeWriter(response)
    writer.writerow(chart.columns)
    writer.writerows(chart.rows)
    return response


@require_GET
def dashboard_image(request, slug, fmt):
    """One chart as a PNG or SVG image, drawn from the same figures as the page."""
    query = DashboardQuery.from_request(request)
    summaries = summaries_version()
    chart = _chart(request, query, summaries, slug)
    if chart.empty:
        raise Http404("No such chart.")
    today = timezone.localdate()
    key = f"dashboard-image:{query.scope}:{today}:{summaries}:{_digest(request)}:{slug}.{fmt}"
    image = cached_for_this_data(key, lambda: dashboard_images.render(chart, fmt))
    response = HttpResponse(image, content_type=dashboard_images.FORMATS[fmt])
    response["Content-Disposition"] = f'inline; filename="{slug}.{fmt}"'
    return response
