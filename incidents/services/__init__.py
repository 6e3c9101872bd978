"""Writes that matter. Views, admin actions, commands and tasks all call these."""

import heapq
from collections import Counter, defaultdict

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from incidents.models import Incident, IncidentOrganisation, RelatedIncident

RELATED_LIMIT = 8
# A shared organisation says more about a recurring pattern than one shared tag.
ORGANISATION_WEIGHT = 2.0
TAG_WEIGHT = 1.0
PERPETRATOR_WEIGHT = 1.0


def related_candidates(incident):
    """Other incidents sharing tags or organisations, scored, best first."""
    tag_ids = list(incident.tags.values_list("id", flat=True))
    organisation_ids = list(
        incident.organisation_roles.values_list("organisation_id", flat=True).distinct()
    )
    if not tag_ids and not organisation_ids:
        return []
    candidates = (
        Incident.objects.exclude(pk=incident.pk)
        .filter(Q(tags__in=tag_ids) | Q(organisation_roles__organisation__in=organisation_ids))
        .annotate(
            shared_tags=Count("tags", filter=Q(tags__in=tag_ids), distinct=True),
            shared_organisations=Count(
                "organisation_roles__organisation",
                filter=Q(organisation_roles__organisation__in=organisation_ids),
                distinct=True,
            ),
        )
        .values("pk", "perpetrator_id", "shared_tags", "shared_organisations")
    )
    scored = []
    for row in candidates:
        score = TAG_WEIGHT * row["shared_tags"] + ORGANISATION_WEIGHT * row["shared_organisations"]
        if incident.perpetrator_id and row["perpetrator_id"] == incident.perpetrator_id:
            score += PERPETRATOR_WEIGHT
        scored.append((score, row))
    scored.sort(key=lambda item: (-item[0], item[1]["pk"]))
    return scored


@transaction.atomic
def related_incidents_recompute(*, incident, cascade=True):
    """Store the incidents most related to this one; with cascade, refresh its neighbours too,
    since their lists may now include or drop this incident."""
    scored = related_candidates(incident)
    RelatedIncident.objects.filter(incident=incident).delete()
    RelatedIncident.objects.bulk_create(
        RelatedIncident(
            incident=incident,
            related_id=row["pk"],
            score=score,
            shared_tags=row["shared_tags"],
            shared_organisations=row["shared_organisations"],
        )
        for score, row in scored[:RELATED_LIMIT]
    )
    if cascade:
        neighbour_ids = {row["pk"] for _, row in scored}
        neighbour_ids |= set(
            RelatedIncident.objects.filter(related=incident).values_list("incident_id", flat=True)
        )
        for neighbour in Incident.objects.filter(pk__in=neighbour_ids):
            related_incidents_recompute(incident=neighbour, cascade=False)


@transaction.atomic
def related_incidents_recompute_all():
    """Every incident's related list, scored as `related_candidates` does, but from memberships
    loaded once: one pass in memory instead of a query per incident."""
    tags_of = defaultdict(set)
    organisations_of = defaultdict(set)
    holders = defaultdict(set)
    for incident_id, tag_id in Incident.tags.through.objects.values_list("incident_id", "tag_id"):
        tags_of[incident_id].add(tag_id)
        holders[("tag", tag_id)].add(incident_id)
    for incident_id, organisation_id in IncidentOrganisation.objects.values_list(
        "incident_id", "organisation_id"
    ):
        organisations_of[incident_id].add(organisation_id)
        holders[("organisation", organisation_id)].add(incident_id)
    perpetrator_of = dict(Incident.objects.values_list("pk", "perpetrator_id"))

    links = []
    for incident_id, perpetrator_id in perpetrator_of.items():
        shared_tags = Counter()
        shared_organisations = Counter()
        for tag_id in tags_of[incident_id]:
            shared_tags.update(holders[("tag", tag_id)])
        for organisation_id in organisations_of[incident_id]:
            shared_organisations.update(holders[("organisation", organisation_id)])
        scored = []
        for other in shared_tags.keys() | shared_organisations.keys():
            if other == incident_id:
                continue
            score = (
                TAG_WEIGHT * shared_tags[other] + ORGANISATION_WEIGHT * shared_organisations[other]
            )
            if perpetrator_id and perpetrator_of[other] == perpetrator_id:
                score += PERPETRATOR_WEIGHT
            scored.append((-score, other))
        for negative_score, other in heapq.nsmallest(RELATED_LIMIT, scored):
            links.append(
                RelatedIncident(
                    incident_id=incident_id,
                    related_id=other,
                    score=-negative_score,
                    shared_tags=shared_tags[other],
                    shared_organisations=shared_organisations[other],
                )
            )
    RelatedIncident.objects.all().delete()
    RelatedIncident.objects.bulk_create(links, batch_size=2000)


def incident_saved(*, incident):
    """Follow-up work after an incident and its relations were saved."""
    from incidents.tasks import recompute_related_incidents

    recompute_related_incidents.delay_on_commit(incident.pk)


def related_incidents_queue_bulk():
    """After an import: recompute every incident's related list once, in the background."""
    from incidents.tasks import recompute_all_related_incidents

    recompute_all_related_incidents.delay_on_commit()


class MergeRefused(Exception):
    pass


@transaction.atomic
def incident_merge(*, primary, duplicate, by=None):
    """Fold a duplicate into the primary record. Nothing is deleted: the duplicate keeps its
    number and page, marked as merged, and the primary gains its provenances, sources,
    organisations, AI systems, tags and timeline."""
    from incidents.models import DuplicateFlag, Source

    if primary.pk == duplicate.pk:
        raise MergeRefused("An incident cannot be merged into itself.")
    if duplicate.merged_into_id:
        raise MergeRefused(f"{duplicate} was already merged into #{duplicate.merged_into.number}.")
    if primary.merged_into_id:
        target = primary.merged_into.number
        raise MergeRefused(f"{primary} was itself merged; merge into #{target} instead.")

    duplicate.provenances.update(incident=primary)
    known_urls = set(primary.sources.values_list("url", flat=True))
    for source in duplicate.sources.all():
        if source.url not in known_urls:
            Source.objects.create(
                incident=primary,
                url=source.url,
                publisher=source.publisher,
                title=source.title,
                published_on=source.published_on,
                stance=source.stance,
            )
    IncidentOrganisation.objects.bulk_create(
        [
            IncidentOrganisation(incident=primary, organisation_id=o, role=r)
            for o, r in duplicate.organisation_roles.values_list("organisation_id", "role")
        ],
        ignore_conflicts=True,
    )
    primary.tags.add(*duplicate.tags.all())
    primary.ai_systems.add(*duplicate.ai_systems.all())
    for event in duplicate.timeline_events.all():
        primary.timeline_events.get_or_create(at=event.at, description=event.description)

    duplicate.merged_into = primary
    duplicate.status = Incident.Status.RETRACTED
    duplicate.retraction_reason = f"Merged into #{primary.number}, which records the same incident."
    duplicate.save()
    DuplicateFlag.objects.filter(
        Q(incident=duplicate, candidate=primary) | Q(incident=primary, candidate=duplicate)
    ).update(status=DuplicateFlag.Status.MERGED, resolved_at=timezone.now())
    from incidents.models import AuditEvent

    for incident in (primary, duplicate):
        AuditEvent.objects.create(
            incident=incident,
            action=AuditEvent.Action.MERGED,
            actor=by,
            detail=f"#{duplicate.number} merged into #{primary.number}",
        )
    incident_saved(incident=primary)
    return primary
