"""What makes a public page citable and shareable: canonical address, OpenGraph and Twitter
card meta, schema.org JSON-LD, the citation block, sitemap.xml and robots.txt."""

import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from incidents.models import Severity
from incidents.services import review as review_service
from incidents.sitemaps import IncidentSitemap

from .factories import (
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    PolicyChangeFactory,
    TagFactory,
    snapshot_of,
)

pytestmark = pytest.mark.django_db
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def page(incident, client=None):
    response = (client or Client()).get(incident.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def meta(html, attribute, name):
    found = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', html)
    return found and found.group(1)


def json_ld(html):
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_an_incident_page_names_its_canonical_address():
    incident = IncidentFactory()

    html = Client().get(f"/incidents/{incident.number}/{incident.slug}/?utm_source=x").content
    expected = f"http://localhost:8000/incidents/{incident.number}/{incident.slug}/"

    assert f'<link rel="canonical" href="{expected}">' in html.decode()


def test_a_shared_link_previews_title_summary_and_severity():
    incident = IncidentFactory(
        title="Agent deleted the production database",
        summary="During a code freeze, an agent ran a destructive migration.",
        severity=Severity.objects.get(name="SEV1"),
    )

    html = page(incident)

    assert meta(html, "property", "og:title") == (
        f"#{incident.number} Agent deleted the production database"
    )
    assert "During a code freeze" in meta(html, "property", "og:description")
    assert meta(html, "property", "og:description").startswith("SEV1")
    assert meta(html, "property", "og:type") == "article"
    assert meta(html, "property", "og:url").endswith(
        f"/incidents/{incident.number}/{incident.slug}/"
    )
    assert meta(html, "name", "twitter:card") == "summary"
    assert meta(html, "name", "twitter:label1") == "Severity"
    assert meta(html, "name", "twitter:data1").startswith("SEV1")


def test_json_ld_describes_the_incident():
    organisation = OrganisationFactory(name="Replit")
    incident = IncidentFactory(organisations=[organisation], tags=[TagFactory(name="Outage")])
    IncidentOrganisationFactory(incident=incident, organisation=organisation, role="developer")

    data = json_ld(page(incident))

    assert data["@context"] == "https://schema.org"
    assert data["@id"] == f"http://localhost:8000/incidents/{incident.number}/"
    assert data["name"] == incident.title
    assert [about["name"] for about in data["about"]] == ["Replit"]
    assert data["keywords"] == ["SEV3", "Outage"]


def test_json_ld_cannot_be_broken_out_of():
    incident = IncidentFactory(title='</script><script>alert("x")</script> & <!--')

    html = page(incident)

    assert '<script>alert("x")' not in html
    assert json_ld(html)["name"] == '</script><script>alert("x")</script> & <!--'


def test_the_citation_names_the_permanent_address_and_revision_date(ada, rui):
    incident = review_service.incident_create(
        snapshot=snapshot_of(title="Agent wiped {staging} & 100% of backups"), by=ada
    )
    review_service.review_submit(incident=incident, by=ada)
    review_service.review_approve_and_publish(incident=incident, by=rui)
    incident.refresh_from_db()
    revision = incident.published_revision

    html = page(incident)

    permanent = f"http://localhost:8000/incidents/{incident.number}/"
    assert f"Blast Radius, revision 1, {revision.created_at:%-d %B %Y}. {permanent}" in html
    assert r"Agent wiped \{staging\} \&amp; 100\% of backups" in html
    assert f"note = {{Revision 1 of {revision.created_at:%Y-%m-%d}}}" in html
    assert f"url = {{{permanent}}}" in html
    assert Client().get(permanent).status_code == 301


def test_unpublished_previews_offer_no_citation(vic_client):
    incident = IncidentFactory(draft=True)

    assert "Cite this incident" not in page(incident, vic_client)


def test_the_sitemap_lists_public_pages_at_their_public_address():
    published = IncidentFactory()
    retracted = IncidentFactory(retracted=True)
    draft = IncidentFactory(draft=True)
    internal = IncidentFactory(internal=True)
    policy = PolicyChangeFactory()
    client = Client()

    index = ET.fromstring(client.get("/sitemap.xml").content)
    sections = [loc.text for loc in index.iter(f"{SITEMAP}loc")]
    urls = []
    for section in sections:
        assert section.startswith("http://localhost:8000/sitemap-")
        response = client.get(section.removeprefix("http://localhost:8000"))
        assert response.status_code == 200
        urls += [loc.text for loc in ET.fromstring(response.content).iter(f"{SITEMAP}loc")]

    assert f"http://localhost:8000{published.get_absolute_url()}" in urls
    assert f"http://localhost:8000{retracted.get_absolute_url()}" in urls
    assert f"http://localhost:8000{policy.get_absolute_url()}" in urls
    assert f"http://localhost:8000{policy.organisation.get_absolute_url()}" in urls
    assert "http://localhost:8000/incidents/" in urls
    for hidden in (draft, internal):
        assert f"http://localhost:8000{hidden.get_absolute_url()}" not in urls
    assert client.get("/sitemap-nothing.xml").status_code == 404


def test_robots_txt_points_to_the_sitemap_and_keeps_out_of_staff_pages():
    response = Client().get("/robots.txt")

    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "Sitemap: http://localhost:8000/sitemap.xml" in lines
    assert "Disallow: /postmortems/" in lines
    assert "Disallow: /admin/" in lines


def test_site_url_names_the_public_host(settings):
    settings.SITE_URL = "https://blast-radius.example"
    incident = IncidentFactory()

    html = page(incident)

    assert (
        f'href="https://blast-radius.example/incidents/{incident.number}/{incident.slug}/"' in html
    )
    assert f"https://blast-radius.example/incidents/{incident.number}/" in json_ld(html)["@id"]


def test_the_incident_sitemap_pages_by_number_and_every_page_lists_its_incidents(monkeypatch):
    monkeypatch.setattr(IncidentSitemap, "limit", 2)
    incidents = [IncidentFactory() for _ in range(5)]
    client = Client()

    index = ET.fromstring(client.get("/sitemap.xml").content)
    pages = [
        loc.text.removeprefix("http://localhost:8000")
        for loc in index.iter(f"{SITEMAP}loc")
        if "sitemap-incidents" in loc.text
    ]
    urls = []
    for address in pages:
        response = client.get(address)
        assert response.status_code == 200
        urls += [loc.text for loc in ET.fromstring(response.content).iter(f"{SITEMAP}loc")]

    assert urls == [f"http://localhost:8000{i.get_absolute_url()}" for i in incidents]
    assert client.get(f"/sitemap-incidents.xml?p={len(pages) + 1}").status_code == 404
    assert client.get("/sitemap-incidents.xml?p=two").status_code == 404
