"""Cursor pages: any depth costs what the first page costs; `next` and `previous` are links.

Results ranked by relevance have no key a cursor could hold (a rank is computed per query),
so they are paged by number instead, as the web list pages them, with the same links.
"""

from functools import cached_property

from django.core.paginator import Paginator
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination, CursorPagination, PageNumberPagination
from rest_framework.response import Response


def _is_datetime(text):
    try:
        return parse_datetime(text) is not None
    except ValueError:
        return False


class Cursor(CursorPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    invalid_cursor_message = (
        "That cursor is not valid (perhaps cut short); start again from the first page."
    )
    # A cursor carries the first ordering field's value; check it is one before filtering.
    position_is_valid = staticmethod(lambda text: True)

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        position = cursor.position if cursor is not None else None
        if position is not None and not self.position_is_valid(position):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class IncidentCursor(Cursor):
    """Newest (or, with sort=oldest, oldest) first, by the date the web list sorts by."""

    ordering = ("-sort_date", "-number")
    position_is_valid = staticmethod(_is_datetime)

    def get_ordering(self, request, queryset, view):
        if request.query_params.get("sort") == "oldest":
            return ("sort_date", "number")
        return self.ordering


# As on the web list: deeper pages of a ranking are OFFSET queries, and nobody reads them.
MAX_RANKED_PAGES = 50


class FirstPages(Paginator):
    """A Django paginator that offers only the first MAX_RANKED_PAGES pages."""

    @cached_property
    def count(self):
        return min(super().count, MAX_RANKED_PAGES * self.per_page)


class RankedPages(PageNumberPagination):
    django_paginator_class = FirstPages
    page_size = Cursor.page_size
    page_size_query_param = Cursor.page_size_query_param
    max_page_size = Cursor.max_page_size
    invalid_page_message = (
        f"There is no such page: ranked results have at most {MAX_RANKED_PAGES} pages; "
        "narrow the search, or sort by newest or oldest to page through everything."
    )

    def get_paginated_response(self, data):
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )


class IncidentPages(BasePagination):
    """Cursor pages by date (IncidentCursor); page numbers for a search ranked by relevance."""

    def paginate_queryset(self, queryset, request, view=None):
        ranked = queryset.query.order_by[:1] == ("-rank",)
        self.pages = RankedPages() if ranked else IncidentCursor()
        return self.pages.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return self.pages.get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        return IncidentCursor().get_paginated_response_schema(schema)

    def get_schema_operation_parameters(self, view):
        page = RankedPages().get_schema_operation_parameters(view)[0]
        page["schema"] = {**page["schema"], "minimum": 1, "maximum": MAX_RANKED_PAGES}
        page["description"] = (
            "With sort=relevance (the default with q): which page of the ranking, up to "
            f"{MAX_RANKED_PAGES}; follow `next`. The cursor is for the other orders."
        )
        return [*IncidentCursor().get_schema_operation_parameters(view), page]


class NewestRecordedCursor(Cursor):
    ordering = ("-created_at", "-id")
    position_is_valid = staticmethod(_is_datetime)


class SlugCursor(Cursor):
    ordering = ("slug",)


class TagCursor(Cursor):
    ordering = ("id",)
    position_is_valid = staticmethod(lambda text: text.isascii() and text.isdigit())
