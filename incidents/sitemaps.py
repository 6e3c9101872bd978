"""sitemap.xml: every public page, at its public address (`SITE_URL`)."""

from datetime import datetime
from math import ceil
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import Max
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from incidents.models import Incident, Organisation, PolicyChange, Tag


class PublicSitemap(Sitemap):
    limit = 10_000

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme or "https"


NUMBER_MARK, SLUG_MARK = "987654321", "slug-mark"


class NumberRangePage:
    def __init__(self, object_list):
        self.object_list = object_list


class NumberRangePaginator:
    """Page p holds the incidents numbered (p - 1) * per_page + 1 to p * per_page: one index
    range scan per page, however deep, and no count. Numbers of internal incidents leave gaps,
    so a page may hold fewer; a page keeps its incidents as the base grows."""

    def __init__(self, queryset, per_page):
        self.queryset = queryset
        self.per_page = per_page

    @property
    def num_pages(self):
        newest = Incident.objects.aggregate(newest=Max("number"))["newest"] or 0
        return max(1, ceil(newest / self.per_page))

    def page(self, number):
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger("That page number is not an integer") from error
        if number < 1 or number > self.num_pages:
            raise EmptyPage("That page contains no results")
        first = (number - 1) * self.per_page + 1
        return NumberRangePage(
            list(self.queryset.filter(number__range=(first, first + self.per_page - 1)))
        )


class IncidentSitemap(PublicSitemap):
    changefreq = "monthly"

    def items(self):
        # Retracted incidents keep their page (it says why); citations point there.
        return (
            Incident.objects.public()
            .order_by("number")
            # Plain tuples, and the day computed by the database: ten thousand named tuples
            # and parsed timestamps cost more than the query.
            .values_list("number", "slug", TruncDate("updated_at"), "status")
        )

    @property
    def paginator(self):
        return NumberRangePaginator(self.items(), self.limit)

    def location(self, incident):
        # Ten thousand reverse() calls cost more than the query: format the first one's shape.
        number, slug, _, _ = incident
        return self._detail_path.replace(NUMBER_MARK, str(number), 1).replace(SLUG_MARK, slug, 1)

    @cached_property
    def _detail_path(self):
        return reverse("incident_detail", args=[NUMBER_MARK, SLUG_MARK])

    def lastmod(self, incident):
        return incident[2]

    def priority(self, incident):
        return 0.8 if incident[3] == Incident.Status.PUBLISHED else 0.3


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


def urlset_xml(sitemap, items):
    """The <urlset> of `items`, as Django's sitemap.xml template renders it, built as one
    string: the template and Django's per-item dictionaries take seconds for ten thousand."""
    prefix = f"{sitemap.get_protocol()}://{sitemap.get_domain()}"
    lastmod = getattr(sitemap, "lastmod", None)
    priority = getattr(sitemap, "priority", None)
    changefreq = f"<changefreq>{sitemap.changefreq}</changefreq>" if sitemap.changefreq else ""
    zone = timezone.get_current_timezone()
    entries = []
    for item in items:
        entry = f"<url><loc>{xml_escape(prefix + sitemap.location(item))}</loc>"
        if lastmod and (moment := lastmod(item)):
            if isinstance(moment, datetime) and timezone.is_aware(moment):
                moment = moment.astimezone(zone)
            entry += f"<lastmod>{moment:%Y-%m-%d}</lastmod>"
        entry += changefreq
        if priority:
            entry += f"<priority>{priority(item)}</priority>"
        entries.append(entry + "</url>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/'
        'sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">\n'
        + "".join(entries)
        + "\n</urlset>\n"
    )
