"""Keeping the stored search vectors current; `incidents.search` queries them."""

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.db.models import OuterRef, Subquery, TextField, Value
from django.db.models.functions import Coalesce

from incidents.models import Incident, IncidentOrganisation


def _names(through, incident_field, name_path):
    """The space-separated names an incident links to, as a subquery for one UPDATE."""
    names = (
        through.objects.filter(**{incident_field: OuterRef("pk")})
        .values(incident_field)
        .annotate(names=StringAgg(name_path, " ", distinct=True))
        .values("names")
    )
    return Coalesce(Subquery(names, output_field=TextField()), Value(""), output_field=TextField())


def search_index_update(incident_ids=None):
    """Recompute the stored search vectors (all of them by default) in one UPDATE: title
    weighs most (A), then summary (B), then organisation, AI system and tag names (C), then
    the narrative (D). A no-op except on PostgreSQL. Returns how many rows were updated."""
    if connection.vendor != "postgresql":
        return 0
    incidents = Incident.objects.all()
    if incident_ids is not None:
        incidents = incidents.filter(pk__in=list(incident_ids))
    vector = (
        SearchVector("title", weight="A", config="english")
        + SearchVector("summary", weight="B", config="english")
        + SearchVector(
            _names(IncidentOrganisation, "incident", "organisation__name"),
            _names(Incident.ai_systems.through, "incident", "aisystem__name"),
            _names(Incident.tags.through, "incident", "tag__name"),
            weight="C",
            config="english",
        )
        + SearchVector("narrative", weight="D", config="english")
    )
    return incidents.update(search_vector=vector)
