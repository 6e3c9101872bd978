"""sitemap.xml: every public page, at its public address (`SITE_URL`)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from incidents.models import Incident, Organisation, PolicyChange, Tag


class PublicSitemap(Sitemap):
    limit = 10_000

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme or "https"


class IncidentSitemap(PublicSitemap):
    changefreq = "monthly"

    def items(self):
        # Retracted incidents keep their page (it says why); citations point there.
        return (
            Incident.objects.public()
            .only("number", "slug", "updated_at", "status")
            .order_by("number")
        )

    def lastmod(self, incident):
        return incident.updated_at

    def priority(self, incident):
        return 0.8 if incident.status == Incident.Status.PUBLISHED else 0.3


class PolicyChangeSitemap(PublicSitemap):
    changefreq = "monthly"

    def items(self):
        return PolicyChange.objects.only("slug", "updated_at").order_by("pk")

    def lastmod(self, policy):
        return policy.updated_at


class OrganisationSitemap(PublicSitemap):
    changefreq = "weekly"

    def items(self):
        return Organisation.objects.public().order_by("pk")


class TagSitemap(PublicSitemap):
    changefreq = "weekly"

    def items(self):
        return Tag.objects.public().order_by("pk")


class PageSitemap(PublicSitemap):
    changefreq = "daily"

    def items(self):
        return ["home", "incident_list", "policy_list", "organisation_list", "tag_list", "data"]

    def location(self, name):
        return reverse(name)


SITEMAPS = {
    "pages": PageSitemap,
    "incidents": IncidentSitemap,
    "policies": PolicyChangeSitemap,
    "organisations": OrganisationSitemap,
    "tags": TagSitemap,
}
