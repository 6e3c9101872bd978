"""Merging a duplicate record into the one that survives."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from incidents import facet_counts
from incidents.models import AuditEvent, DuplicateFlag, Incident, IncidentOrganisation, Source
from incidents.services import followups


class MergeRefused(Exception):
    pass


@transaction.atomic
def incident_merge(*, primary, duplicate, by=None):
    """Fold a duplicate into the primary record. Nothing is deleted: the duplicate keeps its
    number and page, marked as merged, and the primary gains its provenances, sources,
    organisations, AI systems, tags and timeline."""
    if primary.pk == duplicate.pk:
        raise MergeRefused("An incident cannot be merged into itself.")
    if duplicate.merged_into_id:
        raise MergeRefused(f"{duplicate} was already merged into #{duplicate.merged_into.number}.")
    if primary.merged_into_id:
        target = primary.merged_into.number
        raise MergeRefused(f"{primary} was itself merged; merge into #{target} instead.")

    duplicate.provenances.update(incident=primary)
    facet_counts.changed([primary.pk, duplicate.pk])  # the bulk writes here send no signal
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
    for incident in (primary, duplicate):
        AuditEvent.objects.create(
            incident=incident,
            action=AuditEvent.Action.MERGED,
            actor=by,
            detail=f"#{duplicate.number} merged into #{primary.number}",
        )
    followups.incident_saved(incident=primary, also=[duplicate.pk])
    return primary
