"""The web list's filters and search, for the API's incident list."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from incidents.filters import IncidentFilter


class IncidentApiFilter(IncidentFilter):
    """IncidentFilter with the orders a cursor can page through; the API lists published
    incidents only, so there is no status filter."""

    sort = django_filters.ChoiceFilter(
        choices=[("newest", "Newest first"), ("oldest", "Oldest first")],
        method="filter_nothing",
        help_text="newest (the default) or oldest, by occurrence date.",
    )


IncidentApiFilter.base_filters.pop("status", None)
# Types for the schema of filters that look their values up by a method.
for name in ("organisation", "ai_system"):
    extend_schema_field(OpenApiTypes.STR)(IncidentApiFilter.base_filters[name])
extend_schema_field({"type": "array", "items": {"type": "string"}})(
    IncidentApiFilter.base_filters["tag"]
)
