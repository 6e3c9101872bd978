"""What crawlers and feed readers ask for: robots.txt, the sitemap and the feeds."""

from django.contrib.sitemaps import views as sitemap_views
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from incidents.caching import list_version, public_page_cache
from incidents.citation import absolute_url
from incidents.sitemaps import SITEMAPS, urlset_xml

# Signed-in work and accounts are no use to a search engine.
PRIVATE_PREFIXES = ["/admin/", "/accounts/", "/my/", "/postmortems/", "/audit/"]


@require_GET
def robots_txt(request):
    lines = ["User-agent: *", *(f"Disallow: {prefix}" for prefix in PRIVATE_PREFIXES)]
    lines += ["", f"Sitemap: {absolute_url(reverse('sitemap_index'))}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


@public_page_cache(version=list_version)
def sitemap_index(request):
    """Django's index view names the host the request came through; this one the public."""
    items = []
    for section, sitemap_class in SITEMAPS.items():
        location = absolute_url(reverse("sitemap_section", kwargs={"section": section}))
        pages = sitemap_class().paginator.num_pages
        items += [
            sitemap_views.SitemapIndexItem(location + (f"?p={page}" if page > 1 else ""), None)
            for page in range(1, pages + 1)
        ]
    return TemplateResponse(
        request, "sitemap_index.xml", {"sitemaps": items}, content_type="application/xml"
    )


@public_page_cache(version=list_version)
def sitemap_section(request, section):
    if section not in SITEMAPS:
        raise Http404("No such sitemap.")
    sitemap = SITEMAPS[section]()
    try:
        page = sitemap.paginator.page(request.GET.get("p", 1))
    except (EmptyPage, PageNotAnInteger) as error:
        raise Http404("No such page of the sitemap.") from error
    return HttpResponse(urlset_xml(sitemap, page.object_list), content_type="application/xml")
