"""Leadership dashboards: the same page for everyone, over internal data for internal readers
and over published public incidents for the public."""

import csv
from html import escape

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from incidents.dashboards import charts as dashboard_charts
from incidents.dashboards.figures import DashboardQuery, source_for
from incidents.dashboards.summaries import Scope
from incidents.models import Organisation, SummaryCount, Tag
from incidents.models.incident import can_read_internal

CHOICES_LISTED = 300


def _choices(query):
    """Organisations and tags to narrow by, the busiest first, from the summaries."""

    def busiest(dimension):
        return (
            SummaryCount.objects.filter(scope=query.scope, series="incidents", dimension=dimension)
            .order_by("-count")
            .values_list("dimension_id", flat=True)[:CHOICES_LISTED]
        )

    Dimension = SummaryCount.Dimension
    facets = dict(Tag.Facet.choices)
    organisations = list(
        Organisation.objects.filter(pk__in=busiest(Dimension.ORGANISATION))
        .order_by("name")
        .values_list("slug", "name")
    )
    tags = [
        (f"{facet}:{slug}", f"{facets[facet]}: {name}")
        for facet, slug, name in Tag.objects.filter(pk__in=busiest(Dimension.TAG))
        .order_by("facet", "name")
        .values_list("facet", "slug", "name")
    ]
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


@require_GET
def dashboard(request):
    query = DashboardQuery.from_request(request)
    charts = dashboard_charts.build(query, source_for(query))
    organisation_options, tag_options = _choices(query)
    return render(
        request,
        "incidents/dashboards/dashboard.html",
        {
            "query": query,
            "charts": charts,
            "organisation_options": organisation_options,
            "tag_options": tag_options,
            "internal": query.scope == Scope.INTERNAL,
            "scope_toggle_url": _scope_toggle_url(request, query),
            "chart_data": {chart.slug: chart.config for chart in charts if chart.config},
        },
    )


@require_GET
def dashboard_csv(request, slug):
    query = DashboardQuery.from_request(request)
    charts = {chart.slug: chart for chart in dashboard_charts.build(query, source_for(query))}
    chart = charts.get(slug)
    if chart is None:
        raise Http404("No such chart.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}.csv"'
    writer = csv.writer(response)
    writer.writerow(chart.columns)
    writer.writerows(chart.rows)
    return response
