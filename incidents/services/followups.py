"""What follows a write: the work every change to an incident sets off, done now when it is
cheap and queued for the worker when it is not."""

from incidents import queueing
from incidents.search_index import search_index_update


def incident_saved(*, incident, also=()):
    """After an incident and its relations were saved. The search vector is one cheap UPDATE,
    done now so search never lags; similar incidents and the dashboards wait for a worker.
    `also` names other incidents the write changed (one merged into this one)."""
    search_index_update([incident.pk])
    queueing.related_incidents(incident.pk)
    queueing.summaries_apply([incident.pk, *also])


def incident_retracted(*, incident):
    """A retracted incident leaves the published counts and the recurring patterns."""
    queueing.summaries_apply([incident.pk])
    queueing.pattern_placement([incident.pk])


def incidents_imported(*, incident_ids, summaries_change=None):
    """After an import changed these incidents: their similar incidents (and their
    neighbours'), in one task in the background, and the dashboards: these incidents and
    those `summaries_change` (taken before the import wrote) saw change besides."""
    if incident_ids:
        queueing.related_incidents_of(incident_ids)
    if summaries_change is not None:
        incident_ids = summaries_change.incident_ids(incident_ids)
    queueing.summaries_apply(incident_ids)


def parties_changed(*, incident_ids=()):
    """A party was renamed, reclassified or merged: its incidents' search text, the rankings
    of organisations and, when roles moved, the organisations incidents share."""
    search_index_update(list(incident_ids))
    queueing.summaries_apply(incident_ids)
    if incident_ids:
        queueing.related_incidents_of(list(incident_ids))
