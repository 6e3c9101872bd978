"""Likely duplicates: the same real-world incident told twice, by two datasets, twice by one
dataset, or by a reporter filing what is already recorded. A flag is for an editor, who
merges the two or dismisses it.

Flags have one of two bases:

- **stated**: a dataset names another's record of the incident (the Agent Incident Log's
  `aiid_incident`, Awesome Agent Failures' links to AI Incident Database pages, the AIID's own
  duplicates.csv, the OECD records the AIID and the GenAI Incidents index both point at; see
  `CrossReference`). Certain: score 1, whatever the wording says. The scorer's view is kept
  beside it, so a link that points at the wrong record stands out.
- **scored**: one scorer, on the text (TF-IDF over `incidents.text`'s terms, and the cosine of
  the stored sentence embeddings when `semantic.enabled()`), how many days apart the two
  happened, the organisations (parties of kind organisation, not the people harmed) and AI
  systems both name, whether one dataset holds both, and whether each is the other's closest
  match in the other's dataset. The filing form's suggestions are ranked by the same scorer.

The weights were fitted by logistic regression on the tune half of the hand-labelled pairs in
`benchmarks/data/duplicate_pairs.csv` (`benchmarks/duplicates.py --fit` prints them again);
the benchmark reports recall and precision on the held-out half too.
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from functools import cached_property

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from incidents import semantic, text
from incidents.models import (
    CrossReference,
    Dataset,
    DuplicateFlag,
    Incident,
    IncidentOrganisation,
    Organisation,
    Provenance,
)
from incidents.services.related import wording

# A pair scoring this much or more is flagged.
THRESHOLD = 0.5
# Each incident is compared with its closest few by wording and its closest few by meaning.
CANDIDATES = 10
# Up to this many live incidents, an import's are compared with every one; beyond, with the
# POOL_CANDIDATES worded most like each, found by the search index.
EXACT_LIMIT = 20_000
POOL_CANDIDATES = 30
# Words in more than this share of incidents say little and cost the most to look up.
COMMON_WORD_SHARE = 0.05
TITLE_REPEAT = 2
# Dates count for less the further apart they are: two reports of one event are usually days
# apart, a year-precision date (AIAAIC) covers its whole year.
DAYS_SCALE = 180
# How far ahead of the runner-up the closest match may count, either way.
MARGIN_CAP = 3.0
# While filing: candidates are fetched by their longest typed words (and their meaning), then
# scored; the typed text is compared with corpus-wide word rarity cached this long.
SUGGESTION_WORDS = 6
SUGGESTION_CANDIDATES = 50
SUGGESTION_FLOOR = 0.01
STATISTICS_KEY = "duplicates:term-statistics"
STATISTICS_SECONDS = 3600


@dataclass(frozen=True)
class Weights:
    """One logistic model: the pair's alikeness (`base`) from its components, then the score
    from that and how far the pair leads each side's runner-up."""

    meaning: float
    words: float
    title_words: float
    dates: float
    undated: float
    shared: float
    same_dataset: float
    intercept: float
    base: float
    margin: float
    offset: float


# Fitted on the tune half of benchmarks/data/duplicate_pairs.csv, rounded.
WITH_MEANING = Weights(
    meaning=1.66, words=1.48, title_words=2.19, dates=1.47, undated=-1.19, shared=0.42,
    same_dataset=-1.44, intercept=-4.22, base=1.24, margin=1.30, offset=0.22,
)  # fmt: skip
WORDS_ONLY = Weights(
    meaning=0.0, words=1.65, title_words=2.31, dates=1.48, undated=-1.33, shared=0.47,
    same_dataset=-1.40, intercept=-3.33, base=1.18, margin=1.12, offset=0.18,
)  # fmt: skip


# What an incident is compared by


def span(occurred_at, precision):
    """The days an incident's date stands for: one day, its month or its year."""
    if occurred_at is None:
        return None
    # Imports store a date as midnight UTC.
    day = occurred_at.astimezone(UTC).date() if timezone.is_aware(occurred_at) else occurred_at
    if precision == Incident.Precision.YEAR:
        return date(day.year, 1, 1), date(day.year, 12, 31)
    if precision == Incident.Precision.MONTH:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)
    return day, day


def days_apart(a, b):
    """Days between two spans (0 when they overlap), None when either is unknown."""
    if a is None or b is None:
        return None
    if a[1] < b[0]:
        return (b[0] - a[1]).days
    if b[1] < a[0]:
        return (a[0] - b[1]).days
    return 0


@dataclass
class Profile:
    """What the scorer compares of an incident (or of the one being filed, with no `pk`)."""

    pk: int | None
    title: str
    summary: str = ""
    when: tuple | None = None
    organisations: set = field(default_factory=set)
    systems: set = field(default_factory=set)
    datasets: set = field(default_factory=set)
    terms: Counter = field(init=False)
    title_terms: set = field(init=False)

    def __post_init__(self):
        self.terms = Counter(text.terms(self.title) * TITLE_REPEAT + text.terms(self.summary))
        self.title_terms = set(text.terms(self.title))

    @classmethod
    def typed(cls, *, title, summary="", occurred=None, organisations=(), systems=()):
        """The incident being filed: what the form holds so far."""
        return cls(
            None,
            title,
            summary,
            when=(occurred, occurred) if occurred else None,
            organisations=set(organisations),
            systems=set(systems),
        )

    @property
    def group(self):
        """The dataset whose records compete to be this one's closest match."""
        return min(self.datasets) if self.datasets else ""


def profiles(incidents):
    """{pk: Profile} of these incidents, in four queries."""
    found = {
        row["pk"]: Profile(
            row["pk"],
            row["title"],
            row["summary"],
            when=span(row["occurred_at"], row["occurred_precision"]),
        )
        for row in incidents.values("pk", "title", "summary", "occurred_at", "occurred_precision")
    }
    for incident_id, slug in IncidentOrganisation.objects.filter(
        incident__in=incidents, organisation__kind=Organisation.Kind.ORGANISATION
    ).values_list("incident_id", "organisation__slug"):
        found[incident_id].organisations.add(slug)
    for incident_id, slug in Incident.ai_systems.through.objects.filter(
        incident__in=incidents
    ).values_list("incident_id", "aisystem__slug"):
        found[incident_id].systems.add(slug)
    for incident_id, dataset in Provenance.objects.filter(incident__in=incidents).values_list(
        "incident_id", "dataset"
    ):
        found[incident_id].datasets.add(dataset)
    return found


def live_incidents():
    return Incident.objects.filter(merged_into=None).exclude(status=Incident.Status.RETRACTED)


class TermStatistics:
    """How many incidents use each term: rare words say more than common ones."""

    def __init__(self, frequencies, total):
        self.frequencies, self.total = frequencies, total

    @classmethod
    def of(cls, all_profiles):
        frequencies = Counter(term for p in all_profiles for term in p.terms)
        return cls(frequencies, len(all_profiles))

    def idf(self, term):
        # Never 0: a word every incident uses still counts a little, as in a corpus of two.
        return math.log(1 + (self.total + 1) / (self.frequencies.get(term, 0) + 1))

    def compact(self):
        """Without the terms only one incident uses (an unseen term counts as rare anyway),
        to keep the cached copy small."""
        kept = {term: n for term, n in self.frequencies.items() if n > 1}
        return TermStatistics(kept, self.total)


def term_statistics():
    """The corpus's term statistics, cached: one more incident barely moves them."""
    statistics = cache.get(STATISTICS_KEY)
    if statistics is None:
        texts = live_incidents().values_list("title", "summary")
        statistics = TermStatistics.of([Profile(None, t, s) for t, s in texts]).compact()
        cache.set(STATISTICS_KEY, statistics, STATISTICS_SECONDS)
    return statistics


# The scorer


@dataclass
class Comparison:
    """One pair's components, their weighted sum (`base`, before the closest-match margin)
    and, once the margin is known, the score."""

    words: float
    title_words: float
    meaning: float | None
    days: int | None
    organisations: list
    systems: list
    same_dataset: bool
    base: float = 0.0
    margin: float | None = None
    score: float = 0.0

    @property
    def weights(self):
        return WORDS_ONLY if self.meaning is None else WITH_MEANING

    def contributions(self):
        """What each component added to the pair's alikeness, in the model's units."""
        w = self.weights
        parts = {
            "meaning": w.meaning * (self.meaning or 0.0),
            "words": w.words * self.words,
            "title_words": w.title_words * self.title_words,
            "dates": w.dates * math.exp(-self.days / DAYS_SCALE) if self.days is not None else 0,
            "undated": w.undated if self.days is None else 0.0,
            "shared": w.shared if self.organisations or self.systems else 0.0,
            "same_dataset": w.same_dataset if self.same_dataset else 0.0,
        }
        return {name: value for name, value in parts.items() if value}

    def finish(self, margin):
        w = self.weights
        # Within one dataset similar records of distinct events are each other's closest
        # matches: there, leading the runner-up is no evidence.
        cap = 0.0 if self.same_dataset else MARGIN_CAP
        self.margin = max(-MARGIN_CAP, min(cap, margin))
        z = w.base * self.base + w.margin * self.margin + w.offset
        self.score = 1 / (1 + math.exp(-z))
        return self

    def final_contributions(self):
        """Each component's share of the score's log-odds; with `constant` they add up."""
        w = self.weights
        parts = {name: w.base * value for name, value in self.contributions().items()}
        if self.margin:
            parts["margin"] = w.margin * self.margin
        parts["constant"] = w.base * w.intercept + w.offset
        return parts

    def evidence(self, names):
        """What the flag keeps of the comparison; `names` spells organisations' slugs."""
        data = {
            "score": round(self.score, 3),
            "threshold": THRESHOLD,
            "text": {"words": round(self.words, 3), "title_words": round(self.title_words, 3)},
            "days_apart": self.days,
            "organisations": [names.get(slug, slug) for slug in self.organisations],
            "systems": self.systems,
            "same_dataset": self.same_dataset,
            "closest_match_margin": round(self.margin, 2) if self.margin is not None else None,
            "contributions": {k: round(v, 2) for k, v in self.final_contributions().items()},
        }
        if self.meaning is not None:
            data["text"]["meaning"] = round(self.meaning, 3)
        return data

    def reason(self, names):
        parts = [f"title words {self.title_words:.0%} found in the other"]
        parts.append(f"wording alike {self.words:.2f}")
        if self.meaning is not None:
            parts.append(f"meaning alike {self.meaning:.2f}")
        if self.days is None:
            parts.append("a date is missing")
        elif self.days == 0:
            parts.append("same dates")
        else:
            parts.append(f"{self.days} days apart")
        if shared := [names.get(slug, slug) for slug in self.organisations] + self.systems:
            parts.append("both name " + ", ".join(shared[:3]))
        if self.same_dataset:
            parts.append("one dataset holds both")
        if self.margin is not None and self.margin > 0:
            parts.append("each the other's closest match")
        return "; ".join(parts)


class Scorer:
    """Every live incident's profile and text vectors, loaded once, so one incident or all of
    them are compared in memory by the same code."""

    def __init__(self, incidents=None, *, statistics=None):
        self.profiles = profiles(incidents if incidents is not None else live_incidents())
        self.statistics = statistics or TermStatistics.of(list(self.profiles.values()))
        self.vectors = {pk: self._vector(p) for pk, p in self.profiles.items()}
        self.meaning = {}
        if semantic.enabled():
            stored = semantic.vectors()
            self.meaning = {
                int(pk): stored.matrix[i] for i, pk in enumerate(stored.ids) if pk in self.profiles
            }
        self._postings = None
        self._neighbours = {}
        self._searched = set()
        self._bases = {}

    @cached_property
    def names(self):
        """{slug: name} of the organisations, for the evidence people read."""
        return dict(
            Organisation.objects.filter(kind=Organisation.Kind.ORGANISATION).values_list(
                "slug", "name"
            )
        )

    def _vector(self, profile):
        weights = {
            term: (1 + math.log(n)) * self.statistics.idf(term) for term, n in profile.terms.items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {term: w / norm for term, w in weights.items()}

    def _title_words(self, a, b):
        """The larger share, weighted by rarity, of one title's terms found in the other."""

        def found(title, other):
            total = sum(self.statistics.idf(t) for t in title)
            return sum(self.statistics.idf(t) for t in title if t in other) / total if total else 0

        return max(found(a.title_terms, b.terms), found(b.title_terms, a.terms))

    def compare(self, a, b, *, vector_a=None, meaning_a=None):
        """The components of two profiles (`a` may be a typed one, with its own vectors)."""
        vector_a = vector_a if vector_a is not None else self.vectors.get(a.pk, {})
        vector_b = self.vectors.get(b.pk, {})
        small, large = sorted((vector_a, vector_b), key=len)
        meaning_a = meaning_a if meaning_a is not None else self.meaning.get(a.pk)
        meaning_b = self.meaning.get(b.pk)
        both = meaning_a is not None and meaning_b is not None
        comparison = Comparison(
            words=sum(w * large.get(t, 0.0) for t, w in small.items()),
            title_words=self._title_words(a, b),
            meaning=float(meaning_a @ meaning_b) if both else None,
            days=days_apart(a.when, b.when),
            organisations=sorted(a.organisations & b.organisations),
            systems=sorted(a.systems & b.systems),
            same_dataset=bool(a.datasets & b.datasets),
        )
        w = comparison.weights
        comparison.base = w.intercept + sum(comparison.contributions().values())
        return comparison

    # Candidates

    @property
    def postings(self):
        """The informative terms' incidents, for finding those worded alike."""
        if self._postings is None:
            frequency = self.statistics.frequencies
            common = max(20, COMMON_WORD_SHARE * len(self.profiles))
            self._postings = defaultdict(list)
            for pk, vector in self.vectors.items():
                for term, weight in vector.items():
                    if frequency.get(term, 0) <= common:
                        self._postings[term].append((pk, weight))
        return self._postings

    def worded_alike(self, vector, *, exclude=None, limit=CANDIDATES):
        similarity = defaultdict(float)
        for term, weight in vector.items():
            for other, other_weight in self.postings.get(term, ()):
                similarity[other] += weight * other_weight
        similarity.pop(exclude, None)
        return [pk for pk, _ in sorted(similarity.items(), key=lambda x: (-x[1], x[0]))[:limit]]

    def _alike_in_meaning(self, pks):
        """{pk: its closest few by meaning}, a batch of matrix products."""
        # numpy comes with the optional requirements of matching by meaning.
        import numpy

        pks = [pk for pk in pks if pk in self.meaning]
        if not pks or len(self.meaning) < 2:
            return {}
        ids = numpy.fromiter(self.meaning, dtype=numpy.int64)
        matrix = numpy.vstack(list(self.meaning.values()))
        row = {int(pk): i for i, pk in enumerate(ids)}
        limit = min(CANDIDATES + 1, len(ids))
        found = {}
        for start in range(0, len(pks), 256):
            batch = pks[start : start + 256]
            scores = matrix[[row[pk] for pk in batch]] @ matrix.T
            top = numpy.argpartition(-scores, limit - 1, axis=1)[:, :limit]
            for pk, columns in zip(batch, top, strict=True):
                found[pk] = [int(ids[c]) for c in columns if int(ids[c]) != pk][:CANDIDATES]
        return found

    def neighbours(self, pks):
        """{pk: set of candidates} for these incidents (computed once each), symmetric: a pair
        found from either side is a candidate of both."""
        missing = [pk for pk in pks if pk not in self._searched and pk in self.profiles]
        self._searched.update(missing)
        by_meaning = self._alike_in_meaning(missing) if self.meaning else {}
        for pk in missing:
            found = set(self.worded_alike(self.vectors[pk], exclude=pk)) | set(
                by_meaning.get(pk, ())
            )
            self._neighbours.setdefault(pk, set()).update(found)
            for other in found:
                self._neighbours.setdefault(other, set()).add(pk)
        return {pk: self._neighbours.get(pk, set()) for pk in pks}

    def base(self, a, b):
        key = (min(a, b), max(a, b))
        if key not in self._bases:
            self._bases[key] = self.compare(self.profiles[key[0]], self.profiles[key[1]])
        return self._bases[key]

    def runner_up(self, pk, rival_group, excluding):
        """The best alikeness of `pk` with its other candidates from `rival_group`."""
        scores = [
            self.base(pk, other).base
            for other in self._neighbours.get(pk, ())
            if other != excluding and self.profiles[other].group == rival_group
        ]
        return max(scores, default=None)

    def score(self, a, b):
        """The pair's full comparison, score included. Both sides' candidates must be known
        (`neighbours([a, b])`), so each side's runner-up can be found."""
        comparison = self.base(a, b)
        if comparison.margin is None:
            leads = []
            for mine, other in ((a, b), (b, a)):
                best_other = self.runner_up(mine, self.profiles[other].group, other)
                leads.append(MARGIN_CAP if best_other is None else comparison.base - best_other)
            comparison.finish(min(leads))
        return comparison

    def scored_pairs(self, incident_ids):
        """[(a, b, comparison)] of these incidents and each of their candidates, a < b."""
        seeds = [pk for pk in incident_ids if pk in self.profiles]
        first = self.neighbours(seeds)
        self.neighbours({other for found in first.values() for other in found})
        pairs = {(min(a, b), max(a, b)) for a in seeds for b in first[a]}
        return [(a, b, self.score(a, b)) for a, b in sorted(pairs)]

    def likely_pairs(self, incident_ids):
        """The scored pairs that score at least THRESHOLD."""
        return [(a, b, c) for a, b, c in self.scored_pairs(incident_ids) if c.score >= THRESHOLD]


# Flagging


def flag_duplicates(incident_ids) -> int:
    """Flag the pairs the datasets state and those the scorer finds among these incidents
    (changed by an import) and the other live incidents: every one of them up to
    EXACT_LIMIT, beyond it the candidates indexed queries find. Returns how many flags were
    made or made certain."""
    incident_ids = set(incident_ids)
    pairs = stated_pairs()
    flags = DuplicateFlag.objects.only("pk", "incident", "candidate", "status", "basis")
    if not live_incidents().more_than(EXACT_LIMIT):
        scorer = Scorer()
        cache.set(STATISTICS_KEY, scorer.statistics.compact(), STATISTICS_SECONDS)
    else:
        pairs = {pair: s for pair, s in pairs.items() if incident_ids.intersection(pair)}
        scorer = _bounded_scorer(incident_ids, pairs)
        flags = flags.filter(incident__in=list(scorer.profiles))
    existing = {(flag.incident_id, flag.candidate_id): flag for flag in flags}
    written = _flag_stated(scorer, pairs, existing)
    return written + _flag_scored(scorer, incident_ids, existing)


def _bounded_scorer(incident_ids, pairs):
    """A scorer of these incidents, the incidents worded most like each (the search index's
    best matches of their most telling words) and the other side of their stated pairs, with
    word frequencies estimated from a sample of the base: memory and time follow the import,
    not the base. Runners-up are then found among those candidates."""
    words = wording()  # the related incidents' sample, counting a profile's terms
    pool = set(incident_ids) | {pk for pair in pairs for pk in pair}
    for pk, title, summary in Incident.objects.filter(pk__in=incident_ids).values_list(
        "pk", "title", "summary"
    ):
        terms = Profile(pk, title, summary).terms
        pool |= words.text_candidates(pk, words.vector(terms), limit=POOL_CANDIDATES)
    frequencies = {term: n * words.scale for term, n in words.frequency.items()}
    statistics = TermStatistics(frequencies, words.total)
    return Scorer(live_incidents().filter(pk__in=pool), statistics=statistics)


def _flag_scored(scorer, incident_ids, existing):
    flags = [
        DuplicateFlag(
            incident_id=a,
            candidate_id=b,
            score=round(comparison.score, 3),
            basis=DuplicateFlag.Basis.SCORED,
            reason=comparison.reason(scorer.names)[:300],
            evidence=comparison.evidence(scorer.names),
        )
        for a, b, comparison in scorer.likely_pairs(incident_ids)
        if (a, b) not in existing
    ]
    DuplicateFlag.objects.bulk_create(flags, ignore_conflicts=True)
    return len(flags)


@dataclass(frozen=True)
class Statement:
    """A dataset's word that incident `a` and incident `b` are one: `by` states that its
    record (or a record it names) is the record `named`."""

    by: str
    record: tuple
    named: tuple

    def reason(self):
        by = Dataset(self.by).label if self.by in Dataset.values else self.by
        dataset, external_id = self.record
        named_dataset, named_id = self.named
        if (dataset, external_id) == (named_dataset, named_id):
            return f"Both are {_label(dataset)} record {external_id}, as the datasets state"
        mine = "its record" if dataset == self.by else f"{_label(dataset)} record"
        return f"Stated by {by}: {mine} {external_id} is {_label(named_dataset)} record {named_id}"

    def evidence(self):
        return {"by": self.by, "record": list(self.record), "names": list(self.named)}


def _label(dataset):
    return Dataset(dataset).label if dataset in Dataset.values else dataset


def stated_pairs():
    """{(a, b): Statement} of the live incidents the datasets state are one. A resolved
    cross-reference says its incident is also the record (dataset, external id); whoever else
    holds that record (imported, or named by another reference) is the same incident."""
    live = set(live_incidents().values_list("pk", flat=True))
    holders = defaultdict(set)
    for pk, dataset, external_id in Provenance.objects.values_list(
        "incident_id", "dataset", "external_id"
    ):
        holders[(dataset, external_id)].add(pk)
    pairs = {}
    references = CrossReference.objects.exclude(incident=None).order_by("pk")
    named = defaultdict(list)
    for ref in references:
        named[(ref.dataset, ref.external_id)].append(ref)
    for record, refs in named.items():
        for ref in refs:
            target = (ref.refers_to_dataset, ref.refers_to_id or ref.url)
            for holder in holders.get(record, ()):
                # The record is imported: it names the incident the reference resolved to.
                statement = Statement(by=record[0], record=record, named=target)
                _add_pair(pairs, live, holder, ref.incident_id, statement)
            for other in refs:
                # Two references to one record, resolved to two incidents.
                statement = Statement(by="", record=record, named=record)
                _add_pair(pairs, live, ref.incident_id, other.incident_id, statement)
    return pairs


def _add_pair(pairs, live, a, b, statement):
    if a != b and a in live and b in live:
        pairs.setdefault((min(a, b), max(a, b)), statement)


def _flag_stated(scorer, pairs, existing):
    pairs = {pair: s for pair, s in pairs.items() if set(pair) <= scorer.profiles.keys()}
    scorer.neighbours({pk for pair in pairs for pk in pair})
    created, upgraded = [], []
    for (a, b), statement in sorted(pairs.items()):
        comparison = scorer.score(a, b)
        reason = statement.reason()
        if comparison.score < THRESHOLD:
            reason += f"; the texts differ (score {comparison.score:.2f}): check the link"
        evidence = {"stated": statement.evidence(), **comparison.evidence(scorer.names)}
        flag = existing.get((a, b))
        if flag is None:
            created.append(
                DuplicateFlag(
                    incident_id=a,
                    candidate_id=b,
                    score=1.0,
                    basis=DuplicateFlag.Basis.STATED,
                    reason=reason[:300],
                    evidence=evidence,
                )
            )
        elif flag.status == DuplicateFlag.Status.OPEN and flag.basis != flag.Basis.STATED:
            # An editor's decision stands; an open flag the scorer raised becomes certain.
            flag.score, flag.basis = 1.0, DuplicateFlag.Basis.STATED
            flag.reason, flag.evidence = reason[:300], evidence
            upgraded.append(flag)
    DuplicateFlag.objects.bulk_create(created, ignore_conflicts=True)
    DuplicateFlag.objects.bulk_update(upgraded, ["score", "basis", "reason", "evidence"])
    existing.update({(flag.incident_id, flag.candidate_id): flag for flag in created})
    return len(created) + len(upgraded)


# While filing


def suggestions(typed, candidates, limit):
    """[(score, incident)] of the `candidates` (a queryset) most like `typed`, the incident
    being filed, best first: those sharing its longest title words or, with matching by
    meaning, closest to it in meaning."""
    longest = sorted(typed.title_terms, key=len, reverse=True)[:SUGGESTION_WORDS]
    if not longest:
        return []
    matches = Q()
    for word in longest:
        matches |= Q(title__icontains=word)
    pool = set(candidates.filter(matches).values_list("pk", flat=True)[:SUGGESTION_CANDIDATES])
    typed_meaning = None
    if semantic.ready():
        typed_meaning = semantic.encode([semantic.incident_text(typed.title, typed.summary)])[0]
        allowed = set(candidates.values_list("pk", flat=True))
        pool |= {
            pk
            for pk, _ in semantic.nearest(typed_meaning, limit=SUGGESTION_CANDIDATES, among=allowed)
        }
    if not pool:
        return []
    scorer = Scorer(Incident.objects.filter(pk__in=pool), statistics=term_statistics())
    typed_vector = scorer._vector(typed)
    compared = {
        pk: scorer.compare(typed, profile, vector_a=typed_vector, meaning_a=typed_meaning)
        for pk, profile in scorer.profiles.items()
    }
    best = defaultdict(list)
    for pk, comparison in compared.items():
        best[scorer.profiles[pk].group].append(comparison.base)
    for pk, comparison in compared.items():
        rivals = sorted(best[scorer.profiles[pk].group], reverse=True)
        runner_up = rivals[1] if rivals[0] == comparison.base and len(rivals) > 1 else rivals[0]
        margin = MARGIN_CAP if len(rivals) == 1 else comparison.base - runner_up
        comparison.finish(margin)
    incidents = Incident.objects.filter(pk__in=compared).only(
        "pk", "number", "slug", "title", "occurred_at"
    )
    scored = [
        (round(compared[incident.pk].score, 3), incident)
        for incident in incidents
        if compared[incident.pk].score >= SUGGESTION_FLOOR
    ]
    scored.sort(key=lambda item: (-item[0], -item[1].number))
    return scored[:limit]
