"""Caching of aggregates (facet counts, exports) and of public pages until the data they are
built from changes.

Versions are read from the rows themselves, never from signals, so a write made by a worker, a
migration or a bulk update counts as long as it moves what the version reads: every write path
saves the incident or policy change it touches, which moves its `updated_at`; incidents are
never deleted; link and derived rows are new rows with new ids. Each kind of page reads only
the tables it shows, so a write empties only the pages it touches:

- `incident_version(number)`: one incident's page, from its own row and the rows that hang off
  it (its links, related incidents, derivations, assessments), plus the small catalogues
  edited in the admin. Saving incident A leaves incident B's page cached.
- `list_version()`: published lists, facets and the home page, from the newest change among
  incidents that are or were published (a draft edit of an unpublished incident touches
  none), policy changes, and the catalogues.
- `policy_version()`, `pattern_version()`, `control_version()`: their pages, from their own
  tables and the published lists they show.
- `data_version()`: the newest change of everything, for pages that show a bit of all.

Cache fills are single-flight: the first reader of a cold key computes it under a lock taken
with `cache.add`; the others wait briefly for the value instead of computing it again.
"""

import hashlib
import time
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, parse_http_date_safe

from config.db_routers import reading_connection
from incidents.dashboards.summaries import summaries_version as summaries_written
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
    PolicyChangeIncident,
    PolicyControl,
    RelatedIncident,
    Tag,
)

# Set while a cached public page is computed: the page and its parts read one version.
_page_data_version = ContextVar("page_data_version", default=None)

# How long one reader may hold the right to fill a key, and how long the others wait for it.
FILL_LOCK_SECONDS = 30
FILL_WAIT_SECONDS = 5
FILL_POLL_SECONDS = 0.05

# Edited in the admin, rarely: every page version reads them.
CATALOGUES = (
    (Organisation, ["updated_at", "id"]),
    # An edited crosswalk entry derives again: tags it adds touch no incident's row.
    (CrosswalkEntry, ["updated_at", "id"]),
    (Tag, ["id"]),
    (Control, ["updated_at", "id"]),
)
POLICIES = (
    (PolicyChange, ["updated_at", "id"]),
    (PolicyChangeIncident, ["id"]),
    (PolicyControl, ["id"]),
    # A link decided by an editor touches its case; a new link is a new row.
    (LegalCase, ["updated_at", "id"]),
    (LegalCaseIncident, ["id"]),
)
PATTERNS = (
    # A recompute touches every cluster whose members it changed; a rename, merge or split
    # touches the cluster; a member who joins is a new row.
    (PatternCluster, ["updated_at", "id"]),
    (PatternClusterMember, ["id"]),
)
CONTROLS = ((ControlAssessment, ["id"]),)
EVERYTHING = (
    ((Incident, ["updated_at", "id"]), (Derivation, ["id"]), (RelatedIncident, ["id"]))
    + CATALOGUES
    + POLICIES
    + PATTERNS
    + CONTROLS
)


def _newest(tables):
    return [
        f"(SELECT MAX({column}) FROM {model._meta.db_table})"
        for model, columns in tables
        for column in columns
    ]


def _published_incidents():
    """The newest change among incidents that are or were published: publishing, retracting,
    editing or hiding one moves its `updated_at`."""
    statuses = ", ".join(
        f"'{status}'" for status in (Incident.Status.PUBLISHED, Incident.Status.RETRACTED)
    )
    return [
        f"(SELECT MAX(updated_at) FROM {Incident._meta.db_table} WHERE status IN ({statuses}))",
        # A derivation run tags incidents without touching their rows.
        f"(SELECT MAX(id) FROM {Derivation._meta.db_table})",
    ]


def _read_version(parts, params=()):
    with reading_connection().cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return hashlib.sha256(repr(row).encode()).hexdigest()[:16]


class _ReadOnce:
    """The version of everything, read when first asked for and then remembered."""

    def __init__(self):
        self.value = None

    def __call__(self):
        if self.value is None:
            self.value = _read_version(_newest(EVERYTHING))
        return self.value


def _version(parts, params=()):
    known = _page_data_version.get()
    if isinstance(known, _ReadOnce):
        return known()
    if known is not None:
        return known
    return _read_version(parts, params)


def data_version(**url_arguments):
    """One query: the newest change of each table the public aggregates are built from."""
    return _version(_newest(EVERYTHING))


def list_version(**url_arguments):
    """Published lists, their facets and the home page (which shows the latest policies)."""
    return _version(_published_incidents() + _newest(CATALOGUES + POLICIES[:1]))


def policy_version(**url_arguments):
    return _version(_published_incidents() + _newest(CATALOGUES + POLICIES + CONTROLS))


def pattern_version(**url_arguments):
    return _version(_published_incidents() + _newest(CATALOGUES + PATTERNS))


control_version = policy_version


def summaries_version(**url_arguments):
    """Dashboards: the summaries' own version, which every rebuild and every applied delta
    moves (deltas update rows in place, so no row id would); the action items they list age
    by the day."""

    return _version(
        _published_incidents() + _newest(CATALOGUES) + ["%s", "%s"],
        [timezone.localdate().isoformat(), str(summaries_written())],
    )


def incident_version(number, **url_arguments):
    """One incident's page: its row and what hangs off it, each an index lookup by incident."""
    # A number past any column's range names no incident (and PostgreSQL would refuse it).
    number = int(number) if 0 < int(number) < 2**31 else 0
    incidents = Incident._meta.db_table
    own = [
        (RelatedIncident, "incident_id"),
        (Derivation, "incident_id"),
        (ControlAssessment, "incident_id"),
        (LegalCaseIncident, "incident_id"),
        (PolicyChangeIncident, "incident_id"),
    ]
    parts = [f"(SELECT updated_at FROM {incidents} WHERE number = %s)"]
    parts += [
        f"(SELECT MAX(id) FROM {model._meta.db_table} WHERE {column} = "
        f"(SELECT id FROM {incidents} WHERE number = %s))"
        for model, column in own
    ]
    # The titles of related incidents and of linked cases and policies are shown too.
    parts += [
        f"(SELECT MAX(r.updated_at) FROM {incidents} r JOIN {RelatedIncident._meta.db_table} l"
        f" ON l.related_id = r.id WHERE l.incident_id = (SELECT id FROM {incidents}"
        " WHERE number = %s))",
        f"(SELECT MAX(c.updated_at) FROM {LegalCase._meta.db_table} c JOIN"
        f" {LegalCaseIncident._meta.db_table} l ON l.case_id = c.id WHERE l.incident_id ="
        f" (SELECT id FROM {incidents} WHERE number = %s))",
        f"(SELECT MAX(p.updated_at) FROM {PolicyChange._meta.db_table} p JOIN"
        f" {PolicyChangeIncident._meta.db_table} l ON l.policy_change_id = p.id WHERE"
        f" l.incident_id = (SELECT id FROM {incidents} WHERE number = %s))",
    ]
    return _version(parts + _newest(CATALOGUES), [number] * 9)


def filled_once(key, compute, timeout):
    """`cache.get(key)`, or `compute()` stored under `key`, computed by one reader at a time:
    the others wait up to FILL_WAIT_SECONDS for its value. With the cache unreachable, the
    lock can neither be taken nor be seen taken: everyone computes."""
    value = cache.get(key)
    if value is not None:
        return value
    lock = f"filling:{key}"
    if not cache.add(lock, 1, timeout=FILL_LOCK_SECONDS) and cache.get(lock) is not None:
        deadline = time.monotonic() + FILL_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(FILL_POLL_SECONDS)
            value = cache.get(key)
            if value is not None:
                return value
            if cache.get(lock) is None:
                break  # the filler gave up without a value: compute it here
        return compute()
    try:
        value = compute()
        if value is not None:
            cache.set(key, value, timeout=timeout)
        return value
    finally:
        cache.delete(lock)


def cached_for_this_data(name, compute, timeout=24 * 3600):
    """`compute()`, remembered until the data changes."""
    return filled_once(f"{name}:{data_version()}", compute, timeout)


class _NotCacheable(Exception):
    """Carries a response that must not be stored (a cookie set, a message shown)."""

    def __init__(self, response):
        self.response = response


def _cacheable(request, response):
    messages = getattr(request, "_messages", None)
    return (
        response.status_code == 200
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not (messages is not None and messages.used)
    )


def incidents_api_version(number=None, **url_arguments):
    """The incidents API: its list moves with the lists; one incident, and the incidents
    similar to it, with that incident's page."""
    return incident_version(number) if number else list_version()


def public_page_cache(view=None, *, version=None, vary_on=()):
    """Whole responses of a public page for anonymous readers, kept until `version` (one of
    the functions above, called with the view's URL arguments; `data_version` by default) changes,
    or PAGE_CACHE_SECONDS pass. They carry an ETag and Last-Modified, are public for
    PUBLIC_MAX_AGE_SECONDS, and a conditional GET of an unchanged page is answered 304.
    Signed-in readers see staff notes and previews: they neither read nor fill this cache,
    and their responses are private. Nor does a response that set a cookie or showed a
    message fill it."""
    if view is None:
        return lambda view: public_page_cache(view, version=version, vary_on=vary_on)

    @wraps(view)
    def cached_view(request, *args, **kwargs):
        # An API token is read by the API's own authentication, after this: it counts as
        # signed in too.
        if request.method not in ("GET", "HEAD"):
            response = view(request, *args, **kwargs)
            patch_cache_control(response, private=True)
            return response
        if request.user.is_authenticated or request.META.get("HTTP_AUTHORIZATION"):
            # Not stored, but its parts (facet counts, charts) are cached under one version,
            # read once if at all: that of everything, since staff see drafts too.
            token = _page_data_version.set(_ReadOnce())
            try:
                response = view(request, *args, **kwargs)
            finally:
                _page_data_version.reset(token)
            patch_cache_control(response, private=True)
            return response
        page_version = (version or data_version)(**kwargs)
        # `vary_on` names request headers that change the response (the API's Accept).
        asked = [request.get_full_path(), *(request.META.get(name, "") for name in vary_on)]
        path = hashlib.sha256(repr(asked).encode()).hexdigest()[:32]
        key = f"public-page:{page_version}:{path}"
        etag = f'"{hashlib.sha256(key.encode()).hexdigest()[:24]}"'
        not_modified = get_conditional_response(request, etag=etag)
        if not_modified is not None:
            return _public(not_modified)

        def compute():
            token = _page_data_version.set(page_version)
            try:
                response = view(request, *args, **kwargs)
            finally:
                _page_data_version.reset(token)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            if not _cacheable(request, response):
                raise _NotCacheable(response)
            response["ETag"] = etag
            response["Last-Modified"] = http_date()
            return response

        if settings.PAGE_CACHE_SECONDS <= 0:
            try:
                return _public(compute())
            except _NotCacheable as uncached:
                return uncached.response
        try:
            response = filled_once(key, compute, timeout=settings.PAGE_CACHE_SECONDS)
        except _NotCacheable as uncached:
            return uncached.response
        last_modified = response.get("Last-Modified")
        not_modified = get_conditional_response(
            request, etag=etag, last_modified=_parsed(last_modified)
        )
        return _public(not_modified or response)

    return cached_view


def _parsed(last_modified):
    return parse_http_date_safe(last_modified) if last_modified else None


def _public(response):
    patch_cache_control(
        response,
        public=True,
        max_age=settings.PUBLIC_MAX_AGE_SECONDS,
        stale_while_revalidate=settings.PUBLIC_MAX_AGE_SECONDS,
    )
    return response
