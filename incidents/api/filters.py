"""The web list's filters and search, for the API's incident list."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from incidents.filters import IncidentFilter


class IncidentApiFilter(IncidentFilter):
    """IncidentFilter with the orders the API pages through; the API lists published
    incidents only, so there is no status filter."""

    sort = django_filters.ChoiceFilter(
        choices=[
            ("relevance", "Relevance"),
            ("newest", "Newest first"),
            ("oldest", "Oldest first"),
        ],
        method="filter_nothing",
        help_text="relevance (the default with q, ranked as the web list ranks a search; "
        "without q it means newest), newest (the default without q) or oldest, by occurrence "
        "date.",
    )


IncidentApiFilter.base_filters.pop("status", None)
# Types for the schema of filters that look their values up by a method.
for name in ("organisation", "ai_system"):
    extend_schema_field(OpenApiTypes.STR)(IncidentApiFilter.base_filters[name])
extend_schema_field({"type": "array", "items": {"type": "string"}})(
    IncidentApiFilter.base_filters["tag"]
)
