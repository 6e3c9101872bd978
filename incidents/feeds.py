"""RSS and Atom feeds of newly published incidents (all, or one tag's, organisation's or
severity's) and of policy changes. Every link names the public address (`SITE_URL`)."""

from django.contrib.syndication.views import Feed
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

from incidents.citation import PUBLISHER, absolute_url, permanent_url
from incidents.models import (
    Incident,
    Organisation,
    PolicyChange,
    Severity,
    Tag,
)

ITEMS = 30
FORMATS = {"rss": Rss201rev2Feed, "atom": Atom1Feed}


class IncidentFeed(Feed):
    """Published incidents, the most recently published first."""

    description_template = None
    feed_type = Rss201rev2Feed

    def __init__(self, feed_format="rss"):
        super().__init__()
        self.feed_format = feed_format
        self.feed_type = FORMATS[feed_format]

    def get_object(self, request, *args, **kwargs):
        return None

    def title(self, obj):
        return f"{PUBLISHER}: newly published incidents"

    def link(self, obj):
        return absolute_url(reverse("incident_list"))

    route_name = "incidents"

    def route_args(self, obj):
        return []

    def feed_url(self, obj):
        name = f"feed_{self.route_name}_{self.feed_format}"
        return absolute_url(reverse(name, args=self.route_args(obj)))

    def description(self, obj):
        return "AI-related incidents as structured postmortems, as they are published."

    subtitle = description

    def incidents(self, obj):
        return Incident.objects.published()

    def items(self, obj):
        return (
            self.incidents(obj)
            .select_related("severity", "published_revision")
            # Only what an item shows: narratives and search vectors are most of a row.
            .only(
                "number",
                "slug",
                "title",
                "summary",
                "published_at",
                "severity__name",
                "published_revision__created_at",
            )
            .prefetch_related("tags")
            .filter(published_at__isnull=False)  # as the feed index
            .order_by("-published_at", "-number")[:ITEMS]
        )

    def item_title(self, incident):
        severity = f"[{incident.severity.name}] " if incident.severity else ""
        return f"{severity}{incident.public_number} {incident.title}"

    def item_description(self, incident):
        return incident.summary

    def item_link(self, incident):
        return absolute_url(incident.get_absolute_url())

    def item_guid(self, incident):
        return permanent_url(incident)

    item_guid_is_permalink = True

    def item_pubdate(self, incident):
        return incident.published_at

    def item_updateddate(self, incident):
        revision = incident.published_revision
        return revision.created_at if revision else incident.published_at

    def item_categories(self, incident):
        return [tag.name for tag in incident.tags.all()]


class TagIncidentFeed(IncidentFeed):
    route_name = "tag"

    def route_args(self, tag):
        return [tag.facet, tag.slug]

    def get_object(self, request, facet, slug):
        return get_object_or_404(Tag.objects.visible_to(request.user), facet=facet, slug=slug)

    def title(self, tag):
        return f"{PUBLISHER}: incidents tagged {tag.get_facet_display().lower()} {tag.name}"

    def link(self, tag):
        return absolute_url(tag.get_absolute_url())

    def incidents(self, tag):
        tagged = Incident.tags.through.objects.filter(incident=OuterRef("pk"), tag=tag)
        return Incident.objects.published().filter(Exists(tagged))


class OrganisationIncidentFeed(IncidentFeed):
    route_name = "organisation"

    def route_args(self, organisation):
        return [organisation.slug]

    def get_object(self, request, slug):
        return get_object_or_404(Organisation.objects.visible_to(request.user), slug=slug)

    def title(self, organisation):
        return f"{PUBLISHER}: incidents involving {organisation.name}"

    def link(self, organisation):
        return absolute_url(organisation.get_absolute_url())

    def incidents(self, organisation):
        return Incident.objects.published_of(organisation, newest=ITEMS)


class SeverityIncidentFeed(IncidentFeed):
    route_name = "severity"

    def route_args(self, severity):
        return [severity.name]

    def get_object(self, request, name):
        return get_object_or_404(Severity, name__iexact=name)

    def title(self, severity):
        return f"{PUBLISHER}: {severity.name} ({severity.label}) incidents"

    def link(self, severity):
        return absolute_url(reverse("incident_list") + f"?severity={severity.name}")

    def incidents(self, severity):
        return Incident.objects.published().filter(severity=severity)


class PolicyChangeFeed(IncidentFeed):
    """Policy changes, the most recently recorded first."""

    route_name = "policies"

    def title(self, obj):
        return f"{PUBLISHER}: policy changes"

    def link(self, obj):
        return absolute_url(reverse("policy_list"))

    def description(self, obj):
        return "Controls organisations adopted or dropped after AI-related incidents."

    subtitle = description

    def items(self, obj):
        return PolicyChange.objects.select_related("organisation").order_by("-created_at", "-id")[
            :ITEMS
        ]

    def item_title(self, policy):
        return f"{policy.organisation.name}: {policy.title}"

    def item_description(self, policy):
        return policy.description_html

    def item_link(self, policy):
        return absolute_url(policy.get_absolute_url())

    def item_guid(self, policy):
        return absolute_url(policy.get_absolute_url())

    def item_pubdate(self, policy):
        return policy.created_at

    def item_updateddate(self, policy):
        return policy.updated_at

    def item_categories(self, policy):
        return [policy.get_kind_display()]


def feed_urls():
    """(route, view, name) of every feed in both formats: e.g. `feeds/incidents/rss/`,
    named `feed_incidents_rss`."""
    feeds = [
        ("incidents/", IncidentFeed, "incidents"),
        ("tags/<slug:facet>/<slug:slug>/", TagIncidentFeed, "tag"),
        ("organisations/<slug:slug>/", OrganisationIncidentFeed, "organisation"),
        ("severity/<str:name>/", SeverityIncidentFeed, "severity"),
        ("policies/", PolicyChangeFeed, "policies"),
    ]
    return [
        (f"feeds/{route}{feed_format}/", feed_class(feed_format), f"feed_{name}_{feed_format}")
        for route, feed_class, name in feeds
        for feed_format in FORMATS
    ]
