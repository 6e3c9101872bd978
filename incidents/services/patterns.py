"""Recurring patterns: groups of similar incidents seen across organisations, found by
community detection over a nearest-neighbour similarity graph, named (and merged and split)
by editors.

Grouping compares incidents in memory, so it takes at most GROUPING_LIMIT of them: on a
larger base the regroup (nightly) takes the newest that many, the older keep their patterns,
and a save places each changed incident by those it is most alike among the newest
(`clusters_place`), which costs what the change touched rather than a regroup.

Two incidents are alike by their wording (the TF-IDF vectors of related incidents, averaged
with the sentence embeddings when matching by meaning is on), their failure-mode, harm-type,
sector and technology tags, what acted and the AI systems named. Each incident is joined to its
few most alike, Louvain finds the communities of that graph (a community of two counts when
the two are much alike), and a community larger than the
cap is trimmed or split again at a higher resolution. A chain of "related" lists no longer
pulls everything into one group: an incident's few strongest links decide where it sits.
"""

import heapq
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property

import networkx
import numpy
import scipy.sparse
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from incidents import queueing
from incidents.models import (
    Incident,
    IncidentOrganisation,
    Organisation,
    PatternCluster,
    PatternClusterMember,
    Tag,
)
from incidents.permissions import can_curate
from incidents.services.related import Neighbourhood
from incidents.services.review import NotAllowed

MIN_CLUSTER_SIZE = 3
# Two incidents this alike (by wording, tags, what acted and systems) are a pattern too.
PAIR_SIMILARITY = 0.2
MIN_ORGANISATIONS = 2
# No group may hold more than this share of the incidents grouped, nor fewer than the floor
# (so a small base still forms groups of a handful).
CAP_SHARE = 0.05
CAP_FLOOR = 6
# Each incident is linked to its closest few.
NEIGHBOURS = 8
# How much each signal counts in the similarity of two incidents (the weights sum to 1).
TEXT_WEIGHT = 0.5
TAG_WEIGHT = 0.3
PERPETRATOR_WEIGHT = 0.1
SYSTEM_WEIGHT = 0.1
# Shared tags count in full once the wording is this alike (TF-IDF cosine), less below it;
# the same kind of thing acting, once the wording is alike at all.
TAG_WORDING = 0.3
PERPETRATOR_WORDING = 0.05
# Below this, two incidents are not linked at all.
MIN_SIMILARITY = 0.08
# With matching by meaning on, the closest few embeddings above this cosine are candidates.
MEANING_FLOOR = 0.3
MEANING_CANDIDATES = 30
# Tags and systems held by more than this share of incidents propose no candidates (they still
# count when the wording has proposed the pair).
COMMON_SHARE = 0.05
# Nor does a tag or system held by more than this many, or a word held by more than a thousand;
# and only this many of the incidents most alike in wording are candidates (with those alike in
# meaning or by a rarer tag), so each incident is scored against a bounded few however large
# the base.
TAG_HOLDERS = 100
COMMON_HOLDERS = 1000
WORD_CANDIDATES = 100
COMPARE_BLOCK = 256
SEED = 17
RESOLUTION = 1.0
# A community over the cap is split again at ever higher resolution, a few times; one less
# than this many times the cap is trimmed instead.
RESOLUTION_STEP = 1.25
MAX_SPLITS = 8
TRIM_LIMIT = 1.5
NAME_TERMS = 3
STORED_TERMS = 6
# Coherence is the mean similarity of the pairs of a group, over at most this many members.
COHERENCE_SAMPLE = 120
# Up to this many published incidents are grouped together; beyond, a changed incident joins
# the pattern holding at least PLACEMENT_VOTES of its NEIGHBOURS closest, the one they are
# most alike in.
GROUPING_LIMIT = 20_000
PLACEMENT_VOTES = 2
# What went wrong, where and with what: contributing factors vary too much between tellings
# to group by.
SIGNAL_FACETS = (
    Tag.Facet.FAILURE_MODE,
    Tag.Facet.HARM_TYPE,
    Tag.Facet.SECTOR,
    Tag.Facet.TECHNOLOGY,
)


class PatternRefused(NotAllowed):
    pass


class Signals:
    """What two incidents are compared by, loaded once for every incident grouped. Word
    rarity is counted over the whole base, or over the incidents grouped when `alone`."""

    def __init__(self, incident_ids, *, alone=False):
        self.ids = sorted(incident_ids)
        known = set(self.ids)
        self.neighbourhood = nb = Neighbourhood(self.ids if alone else None)
        facet_of = dict(Tag.objects.filter(facet__in=SIGNAL_FACETS).values_list("pk", "facet"))
        self.tags = {pk: nb.tags_of[pk] & facet_of.keys() for pk in self.ids}
        self.failure_modes = dict(
            Tag.objects.filter(facet=Tag.Facet.FAILURE_MODE).values_list("pk", "name")
        )
        self.perpetrator = {pk: nb.perpetrator_of.get(pk) for pk in self.ids}
        self.systems = defaultdict(set)
        for incident_id, system_id in Incident.ai_systems.through.objects.filter(
            incident__in=self.ids
        ).values_list("incident_id", "aisystem_id"):
            self.systems[incident_id].add(system_id)
        self.holders = defaultdict(set)
        for pk in self.ids:
            for tag_id in self.tags[pk]:
                self.holders[("tag", tag_id)].add(pk)
            for system_id in self.systems[pk]:
                self.holders[("system", system_id)].add(pk)
        self.text = {pk: nb.vectors.get(pk, {}) for pk in self.ids}
        self.meaning = nb.meaning
        self.known = known

    def _meaning_rows(self, pks):
        rows = self.meaning.row_of if self.meaning is not None else {}
        return [rows.get(pk) for pk in pks]

    def similarity(self, a, b, meaning=None, words=None):
        """0..1: how alike two incidents are, from their wording (the TF-IDF cosine, given as
        `words` when already known; averaged with the embedding cosine when `meaning` is
        given), tags, what acted and systems."""
        if words is None:
            va, vb = self.text[a], self.text[b]
            if len(vb) < len(va):
                va, vb = vb, va
            words = sum(weight * vb.get(term, 0.0) for term, weight in va.items())
        if meaning is not None:
            words = (words + max(0.0, meaning - MEANING_FLOOR) / (1 - MEANING_FLOOR)) / 2
        words = min(words, 1.0)
        # Tags and what acted confirm wording that is alike rather than stand for it: one
        # coarse failure mode shared by hundreds of otherwise unrelated incidents would
        # otherwise be a group.
        confirmed = min(1.0, words / TAG_WORDING)
        # A signal only one of the two carries says nothing either way (most imported
        # incidents have no tags of these facets, what acted or systems): it is left out
        # and the rest weighed up, rather than counted as a difference.
        score, weights = TEXT_WEIGHT * words, TEXT_WEIGHT
        if self.tags[a] and self.tags[b]:
            score += TAG_WEIGHT * self._tags_alike(self.tags[a], self.tags[b]) * confirmed
            weights += TAG_WEIGHT
        if self.systems[a] and self.systems[b]:
            score += SYSTEM_WEIGHT * _jaccard(self.systems[a], self.systems[b])
            weights += SYSTEM_WEIGHT
        if self.perpetrator[a] and self.perpetrator[b]:
            if self.perpetrator[a] == self.perpetrator[b]:
                score += PERPETRATOR_WEIGHT * min(1.0, words / PERPETRATOR_WORDING)
            weights += PERPETRATOR_WEIGHT
        return score / weights

    @cached_property
    def tag_weight(self):
        """A tag held by few incidents says more than one nearly all of them carry."""
        total = len(self.ids) + 1
        return {
            key[1]: math.log(total / len(held))
            for key, held in self.holders.items()
            if key[0] == "tag"
        }

    def _tags_alike(self, a, b):
        shared = a & b
        if not shared:
            return 0.0
        weight = self.tag_weight
        return sum(weight[t] for t in shared) / sum(weight[t] for t in a | b)

    def _word_matrix(self):
        """The incidents' TF-IDF vectors over the informative words, a sparse row each (in
        the order of `ids`)."""
        vocabulary = {}
        for term, held in self.neighbourhood.postings.items():
            if len(held) <= COMMON_HOLDERS:
                vocabulary[term] = len(vocabulary)
        rows, columns, values = [], [], []
        for row, pk in enumerate(self.ids):
            for term, weight in self.text[pk].items():
                column = vocabulary.get(term)
                if column is not None:
                    rows.append(row)
                    columns.append(column)
                    values.append(weight)
        return scipy.sparse.csr_matrix(
            (values, (rows, columns)), shape=(len(self.ids), len(vocabulary))
        )

    def nearest(self, of=None):
        """{incident: [(similarity, other)]}: each incident's closest few (of those in `of`,
        or of all), best first.

        The candidates for each are the incidents most alike in wording (over the informative
        words only: the common ones add little and cost most), in meaning, and those sharing a
        tag or a system few incidents hold. Wording is compared a block of incidents at a time,
        as one sparse matrix product."""
        common = max(20, min(COMMON_SHARE * len(self.ids), TAG_HOLDERS))
        ids = numpy.array(self.ids)
        row_of = {pk: row for row, pk in enumerate(self.ids)}
        matrix = self._word_matrix()
        transposed = matrix.T.tocsr()
        compared = self.ids if of is None else sorted(self.known.intersection(of))
        found = {}
        for start in range(0, len(compared), COMPARE_BLOCK):
            block = compared[start : start + COMPARE_BLOCK]
            products = (matrix[[row_of[pk] for pk in block]] @ transposed).tocsr()
            products.sort_indices()
            alike = (
                self.meaning.neighbours(block, floor=MEANING_FLOOR)
                if self.meaning is not None
                else {}
            )
            for offset, pk in enumerate(block):
                lo, hi = products.indptr[offset], products.indptr[offset + 1]
                columns, values = products.indices[lo:hi], products.data[lo:hi]
                top = (
                    numpy.argpartition(-values, WORD_CANDIDATES)[:WORD_CANDIDATES]
                    if len(values) > WORD_CANDIDATES
                    else slice(None)
                )
                candidates = set(ids[columns[top]].tolist())
                meaning = alike.get(pk, {})
                candidates.update(heapq.nlargest(MEANING_CANDIDATES, meaning, key=meaning.get))
                for key in [("tag", t) for t in self.tags[pk]] + [
                    ("system", s) for s in self.systems[pk]
                ]:
                    if len(self.holders[key]) <= common:
                        candidates.update(self.holders[key])
                candidates &= self.known
                candidates.discard(pk)
                others = sorted(candidates)
                rows = numpy.array([row_of[other] for other in others], dtype=columns.dtype)
                at = numpy.minimum(numpy.searchsorted(columns, rows), max(len(columns) - 1, 0))
                words = (
                    numpy.where(columns[at] == rows, values[at], 0.0).tolist()
                    if len(columns)
                    else [0.0] * len(others)
                )
                scored = (
                    (
                        self.similarity(
                            pk, other, meaning.get(other, 0.0) if alike else None, word
                        ),
                        other,
                    )
                    for other, word in zip(others, words, strict=True)
                )
                best = sorted(
                    (item for item in scored if item[0] >= MIN_SIMILARITY),
                    key=lambda item: (-item[0], item[1]),
                )
                found[pk] = best[:NEIGHBOURS]
        return found

    def coherence(self, members):
        """Mean similarity of the pairs of members (of a sample of them, in a large group)."""
        sample = sorted(members)[:COHERENCE_SAMPLE]
        meaning = None
        if self.meaning is not None:
            rows = self._meaning_rows(sample)
            if None not in rows:
                meaning = self.meaning.matrix[rows] @ self.meaning.matrix[rows].T
        total, pairs = 0.0, 0
        for i, a in enumerate(sample):
            for j in range(i + 1, len(sample)):
                cosine = float(meaning[i, j]) if meaning is not None else None
                total += self.similarity(a, sample[j], cosine)
                pairs += 1
        return round(total / pairs, 3) if pairs else 0.0

    @cached_property
    def document_frequency(self):
        return Counter(term for pk in self.ids for term in self.text[pk])

    def distinguishing_terms(self, members):
        """The words far more common in these incidents than in the rest, most telling first:
        each word's mean weight in the members' wording, times how much likelier it is in
        them than elsewhere."""
        weight, inside = Counter(), Counter()
        for pk in members:
            for term, value in self.text[pk].items():
                weight[term] += value
                inside[term] += 1
        size, rest = len(members), max(len(self.ids) - len(members), 1)
        least = 2 if size > 2 else 1
        scores = {}
        for term, n in inside.items():
            here = n / size
            elsewhere = (self.document_frequency[term] - n + 1) / (rest + 2)
            if n >= least and here > elsewhere:
                scores[term] = weight[term] / size * math.log(here / elsewhere)
        return sorted(scores, key=lambda term: (-scores[term], term))[:STORED_TERMS]

    def failure_mode(self, members):
        counts = Counter(
            self.failure_modes[tag_id]
            for pk in members
            for tag_id in self.tags[pk]
            if tag_id in self.failure_modes
        )
        if not counts:
            return None
        return min(counts, key=lambda name: (-counts[name], name))


def _jaccard(a, b):
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def cap_for(count):
    """The most incidents one group may hold, out of `count` grouped."""
    return max(math.floor(CAP_SHARE * count), CAP_FLOOR)


def _louvain(graph, resolution):
    return [
        set(community)
        for community in networkx.community.louvain_communities(
            graph, weight="weight", resolution=resolution, seed=SEED
        )
    ]


def _bounded(graph, nodes, cap, resolution=RESOLUTION):
    """These nodes as communities of at most `cap`. A community a little over the cap loses
    its least attached members; a larger one is split again at a higher resolution."""
    if len(nodes) <= cap:
        return [nodes]
    subgraph = graph.subgraph(nodes)
    if len(nodes) > TRIM_LIMIT * cap:
        for _ in range(MAX_SPLITS):
            resolution *= RESOLUTION_STEP
            parts = _louvain(subgraph, resolution)
            if len(parts) > 1:
                return [
                    bounded for part in parts for bounded in _bounded(graph, part, cap, resolution)
                ]
    return [_trimmed(subgraph, cap)]


def _trimmed(subgraph, cap):
    """The `cap` members left after taking away, one at a time, the least attached."""
    kept = set(subgraph)
    strength = dict(subgraph.degree(weight="weight"))
    while len(kept) > cap:
        weakest = min(kept, key=lambda pk: (strength[pk], -pk))
        kept.discard(weakest)
        for other, edge in subgraph[weakest].items():
            strength[other] -= edge["weight"]
    return kept


@dataclass
class Group:
    members: set
    coherence: float = 0.0
    terms: list = field(default_factory=list)
    name: str = ""


def groups(signals=None):
    """The groups of published incidents that make a pattern: at least three incidents (or
    two much alike), seen at two or more organisations, none larger than the cap."""
    if signals is None:
        signals = Signals(Incident.objects.reviewed().values_list("pk", flat=True))
    graph = networkx.Graph()
    graph.add_nodes_from(signals.ids)
    for pk, best in signals.nearest().items():
        for similarity, other in best:
            if not graph.has_edge(pk, other):
                graph.add_edge(pk, other, weight=similarity)
    linked = [pk for pk in graph if graph.degree(pk)]
    cap = cap_for(len(linked))
    communities = [
        bounded
        for community in _louvain(graph.subgraph(linked), RESOLUTION)
        for bounded in _bounded(graph, community, cap)
    ]
    candidates = [
        c
        for c in communities
        if len(c) >= MIN_CLUSTER_SIZE or (len(c) == 2 and signals.similarity(*c) >= PAIR_SIMILARITY)
    ]
    organisations = defaultdict(set)
    # People and groups harmed are not organisations a pattern is seen at.
    for incident_id, organisation_id in IncidentOrganisation.objects.filter(
        incident__in=[pk for c in candidates for pk in c],
        organisation__in=Organisation.objects.ranked(),
    ).values_list("incident_id", "organisation_id"):
        organisations[incident_id].add(organisation_id)
    return [
        Group(members=community)
        for community in sorted(candidates, key=min)
        if len(set().union(*(organisations[pk] for pk in community))) >= MIN_ORGANISATIONS
    ]


def describe(signals, members):
    """(coherence, terms, suggested name) of a group of incidents."""
    known = [pk for pk in members if pk in signals.known]
    if not known:
        return 0.0, [], "Unnamed pattern"
    terms = signals.distinguishing_terms(known)
    mode = signals.failure_mode(known)
    words = ", ".join(terms[:NAME_TERMS])
    name = ": ".join(part for part in (mode, words) if part) or "Unnamed pattern"
    name = name[:1].upper() + name[1:]
    return signals.coherence(known), terms, name[:200]


def _matched(found, current):
    """{group index: cluster id}: each group paired with the existing cluster holding most of
    its incidents, one cluster to one group, largest overlaps first."""
    pairs = []
    for index, group in enumerate(found):
        overlap = Counter(current[pk] for pk in group.members if pk in current)
        pairs.extend((-n, cluster_id, index) for cluster_id, n in overlap.items())
    matched, taken = {}, set()
    for _, cluster_id, index in sorted(pairs):
        if index not in matched and cluster_id not in taken:
            matched[index] = cluster_id
            taken.add(cluster_id)
    return matched


def _window():
    """(ids, first): the published incidents grouped together, the newest GROUPING_LIMIT of
    them, and the lowest id among them when older ones are left as they are (else None)."""
    reviewed = Incident.objects.reviewed().order_by("-pk").values_list("pk", flat=True)
    ids = list(reviewed[: GROUPING_LIMIT + 1])
    if len(ids) <= GROUPING_LIMIT:
        return ids, None
    ids = ids[:GROUPING_LIMIT]
    return ids, ids[-1]


@transaction.atomic
def clusters_recompute():
    """Regroup the published incidents (the newest GROUPING_LIMIT; older ones keep their
    patterns). Each new group takes over the existing cluster that holds most of it, so an
    editor's name stays with its pattern; incidents an editor merged or split into a cluster
    stay there while they still belong to some group; a group with no cluster yet becomes a
    new one under a suggested name. Returns the number of clusters with members regrouped."""
    window, first = _window()
    signals = Signals(window, alone=first is not None)
    found = groups(signals)
    in_window = PatternClusterMember.objects.all()
    if first is not None:
        in_window = in_window.filter(incident_id__gte=first)
    current = dict(in_window.values_list("incident_id", "cluster_id"))
    curated = set(PatternCluster.objects.filter(curated=True).values_list("pk", flat=True))
    grouped = {pk for group in found for pk in group.members}
    assigned = {pk: current[pk] for pk in grouped if current.get(pk) in curated}
    matched = _matched(found, current)
    for index, group in enumerate(found):
        cluster_id = matched.get(index)
        if cluster_id is None:
            cluster_id = PatternCluster.objects.create(name="Unnamed pattern").pk
        for pk in group.members:
            assigned.setdefault(pk, cluster_id)

    in_window.exclude(incident__in=assigned).delete()
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
    changed = bool(moved) or len(current.keys() - assigned.keys()) > 0
    for cluster in PatternCluster.objects.filter(pk__in=members):
        coherence, terms, name = describe(signals, members[cluster.pk])
        if cluster.is_named:
            name = cluster.name
        if (cluster.name, cluster.coherence, cluster.terms) != (name, coherence, terms):
            cluster.name, cluster.coherence, cluster.terms = name, coherence, terms
            cluster.save(update_fields=["name", "coherence", "terms", "updated_at"])
            changed = True
    if changed:
        # Public pages are cached until a cluster changes; a member leaving is a change too.
        PatternCluster.objects.filter(pk__in=members).update(updated_at=timezone.now())
    return len(members)


def clusters_follow(incident_ids):
    """After these incidents' related lists were stored: on a base within GROUPING_LIMIT, a
    regroup (at most one per PATTERNS_RECOMPUTE_SECONDS); beyond, these incidents placed."""
    if not Incident.objects.reviewed().more_than(GROUPING_LIMIT):
        queueing.pattern_clusters()
        return 0
    return clusters_place(incident_ids)


def _placement(neighbours, cluster_of, sizes, cap, current=None):
    """The cluster holding at least PLACEMENT_VOTES of these neighbours whose links score
    most, while it has room (or is `current`, the one the incident is in); None when no
    cluster does."""
    votes, held = Counter(), Counter()
    for score, other in neighbours:
        cluster_id = cluster_of.get(other)
        if cluster_id is not None:
            votes[cluster_id] += score
            held[cluster_id] += 1
    eligible = [c for c in votes if held[c] >= PLACEMENT_VOTES and (c == current or sizes[c] < cap)]
    return min(eligible, key=lambda c: (-votes[c], c), default=None)


@transaction.atomic
def clusters_place(incident_ids):
    """Place each of these incidents (changed by a save or an import) by its closest few
    among the newest GROUPING_LIMIT, compared as the regroup compares them: into the pattern
    most of them belong to, out of the one it was in when
    too few of them are there any longer, out of every pattern once it is no longer
    published. Incidents an editor put in a cluster stay there while published. New patterns
    among them wait for the regroup. Returns how many incidents changed pattern."""
    ids = set(incident_ids)
    published = set(Incident.objects.reviewed().filter(pk__in=ids).values_list("pk", flat=True))
    window, _ = _window()
    # About the cap the regroup gives the clusters it makes among the newest.
    cap = cap_for(len(window))
    # Compared as the regroup compares them, with the incidents it would group.
    signals = Signals(set(window) | published, alone=True)
    closest = signals.nearest(of=published)
    around = ids | {other for best in closest.values() for _, other in best}
    cluster_of = dict(
        PatternClusterMember.objects.filter(incident__in=around).values_list(
            "incident_id", "cluster_id"
        )
    )
    reached = set(cluster_of.values())
    sizes = Counter(
        dict(
            PatternClusterMember.objects.filter(cluster__in=reached)
            .values("cluster")
            .annotate(n=Count("pk"))
            .values_list("cluster", "n")
        )
    )
    curated = set(
        PatternCluster.objects.filter(pk__in=reached, curated=True).values_list("pk", flat=True)
    )
    placed = {}
    for pk in ids:
        current = cluster_of.get(pk)
        if pk not in published:
            placed[pk] = None
        elif current in curated:
            placed[pk] = current
        else:
            placed[pk] = _placement(closest.get(pk, ()), cluster_of, sizes, cap, current)
            if placed[pk] is not None and placed[pk] != current:
                sizes[placed[pk]] += 1
    moved = {pk: cluster for pk, cluster in placed.items() if cluster_of.get(pk) != cluster}
    PatternClusterMember.objects.filter(incident__in=moved).delete()
    PatternClusterMember.objects.bulk_create(
        [
            PatternClusterMember(incident_id=pk, cluster_id=cluster)
            for pk, cluster in moved.items()
            if cluster is not None
        ]
    )
    touched = {cluster_of.get(pk) for pk in moved} | set(moved.values())
    touched.discard(None)
    PatternCluster.objects.filter(
        pk__in=touched, members__isnull=True, named_by__isnull=True
    ).delete()
    # Public pages are cached until a cluster changes; a member leaving is a change too.
    PatternCluster.objects.filter(pk__in=touched).update(updated_at=timezone.now())
    return len(moved)


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
    cluster.curated = True
    cluster.save(update_fields=["curated", "updated_at"])
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
    new = PatternCluster.objects.create(name=name, named_by=by, curated=True)
    PatternClusterMember.objects.filter(cluster=cluster, incident__in=ids).update(cluster=new)
    cluster.curated = True
    cluster.save(update_fields=["curated", "updated_at"])
    return new
