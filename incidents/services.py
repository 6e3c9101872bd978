"""Writes that matter. Views, admin actions, commands and tasks all call these."""

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from incidents.models import Incident, RelatedIncident

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


def related_incidents_recompute_all():
    for incident in Incident.objects.all().iterator():
        related_incidents_recompute(incident=incident, cascade=False)


def incident_saved(*, incident):
    """Follow-up work after an incident and its relations were saved."""
    from incidents.tasks import recompute_related_incidents

    recompute_related_incidents.delay_on_commit(incident.pk)


def incident_publish(*, incident):
    incident.status = Incident.Status.PUBLISHED
    if incident.published_at is None:
        incident.published_at = timezone.now()
    incident.save()
    incident_saved(incident=incident)
