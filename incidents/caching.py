"""Caching of whole-dataset aggregates (facet counts, exports) until the data changes.

Every write path saves the incident or policy change it touches, which moves its `updated_at`;
incidents are never deleted. So the newest `updated_at` (and id) of incidents and policy changes,
plus the newest organisation and tag, name a version of the data. Each part is one index lookup.
"""

import hashlib

from django.core.cache import cache
from django.db import connection

from incidents.models import Incident, Organisation, PolicyChange, Tag


def data_version():
    """One query: the newest change of each table the public aggregates are built from."""
    parts = [
        f"(SELECT MAX({column}) FROM {model._meta.db_table})"
        for model, columns in (
            (Incident, ["updated_at", "id"]),
            (PolicyChange, ["updated_at", "id"]),
            (Organisation, ["id"]),
            (Tag, ["id"]),
        )
        for column in columns
    ]
    with connection.cursor() as cursor:
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
