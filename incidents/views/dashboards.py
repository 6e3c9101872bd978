"""Leadership dashboards: the same page for everyone, over internal data for internal readers
and over published public incidents for the public."""

import csv

from django.http import Http404, HttpResponse
from django.shortcuts import render
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
    organisations = Organisation.objects.filter(pk__in=busiest(Dimension.ORGANISATION))
    tags = Tag.objects.filter(pk__in=busiest(Dimension.TAG))
    return organisations.order_by("name"), tags.order_by("facet", "name")


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
    organisations, tags = _choices(query)
    return render(
        request,
        "incidents/dashboards/dashboard.html",
        {
            "query": query,
            "charts": charts,
            "organisations": organisations,
            "tags": tags,
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
