"""Recurring patterns across organisations, and the gaps no policy change addresses."""

from collections import defaultdict

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from incidents.dashboards.summaries import reader_scope, scope_incidents
from incidents.models import (
    IncidentOrganisation,
    Organisation,
    PatternCluster,
    PatternClusterMember,
    PolicyChangeIncident,
    SummaryCount,
    Tag,
)
from incidents.permissions import can_curate, requires
from incidents.services import patterns as pattern_service

GAP_MIN_ORGANISATIONS = 3
# A card names this many organisations and policy changes, and counts the rest.
CARD_LIST_LENGTH = 5


def _describe(clusters, incidents, shown=None):
    """Count, first and last seen, organisations and policy changes of each cluster, over the
    incidents the reader may see; with `shown`, only that many of each are named and the rest
    counted."""
    ids = [cluster.pk for cluster in clusters]
    visible = PatternClusterMember.objects.filter(cluster__in=ids, incident__in=incidents)
    stats = {
        row["cluster"]: row
        for row in visible.values("cluster").annotate(
            count=Count("incident"),
            first=Min("incident__occurred_at"),
            last=Max("incident__occurred_at"),
        )
    }
    organisations, policies = defaultdict(list), defaultdict(list)
    for cluster_id, name, slug in (
        IncidentOrganisation.objects.filter(
            incident__pattern_membership__cluster__in=ids,
            incident__in=incidents,
            organisation__in=Organisation.objects.ranked(),
        )
        .values_list(
            "incident__pattern_membership__cluster", "organisation__name", "organisation__slug"
        )
        .distinct()
        .order_by("organisation__name")
    ):
        organisations[cluster_id].append({"name": name, "slug": slug})
    for cluster_id, title, slug in (
        PolicyChangeIncident.objects.filter(
            incident__pattern_membership__cluster__in=ids, incident__in=incidents
        )
        .values_list(
            "incident__pattern_membership__cluster", "policy_change__title", "policy_change__slug"
        )
        .distinct()
        .order_by("policy_change__title")
    ):
        policies[cluster_id].append({"title": title, "slug": slug})
    for cluster in clusters:
        row = stats.get(cluster.pk, {})
        cluster.count = row.get("count", 0)
        cluster.first_seen = row.get("first")
        cluster.last_seen = row.get("last")
        cluster.organisations = organisations[cluster.pk][:shown]
        cluster.more_organisations = len(organisations[cluster.pk]) - len(cluster.organisations)
        cluster.policies = policies[cluster.pk][:shown]
        cluster.more_policies = len(policies[cluster.pk]) - len(cluster.policies)
    return clusters


def pattern_list(request):
    incidents = scope_incidents(reader_scope(request.user))
    visible = PatternClusterMember.objects.filter(incident__in=incidents)
    clusters = (
        PatternCluster.objects.filter(members__in=visible)
        .annotate(size=Count("members"))
        .order_by("-size", "name", "pk")
    )
    page = Paginator(clusters, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    _describe(page.object_list, incidents, shown=CARD_LIST_LENGTH)
    return render(request, "incidents/patterns/pattern_list.html", {"page": page})


def pattern_detail(request, pk):
    incidents = scope_incidents(reader_scope(request.user))
    cluster = get_object_or_404(PatternCluster, pk=pk)
    members = list(
        incidents.filter(pattern_membership__cluster=cluster)
        .select_related("severity")
        .order_by("-occurred_at", "-number")
    )
    if not members:
        raise Http404("No such pattern.")
    _describe([cluster], incidents)
    context = {"cluster": cluster, "members": members}
    if can_curate(request.user):
        context["others"] = PatternCluster.objects.exclude(pk=cluster.pk).order_by("name")
    return render(request, "incidents/patterns/pattern_detail.html", context)


def _edit(request, pk, action):
    cluster = get_object_or_404(PatternCluster, pk=pk)
    try:
        target = action(cluster)
    except pattern_service.PatternRefused as refusal:
        messages.error(request, str(refusal))
        return redirect(cluster)
    return redirect(target)


@require_POST
@requires(can_curate)
def pattern_rename(request, pk):
    def rename(cluster):
        pattern_service.cluster_rename(
            cluster=cluster, name=request.POST.get("name"), by=request.user
        )
        messages.success(request, f"Renamed to \u201c{cluster.name}\u201d.")
        return cluster

    return _edit(request, pk, rename)


@require_POST
@requires(can_curate)
def pattern_merge(request, pk):
    def merge(cluster):
        others = list(PatternCluster.objects.filter(pk__in=_ids(request.POST.getlist("other"))))
        pattern_service.cluster_merge(cluster=cluster, others=others, by=request.user)
        merged = ngettext("Merged %(n)d pattern", "Merged %(n)d patterns", len(others))
        messages.success(request, f"{merged % {'n': len(others)}} into \u201c{cluster.name}\u201d.")
        return cluster

    return _edit(request, pk, merge)


@require_POST
@requires(can_curate)
def pattern_split(request, pk):
    def split(cluster):
        chosen = cluster.members.filter(incident__in=_ids(request.POST.getlist("incident")))
        new = pattern_service.cluster_split(
            cluster=cluster,
            incidents=[member.incident for member in chosen.select_related("incident")],
            name=request.POST.get("name"),
            by=request.user,
        )
        messages.success(request, f"Split off \u201c{new.name}\u201d.")
        return new

    return _edit(request, pk, split)


def _ids(values):
    return [int(value) for value in values if value.isdigit()]


def pattern_gaps(request):
    """Contributing factors and failure modes seen at several organisations that no policy
    change in the base is linked to."""
    rows = SummaryCount.objects.filter(
        scope=reader_scope(request.user),
        dimension=SummaryCount.Dimension.ALL,
        series__in=["factor_organisations", "factor_policies", "factor"],
    ).values_list("series", "key", "count")
    reach, policies, incidents = defaultdict(int), defaultdict(int), defaultdict(int)
    for series, key, count in rows:
        {"factor_organisations": reach, "factor_policies": policies, "factor": incidents}[series][
            int(key)
        ] += count
    gap_ids = [
        pk for pk, count in reach.items() if count >= GAP_MIN_ORGANISATIONS and not policies[pk]
    ]
    tags = Tag.objects.in_bulk(gap_ids)
    gaps = sorted(
        (
            {
                "tag": tags[pk],
                "organisations": reach[pk],
                "incidents": incidents[pk],
            }
            for pk in gap_ids
            if pk in tags
        ),
        key=lambda gap: (-gap["organisations"], -gap["incidents"], gap["tag"].name),
    )
    return render(
        request,
        "incidents/patterns/gaps.html",
        {"gaps": gaps, "minimum": GAP_MIN_ORGANISATIONS},
    )
