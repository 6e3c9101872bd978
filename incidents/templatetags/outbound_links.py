"""Links to other sites, from addresses the records hold (sources, websites, original records)."""

from django import template
from django.utils.html import format_html

from incidents.web_addresses import is_web_address

register = template.Library()


@register.simple_tag
def outbound_link(address, text="", new_tab=False):
    """A link when the address is a web address; otherwise the text (or the address) as text."""
    text = text or address
    if not is_web_address(address):
        return text
    if new_tab:
        return format_html(
            '<a href="{}" rel="nofollow noopener" target="_blank">{}</a>', address.strip(), text
        )
    return format_html('<a href="{}" rel="nofollow noopener">{}</a>', address.strip(), text)
