"""Full-text search over incidents.

On PostgreSQL: a stored, GIN-indexed search vector (title weighted highest, then summary, then
organisation, AI system and tag names, then narrative; kept current by
`search_index.search_index_update`), queried with web-search syntax ("exact phrase", -exclude, OR),
ranked, with highlighted snippets. When that finds little, any of the words and trigram matching
of titles and organisation names (for names typed slightly wrong) are added, ranked below.
On SQLite: a simpler word match that understands the same syntax and never errors.
"""

import difflib
import re

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    TrigramSimilarity,
    TrigramWordSimilarity,
)
from django.db import connection
from django.db.models import Case, F, FloatField, Q, TextField, Value, When
from django.db.models.functions import Concat, Replace, Substr

from incidents import text
from incidents.models import AISystem, Incident, IncidentOrganisation, Organisation, Tag

# Longer input is cut: no real query needs more, and it bounds the work a request can cause.
MAX_QUERY_CHARS = 500
# ts_rank normalisation: divide by 1 + log(document length), then map to 0..1 (rank/(rank+1)).
RANK_NORMALIZATION = 1 | 32
# Below this many exact matches, add looser ones (any word, trigram names), ranked lower.
FEW_MATCHES = 10
LOOSE_RANK_FACTOR = 0.5
TITLE_TRIGRAM_THRESHOLD = 0.5
# An organisation named in the query, typo and all, lifts its incidents a little.
ORGANISATION_BONUS = 0.1
NAME_QUERY_WORDS = 3
# SQLite's parser gives up on very long conditions; more terms than this add nothing.
MAX_FALLBACK_TERMS = 8
MAX_NAMED_INCIDENTS = 500
SUGGESTION_THRESHOLD = 0.3
SPECIAL_SYNTAX = re.compile(r'"|(?:^|\s)-\S|\bor\b', re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_postgres():
    return connection.vendor == "postgresql"


def clean_query(query):
    """The query as text PostgreSQL accepts: no NULs or control characters, no lone
    surrogates, collapsed spaces, at most MAX_QUERY_CHARS."""
    query = str(query or "").encode("utf-8", "ignore").decode("utf-8")
    query = " ".join(CONTROL.sub(" ", query).split())
    return query[:MAX_QUERY_CHARS].strip()


def search(queryset, query):
    """The incidents matching `query`, annotated with `rank` (higher is better) and `snippet`
    (safe HTML with <mark> around matches), best first."""
    query = clean_query(query)
    if not query:
        return queryset
    if is_postgres():
        return _search_postgres(queryset, query)
    return _search_fallback(queryset, query)


def escaped(expression):
    """HTML-escape text inside the database, so a headline built from it is safe HTML once
    the only tags left are the <mark>s the headline adds."""
    for character, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        expression = Replace(expression, Value(character), Value(entity))
    return Replace(expression, Value("'"), Value("&#x27;"))


def _search_postgres(queryset, query):
    exact = SearchQuery(query, search_type="websearch", config="english")
    matches = Q(search_vector=exact)
    rank = SearchRank(F("search_vector"), exact, normalization=Value(RANK_NORMALIZATION))
    highlight = exact
    words = text.tokens(query)
    # Phrases, exclusions and OR say exactly what is wanted: nothing looser is added to them.
    plain = bool(words) and not SPECIAL_SYNTAX.search(query)
    if plain and queryset.filter(matches)[:FEW_MATCHES].count() < FEW_MATCHES:
        # Any of the words: a half-remembered title rarely has all of them right.
        loose = SearchQuery(" | ".join(words), search_type="raw", config="english")
        matches |= Q(search_vector=loose)
        rank += LOOSE_RANK_FACTOR * SearchRank(
            F("search_vector"), loose, normalization=Value(RANK_NORMALIZATION)
        )
        highlight = exact | loose
        # Titles by trigrams: a half-remembered or misspelt title still finds its incident.
        _set_word_similarity_threshold()
        title_similar = Q(title__trigram_word_similar=query)
        matches |= title_similar
        rank += LOOSE_RANK_FACTOR * Case(
            When(title_similar, then=TrigramWordSimilarity(query, "title")),
            default=Value(0.0),
            output_field=FloatField(),
        )
        if len(words) <= NAME_QUERY_WORDS:
            # A short query may be an organisation's name typed slightly wrong.
            named = _incidents_of_organisations_named(query)
            matches |= Q(pk__in=named)
            rank += Case(
                When(pk__in=named, then=Value(ORGANISATION_BONUS)),
                default=Value(0.0),
                output_field=FloatField(),
            )
    snippet = SearchHeadline(
        escaped(Concat("title", Value(" — "), "summary", output_field=TextField())),
        highlight,
        config="english",
        start_sel="<mark>",
        stop_sel="</mark>",
        max_words=35,
        min_words=15,
    )
    return (
        queryset.filter(matches).annotate(rank=rank, snippet=snippet).order_by("-rank", "-number")
    )


def _set_word_similarity_threshold():
    # `%>` (the index-backed word-similarity test) compares against this setting; its default,
    # 0.6, misses one swapped letter in a short word.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)",
            [str(TITLE_TRIGRAM_THRESHOLD)],
        )


def _incidents_of_organisations_named(query):
    """Ids of incidents involving an organisation whose name looks like the query; fetched
    here so the main query stays a union of index scans."""
    return list(
        IncidentOrganisation.objects.filter(organisation__name__trigram_word_similar=query)
        .order_by()
        .values_list("incident_id", flat=True)
        .distinct()[:MAX_NAMED_INCIDENTS]
    )


def _fallback_terms(query):
    """Web-search syntax read in Python: OR separates alternatives; each is words or
    "phrases" that must all appear, and -words that must not."""
    alternatives = [[]]
    for negated, phrase, word in re.findall(r'(-?)(?:"([^"]*)"?|([^\s"]+))', query):
        if word and word.lower() == "or" and not negated:
            alternatives.append([])
            continue
        wanted_text = (phrase or word).strip().lower()
        if not phrase:
            wanted_text = wanted_text.strip("-")
        term = (bool(negated), wanted_text)
        wanted = wanted_text and (
            phrase or (wanted_text not in text.STOPWORDS and len(wanted_text) > 1)
        )
        if wanted and term not in alternatives[-1] and len(alternatives[-1]) < MAX_FALLBACK_TERMS:
            alternatives[-1].append(term)
    usable = [terms for terms in alternatives if any(not negated for negated, _ in terms)]
    return usable[:MAX_FALLBACK_TERMS]


def _search_fallback(queryset, query):
    alternatives = _fallback_terms(query)
    if not alternatives:
        return queryset.none()
    condition = Q()
    positive = []
    for terms in alternatives:
        branch = Q()
        for negated, needle in terms:
            found = (
                Q(title__icontains=needle)
                | Q(summary__icontains=needle)
                | Q(narrative__icontains=needle)
            )
            branch &= ~found if negated else found
            if not negated:
                positive.append(needle)
        condition |= branch
    # A word in the title counts most, then in the summary, as on PostgreSQL.
    rank = Value(0.0)
    for needle in positive:
        rank += Case(
            When(title__icontains=needle, then=Value(1.0)),
            When(summary__icontains=needle, then=Value(0.4)),
            default=Value(0.1),
            output_field=FloatField(),
        )
    snippet = escaped(Substr("summary", 1, 240))
    return (
        queryset.filter(condition)
        .annotate(rank=rank / len(positive), snippet=snippet)
        .order_by("-rank", "-number")
    )


def suggestions(query, *, reader, limit=5):
    """Close names ("did you mean"): the organisations, AI systems and tags `reader` may see,
    and published incident titles, that look like the query, best first, without the query
    itself."""
    query = clean_query(query)[:100]
    if not query:
        return []
    if is_postgres():
        _set_word_similarity_threshold()
        scored = []
        for model, manager in _named(reader):
            if model is Incident:
                similarity = TrigramWordSimilarity(query, "title")
                rows = manager.annotate(similarity=similarity).filter(
                    title__trigram_word_similar=query
                )
                rows = rows.values_list("title", "similarity")
            else:
                rows = manager.annotate(similarity=TrigramSimilarity("name", query)).filter(
                    similarity__gt=SUGGESTION_THRESHOLD
                )
                rows = rows.values_list("name", "similarity")
            scored += rows.order_by("-similarity")[:limit]
        names = [name for name, _ in sorted(scored, key=lambda row: (-row[1], row[0]))]
    else:
        candidates = {}
        for model, manager in _named(reader):
            field = "title" if model is Incident else "name"
            for name in manager.values_list(field, flat=True):
                candidates.setdefault(name.lower(), name)
        close = difflib.get_close_matches(query.lower(), candidates, n=limit * 2, cutoff=0.6)
        names = [candidates[name] for name in close]
    seen = {query.lower()}
    unique = []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            unique.append(name)
    return unique[:limit]


def _named(reader):
    return [
        (Organisation, Organisation.objects.visible_to(reader)),
        (AISystem, AISystem.objects.visible_to(reader)),
        (Tag, Tag.objects.visible_to(reader)),
        (Incident, Incident.objects.published()),
    ]
