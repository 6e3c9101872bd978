"""The severity scale's badge colours as a stylesheet: editors choose them in the admin, and the
security policy lets pages take styles only from the site's own stylesheets."""

import re

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from incidents.models import Severity

HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")


@require_GET
def severity_styles(request):
    rules = [
        f".severity-{pk} {{ --badge: {colour}; }}"
        for pk, colour in Severity.objects.order_by("rank").values_list("pk", "colour")
        # The database holds only #rrggbb; anything else must not reach a stylesheet.
        if HEX_COLOUR.fullmatch(colour)
    ]
    response = HttpResponse("\n".join(rules) + "\n", content_type="text/css; charset=utf-8")
    # A colour changed in the admin shows within a few minutes.
    response["Cache-Control"] = "public, max-age=300"
    return response
