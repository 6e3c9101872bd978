"""Full-text search over incidents.

On PostgreSQL: a stored, GIN-indexed search vector (title weighted highest, then summary, then
organisation, AI system and tag names, then narrative; kept current by
`search_index.search_index_update`). A short query typed with operators ("exact phrase",
-exclude, OR) is read as web-search syntax; anything else, pasted headlines and paragraphs
included, finds the incidents with any of its words, ranked by BM25 over the stored vector
(rare words count more, long texts less), plus trigram matching of titles and organisation
names for names typed slightly wrong. A short plain query that many incidents match entirely
shows only those.
On SQLite: a simpler word match that understands the same syntax, reads longer text as any of
its words ranked by how many match, and never errors.

With matching by meaning on (`semantic.enabled()`), a plain query's best lexical candidates and
the incidents nearest to it by sentence embedding, among those the reader may see through the
other filters, are ranked together by a weighted sum of both scores.
"""

import difflib
import math
import re
from dataclasses import dataclass
from functools import lru_cache

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    TrigramSimilarity,
    TrigramWordSimilarity,
)
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Case,
    F,
    FloatField,
    Func,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Concat, Replace, Substr

from config.db_routers import reading_connection
from incidents import semantic, text
from incidents.models import AISystem, Incident, IncidentOrganisation, Organisation, Tag

# Longer input is cut: no real query needs more, and it bounds the work a request can cause.
MAX_QUERY_CHARS = 500
# Operators make a query strict only in something typed this short, not in pasted text.
STRICT_QUERY_WORDS = 8
# A plain query this short that FEW_MATCHES incidents match entirely shows only those.
SHORT_QUERY_WORDS = 4
FEW_MATCHES = 10
# BM25: term-frequency saturation and how much a longer text is discounted.
BM25_K1 = 1.2
BM25_B = 0.5
# How much one occurrence counts, by where it is: title (A), summary (B), organisation, AI
# system and tag names (C), narrative (D).
FIELD_WEIGHTS = {"A": 2.0, "B": 1.0, "C": 0.6, "D": 0.4}
# ts_rank, where every match has every word: divided by 1 + log(length), mapped to 0..1.
RANK_NORMALIZATION = 1 | 32
# Matches ranked: beyond this many, only the matches of the query's rarest words, the newest of
# those with every word, and titles and organisations named alike are ranked and listed (BM25
# costs a few hundred microseconds a match), and the list says that more incidents match.
RANKED_MATCHES = 500
# Longer queries are cut to this many distinct terms (MAX_QUERY_CHARS already bounds them).
MAX_TERMS = 40
# A term this share of incidents have picks no candidates of its own when the query has rarer
# ones: it would only add work (it still counts in the rank).
COMMON_SHARE = 0.1
CORPUS_CACHE_KEY = "search:corpus"
CORPUS_CACHE_SECONDS = 3600
LOOSE_RANK_FACTOR = 0.5
TITLE_TRIGRAM_THRESHOLD = 0.5
TRIGRAM_QUERY_WORDS = 6
# An organisation named in the query, typo and all, lifts its incidents a little.
ORGANISATION_BONUS = 0.1
NAME_QUERY_WORDS = 3
MAX_NAMED_INCIDENTS = 500
# SQLite's parser gives up on very long conditions; more terms than this add nothing.
MAX_FALLBACK_TERMS = 8
# Matching by meaning: how many candidates each side brings, how close a neighbour must be to
# join the results, and how much meaning weighs against words in the fused score.
MEANING_CANDIDATES = 100
# Nearest vectors looked at, visible or not, to find the MEANING_CANDIDATES the reader may see.
MEANING_NEAREST = 1000
MEANING_FLOOR = 0.35
MEANING_WEIGHT = 0.6
QUERY_VECTORS_CACHED = 512
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


@dataclass
class Found:
    """What a query matches, how each match ranks, and its snippet; `plain` when the query was
    read as words rather than as web-search syntax."""

    matches: Q
    rank: object
    snippet: object
    plain: bool
    # Only the matches worth ranking were kept: more incidents use these words.
    limited: bool = False


@dataclass
class Results:
    incidents: object  # a queryset
    limited: bool


def search(queryset, query):
    """The incidents of `queryset` matching `query`, annotated with `rank` (higher is better)
    and `snippet` (safe HTML with <mark> around matches), best first."""
    return matching(queryset, query).incidents


def matching(queryset, query):
    """`search` as Results: the incidents, and whether they are only the best of more
    matches (when thousands of incidents use the query's words, see RANKED_MATCHES)."""
    query = clean_query(query)
    if not query:
        return Results(queryset.annotate(rank=Value(0.0), snippet=Value("")), False)
    found = _postgres(queryset, query) if is_postgres() else _fallback(queryset, query)
    if found is None:
        return Results(queryset.none().annotate(rank=Value(0.0), snippet=Value("")), False)
    matches, rank = found.matches, found.rank
    if found.plain and semantic.ready():
        matches, rank = _with_meaning(queryset, query, found)
    incidents = (
        queryset.filter(matches)
        .annotate(rank=rank, snippet=found.snippet)
        .order_by("-rank", "-number")
    )
    return Results(incidents, found.limited)


def is_strict(query):
    """Whether the query is typed web-search syntax: a short one with a phrase, -word or OR."""
    return bool(SPECIAL_SYNTAX.search(query)) and len(text.tokens(query)) <= STRICT_QUERY_WORDS


def escaped(expression):
    """HTML-escape text inside the database, so a headline built from it is safe HTML once
    the only tags left are the <mark>s the headline adds."""
    for character, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        expression = Replace(expression, Value(character), Value(entity))
    return Replace(expression, Value("'"), Value("&#x27;"))


# PostgreSQL


def _postgres(queryset, query):
    words = text.tokens(query)
    terms, average_length, fewest, counts, total = _terms(query)
    exact = SearchQuery(query, search_type="websearch", config="english")
    matches, highlight = Q(search_vector=exact), exact
    # Syntax that finds nothing was probably punctuation: it is read as plain words instead.
    strict = is_strict(query) and queryset.filter(matches).exists()
    short = len(words) <= SHORT_QUERY_WORDS
    # Plain words widen to any of them, and to names that look alike, unless the query is
    # short and enough incidents have every word.
    # No incident has all the words when one of them is that rare: no need to look.
    widen = not strict and not (
        short
        and fewest >= FEW_MATCHES
        and queryset.filter(matches)[:FEW_MATCHES].count() >= FEW_MATCHES
    )
    if widen:
        rank = Relevance(terms, average_length)
    else:
        # Every match has every word, so their rarity ranks nothing: PostgreSQL's own rank
        # does, at a fraction of the cost on a query thousands of incidents match.
        rank = SearchRank(F("search_vector"), exact, normalization=Value(RANK_NORMALIZATION))
    lexemes = []
    if widen:
        # Any of the words: a long or half-remembered text rarely has all of the incident's,
        # and BM25 puts those sharing the most telling ones first.
        lexemes = _candidate_lexemes(terms)
        loose = LexemeQuery(lexemes)
        matches = Q(search_vector=loose) if lexemes else Q(pk__in=[])
        highlight = loose if lexemes else exact
    if widen and len(words) <= TRIGRAM_QUERY_WORDS:
        # Titles by trigrams: a half-remembered or misspelt title still finds its incident.
        _set_word_similarity_threshold()
        title_similar = Q(title__trigram_word_similar=query)
        matches |= title_similar
        rank += LOOSE_RANK_FACTOR * Case(
            When(title_similar, then=TrigramWordSimilarity(query, "title")),
            default=Value(0.0),
            output_field=FloatField(),
        )
    named = []
    if widen and len(words) <= NAME_QUERY_WORDS:
        # A short query may be an organisation's name typed slightly wrong.
        named = _incidents_of_organisations_named(query)
        matches |= Q(pk__in=named)
        rank += Case(
            When(pk__in=named, then=Value(ORGANISATION_BONUS)),
            default=Value(0.0),
            output_field=FloatField(),
        )
    # Unless widened, every match has every word: the all-words matches are all of them.
    estimated = (
        sum(counts[lexeme] for lexeme in lexemes) if widen else max(counts.values(), default=0)
    )
    limited = estimated > RANKED_MATCHES
    if limited:
        every = LexemeQuery(lexemes, operator="&") if widen else exact
        titled = query if widen and len(words) <= TRIGRAM_QUERY_WORDS else None
        found = queryset.filter(matches)
        # Read down the list's date index when the incidents with every word are that many:
        # the newest come soon; fewer are found through the text index and sorted.
        having_every = min(counts[lexeme] for lexeme in lexemes) if widen else estimated
        dense = having_every >= math.sqrt(RANKED_MATCHES * total)
        # Found once, as ids: the list, its facet counts and matching by meaning all read them.
        ids = _candidates(found, lexemes or list(counts), counts, every, titled, dense)
        matches = Q(pk__in=sorted(ids | set(named)))
    snippet = SearchHeadline(
        escaped(Concat("title", Value(" — "), "summary", output_field=TextField())),
        highlight,
        config="english",
        start_sel="<mark>",
        stop_sel="</mark>",
        max_words=35,
        min_words=15,
    )
    # From 0 to 1, like the other ranks: BM25's share plus the largest bonuses.
    rank /= 1 + LOOSE_RANK_FACTOR + ORGANISATION_BONUS
    return Found(matches=matches, rank=rank, snippet=snippet, plain=not strict, limited=limited)


def _candidates(found, lexemes, counts, every, titled, dense):
    """The ids of the matches worth ranking when too many match to rank them all: those of
    the rarest words, taken rarest first while they bring no more than RANKED_MATCHES between
    them (a pasted headline's names and places single out its incident), the newest
    RANKED_MATCHES of those matching `every` word (a query of common words is best answered by
    the incidents having all of them; `dense`: so many have them that reading newest first
    finds the newest soonest) and, when `titled` is the query, the RANKED_MATCHES titles most
    like it."""
    rare, brought = [], 0
    for lexeme in sorted(lexemes, key=lambda lexeme: counts[lexeme]):
        if brought + counts[lexeme] > RANKED_MATCHES:
            break
        rare.append(lexeme)
        brought += counts[lexeme]
    having_every = found.filter(search_vector=every)
    having_every = having_every.newest_first() if dense else having_every.found_then_sorted()
    ids = set(having_every.values_list("pk", flat=True)[:RANKED_MATCHES])
    if rare:
        ids.update(
            found.filter(search_vector=LexemeQuery(rare))
            .order_by()
            .values_list("pk", flat=True)[:RANKED_MATCHES]
        )
    if titled:
        ids.update(
            found.filter(title__trigram_word_similar=titled)
            .annotate(alike=TrigramWordSimilarity(titled, "title"))
            .order_by("-alike", "-number")
            .values_list("pk", flat=True)[:RANKED_MATCHES]
        )
    return ids


class LexemeQuery(SearchQuery):
    """Any (or with operator "&", all) of the given lexemes as they are stored: already
    stemmed, so not parsed again."""

    def __init__(self, lexemes, operator="|"):
        super().__init__(f" {operator} ".join(_quoted(lexeme) for lexeme in lexemes))

    def as_sql(self, compiler, connection, **extra):
        return "%s::tsquery", [self.source_expressions[0].value]


def _quoted(lexeme):
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


class Relevance(Func):
    """BM25 over the stored vector, its fields weighted (BM25F): a query term counts by its
    rarity (idf) and by where the text has it (in the title more than in the narrative),
    saturating, and less in a longer text. Divided by the most a text could score, so from
    0 to 1. Where a term occurs is asked of the vector one field at a time (`'term':A`), each
    an in-memory lookup: counting its positions instead (unnesting the vector) ranks no better
    and costs several times more."""

    output_field = FloatField()

    def __init__(self, terms, average_length):
        super().__init__(F("search_vector"))
        self.terms = terms
        self.average_length = average_length

    def as_sql(self, compiler, connection, **extra):
        if not self.terms:
            return "0.0", []
        vector, vector_params = compiler.compile(self.source_expressions[0])
        discount = f"{BM25_K1} * (1 - {BM25_B} + {BM25_B} * length({vector}) / %s)"
        discount_params = [*vector_params, self.average_length]
        frequency = " + ".join(
            f"CASE WHEN {vector} @@ %s::tsquery THEN {weight} ELSE 0 END"
            for weight in FIELD_WEIGHTS.values()
        )
        # idf * frequency / (frequency + discount), with the frequency written once.
        term = (
            f"CASE WHEN {vector} @@ %s::tsquery "
            f"THEN %s * (1 - {discount} / ({frequency} + {discount})) ELSE 0 END"
        )
        sql, params = [], []
        for lexeme, idf in self.terms:
            quoted = _quoted(lexeme)
            fields = [p for f in FIELD_WEIGHTS for p in (*vector_params, f"{quoted}:{f}")]
            sql.append(term)
            params += [*vector_params, quoted, idf, *discount_params, *fields, *discount_params]
        return f"(({' + '.join(sql)}) / %s)", [*params, sum(idf for _, idf in self.terms)]


# One statement: the query's lexemes; how many incidents have each: PostgreSQL's statistics
# know it for the most common ones (their count would read thousands of rows), an index lookup
# counts the others up to COUNTED_MATCHES (beyond it, a word is rarer than the least common of
# those: half of that, as PostgreSQL's planner estimates it); and, unless cached, the corpus
# (CORPUS_SQL). `base` is the table's row count as its statistics have it.
TERMS_SQL = r"""
WITH {sample}term AS (
    SELECT lexeme, positions[1] AS first FROM unnest(to_tsvector('english', %s))
    ORDER BY first NULLS LAST, lexeme LIMIT %s
), common AS (
    SELECT e.lexeme, e.share FROM pg_stats s,
        unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS e (lexeme, share)
    WHERE s.schemaname = current_schema() AND s.tablename = '{table}'
        AND s.attname = 'search_vector'
), base AS (
    SELECT reltuples FROM pg_class WHERE oid = '{table}'::regclass
)
SELECT t.lexeme,
    COALESCE(
        (SELECT round(c.share * (SELECT reltuples FROM base)) FROM common c
            WHERE c.lexeme = t.lexeme),
        (SELECT CASE WHEN matched.n <= {counted} THEN matched.n ELSE GREATEST(matched.n,
                round((SELECT MIN(share) FROM common) / 2 * (SELECT reltuples FROM base))) END
            FROM (SELECT COUNT(*) AS n FROM (SELECT 1 FROM {table} WHERE search_vector @@
                ('''' || replace(replace(t.lexeme, '\', '\\'), '''', '''''') || '''')::tsquery
                LIMIT {counted} + 1) found) matched)
    ),
    corpus.vectors, corpus.average_length
FROM term t CROSS JOIN ({corpus}) corpus ORDER BY first NULLS LAST, lexeme
"""
# Well above RANKED_MATCHES, so the words a search ranks by are chosen on exact counts.
COUNTED_MATCHES = 2_000
# How many incidents have a vector and their average length in lexemes, from a sample of
# about CORPUS_SAMPLE_ROWS rows' pages (every page of a small base): counting every vector
# takes most of a second at a million incidents.
CORPUS_SAMPLE_ROWS = 20_000
CORPUS_SQL = """
SELECT COUNT(*) * 100.0 / (SELECT share FROM sample) AS vectors,
    AVG(length(search_vector)) AS average_length
FROM {table} TABLESAMPLE SYSTEM ((SELECT share FROM sample))
WHERE search_vector IS NOT NULL
"""
CORPUS_SAMPLE_SQL = (
    "SELECT LEAST(100, 100.0 * %s / GREATEST(reltuples, 1)) AS share"
    " FROM pg_class WHERE oid = '{table}'::regclass"
)
CORPUS_CACHED_SQL = "SELECT NULL AS vectors, NULL AS average_length"


def _terms(query):
    """([(lexeme, idf)], average length, fewest, {lexeme: incidents}, incidents): the query's
    distinct stemmed words, as the stored vectors have them, each with its rarity among all
    incidents (words no incident has are left out), the average length of a stored vector,
    how many incidents have the rarest word (0 when one has none), how many have each, and
    how many incidents have a vector."""
    corpus = cache.get(CORPUS_CACHE_KEY)
    table = Incident._meta.db_table
    if corpus:
        sql = TERMS_SQL.format(
            table=table, sample="", corpus=CORPUS_CACHED_SQL, counted=COUNTED_MATCHES
        )
        params = [query, MAX_TERMS]
    else:
        sample = f"sample AS ({CORPUS_SAMPLE_SQL.format(table=table)}), "
        corpus_sql = CORPUS_SQL.format(table=table)
        sql = TERMS_SQL.format(
            table=table, sample=sample, corpus=corpus_sql, counted=COUNTED_MATCHES
        )
        params = [CORPUS_SAMPLE_ROWS, query, MAX_TERMS]
    with reading_connection().cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return [], 1.0, 0, {}, 0
    if not corpus:
        # Both change slowly.
        corpus = {"count": float(rows[0][2]), "average_length": float(rows[0][3] or 1)}
        cache.set(CORPUS_CACHE_KEY, corpus, CORPUS_CACHE_SECONDS)
    found = {lexeme: float(count) for lexeme, count, *_ in rows if count}
    total = max(corpus["count"], *found.values(), 1)
    terms = [
        (lexeme, math.log(1 + (total - count + 0.5) / (count + 0.5)))
        for lexeme, count in found.items()
    ]
    fewest = int(min(float(row[1] or 0) for row in rows))
    return terms, corpus["average_length"], fewest, found, total


def _candidate_lexemes(terms):
    floor = math.log(1 + (1 - COMMON_SHARE) / COMMON_SHARE)
    telling = [lexeme for lexeme, idf in terms if idf >= floor]
    return telling or [lexeme for lexeme, _ in terms]


def _set_word_similarity_threshold():
    # `%>` (the index-backed word-similarity test) compares against this setting; its default,
    # 0.6, misses one swapped letter in a short word.
    with reading_connection().cursor() as cursor:
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


# SQLite


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


def _plain_words(query):
    """The words a plain reading of the query looks for: its meaningful words, the longest
    (usually the most telling) first when there are too many."""
    words = list(dict.fromkeys(text.tokens(query)))
    meaningful = [w for w in words if len(w) > 1 and w not in text.STOPWORDS]
    chosen = set(sorted(meaningful, key=len, reverse=True)[:MAX_FALLBACK_TERMS])
    return [w for w in meaningful if w in chosen]


def _contains(needle):
    fields = ("title", "summary", "narrative")
    return Q(*[Q(**{f"{field}__icontains": needle}) for field in fields], _connector=Q.OR)


def _fallback(queryset, query):
    alternatives = _fallback_terms(query) if is_strict(query) else []
    condition = Q()
    for terms in alternatives:
        branch = Q()
        for negated, needle in terms:
            branch &= ~_contains(needle) if negated else _contains(needle)
        condition |= branch
    positive = [needle for terms in alternatives for negated, needle in terms if not negated]
    plain = not (alternatives and queryset.filter(condition).exists())
    if plain:
        # Syntax that finds nothing, or none at all: the words, all of them for a short query
        # that many incidents match entirely, else any of them, most matches first.
        positive = _plain_words(query)
        if not positive:
            return None
        every = Q()
        for needle in positive:
            every &= _contains(needle)
        short = len(text.tokens(query)) <= SHORT_QUERY_WORDS
        if short and queryset.filter(every)[:FEW_MATCHES].count() >= FEW_MATCHES:
            condition = every
        else:
            condition = Q()
            for needle in positive:
                condition |= _contains(needle)
    # A word in the title counts most, then in the summary, as on PostgreSQL.
    rank = Value(0.0)
    for needle in positive:
        rank += Case(
            When(title__icontains=needle, then=Value(1.0)),
            When(summary__icontains=needle, then=Value(0.4)),
            When(narrative__icontains=needle, then=Value(0.1)),
            default=Value(0.0),
            output_field=FloatField(),
        )
    return Found(
        matches=condition,
        rank=rank / len(positive),
        snippet=escaped(Substr("summary", 1, 240)),
        plain=plain,
    )


# Matching by meaning


def _with_meaning(queryset, query, found):
    """(matches, rank): the lexical matches plus the incidents of `queryset` nearest to the
    query by meaning, the best candidates of both ranked by a weighted sum of their lexical
    rank and cosine, each scaled to 0-1 over the candidates, above every other match."""
    close = [
        (pk, cosine)
        for pk, cosine in semantic.nearest(_query_vector(query), limit=MEANING_NEAREST)
        if cosine >= MEANING_FLOOR
    ]
    # The nearest of all, then those the reader may see: never every visible incident's id.
    visible = set(queryset.filter(pk__in=[pk for pk, _ in close]).values_list("pk", flat=True))
    neighbours = [(pk, cosine) for pk, cosine in close if pk in visible][:MEANING_CANDIDATES]
    if not neighbours:
        return found.matches, found.rank
    lexical = list(
        queryset.filter(found.matches)
        .annotate(rank=found.rank)
        .order_by("-rank", "-number")
        .values_list("pk", "rank")[:MEANING_CANDIDATES]
    )
    best_rank = max((rank for _, rank in lexical), default=0) or 1
    cosines = dict(neighbours)
    # Incidents the lexical side brought are scored by meaning too, whatever their cosine.
    cosines.update(_cosines(query, [pk for pk, _ in lexical if pk not in cosines]))
    scores = {pk: (1 - MEANING_WEIGHT) * rank / best_rank for pk, rank in lexical}
    top_cosine = max(cosines.values())
    for pk, cosine in cosines.items():
        scores[pk] = scores.get(pk, 0.0) + MEANING_WEIGHT * max(cosine, 0) / top_cosine
    # The candidates above every other match, still from 0 to 1.
    rank = Case(
        *[When(pk=pk, then=Value((1 + score) / 2)) for pk, score in scores.items()],
        default=found.rank / 2,
        output_field=FloatField(),
    )
    return found.matches | Q(pk__in=[pk for pk, _ in neighbours]), rank


def _cosines(query, ids):
    """{incident id: cosine to the query} for those of `ids` with a stored vector."""
    if not ids:
        return {}
    return dict(semantic.nearest(_query_vector(query), limit=len(ids), among=set(ids)))


@lru_cache(maxsize=QUERY_VECTORS_CACHED)
def _query_vector(query):
    return semantic.encode([query])[0]


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
