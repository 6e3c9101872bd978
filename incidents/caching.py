"""Caching of whole-dataset aggregates (facet counts, exports) and of public pages until the
data changes.

Every write path saves the incident or policy change it touches, which moves its `updated_at`;
incidents are never deleted. So the newest `updated_at` (and id) of incidents, policy changes
and legal cases, plus the newest change of an organisation, control, crosswalk entry or pattern,
the newest tag, derivation, case link, control assessment and pattern member, name a version of
the data. Each part is one index lookup.
"""

import hashlib
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.core.cache import cache

from config.db_routers import reading_connection
from incidents.models import (
    Control,
    ControlAssessment,
    CrosswalkEntry,
    Derivation,
    Incident,
    LegalCase,
    LegalCaseIncident,
    Organisation,
    PatternCluster,
    PatternClusterMember,
    PolicyChange,
    PolicyControl,
    RelatedIncident,
    Tag,
)

# Set while a cached public page is computed: the page and its parts read one version.
_page_data_version = ContextVar("page_data_version", default=None)


def data_version():
    """One query: the newest change of each table the public aggregates are built from."""
    known = _page_data_version.get()
    if known is not None:
        return known
    parts = [
        f"(SELECT MAX({column}) FROM {model._meta.db_table})"
        for model, columns in (
            (Incident, ["updated_at", "id"]),
            (PolicyChange, ["updated_at", "id"]),
            # A link decided by an editor touches its case; a new link is a new row.
            (LegalCase, ["updated_at", "id"]),
            (LegalCaseIncident, ["id"]),
            (Organisation, ["updated_at", "id"]),
            # An edited crosswalk entry derives again: tags it adds touch no incident's row.
            (CrosswalkEntry, ["updated_at", "id"]),
            (Derivation, ["id"]),
            (Tag, ["id"]),
            # Related lists are rebuilt after a save, by a worker: new rows, new ids.
            (RelatedIncident, ["id"]),
            # A recompute touches every cluster whose members it changed; a rename, merge or
            # split touches the cluster; a member who joins is a new row.
            (PatternCluster, ["updated_at", "id"]),
            (PatternClusterMember, ["id"]),
            # The catalogue is edited in the admin; assessments and adopted controls are
            # written with the incident or policy change they belong to, which moves too.
            (Control, ["updated_at", "id"]),
            (ControlAssessment, ["id"]),
            (PolicyControl, ["id"]),
        )
        for column in columns
    ]
    with reading_connection().cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        row = cursor.fetchone()
    return hashlib.sha256(repr(row).encode()).hexdigest()[:16]


def cached_for_this_data(name, compute, timeout=24 * 3600):
    """`compute()`, remembered until the data changes."""
    key = f"{name}:{data_version()}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=timeout)
    return value


def public_page_cache(view):
    """Whole responses of a public page for anonymous readers, kept until the data changes (or
    PAGE_CACHE_SECONDS pass). Signed-in readers see staff notes and previews: they neither
    read nor fill this cache. Nor does a response that set a cookie or showed a message."""

    @wraps(view)
    def cached_view(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        version = data_version()
        path = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
        key = f"public-page:{version}:{path}"
        response = cache.get(key)
        if response is not None:
            return response
        token = _page_data_version.set(version)
        try:
            response = view(request, *args, **kwargs)
        finally:
            _page_data_version.reset(token)
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        messages = getattr(request, "_messages", None)
        if (
            response.status_code == 200
            and not response.cookies
            and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
            and not (messages is not None and messages.used)
        ):
            cache.set(key, response, timeout=settings.PAGE_CACHE_SECONDS)
        return response

    return cached_view
