"""Similar incidents: for each incident, the others most like it, by shared tags and
organisations, the same kind of perpetrator, TF-IDF similarity of their wording and, when
matching by meaning is on, the cosine of their sentence embeddings. Stored as RelatedIncident
rows by a worker after each save, read by the incident page and the API."""

import heapq
import math
from collections import Counter, defaultdict

from django.db import transaction

from incidents import semantic, text
from incidents.models import Incident, IncidentOrganisation, RelatedIncident

RELATED_LIMIT = 10
# A shared organisation says more about a recurring pattern than one shared tag.
ORGANISATION_WEIGHT = 2.0
TAG_WEIGHT = 1.0
PERPETRATOR_WEIGHT = 1.0
# Text similarity (TF-IDF cosine of title and summary, 0..1) is what recognises the same
# incident told by two datasets, whose tags come from different vocabularies.
TEXT_WEIGHT = 10.0
TEXT_MIN_SIMILARITY = 0.1
TITLE_REPEAT = 2
# Meaning (embedding cosine, counted from the floor up, 0..1) finds the same event told in
# other words, as a news headline and a dataset's title; below the floor, incidents are
# merely about the same kind of thing. Chosen on benchmarks/relevance.py's similar rows.
MEANING_WEIGHT = 20.0
MEANING_MIN_SIMILARITY = 0.4
# Words in more than this share of incidents say little and cost the most to compare.
COMMON_WORD_SHARE = 0.05


class Neighbourhood:
    """What related scoring needs about every incident, loaded in a few queries, so one
    incident or all of them are scored in memory by the same code."""

    def __init__(self):
        self.tags_of = defaultdict(set)
        self.organisations_of = defaultdict(set)
        self.holders = defaultdict(set)
        for incident_id, tag_id in Incident.tags.through.objects.values_list(
            "incident_id", "tag_id"
        ):
            self.tags_of[incident_id].add(tag_id)
            self.holders[("tag", tag_id)].add(incident_id)
        for incident_id, organisation_id in IncidentOrganisation.objects.values_list(
            "incident_id", "organisation_id"
        ):
            self.organisations_of[incident_id].add(organisation_id)
            self.holders[("organisation", organisation_id)].add(incident_id)
        self.perpetrator_of = {}
        counts = {}
        for pk, perpetrator_id, title, summary in Incident.objects.values_list(
            "pk", "perpetrator_id", "title", "summary"
        ):
            self.perpetrator_of[pk] = perpetrator_id
            counts[pk] = Counter(text.terms(title) * TITLE_REPEAT + text.terms(summary))
        self._index_text(counts)
        self.meaning = semantic.vectors() if semantic.enabled() else None
        self._alike = {}

    def _index_text(self, counts):
        """TF-IDF vectors, unit length, and an inverted index of the informative words."""
        frequency = Counter(term for terms in counts.values() for term in terms)
        total = len(counts)
        common = max(20, COMMON_WORD_SHARE * total)
        self.vectors = {}
        self.postings = defaultdict(list)
        for pk, terms in counts.items():
            weights = {
                term: (1 + math.log(n)) * math.log(total / frequency[term])
                for term, n in terms.items()
                if frequency[term] < total
            }
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            vector = {term: w / norm for term, w in weights.items()}
            self.vectors[pk] = vector
            for term, weight in vector.items():
                if frequency[term] <= common:
                    self.postings[term].append((pk, weight))

    def text_similarities(self, incident_id):
        similarity = defaultdict(float)
        for term, weight in self.vectors.get(incident_id, {}).items():
            for other, other_weight in self.postings.get(term, ()):
                similarity[other] += weight * other_weight
        return similarity

    def meaning_similarities(self, incident_id):
        """{other: cosine} of the incidents alike in meaning, from the floor up."""
        if self.meaning is None:
            return {}
        if incident_id not in self._alike:
            self._alike = self.meaning.neighbours([incident_id], floor=MEANING_MIN_SIMILARITY)
        return self._alike[incident_id]

    def in_blocks(self, incident_ids):
        """These ids, each block's meaning compared in one matrix product before it is
        scored, for a pass over many incidents."""
        ids = sorted(incident_ids)
        for start in range(0, len(ids), semantic.COMPARE_BLOCK):
            block = ids[start : start + semantic.COMPARE_BLOCK]
            if self.meaning is not None:
                self._alike = self.meaning.neighbours(block, floor=MEANING_MIN_SIMILARITY)
            yield from block

    def _scores(self, incident_id):
        """[(score, other, shared tags, shared organisations, text similarity, meaning
        similarity)], unsorted."""
        shared_tags, shared_organisations = Counter(), Counter()
        for tag_id in self.tags_of[incident_id]:
            shared_tags.update(self.holders[("tag", tag_id)])
        for organisation_id in self.organisations_of[incident_id]:
            shared_organisations.update(self.holders[("organisation", organisation_id)])
        text = {
            other: value
            for other, value in self.text_similarities(incident_id).items()
            if value >= TEXT_MIN_SIMILARITY
        }
        meaning = self.meaning_similarities(incident_id)
        perpetrator_id = self.perpetrator_of.get(incident_id)
        candidates = shared_tags.keys() | shared_organisations.keys() | text.keys() | meaning.keys()
        candidates.discard(incident_id)
        scores = []
        for other in candidates:
            similarity = text.get(other, 0.0)
            alike = meaning.get(other, 0.0)
            score = (
                TAG_WEIGHT * shared_tags[other]
                + ORGANISATION_WEIGHT * shared_organisations[other]
                + TEXT_WEIGHT * similarity
            )
            if alike:
                score += (
                    MEANING_WEIGHT * (alike - MEANING_MIN_SIMILARITY) / (1 - MEANING_MIN_SIMILARITY)
                )
            if perpetrator_id and self.perpetrator_of.get(other) == perpetrator_id:
                score += PERPETRATOR_WEIGHT
            scores.append(
                (
                    round(score, 4),
                    other,
                    shared_tags[other],
                    shared_organisations[other],
                    similarity,
                    alike,
                )
            )
        return scores

    def scored(self, incident_id):
        """[(score, row)] of the incidents related to this one, best first."""
        return [
            (
                score,
                {
                    "pk": other,
                    "perpetrator_id": self.perpetrator_of.get(other),
                    "shared_tags": tags,
                    "shared_organisations": organisations,
                    "text_similarity": round(similarity, 4),
                    "meaning_similarity": round(alike, 4),
                },
            )
            for score, other, tags, organisations, similarity, alike in sorted(
                self._scores(incident_id), key=lambda item: (-item[0], item[1])
            )
        ]

    def links(self, incident_id):
        """The RelatedIncident rows to store for this incident: its best few."""
        best = heapq.nsmallest(
            RELATED_LIMIT, self._scores(incident_id), key=lambda item: (-item[0], item[1])
        )
        return [
            RelatedIncident(
                incident_id=incident_id,
                related_id=other,
                score=score,
                shared_tags=tags,
                shared_organisations=organisations,
            )
            for score, other, tags, organisations, *_ in best
        ]


def related_candidates(incident):
    """Other incidents sharing tags, organisations, much of their wording or their meaning,
    scored, best first, as [(score, {"pk", "perpetrator_id", "shared_tags",
    "shared_organisations", "text_similarity", "meaning_similarity"})]."""
    return Neighbourhood().scored(incident.pk)


@transaction.atomic
def related_incidents_recompute(*, incident, cascade=True):
    """Store the incidents most related to this one; with cascade, refresh its neighbours too,
    since their lists may now include or drop this incident."""
    if cascade:
        related_incidents_recompute_many([incident.pk])
        return
    neighbourhood = Neighbourhood()
    RelatedIncident.objects.filter(incident=incident).delete()
    RelatedIncident.objects.bulk_create(neighbourhood.links(incident.pk))


def _lists_reaching(neighbourhood, incident_ids):
    """The incidents whose stored lists these incidents may enter or leave: those listing one
    of them now, and those scoring one of them at least as high as the last of their list
    (scores are symmetric, so one pass over each changed incident's candidates finds them)."""
    kept = defaultdict(list)
    for owner, related_id, score in RelatedIncident.objects.values_list(
        "incident_id", "related_id", "score"
    ):
        kept[owner].append((score, related_id))
    reached = {owner for owner, links in kept.items() if any(r in incident_ids for _, r in links)}
    for pk in neighbourhood.in_blocks(incident_ids):
        for score, other, *_ in neighbourhood._scores(pk):
            links = kept.get(other, ())
            if len(links) < RELATED_LIMIT or score >= min(s for s, _ in links):
                reached.add(other)
    return reached


@transaction.atomic
def related_incidents_recompute_many(incident_ids):
    """Store the related lists of these incidents (changed by a save or an import) and refresh
    those of the others they may now enter or leave, from data loaded once. Returns the ids
    whose lists were recomputed."""
    neighbourhood = Neighbourhood()
    incident_ids = {pk for pk in incident_ids if pk in neighbourhood.perpetrator_of}
    refreshed = incident_ids | _lists_reaching(neighbourhood, incident_ids)
    RelatedIncident.objects.filter(incident__in=refreshed).delete()
    RelatedIncident.objects.bulk_create(
        (link for pk in neighbourhood.in_blocks(refreshed) for link in neighbourhood.links(pk)),
        batch_size=2000,
    )
    return refreshed


@transaction.atomic
def related_incidents_recompute_all():
    """Every incident's related list, scored as `related_candidates` does, from data loaded
    once: one pass in memory instead of queries per incident."""
    neighbourhood = Neighbourhood()
    links = [
        link
        for pk in neighbourhood.in_blocks(neighbourhood.perpetrator_of)
        for link in neighbourhood.links(pk)
    ]
    RelatedIncident.objects.all().delete()
    RelatedIncident.objects.bulk_create(links, batch_size=2000)
