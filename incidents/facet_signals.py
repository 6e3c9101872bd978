"""Which writes change what the incident list's facets count: an incident's own fields (its
severity, status, visibility...), its tags, organisations, provenances and policy links. Each
records the incident as changed (`incidents.facet_counts.changed`); bulk writes, which send no
signal, call it themselves."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from incidents import facet_counts
from incidents.models import Incident, IncidentOrganisation, PolicyChangeIncident, Provenance


@receiver(post_save, sender=Incident)
def incident_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        facet_counts.changed([instance.pk])


@receiver(post_save, sender=IncidentOrganisation)
@receiver(post_delete, sender=IncidentOrganisation)
@receiver(post_save, sender=Provenance)
@receiver(post_delete, sender=Provenance)
@receiver(post_save, sender=PolicyChangeIncident)
@receiver(post_delete, sender=PolicyChangeIncident)
def link_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        facet_counts.changed([instance.incident_id])


@receiver(m2m_changed, sender=Incident.tags.through)
def tags_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if not reverse:
        if action in ("post_add", "post_remove", "post_clear"):
            facet_counts.changed([instance.pk])
    elif action in ("post_add", "post_remove"):
        facet_counts.changed(pk_set or ())
    elif action == "pre_clear":
        facet_counts.changed(instance.incidents.values_list("pk", flat=True))
