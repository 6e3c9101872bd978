"""Recurring patterns: clusters of similar incidents across organisations, recomputed from the
related-incident links, named (and merged and split) by editors."""

from collections import Counter, defaultdict

from django.db import transaction

from incidents.models import (
    Incident,
    IncidentOrganisation,
    Organisation,
    PatternCluster,
    PatternClusterMember,
    RelatedIncident,
    Tag,
)
from incidents.permissions import can_curate
from incidents.services.review import NotAllowed

# Two incidents belong together when each lists the other among its most related, with at
# least this score (a shared organisation counts 2, a shared tag 1, near-identical text 10).
CLUSTER_MIN_SCORE = 3.0
MIN_CLUSTER_SIZE = 3
MIN_ORGANISATIONS = 2


class PatternRefused(NotAllowed):
    pass


def _components():
    """Groups of incidents linked both ways with a high enough score, seen at two or more
    organisations."""
    published = Incident.objects.reviewed()
    links = set(
        RelatedIncident.objects.filter(
            score__gte=CLUSTER_MIN_SCORE, incident__in=published, related__in=published
        ).values_list("incident_id", "related_id")
    )
    parent = {}

    def root(pk):
        parent.setdefault(pk, pk)
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    for a, b in links:
        if a < b and (b, a) in links:
            parent[root(a)] = root(b)
    groups = defaultdict(set)
    for pk in list(parent):
        groups[root(pk)].add(pk)
    candidates = [group for group in groups.values() if len(group) >= MIN_CLUSTER_SIZE]
    members = {pk for group in candidates for pk in group}
    organisations = defaultdict(set)
    # People and groups harmed are not organisations a pattern is seen at.
    for incident_id, organisation_id in IncidentOrganisation.objects.filter(
        incident__in=members, organisation__in=Organisation.objects.ranked()
    ).values_list("incident_id", "organisation_id"):
        organisations[incident_id].add(organisation_id)
    return [
        group
        for group in candidates
        if len(set().union(*(organisations[pk] for pk in group))) >= MIN_ORGANISATIONS
    ]


def suggested_name(incident_ids):
    """The most common failure mode, with the most common contributing factor."""
    counts = Counter(
        Incident.tags.through.objects.filter(
            incident__in=incident_ids,
            tag__facet__in=[Tag.Facet.FAILURE_MODE, Tag.Facet.CONTRIBUTING_FACTOR],
        ).values_list("tag__facet", "tag__name")
    )
    best = {}
    for (facet, name), _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        best.setdefault(facet, name)
    mode, factor = best.get(Tag.Facet.FAILURE_MODE), best.get(Tag.Facet.CONTRIBUTING_FACTOR)
    if mode and factor:
        return f"{mode}, with {factor.lower()}"[:200]
    if mode or factor:
        return (mode or factor)[:200]
    first = Incident.objects.filter(pk__in=incident_ids).order_by("number").first()
    return f"Incidents like {first.title}"[:200] if first else "Unnamed pattern"


@transaction.atomic
def clusters_recompute():
    """Regroup incidents from the current related-incident links. An incident already in a
    cluster stays there while it still belongs to a group; new members join the cluster that
    holds most of their group. So names, merges and splits made by editors survive, and a
    group with no cluster yet becomes a new one under a suggested name."""
    current = dict(PatternClusterMember.objects.values_list("incident_id", "cluster_id"))
    assigned = {}
    for group in sorted(_components(), key=min):
        overlap = Counter(current[pk] for pk in group if pk in current)
        if overlap:
            best = min(overlap, key=lambda cluster_id: (-overlap[cluster_id], cluster_id))
        else:
            best = PatternCluster.objects.create(name=suggested_name(group)).pk
        for pk in group:
            assigned[pk] = current.get(pk, best)
    PatternClusterMember.objects.exclude(incident__in=assigned).delete()
    moved = [pk for pk, cluster_id in assigned.items() if current.get(pk) != cluster_id]
    PatternClusterMember.objects.filter(incident__in=moved).delete()
    PatternClusterMember.objects.bulk_create(
        [PatternClusterMember(incident_id=pk, cluster_id=assigned[pk]) for pk in moved],
        batch_size=2000,
    )
    PatternCluster.objects.filter(members__isnull=True, named_by__isnull=True).delete()
    members = defaultdict(list)
    for incident_id, cluster_id in assigned.items():
        members[cluster_id].append(incident_id)
    for cluster in PatternCluster.objects.filter(named_by__isnull=True, pk__in=members):
        name = suggested_name(members[cluster.pk])
        if name != cluster.name:
            cluster.name = name
            cluster.save(update_fields=["name", "updated_at"])
    return len(members)


def _require_editor(by):
    if not can_curate(by):
        raise PatternRefused("Only editors can name, merge and split patterns.")


def _clean_name(name):
    name = (name or "").strip()
    if not name:
        raise PatternRefused("Give the pattern a name.")
    if len(name) > 200:
        raise PatternRefused("Keep the name under 200 characters.")
    return name


@transaction.atomic
def cluster_rename(*, cluster, name, by):
    _require_editor(by)
    cluster.name = _clean_name(name)
    cluster.named_by = by
    cluster.save(update_fields=["name", "named_by", "updated_at"])
    return cluster


@transaction.atomic
def cluster_merge(*, cluster, others, by):
    """Fold other clusters into this one, which keeps its name."""
    _require_editor(by)
    others = [other for other in others if other.pk != cluster.pk]
    if not others:
        raise PatternRefused("Choose another pattern to merge into this one.")
    PatternClusterMember.objects.filter(cluster__in=others).update(cluster=cluster)
    PatternCluster.objects.filter(pk__in=[other.pk for other in others]).delete()
    cluster.save(update_fields=["updated_at"])
    return cluster


@transaction.atomic
def cluster_split(*, cluster, incidents, name, by):
    """Move some of a cluster's incidents into a new cluster with its own name."""
    _require_editor(by)
    name = _clean_name(name)
    ids = {incident.pk for incident in incidents}
    member_ids = set(cluster.members.values_list("incident_id", flat=True))
    if not ids or not ids <= member_ids:
        raise PatternRefused("Choose some of this pattern's incidents to split off.")
    if ids == member_ids:
        raise PatternRefused("Leave at least one incident in this pattern, or rename it.")
    new = PatternCluster.objects.create(name=name, named_by=by)
    PatternClusterMember.objects.filter(cluster=cluster, incident__in=ids).update(cluster=new)
    cluster.save(update_fields=["updated_at"])
    return new
