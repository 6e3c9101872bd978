"""Cursor pages: any depth costs what the first page costs; `next` and `previous` are links."""

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


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


class NewestRecordedCursor(Cursor):
    ordering = ("-created_at", "-id")
    position_is_valid = staticmethod(_is_datetime)


class SlugCursor(Cursor):
    ordering = ("slug",)


class TagCursor(Cursor):
    ordering = ("id",)
    position_is_valid = staticmethod(lambda text: text.isascii() and text.isdigit())
