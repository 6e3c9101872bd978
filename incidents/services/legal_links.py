"""Linking legal cases to the incidents they followed: on hard evidence by themselves, and
otherwise only as suggestions an editor confirms or dismisses. Every link says why."""

from collections import defaultdict
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from incidents.models import (
    Incident,
    IncidentOrganisation,
    LegalCase,
    LegalCaseIncident,
    Source,
)
from incidents.permissions import can_curate

# How far apart an incident and a filing may be for a shared organisation to be worth a look.
NEAR = timedelta(days=3 * 365)
# Suggestions per case: an editor reads a short list, the likeliest first.
MAX_SUGGESTIONS = 5
# A docket number shorter than this ("1", "C-12") would be found in unrelated citations.
MIN_DOCKET_CHARS = 6


def url_key(url):
    """An address as compared between records: no scheme, "www.", fragment or final slash."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    host = (parts.hostname or "").removeprefix("www.")
    if not host:
        return ""
    key = host + parts.path.rstrip("/")
    return f"{key}?{parts.query}" if parts.query else key


def _docket_reference(number):
    number = " ".join(number.split()).removeprefix("No. ").removeprefix("No.").strip()
    if len(number) >= MIN_DOCKET_CHARS and any(c.isdigit() for c in number):
        return number
    return ""


def _evidence(case, sources_by_url):
    """{incident id: reason} for the incidents this case is tied to by its own records."""
    found = {}
    addresses = [(link.link, "a secondary source") for link in case.secondary_sources.all()] + [
        (document.link, "a court document") for document in case.documents.all()
    ]
    addresses += [(docket.link, "a docket") for docket in case.dockets.all()]
    for address, what in addresses:
        for incident_id in sources_by_url.get(url_key(address), ()):
            found.setdefault(
                incident_id,
                f"The incident cites {address}, which DAIL lists as {what} of this case.",
            )
    for docket in case.dockets.all():
        reference = _docket_reference(docket.number)
        if not reference:
            continue
        citing = Source.objects.filter(title__icontains=reference).values_list(
            "incident_id", flat=True
        )
        for incident_id in citing:
            found.setdefault(
                incident_id, f"A source of the incident cites the docket number {reference}."
            )
    return found


def _candidates(case, systems, organisations):
    """{incident id: reason} for the few incidents most worth an editor's look, on weaker
    signs: the case's algorithm named as the incident's AI system, a party named on both
    within NEAR of the filing. Those with both signs, then those nearest the filing, first."""
    signs = defaultdict(list)
    occurred = {}
    for name in case.algorithm_names:
        for incident_id, system, occurred_at in systems.get(name.casefold(), ()):
            signs[incident_id].append(f"DAIL names the algorithm {name!r} and the incident the "
                                      f"AI system {system!r}")  # fmt: skip
            occurred[incident_id] = occurred_at
    if case.filed_on:
        for party in (p.strip() for p in case.parties.split(";")):
            for incident_id, name, occurred_at in organisations.get(party.casefold(), ()):
                if occurred_at and abs(occurred_at.date() - case.filed_on) <= NEAR:
                    signs[incident_id].append(
                        f"DAIL names {party!r} among the parties and the incident names {name!r}"
                        f" ({occurred_at:%Y-%m-%d}; the case was filed on {case.filed_on:%Y-%m-%d})"
                    )
                    occurred[incident_id] = occurred_at

    def distance(incident_id):
        if not (case.filed_on and occurred[incident_id]):
            return timedelta.max
        return abs(occurred[incident_id].date() - case.filed_on)

    best = sorted(signs, key=lambda i: (-len(set(signs[i])), distance(i), i))
    return {i: "; ".join(dict.fromkeys(signs[i])) + "." for i in best[:MAX_SUGGESTIONS]}


@transaction.atomic
def legal_case_links_find(*, cases=None):
    """Link the cases (all by default) to incidents on evidence and suggest candidates.
    A pair already linked, suggested or dismissed is left as it is, so an editor's decision
    stands through re-imports. Returns (links made, suggestions made)."""
    cases = (cases if cases is not None else LegalCase.objects.all()).prefetch_related(
        "secondary_sources", "documents", "dockets"
    )
    live = Incident.objects.filter(merged_into=None)
    sources_by_url = defaultdict(set)
    for url, incident_id in Source.objects.filter(incident__in=live).values_list(
        "url", "incident_id"
    ):
        sources_by_url[url_key(url)].add(incident_id)
    systems = defaultdict(list)
    for incident_id, name, occurred_at in Incident.ai_systems.through.objects.filter(
        incident__in=live
    ).values_list("incident_id", "aisystem__name", "incident__occurred_at"):
        systems[name.casefold()].append((incident_id, name, occurred_at))
    organisations = defaultdict(list)
    for incident_id, name, occurred_at in IncidentOrganisation.objects.filter(
        incident__in=live
    ).values_list("incident_id", "organisation__name", "incident__occurred_at"):
        organisations[name.casefold()].append((incident_id, name, occurred_at))
    existing = set(LegalCaseIncident.objects.values_list("case_id", "incident_id"))
    new = []
    for case in cases:
        evidence = _evidence(case, sources_by_url)
        candidates = _candidates(case, systems, organisations)
        for status, found in (
            (LegalCaseIncident.Status.LINKED, evidence),
            (LegalCaseIncident.Status.SUGGESTED, candidates),
        ):
            for incident_id, reason in found.items():
                if (case.pk, incident_id) in existing:
                    continue
                existing.add((case.pk, incident_id))
                new.append(
                    LegalCaseIncident(
                        case=case, incident_id=incident_id, status=status, reason=reason[:500]
                    )
                )
    LegalCaseIncident.objects.bulk_create(new)
    linked = sum(1 for link in new if link.status == LegalCaseIncident.Status.LINKED)
    return linked, len(new) - linked


def _decide(link, *, by, status):
    if not can_curate(by):
        raise PermissionDenied("Only editors link legal cases to incidents.")
    link.status, link.linked_by, link.decided_at = status, by, timezone.now()
    link.save()
    link.case.save(update_fields=["updated_at"])  # the case and incident pages change


@transaction.atomic
def legal_case_link_confirm(*, link, by):
    """An editor confirms a suggestion (or restores a dismissed one): the case shows on the
    incident's page as what followed."""
    _decide(link, by=by, status=LegalCaseIncident.Status.LINKED)


@transaction.atomic
def legal_case_link_dismiss(*, link, by):
    """An editor says the case is not about the incident; a re-import does not suggest it again."""
    _decide(link, by=by, status=LegalCaseIncident.Status.DISMISSED)
