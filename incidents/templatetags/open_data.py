"""Public addresses, feed links, structured data and citations in templates."""

import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from incidents import citation

register = template.Library()

# Inside <script>, "</script>" or "<!--" in a title must not end or change the element.
SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


@register.filter
def absolute(path):
    """A path on this site as its public address."""
    return citation.absolute_url(str(path or ""))


@register.simple_tag
def feed_links(title, name, *args):
    """<link rel="alternate"> for the RSS and Atom versions of a feed."""
    kinds = [("rss", "application/rss+xml", "RSS"), ("atom", "application/atom+xml", "Atom")]
    return format_html_join(
        "\n",
        '<link rel="alternate" type="{}" title="{} ({})" href="{}">',
        (
            (mime, title, label, citation.absolute_url(reverse(f"feed_{name}_{kind}", args=args)))
            for kind, mime, label in kinds
        ),
    )


@register.inclusion_tag("incidents/_feed_links.html")
def feed_subscribe(label, name, *args):
    """Visible "Subscribe" links to a feed in both formats."""
    return {
        "label": label,
        "rss": reverse(f"feed_{name}_rss", args=args),
        "atom": reverse(f"feed_{name}_atom", args=args),
    }


def script_json(data):
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(SCRIPT_ESCAPES)


@register.simple_tag
def incident_json_ld(incident):
    """schema.org description of an incident page, for search engines."""
    _number, modified = citation.revision_of(incident)
    page = citation.absolute_url(incident.get_absolute_url())
    data = {
        "@context": "https://schema.org",
        "@type": "Report",
        "@id": citation.permanent_url(incident),
        "url": page,
        "identifier": incident.public_number,
        "headline": incident.title[:110],
        "name": incident.title,
        "description": incident.summary,
        "datePublished": incident.published_at,
        "dateModified": modified,
        "isAccessibleForFree": True,
        "publisher": {
            "@type": "Organization",
            "name": citation.PUBLISHER,
            "url": citation.absolute_url("/"),
        },
        "about": [
            {
                "@type": "Organization",
                "name": organisation.name,
                "url": citation.absolute_url(organisation.get_absolute_url()),
            }
            # One organisation may hold several roles in the incident.
            for organisation in {
                role.organisation: None for role in incident.organisation_roles.all()
            }
        ],
        "keywords": [tag.name for tag in incident.tags.all()],
        "citation": [source.url for source in incident.sources.all()],
    }
    if incident.severity:
        data["keywords"].insert(0, incident.severity.name)
    if incident.status == incident.Status.RETRACTED:
        data["creativeWorkStatus"] = "Retracted"
    return format_html(
        '<script type="application/ld+json">{}</script>', mark_safe(script_json(data))
    )


@register.simple_tag
def citation_text(incident):
    return citation.citation_text(incident)


@register.simple_tag
def citation_bibtex(incident):
    return citation.citation_bibtex(incident)
