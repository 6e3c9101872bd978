"""The site's main navigation: a link to each section, marked while the reader is in it."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context, url_name, label):
    """A link to a section's first page, with aria-current on every page under its address
    (an incident's page is in the Incidents section)."""
    url = reverse(url_name)
    request = context.get("request")  # absent on the bare 500 page
    if request is not None and request.path.startswith(url):
        return format_html('<a href="{}" aria-current="page">{}</a>', url, label)
    return format_html('<a href="{}">{}</a>', url, label)
