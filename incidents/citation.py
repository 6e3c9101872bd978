"""Permanent addresses and citations of public records.

Links that leave the site (feeds, sitemap, API, citations, canonical and OpenGraph tags) are
built on `SITE_URL`, so they name the public address whatever host a request came through.
An incident's permanent address is `/incidents/<number>/`: numbers are never reused, and that
address redirects to the page whatever its slug.
"""

from django.conf import settings
from django.urls import reverse

PUBLISHER = "Blast Radius"
AUTHOR = "Blast Radius contributors"
BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def absolute_url(path):
    return settings.SITE_URL.rstrip("/") + path


def permanent_url(incident):
    return absolute_url(reverse("incident_redirect", args=[incident.number]))


def revision_of(incident):
    """(revision number or None, date) of what the public reads: the approved revision, or
    for records that arrived by import, when they were last changed."""
    revision = incident.published_revision
    if revision is not None:
        return revision.number, revision.created_at
    return None, incident.updated_at


def citation_text(incident):
    number, when = revision_of(incident)
    revision = f"revision {number}, " if number else "version of "
    return (
        f"{AUTHOR}. \u201cIncident {incident.public_number}: {incident.title}.\u201d "
        f"{PUBLISHER}, {revision}{when:%-d %B %Y}. {permanent_url(incident)}"
    )


def _bibtex_escape(text):
    return "".join(BIBTEX_SPECIAL.get(character, character) for character in text)


def citation_bibtex(incident):
    number, when = revision_of(incident)
    revision = f"Revision {number} of {when:%Y-%m-%d}" if number else f"Version of {when:%Y-%m-%d}"
    title = _bibtex_escape(f"Incident {incident.public_number}: {incident.title}")
    fields = [
        ("title", "{{" + title + "}}"),
        ("author", "{{" + AUTHOR + "}}"),
        ("howpublished", "{" + PUBLISHER + "}"),
        ("year", "{" + f"{when:%Y}" + "}"),
        ("month", f"{when:%b}".lower()),  # a BibTeX month macro, unbraced
        ("url", "{" + permanent_url(incident) + "}"),
        ("note", "{" + revision + "}"),
    ]
    body = ",\n".join(f"  {name} = {value}" for name, value in fields)
    return f"@misc{{blast-radius-{incident.number},\n{body}\n}}"
