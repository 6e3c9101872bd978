"""Merging parties that are one: "Open AI" into OpenAI, without losing a role."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.text import slugify

from incidents import facet_counts
from incidents.models import (
    AgentAction,
    AISystem,
    IncidentOrganisation,
    Organisation,
    OrganisationAlias,
    PolicyChange,
)
from incidents.permissions import can_curate
from incidents.services import followups


class MergeRefused(Exception):
    pass


@transaction.atomic
def party_merge(*, duplicate, into, by):
    """Fold `duplicate` into `into`: every role it holds in an incident (a role both hold is
    kept once), its policy changes, the AI systems it makes and its aliases move over; its
    name becomes an alias, so an import naming it later finds the survivor; then it is
    deleted. Returns the names of what moved, for the record of the change."""
    if not can_curate(by):
        raise PermissionDenied("Only editors can merge parties.")
    if duplicate.pk == into.pk:
        raise MergeRefused("A party cannot be merged into itself.")

    roles = IncidentOrganisation.objects.filter(organisation=duplicate)
    moved_roles = roles.count()
    IncidentOrganisation.objects.bulk_create(
        [
            IncidentOrganisation(incident_id=incident_id, organisation=into, role=role)
            for incident_id, role in roles.values_list("incident_id", "role")
        ],
        ignore_conflicts=True,
    )
    incident_ids = list(roles.values_list("incident_id", flat=True).distinct())
    facet_counts.changed(incident_ids)  # the roles created above sent no signal
    roles.delete()
    policies = PolicyChange.objects.filter(organisation=duplicate).update(organisation=into)
    systems = _move_ai_systems(duplicate, into)
    OrganisationAlias.objects.filter(organisation=duplicate).update(organisation=into)
    _move_other_references(duplicate, into)

    name = duplicate.name
    duplicate.delete()
    OrganisationAlias.objects.update_or_create(
        slug=slugify(name)[:200], defaults={"name": name, "organisation": into}
    )
    into.shown_publicly = into.shown_publicly or duplicate.shown_publicly
    into.save()
    followups.parties_changed(incident_ids=incident_ids)
    return (
        f"Merged {name!r} into {into.name!r}: {moved_roles} incident roles, "
        f"{policies} policy changes, {systems} AI systems; {name!r} is now an alias."
    )


def _move_ai_systems(duplicate, into):
    """The duplicate's AI systems now name the survivor as vendor; one the survivor already
    makes under the same name is folded into it, with its incidents and action steps."""
    moved = 0
    for system in AISystem.objects.filter(vendor=duplicate):
        twin = AISystem.objects.filter(vendor=into, name=system.name).first()
        if twin:
            twin.incidents.add(*system.incidents.all())
            AgentAction.objects.filter(ai_system=system).update(ai_system=twin)
            twin.shown_publicly = twin.shown_publicly or system.shown_publicly
            twin.save()
            system.delete()
        else:
            system.vendor = into
            system.save()
        moved += 1
    return moved


def _move_other_references(duplicate, into):
    """Any other record pointing at a party (a policy change, say) points at the survivor."""
    handled = {IncidentOrganisation, PolicyChange, AISystem, OrganisationAlias}
    for relation in Organisation._meta.related_objects:
        if relation.one_to_many and relation.related_model not in handled:
            relation.related_model._base_manager.filter(**{relation.field.name: duplicate}).update(
                **{relation.field.name: into}
            )
