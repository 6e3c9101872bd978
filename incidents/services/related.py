"""Similar incidents: for each incident, the others most like it, by shared tags and
organisations, the same kind of perpetrator, TF-IDF similarity of their wording and, when
matching by meaning is on, the cosine of their sentence embeddings. Stored as RelatedIncident
rows by a worker after each save, read by the incident page and the API."""

import heapq
import math
import time
from collections import Counter, defaultdict
from typing import NamedTuple

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import F, Max, Min, OuterRef, Q

from incidents import facet_counts, semantic, text
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


def _score(tags, organisations, similarity, alike, same_perpetrator):
    """How alike two incidents are, from what they share: the one formula every path uses."""
    score = TAG_WEIGHT * tags + ORGANISATION_WEIGHT * organisations + TEXT_WEIGHT * similarity
    if alike:
        score += MEANING_WEIGHT * (alike - MEANING_MIN_SIMILARITY) / (1 - MEANING_MIN_SIMILARITY)
    if same_perpetrator:
        score += PERPETRATOR_WEIGHT
    return score


class Neighbourhood:
    """What related scoring needs about every incident (or only these, with their word
    rarity counted among them), loaded in a few queries, so one incident or all of them are
    scored in memory by the same code."""

    def __init__(self, incident_ids=None):
        self.tags_of = defaultdict(set)
        self.organisations_of = defaultdict(set)
        self.holders = defaultdict(set)
        tag_links = Incident.tags.through.objects.all()
        organisation_links = IncidentOrganisation.objects.all()
        incidents = Incident.objects.all()
        if incident_ids is not None:
            tag_links = tag_links.filter(incident__in=incident_ids)
            organisation_links = organisation_links.filter(incident__in=incident_ids)
            incidents = incidents.filter(pk__in=incident_ids)
        for incident_id, tag_id in tag_links.values_list("incident_id", "tag_id"):
            self.tags_of[incident_id].add(tag_id)
            self.holders[("tag", tag_id)].add(incident_id)
        for incident_id, organisation_id in organisation_links.values_list(
            "incident_id", "organisation_id"
        ):
            self.organisations_of[incident_id].add(organisation_id)
            self.holders[("organisation", organisation_id)].add(incident_id)
        self.perpetrator_of = {}
        counts = {}
        for pk, perpetrator_id, title, summary in incidents.values_list(
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
            score = _score(
                shared_tags[other],
                shared_organisations[other],
                similarity,
                alike,
                bool(perpetrator_id) and self.perpetrator_of.get(other) == perpetrator_id,
            )
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


# A tag or organisation held by more than this share of incidents (and more than
# COMMON_LINK_HOLDERS of them) finds no candidates, as a common word finds none: it still counts
# for the candidates found otherwise.
COMMON_LINK_SHARE = 0.02
COMMON_LINK_HOLDERS = 1000
# The facet of the list's kept counts that counts each kind of link's holders.
LINK_FACETS = {"tag_id": "tag", "organisation_id": "organisation"}
# Bounds of one incident's candidate query: incidents sharing the most rare tags, organisations,
# telling words and meaning. Each is then scored in full, so a bound only decides who is scored.
LINK_CANDIDATES = 300
# Beyond TEXT_EXACT_LIMIT incidents, the links looked for are held by this many, together.
LINK_QUERY_MATCHES = 10_000
TEXT_CANDIDATES = 200
TEXT_QUERY_TERMS = 12
# Words used by more incidents than this, together, would make the text query rank them all.
TEXT_QUERY_MATCHES = 1000
MEANING_CANDIDATES = 100
# Up to this many incidents, word frequencies are counted over all of them (and their telling
# words indexed in memory, about 6 KB an incident); beyond it, estimated from an evenly spread
# sample of this many, kept by the process for WORDING_LIFETIME seconds.
TEXT_EXACT_LIMIT = 10_000
TEXT_SAMPLE_WINDOWS = 20
WORDING_LIFETIME = 3600
# Incidents whose text vectors a pass keeps at once (about 3 KB each).
SEEN_LIMIT = 10_000
# Incidents scored and stored per transaction by the passes over many.
RECOMPUTE_BATCH = 200


class Wording:
    """How often each word of incident text is used, exact on a small base and estimated from a
    sample on a large one, and the TF-IDF vectors made from it: the text part of `_scores`
    without holding every incident's text."""

    def __init__(self):
        self.total = Incident.objects.count()
        self.exact = self.total <= TEXT_EXACT_LIMIT
        rows = Incident.objects.values_list("pk", "title", "summary")
        if not self.exact:
            rows = self._sample(rows)
        self.frequency = Counter()
        self.vectors = {}
        terms_of = {}
        for pk, title, summary in rows.iterator(chunk_size=2000):
            terms = _terms(title, summary)
            self.frequency.update(terms.keys())
            if self.exact:
                terms_of[pk] = terms
        self.scale = 1.0 if self.exact else self.total / max(1, self._sampled)
        self.common = max(20, COMMON_WORD_SHARE * self.total)
        self.postings = defaultdict(list)
        for pk, terms in terms_of.items():
            self.vectors[pk] = self.vector(terms)
            for term in self.vectors[pk]:
                if self.frequency[term] <= self.common:
                    self.postings[term].append(pk)
        self.made = time.monotonic()

    def _sample(self, rows):
        """Windows of consecutive ids spread evenly over the base: index range scans."""
        bounds = Incident.objects.aggregate(low=Min("pk"), high=Max("pk"))
        width = max(1, TEXT_EXACT_LIMIT // TEXT_SAMPLE_WINDOWS)
        step = max(width, (bounds["high"] - bounds["low"] + 1) // TEXT_SAMPLE_WINDOWS)
        windows = Q()
        for start in range(bounds["low"], bounds["high"] + 1, step):
            windows |= Q(pk__gte=start, pk__lt=start + width)
        sample = rows.filter(windows)
        self._sampled = sample.count()
        return sample

    def document_frequency(self, term):
        return max(1.0, self.frequency.get(term, 0) * self.scale)

    def vector(self, terms):
        """Unit TF-IDF weights of these term counts; a word in every incident says nothing."""
        # document_frequency written out, with locals: this runs for every candidate.
        weights, total, scale, counted, log = {}, self.total, self.scale, self.frequency, math.log
        for term, n in terms.items():
            frequency = max(1.0, counted.get(term, 0) * scale)
            if frequency < total:
                weights[term] = (1 + log(n)) * log(total / frequency)
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {term: w / norm for term, w in weights.items()}

    def informative(self, term):
        return self.document_frequency(term) <= self.common

    def similarity(self, vector, other):
        return sum(
            weight * other[term]
            for term, weight in vector.items()
            if term in other and self.informative(term)
        )

    def text_candidates(self, incident_id, vector, limit=TEXT_CANDIDATES):
        """Incidents using this incident's informative words: all of them on a small base, the
        best `limit` matches of its most telling words on a large one."""
        if self.exact:
            found = set()
            for term in vector:
                found.update(self.postings.get(term, ()))
            found.discard(incident_id)
            return found
        telling, matches = [], 0
        for term in sorted(vector, key=lambda t: -vector[t]):
            frequency = self.document_frequency(term)
            if self.informative(term) and matches + frequency <= TEXT_QUERY_MATCHES:
                telling.append(term)
                matches += frequency
            if len(telling) == TEXT_QUERY_TERMS:
                break
        if not telling:
            return set()
        others = Incident.objects.exclude(pk=incident_id)
        if connection.vendor == "postgresql":
            query = SearchQuery(" | ".join(telling), search_type="raw", config="english")
            others = (
                others.filter(search_vector=query)
                .annotate(rank=SearchRank(F("search_vector"), query))
                .order_by("-rank", "pk")
            )
        else:
            words = Q()
            for term in telling:
                words |= Q(title__icontains=term)
            others = others.filter(words).order_by("-pk")
        return set(others.values_list("pk", flat=True)[:limit])


def _terms(title, summary):
    return Counter(text.terms(title) * TITLE_REPEAT + text.terms(summary))


_wording = {"current": None}


def wording():
    """A `Wording` of the base as it is: counted afresh on a small base, where one more
    incident changes every weight; on a large one, a sample kept for a while."""
    current = _wording["current"]
    if current is not None and time.monotonic() - current.made < WORDING_LIFETIME:
        return current
    current = Wording()
    _wording["current"] = None if current.exact else current
    return current


def _facts(pks):
    """(pk, perpetrator id, title, summary, tag ids, organisation ids) of these incidents: on
    PostgreSQL one row each, the links gathered into arrays."""
    tag_links = Incident.tags.through.objects.order_by()
    organisation_links = IncidentOrganisation.objects.order_by()
    incidents = Incident.objects.filter(pk__in=pks)
    fields = ("pk", "perpetrator_id", "title", "summary")
    if connection.vendor == "postgresql":
        yield from incidents.annotate(
            tag_ids=ArraySubquery(tag_links.filter(incident_id=OuterRef("pk")).values("tag_id")),
            organisation_ids=ArraySubquery(
                organisation_links.filter(incident_id=OuterRef("pk")).values("organisation_id")
            ),
        ).values_list(*fields, "tag_ids", "organisation_ids")
        return
    tags, organisations = defaultdict(list), defaultdict(list)
    for incident_id, tag_id in tag_links.filter(incident_id__in=pks).values_list(
        "incident_id", "tag_id"
    ):
        tags[incident_id].append(tag_id)
    for incident_id, organisation_id in organisation_links.filter(incident_id__in=pks).values_list(
        "incident_id", "organisation_id"
    ):
        organisations[incident_id].append(organisation_id)
    for row in incidents.values_list(*fields):
        yield (*row, tags[row[0]], organisations[row[0]])


class Known(NamedTuple):
    """What scoring needs of one incident."""

    perpetrator_id: int | None
    vector: dict
    tags: set
    organisations: set


class Candidates:
    """Related incidents of one incident at a time from indexed queries: the incidents sharing
    its rare tags and organisations, its telling words or its meaning, a few hundred at most,
    scored as `Neighbourhood` scores every incident."""

    def __init__(self, words=None):
        self.words = words or wording()
        self.meaning = semantic.vectors() if semantic.enabled() else None
        self.common_links = max(COMMON_LINK_HOLDERS, COMMON_LINK_SHARE * self.words.total)
        self._link_holders = {}
        self._seen = {}
        self._alike = {}

    def _known(self, pks):
        """{pk: Known} of these incidents, remembered for the next incidents of a batch,
        which share many candidates."""
        if len(self._seen) > SEEN_LIMIT:
            self._seen = {}
        missing = [pk for pk in pks if pk not in self._seen]
        for start in range(0, len(missing), 2000):
            for pk, perpetrator_id, title, summary, tags, organisations in _facts(
                missing[start : start + 2000]
            ):
                vector = self.words.vectors.get(pk) or self.words.vector(_terms(title, summary))
                self._seen[pk] = Known(perpetrator_id, vector, set(tags), set(organisations))
        return {pk: self._seen[pk] for pk in pks if pk in self._seen}

    def alike_in_meaning(self, pks):
        """{pk: {other: cosine}} of the closest few by meaning from the floor up, a block of
        matrix products for many incidents."""
        if self.meaning is None:
            return {pk: {} for pk in pks}
        return {
            pk: dict(heapq.nlargest(MEANING_CANDIDATES, alike.items(), key=lambda item: item[1]))
            for pk, alike in self.meaning.neighbours(pks, floor=MEANING_MIN_SIMILARITY).items()
        }

    def _holders(self, through, field, mine):
        """{link: incidents holding it} of these links, remembered (an import's incidents
        share many): read from the kept facet counts where they are built, counted otherwise
        no further than `common_links` + 1."""
        unknown = [link for link in mine if (field, link) not in self._link_holders]
        kept = facet_counts.holders(LINK_FACETS[field], unknown) if unknown else None
        for link in unknown:
            if kept is not None:
                holders = kept[link]
            else:
                held = through.objects.filter(**{field: link}).values("incident_id")
                holders = held[: int(self.common_links) + 1].count()
            self._link_holders[(field, link)] = holders
        return {link: self._link_holders[(field, link)] for link in mine}

    def _telling_links(self, tags, organisations):
        """(tags, organisations) to look for: those held by no more than `common_links`
        incidents; on a large base, the rarest of them while the incidents holding them add up
        to no more than LINK_QUERY_MATCHES (the rarest one at least), as for words."""
        held = [
            (holders, field, link)
            for field, through, mine in (
                ("tag_id", Incident.tags.through, tags),
                ("organisation_id", IncidentOrganisation, organisations),
            )
            for link, holders in self._holders(through, field, mine).items()
            if holders <= self.common_links
        ]
        chosen, matches = {"tag_id": [], "organisation_id": []}, 0
        for holders, field, link in sorted(held):
            if not self.words.exact and matches and matches + holders > LINK_QUERY_MATCHES:
                break
            chosen[field].append(link)
            matches += holders
        return chosen["tag_id"], chosen["organisation_id"]

    def _link_candidates(self, incident_id, tags, organisations):
        """The incidents whose shared telling tags and organisations weigh the most in their
        score: one ranking of both, so the bound keeps those that rank best by the two
        together."""
        tags, organisations = self._telling_links(tags, organisations)
        parts, params = [], []
        for table, column, weight, links in (
            (Incident.tags.through._meta.db_table, "tag_id", TAG_WEIGHT, tags),
            (
                IncidentOrganisation._meta.db_table,
                "organisation_id",
                ORGANISATION_WEIGHT,
                organisations,
            ),
        ):
            if links:
                # DISTINCT: an organisation counts once, whatever the roles it had.
                parts.append(
                    f"SELECT DISTINCT incident_id, {column}, %s AS weight FROM {table} "
                    f"WHERE {column} IN ({', '.join(['%s'] * len(links))}) AND incident_id <> %s"
                )
                params += [weight, *links, incident_id]
        if not parts:
            return set()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT incident_id FROM ({' UNION ALL '.join(parts)}) shared "
                f"GROUP BY incident_id ORDER BY SUM(weight) DESC, incident_id LIMIT %s",
                [*params, LINK_CANDIDATES],
            )
            return {row[0] for row in cursor.fetchall()}

    def _scores(self, incident_id):
        """[(score, other, shared tags, shared organisations, text similarity, meaning
        similarity)], unsorted, as `Neighbourhood._scores`."""
        own = self._known([incident_id]).get(incident_id)
        if own is None:
            return []
        perpetrator_id, vector, tags, organisations = own
        candidates = self._link_candidates(incident_id, tags, organisations)
        worded = self.words.text_candidates(incident_id, vector)
        meaning = self._alike.pop(incident_id, None)
        if meaning is None:
            meaning = self.alike_in_meaning([incident_id]).pop(incident_id)
        known = self._known(sorted(candidates | worded | meaning.keys()))
        text_of = {}
        for other in worded:
            if other in known:
                similarity = self.words.similarity(vector, known[other].vector)
                if similarity >= TEXT_MIN_SIMILARITY:
                    text_of[other] = similarity
        scored = candidates | text_of.keys() | meaning.keys()
        scored &= known.keys()
        scored.discard(incident_id)
        shared_tags = {other: len(tags & known[other].tags) for other in scored}
        shared_organisations = {
            other: len(organisations & known[other].organisations) for other in scored
        }
        scores = []
        for other in scored:
            similarity = text_of.get(other, 0.0)
            if not similarity and other in candidates:
                similarity = self.words.similarity(vector, known[other].vector)
                similarity = similarity if similarity >= TEXT_MIN_SIMILARITY else 0.0
            alike = meaning.get(other, 0.0)
            score = _score(
                shared_tags[other],
                shared_organisations[other],
                similarity,
                alike,
                bool(perpetrator_id) and known[other].perpetrator_id == perpetrator_id,
            )
            scores.append(
                (
                    round(score, 4),
                    other,
                    shared_tags[other],
                    shared_organisations[other],
                    similarity,
                    alike,
                    known[other].perpetrator_id,
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
                    "perpetrator_id": perpetrator_id,
                    "shared_tags": tags,
                    "shared_organisations": organisations,
                    "text_similarity": round(similarity, 4),
                    "meaning_similarity": round(alike, 4),
                },
            )
            for score, other, tags, organisations, similarity, alike, perpetrator_id in sorted(
                self._scores(incident_id), key=lambda item: (-item[0], item[1])
            )
        ]


def related_candidates(incident):
    """Other incidents sharing tags, organisations, much of their wording or their meaning,
    scored, best first, as [(score, {"pk", "perpetrator_id", "shared_tags",
    "shared_organisations", "text_similarity", "meaning_similarity"})]."""
    return Candidates().scored(incident.pk)


def _links(incident_id, scores):
    """The RelatedIncident rows to store for this incident: its best few."""
    best = heapq.nsmallest(RELATED_LIMIT, scores, key=lambda item: (-item[0], item[1]))
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


@transaction.atomic
def _store(candidates, incident_ids):
    """Replace the stored lists of these incidents; returns {pk: its scores}."""
    candidates._known(incident_ids)
    candidates._alike = candidates.alike_in_meaning(incident_ids)
    scores_of = {pk: candidates._scores(pk) for pk in incident_ids}
    RelatedIncident.objects.filter(incident_id__in=list(incident_ids)).delete()
    RelatedIncident.objects.bulk_create(
        (link for pk, scores in scores_of.items() for link in _links(pk, scores)),
        batch_size=2000,
    )
    return scores_of


def _batches(ids, size=RECOMPUTE_BATCH):
    ids = sorted(ids)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def related_incidents_recompute(*, incident, cascade=True):
    """Store the incidents most related to this one; with cascade, refresh its neighbours too,
    since their lists may now include or drop this incident."""
    if cascade:
        related_incidents_recompute_many([incident.pk])
    else:
        _store(Candidates(), [incident.pk])


@transaction.atomic
def _lists_entered(scores_of, changed, listing):
    """Enter the changed incidents into the stored lists of their candidates where they now
    rank, and return those lists' owners. Scores are symmetric and the other links of such a
    list did not change, so the list keeps its best links with the changed ones among them;
    only the lists that held a changed incident (`listing`) need computing afresh."""
    entries = defaultdict(list)
    for pk, scores in scores_of.items():
        for score, other, tags, organisations, *_ in scores:
            if other not in changed and other not in listing:
                entries[other].append((score, pk, tags, organisations))
    entered = set()
    for others in _batches(entries, 2000):
        kept = defaultdict(list)
        for link_id, owner, related_id, score in RelatedIncident.objects.filter(
            incident_id__in=others
        ).values_list("pk", "incident_id", "related_id", "score"):
            kept[owner].append((score, related_id, link_id))
        dropped, added = [], []
        for other in others:
            links = kept[other] + [(score, pk, None) for score, pk, *_ in entries[other]]
            best = heapq.nsmallest(RELATED_LIMIT, links, key=lambda item: (-item[0], item[1]))
            new = {pk for _, pk, link_id in best if link_id is None}
            if not new:
                continue
            entered.add(other)
            best_links = {link_id for *_, link_id in best if link_id is not None}
            dropped += [link_id for *_, link_id in kept[other] if link_id not in best_links]
            added += [
                RelatedIncident(
                    incident_id=other,
                    related_id=pk,
                    score=score,
                    shared_tags=tags,
                    shared_organisations=organisations,
                )
                for score, pk, tags, organisations in entries[other]
                if pk in new
            ]
        RelatedIncident.objects.filter(pk__in=dropped).delete()
        RelatedIncident.objects.bulk_create(added, batch_size=2000)
    return entered


def _order(score, pk):
    """Where a link ranks in a list: best first, ties by the other incident's id."""
    return (-score, pk)


@transaction.atomic
def _lists_kept(pair_scores, changed, listing):
    """Update in place the stored lists that hold a changed incident where it keeps its place,
    and return the owners of the others, which need computing afresh. A changed incident keeps
    its place in a list when it still ranks above the list's worst other link (or the list has
    room): the other links did not change, and whatever the list left out ranked below them."""
    recompute = set()
    for owners in _batches(listing, 2000):
        links_of = defaultdict(list)
        for link in RelatedIncident.objects.filter(incident_id__in=owners):
            links_of[link.incident_id].append(link)
        updated = []
        for owner in owners:
            links = links_of[owner]
            held = [link for link in links if link.related_id in changed]
            others = [
                _order(link.score, link.related_id)
                for link in links
                if link.related_id not in changed
            ]
            worst = max(others, default=None)
            full = len(links) >= RELATED_LIMIT
            fresh = [pair_scores.get((owner, link.related_id)) for link in held]
            if any(
                new is None or (full and (worst is None or _order(new[0], link.related_id) > worst))
                for link, new in zip(held, fresh, strict=True)
            ):
                recompute.add(owner)
                continue
            for link, (score, tags, organisations) in zip(held, fresh, strict=True):
                if (link.score, link.shared_tags, link.shared_organisations) != (
                    score,
                    tags,
                    organisations,
                ):
                    link.score, link.shared_tags = score, tags
                    link.shared_organisations = organisations
                    updated.append(link)
        RelatedIncident.objects.bulk_update(
            updated, ["score", "shared_tags", "shared_organisations"], batch_size=2000
        )
    return recompute


def related_incidents_recompute_many(incident_ids):
    """Store the related lists of these incidents (changed by a save or an import) and refresh
    those of the others they may now enter or leave: a list holding one of them keeps it in
    place, rescored, where it keeps its rank, and is recomputed where it may have dropped out;
    a list with room left, or whose last link one of them now outscores, takes it in. Returns
    the ids whose lists changed or were recomputed."""
    candidates = Candidates()
    changed = set()
    for ids in _batches(set(incident_ids), 2000):
        changed.update(Incident.objects.filter(pk__in=ids).values_list("pk", flat=True))
    reached = set()
    for ids in _batches(changed, 2000):
        reached.update(
            RelatedIncident.objects.filter(related_id__in=ids).values_list("incident_id", flat=True)
        )
    reached -= changed
    entered = set()
    # Scores are symmetric: a changed incident's score with a list's owner is that link's.
    pair_scores = {}
    for ids in _batches(changed):
        scores_of = _store(candidates, ids)
        for pk, scores in scores_of.items():
            for score, other, tags, organisations, *_ in scores:
                if other in reached:
                    pair_scores[(other, pk)] = (score, tags, organisations)
        entered |= _lists_entered(scores_of, changed, reached)
    recompute = _lists_kept(pair_scores, changed, reached)
    for ids in _batches(recompute):
        _store(candidates, ids)
    return changed | reached | entered


def related_incidents_recompute_all():
    """Every incident's related list, scored as `related_candidates` does, a batch of
    incidents at a time, so memory stays that of one batch whatever the size of the base."""
    candidates = Candidates()
    after = 0
    while ids := list(
        Incident.objects.filter(pk__gt=after)
        .order_by("pk")
        .values_list("pk", flat=True)[:RECOMPUTE_BATCH]
    ):
        _store(candidates, ids)
        after = ids[-1]
