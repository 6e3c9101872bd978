"""Likely duplicates across datasets: the same real-world incident told by two sources.

Scored on title words, shared organisations and how close the dates are; a flag is only a
suggestion for an editor, who merges or dismisses it.
"""

import re
from collections import defaultdict

from incidents.models import DuplicateFlag, Incident, Provenance

THRESHOLD = 0.7
MIN_SHARED_WORDS = 2
STOPWORDS = {
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "into",
    "is", "it", "its", "of", "on", "or", "over", "the", "to", "was", "were", "with", "after",
    "ai", "against", "about",
}  # fmt: skip
WORD = re.compile(r"[a-z0-9]+")


def title_words(text):
    return {word for word in WORD.findall(text.lower()) if word not in STOPWORDS and len(word) > 2}


class _Profile:
    __slots__ = ("pk", "words", "organisations", "year", "datasets")

    def __init__(self, pk, title, year):
        self.pk, self.words, self.year = pk, title_words(title), year
        self.organisations, self.datasets = set(), set()


def _profiles(queryset):
    profiles = {
        row["pk"]: _Profile(row["pk"], row["title"], row["occurred_at"] and row["occurred_at"].year)
        for row in queryset.values("pk", "title", "occurred_at")
    }
    for incident_id, slug in queryset.filter(organisation_roles__isnull=False).values_list(
        "pk", "organisation_roles__organisation__slug"
    ):
        profiles[incident_id].organisations.add(slug)
    for incident_id, dataset in Provenance.objects.filter(incident__in=queryset).values_list(
        "incident_id", "dataset"
    ):
        profiles[incident_id].datasets.add(dataset)
    return profiles


def similarity(a, b):
    """0..1: mostly title overlap, helped by shared organisations and the same year."""
    if len(a.words & b.words) < MIN_SHARED_WORDS:
        return 0.0
    title = len(a.words & b.words) / min(len(a.words), len(b.words))
    organisations = 1.0 if a.organisations & b.organisations else 0.0
    if a.year and b.year:
        dates = 1.0 if a.year == b.year else 0.5 if abs(a.year - b.year) == 1 else 0.0
    else:
        dates = 0.5
    return 0.6 * title + 0.25 * organisations + 0.15 * dates


def flag_cross_source_duplicates(incident_ids) -> int:
    """Flag likely duplicates of these incidents among incidents from other datasets."""
    if not incident_ids:
        return 0
    live = Incident.objects.filter(merged_into=None).exclude(status=Incident.Status.RETRACTED)
    everyone = _profiles(live)
    by_year = defaultdict(list)
    for profile in everyone.values():
        by_year[profile.year].append(profile)
    existing = set(DuplicateFlag.objects.values_list("incident_id", "candidate_id"))
    flags = []
    for incident_id in set(incident_ids):
        mine = everyone.get(incident_id)
        if mine is None:
            continue
        years = [mine.year - 1, mine.year, mine.year + 1] if mine.year else [None]
        for year in years:
            for other in by_year.get(year, []):
                if other.pk == mine.pk or (mine.datasets & other.datasets):
                    continue
                pair = (min(mine.pk, other.pk), max(mine.pk, other.pk))
                if pair in existing:
                    continue
                score = similarity(mine, other)
                if score >= THRESHOLD:
                    existing.add(pair)
                    flags.append(
                        DuplicateFlag(
                            incident_id=pair[0],
                            candidate_id=pair[1],
                            score=round(score, 3),
                            reason=_reason(mine, other),
                        )
                    )
    DuplicateFlag.objects.bulk_create(flags, ignore_conflicts=True)
    return len(flags)


def _reason(a, b):
    parts = [f"{len(a.words & b.words)} shared title words"]
    if a.organisations & b.organisations:
        parts.append(
            "shared organisation: " + ", ".join(sorted(a.organisations & b.organisations)[:3])
        )
    if a.year and a.year == b.year:
        parts.append(f"same year ({a.year})")
    return "; ".join(parts)[:300]
