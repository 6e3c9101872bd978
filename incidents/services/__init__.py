"""Writes that matter. Views, admin actions, commands and tasks all call these."""

import heapq
import math
import re
from collections import Counter, defaultdict

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery, TextField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.duplicates import STOPWORDS
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
# Words in more than this share of incidents say little and cost the most to compare.
COMMON_WORD_SHARE = 0.05
WORD = re.compile(r"[a-z0-9]+")


def text_terms(text):
    """Lower-case words without stopwords, plural "s" dropped, so "cars" meets "car"."""
    terms = []
    for word in WORD.findall(text.lower()):
        if len(word) < 3 or word in STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        terms.append(word)
    return terms


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
            counts[pk] = Counter(text_terms(title) * TITLE_REPEAT + text_terms(summary))
        self._index_text(counts)

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

    def _scores(self, incident_id):
        """[(score, other, shared tags, shared organisations, text similarity)], unsorted."""
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
        perpetrator_id = self.perpetrator_of.get(incident_id)
        candidates = shared_tags.keys() | shared_organisations.keys() | text.keys()
        candidates.discard(incident_id)
        scores = []
        for other in candidates:
            similarity = text.get(other, 0.0)
            score = (
                TAG_WEIGHT * shared_tags[other]
                + ORGANISATION_WEIGHT * shared_organisations[other]
                + TEXT_WEIGHT * similarity
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
                },
            )
            for score, other, tags, organisations, similarity in sorted(
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
            for score, other, tags, organisations, _ in best
        ]


def related_candidates(incident):
    """Other incidents sharing tags, organisations or much of their wording, scored, best
    first, as [(score, {"pk", "perpetrator_id", "shared_tags", "shared_organisations",
    "text_similarity"})]."""
    return Neighbourhood().scored(incident.pk)


@transaction.atomic
def related_incidents_recompute(*, incident, cascade=True):
    """Store the incidents most related to this one; with cascade, refresh its neighbours too,
    since their lists may now include or drop this incident."""
    neighbourhood = Neighbourhood()
    incident_ids = {incident.pk}
    if cascade:
        incident_ids |= {row["pk"] for _, row in neighbourhood.scored(incident.pk)}
        incident_ids |= set(
            RelatedIncident.objects.filter(related=incident).values_list("incident_id", flat=True)
        )
    RelatedIncident.objects.filter(incident__in=incident_ids).delete()
    RelatedIncident.objects.bulk_create(
        (link for pk in sorted(incident_ids) for link in neighbourhood.links(pk)),
        batch_size=2000,
    )


@transaction.atomic
def related_incidents_recompute_all():
    """Every incident's related list, scored as `related_candidates` does, from data loaded
    once: one pass in memory instead of queries per incident."""
    neighbourhood = Neighbourhood()
    links = [link for pk in neighbourhood.perpetrator_of for link in neighbourhood.links(pk)]
    RelatedIncident.objects.all().delete()
    RelatedIncident.objects.bulk_create(links, batch_size=2000)


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


def summaries_queue_rebuild():
    from incidents.dashboards.summaries import summaries_queue_rebuild

    summaries_queue_rebuild()


def pattern_clusters_queue_recompute():
    from incidents.tasks import recompute_pattern_clusters

    recompute_pattern_clusters.delay_on_commit()


def incident_saved(*, incident):
    """Follow-up work after an incident and its relations were saved. The search vector is
    one cheap UPDATE, done now so search never lags; related lists wait for a worker."""
    from incidents.tasks import recompute_related_incidents

    search_index_update([incident.pk])

    recompute_related_incidents.delay_on_commit(incident.pk)
    summaries_queue_rebuild()


def related_incidents_queue_bulk():
    """After an import: recompute every incident's related list once, in the background."""
    from incidents.tasks import recompute_all_related_incidents

    recompute_all_related_incidents.delay_on_commit()
    summaries_queue_rebuild()


class MergeRefused(Exception):
    pass


@transaction.atomic
def incident_merge(*, primary, duplicate, by=None):
    """Fold a duplicate into the primary record. Nothing is deleted: the duplicate keeps its
    number and page, marked as merged, and the primary gains its provenances, sources,
    organisations, AI systems, tags and timeline."""
    from incidents.models import DuplicateFlag, Source

    if primary.pk == duplicate.pk:
        raise MergeRefused("An incident cannot be merged into itself.")
    if duplicate.merged_into_id:
        raise MergeRefused(f"{duplicate} was already merged into #{duplicate.merged_into.number}.")
    if primary.merged_into_id:
        target = primary.merged_into.number
        raise MergeRefused(f"{primary} was itself merged; merge into #{target} instead.")

    duplicate.provenances.update(incident=primary)
    known_urls = set(primary.sources.values_list("url", flat=True))
    for source in duplicate.sources.all():
        if source.url not in known_urls:
            Source.objects.create(
                incident=primary,
                url=source.url,
                publisher=source.publisher,
                title=source.title,
                published_on=source.published_on,
                stance=source.stance,
            )
    IncidentOrganisation.objects.bulk_create(
        [
            IncidentOrganisation(incident=primary, organisation_id=o, role=r)
            for o, r in duplicate.organisation_roles.values_list("organisation_id", "role")
        ],
        ignore_conflicts=True,
    )
    primary.tags.add(*duplicate.tags.all())
    primary.ai_systems.add(*duplicate.ai_systems.all())
    for event in duplicate.timeline_events.all():
        primary.timeline_events.get_or_create(at=event.at, description=event.description)

    duplicate.merged_into = primary
    duplicate.status = Incident.Status.RETRACTED
    duplicate.retraction_reason = f"Merged into #{primary.number}, which records the same incident."
    duplicate.save()
    DuplicateFlag.objects.filter(
        Q(incident=duplicate, candidate=primary) | Q(incident=primary, candidate=duplicate)
    ).update(status=DuplicateFlag.Status.MERGED, resolved_at=timezone.now())
    from incidents.models import AuditEvent

    for incident in (primary, duplicate):
        AuditEvent.objects.create(
            incident=incident,
            action=AuditEvent.Action.MERGED,
            actor=by,
            detail=f"#{duplicate.number} merged into #{primary.number}",
        )
    incident_saved(incident=primary)
    return primary
