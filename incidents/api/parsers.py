"""Request bodies: JSON, nested no deeper than the site reads anywhere (incidents.untrusted),
of text a database can store."""

from rest_framework import exceptions, parsers

from incidents.untrusted import TOO_DEEP, Unreadable, check_depth, unstorable_text


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            check_depth(data)
        except (RecursionError, Unreadable):
            raise exceptions.ParseError(f"JSON parse error - {TOO_DEEP}.") from None
        if problem := unstorable_text(data):
            raise exceptions.ParseError(f"{problem} in the request body.")
        return data
