"""Pages anyone can read without an account."""

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from incidents import facet_counts, listing, search
from incidents.agent_actions import missing_gates
from incidents.caching import (
    cached_for_this_data,
    incident_version,
    list_version,
    policy_version,
    public_page_cache,
)
from incidents.dashboards.impact import policy_impact
from incidents.dashboards.summaries import reader_scope, scope_incidents
from incidents.filters import KEYSET_SORTS, IncidentFilter
from incidents.importers import is_unverified, source_values_grouped, vocabulary_label
from incidents.models import (
    Incident,
    IncidentOrganisation,
    LegalCase,
    Organisation,
    PolicyChange,
    PolicyChangeIncident,
    Tag,
)
from incidents.permissions import can_read_internal
from incidents.services import controls, reporting


def _page(request, queryset):
    return Paginator(queryset, settings.PAGE_SIZE).get_page(request.GET.get("page"))


@public_page_cache(version=list_version)
def home(request):
    incidents = Incident.objects.published().for_list()
    return render(
        request,
        "incidents/home.html",
        {
            "latest_incidents": incidents[:6],
            "incident_count": facet_counts.published_total() or incidents.count(),
            "latest_policies": PolicyChange.objects.for_list()[:4],
        },
    )


@public_page_cache(version=list_version)
def incident_list(request):
    filterset = IncidentFilter(request.GET, request=request)
    facets = cached_for_this_data(
        listing.facets_cache_key(request, filterset),
        lambda: filterset.facet_counts(top_tags=listing.TOP_TAGS),
    )
    total = facets["total"]
    sort = filterset.chosen_sort
    problems = [f"{name} = \u201c{given}\u201d: {why}" for name, given, why in filterset.ignored]
    incidents = filterset.in_order_for(total, facets["estimated"])
    if sort in KEYSET_SORTS and "page" not in request.GET:
        page, cursor_problem = listing.keyset_page(
            request, incidents, sort, total, narrow=filterset.page_narrowing()
        )
        problems += cursor_problem
    else:
        page, page_problem = listing.numbered_page(request, incidents, total)
        problems += page_problem
    query = (request.GET.get("q") or "").strip()
    suggestions = search.suggestions(query, reader=request.user) if query and not total else []
    return render(
        request,
        "incidents/incident_list.html",
        {
            "filterset": filterset,
            "page": page,
            "total": total,
            "counts_estimated": facets["estimated"],
            "search_limited": filterset.search_limited,
            "counted": intcomma(facets["counted"]),
            "problems": problems,
            "facet_groups": listing.facet_groups(request, filterset, facets),
            "tag_groups": listing.tag_groups(request, facets),
            "chips": listing.chips(request, filterset),
            "clear_url": reverse("incident_list"),
            "filtered": bool(filterset.applied),
            "suggestions": [
                {"text": str(s), "url": "?" + listing.query(request, q=str(s))} for s in suggestions
            ],
            "has_status": "status" in filterset.form.fields,
        },
    )


def incident_redirect(request, number):
    incident = get_object_or_404(Incident.objects.visible_to(request.user), number=number)
    return redirect(incident, permanent=True)


@public_page_cache(version=incident_version)
def incident_detail(request, number, slug):
    visible = Incident.objects.visible_to(request.user)
    incident = get_object_or_404(
        visible.for_page()
        .with_disputed()
        .with_parts_present(["control_assessments", "policy_links", "legal_case_links"])
        .select_related("published_revision")  # its date is cited
        .defer("published_revision__data"),
        number=number,
    )
    if slug != incident.slug:
        return redirect(incident, permanent=True)
    incident.fetch_parts(
        controls.incident_assessments(),
        Prefetch(
            "policy_links",
            queryset=PolicyChangeIncident.objects.select_related("policy_change__organisation"),
        ),
    )
    related = incident.related_links.filter(related__in=visible).select_related(
        "related__severity", "related__perpetrator"
    )[:6]
    context = {
        "incident": incident,
        "policy_links": incident.policy_links.all(),
        "legal_cases": LegalCase.objects.linked_to(incident)
        if incident.has_legal_case_links
        else [],
        "related_links": related,
        "missing_gates": missing_gates(incident.agent_actions.all()),
        "unverified": is_unverified(incident),
        # Only imports give source values; the provenances are already fetched.
        "source_values": source_values_grouped(incident.source_terms.all())
        if incident.provenances.all()
        else [],
    }
    if can_read_internal(request.user):
        # Staff see which rule each derived fact came from; readers see only the facts.
        context["derivations"] = [
            (derivation, vocabulary_label(derivation.source_term.vocabulary))
            for derivation in incident.derivations.select_related("source_term", "tag")
        ]
        # Staff read the public page too; tell them whether it is what the public reads.
        context["staff_bar"] = {"unpublished_changes": incident.has_unpublished_changes()}
        context["reporting_clocks"] = reporting.clocks_for(incident)
        context["reader_tz"] = reporting.reader_timezone(request)
    return render(request, "incidents/incident_detail.html", context)


@public_page_cache(version=policy_version)
def policy_list(request):
    page = _page(request, PolicyChange.objects.for_list())
    return render(request, "incidents/policy_list.html", {"page": page})


@public_page_cache(version=policy_version)
def policy_detail(request, slug):
    policy = get_object_or_404(
        PolicyChange.objects.select_related("organisation").prefetch_related("sources"), slug=slug
    )
    incident_links = policy.incident_links.filter(
        incident__in=Incident.objects.visible_to(request.user)
    ).select_related("incident__severity")
    impact = policy_impact(policy=policy, incidents=scope_incidents(reader_scope(request.user)))
    return render(
        request,
        "incidents/policy_detail.html",
        {
            "policy": policy,
            "incident_links": incident_links,
            "impact": impact,
            "adopted_controls": controls.policy_control_incidents(
                policy, Incident.objects.visible_to(request.user)
            ),
        },
    )


@public_page_cache(version=list_version)
def organisation_list(request):
    published = Incident.objects.published()
    organisations = (
        Organisation.objects.ranked()
        .annotate(
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


@public_page_cache
def organisation_detail(request, slug):
    organisation = get_object_or_404(Organisation.objects.visible_to(request.user), slug=slug)
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
            "ai_systems": organisation.ai_systems.visible_to(request.user),
            "aliases": organisation.aliases.all(),
        },
    )


@public_page_cache(version=list_version)
def tag_list(request):
    tags = Tag.objects.annotate(
        incident_count=Count("incidents", filter=Q(incidents__in=Incident.objects.published()))
    ).filter(incident_count__gt=0)
    return render(request, "incidents/tag_list.html", {"tags": tags})


@public_page_cache(version=list_version)
def tag_detail(request, facet, slug):
    tag = get_object_or_404(Tag.objects.visible_to(request.user), facet=facet, slug=slug)
    page = _page(request, Incident.objects.published().filter(tags=tag).for_list())
    return render(request, "incidents/tag_detail.html", {"tag": tag, "page": page})
