"""The incident list: facet counts, shareable filters, keyset pages and a fixed query count."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import filters
from incidents.models import Incident, IncidentOrganisation, Provenance, Severity

from .factories import (
    AISystemFactory,
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    PolicyChangeIncidentFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def count_beside(html, name, value):
    match = re.search(
        rf'name="{name}" value="{re.escape(value)}"[^>]*>[^<]*<span class="count">(\d+)</span>',
        html,
    )
    return int(match.group(1)) if match else None


@pytest.fixture
def catalogue():
    """Five incidents with hand-counted facets."""
    sev1, sev2 = Severity.objects.get(name="SEV1"), Severity.objects.get(name="SEV2")
    deletion = TagFactory(name="Deletion")
    finance = TagFactory(name="Finance", facet="sector")
    a = IncidentFactory(title="Alpha", severity=sev1, tags=[deletion, finance])
    IncidentFactory(title="Bravo", severity=sev1, tags=[deletion])
    IncidentFactory(title="Charlie", severity=sev2, autonomy=Incident.Autonomy.AUTONOMOUS)
    IncidentFactory(title="Delta", severity=sev2, tags=[finance])
    IncidentFactory(title="Echo")
    IncidentFactory(title="Hidden draft", draft=True, severity=sev1, tags=[deletion])
    PolicyChangeIncidentFactory(incident=a)
    return {"deletion": deletion, "finance": finance}


def test_facet_counts_match_the_results(reader, catalogue):
    html = reader.get("/incidents/").text
    assert "5 incidents" in html
    assert count_beside(html, "severity", "SEV1") == 2
    assert count_beside(html, "severity", "SEV2") == 2
    assert count_beside(html, "severity", "SEV3") == 1
    assert count_beside(html, "autonomy", "autonomous") == 1
    assert count_beside(html, "autonomy", "unknown") == 4
    assert count_beside(html, "perpetrator", "ai-coding-agent") == 5
    assert count_beside(html, "tag", f"failure-mode:{catalogue['deletion'].slug}") == 2
    assert count_beside(html, "tag", f"sector:{catalogue['finance'].slug}") == 2
    assert count_beside(html, "has_policy", "yes") == 1
    assert count_beside(html, "has_policy", "no") == 4


def test_facet_counts_follow_the_filters(reader, catalogue):
    html = reader.get("/incidents/?severity=SEV1").text
    assert "2 incidents" in html
    assert count_beside(html, "tag", f"failure-mode:{catalogue['deletion'].slug}") == 2
    assert count_beside(html, "tag", f"sector:{catalogue['finance'].slug}") == 1
    assert count_beside(html, "has_policy", "yes") == 1


def test_filters_survive_a_round_trip_through_the_url(reader, catalogue):
    deletion = f"failure-mode:{catalogue['deletion'].slug}"
    url = f"/incidents/?severity=SEV1&tag={deletion}&has_policy=yes&sort=oldest"
    html = reader.get(url).text
    assert "Alpha" in html and "Bravo" not in html
    # The form shows what is in force, so submitting it again asks for the same list.
    assert re.search(r'name="severity" value="SEV1" checked', html)
    assert re.search(rf'name="tag" value="{deletion}" checked', html)
    assert re.search(r'name="has_policy" value="yes" checked', html)
    assert '<option value="oldest" selected>' in html


def test_each_chip_removes_one_filter(reader, catalogue):
    html = reader.get("/incidents/?severity=SEV1&severity=SEV2&has_policy=no").text
    removes = re.findall(r'<li class="chip">([^<]*)<a href="([^"]+)"', html)
    assert len(removes) == 3
    links = {label.strip(): href.replace("&amp;", "&") for label, href in removes}
    assert parse_qs(urlsplit(links["Severity: SEV1"]).query) == {
        "severity": ["SEV2"],
        "has_policy": ["no"],
    }
    after = reader.get("/incidents/" + links["No policy change"]).text
    assert "4 incidents" in after


def test_organisation_chip_names_the_role(reader):
    aws = OrganisationFactory(name="Amazon Web Services")
    incident = IncidentFactory(title="Outage")
    IncidentOrganisation.objects.create(incident=incident, organisation=aws, role="developer")
    html = reader.get(f"/incidents/?organisation={aws.slug}&role=developer").text
    assert "Organisation: Amazon Web Services (as developer)" in html
    assert "Outage" in html


def _walk(reader, first_url):
    seen, url, pages = [], first_url, 0
    while url:
        html = reader.get(url).text
        seen += re.findall(r'class="number">#(\d+)<', html)
        next_link = re.search(r'rel="next" href="([^"]+)"', html)
        url = "/incidents/" + next_link.group(1).replace("&amp;", "&") if next_link else None
        if url:
            assert "after=" in url and "page=" not in url
        pages += 1
        assert pages < 20
    return [int(n) for n in seen], pages


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_keyset_pages_visit_every_incident_exactly_once(reader, settings, sort):
    settings.PAGE_SIZE = 4
    same_day = datetime(2025, 3, 1, tzinfo=UTC)
    # Ties on the date: the number breaks them.
    IncidentFactory.create_batch(7, occurred_at=same_day)
    for n in range(6):
        IncidentFactory(occurred_at=same_day + timedelta(days=n - 3))
    IncidentFactory(occurred_at=None)
    seen, pages = _walk(reader, f"/incidents/?sort={sort}")
    assert sorted(seen) == sorted(Incident.objects.values_list("number", flat=True))
    assert len(seen) == len(set(seen)) == 14
    assert pages == 4


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_a_filtered_list_reads_the_same_whether_its_few_matches_are_found_first(
    reader, settings, monkeypatch, sort
):
    settings.PAGE_SIZE = 3
    tag = TagFactory(name="Deletion")
    same_day = datetime(2025, 3, 1, tzinfo=UTC)
    for n in range(10):
        IncidentFactory(occurred_at=same_day + timedelta(days=n % 4), tags=[tag] if n % 3 else [])
    IncidentFactory(occurred_at=None, tags=[tag])
    url = f"/incidents/?tag={tag.facet}:{tag.slug}&sort={sort}"
    found_first, pages = _walk(reader, url)
    monkeypatch.setattr(filters, "FOUND_THEN_SORTED", 0)  # read in list order instead
    in_list_order, _ = _walk(reader, url)

    assert found_first == in_list_order
    assert sorted(found_first) == sorted(tag.incidents.values_list("number", flat=True))
    assert len(set(found_first)) == 7 and pages == 3


def _walk_back(reader, url):
    """The numbers of every page from the one at `url` back to the first, each page's in order."""
    pages = []
    while url:
        html = reader.get(url).text
        pages.insert(0, [int(n) for n in re.findall(r'class="number">#(\d+)<', html)])
        prev_link = re.search(r'rel="prev" href="([^"]+)"', html)
        url = "/incidents/" + prev_link.group(1).replace("&amp;", "&") if prev_link else None
        assert len(pages) < 20
    return [number for page in pages for number in page]


@pytest.mark.parametrize("sort", ["newest", "oldest"])
@pytest.mark.parametrize("role", ["", "developer"])
def test_an_organisations_list_pages_in_order_both_ways_and_follows_edits(
    reader, settings, sort, role
):
    settings.PAGE_SIZE = 2
    acme = OrganisationFactory(name="Acme")
    same_day = datetime(2025, 3, 1, tzinfo=UTC)
    roles = IncidentOrganisation.Role.values
    for n in range(9):
        incident = IncidentFactory(occurred_at=same_day + timedelta(days=n % 4) if n else None)
        # One to three roles each, so an incident has several links to the organisation.
        for played in {roles[n % len(roles)], roles[(n * 2) % len(roles)], "developer"}:
            IncidentOrganisation.objects.create(incident=incident, organisation=acme, role=played)
        IncidentFactory(occurred_at=same_day + timedelta(days=n))  # another organisation's
    for hidden in (IncidentFactory(internal=True), IncidentFactory(draft=True)):
        IncidentOrganisation.objects.create(incident=hidden, organisation=acme, role="developer")
    url = f"/incidents/?organisation={acme.slug}&sort={sort}" + (f"&role={role}" if role else "")

    def expected():
        listed = Incident.objects.published().filter(organisation_roles__organisation=acme)
        ordered = listed.distinct().newest_first()
        ordered = ordered.reverse() if sort == "oldest" else ordered
        return list(ordered.values_list("number", flat=True))

    forwards, pages = _walk(reader, url)
    assert forwards == expected() and len(forwards) == 9 and pages == 5

    moved = Incident.objects.get(number=forwards[-1])
    moved.occurred_at = None if sort == "newest" else same_day - timedelta(days=1)
    moved.published_at = timezone.now() + timedelta(days=1)
    moved.save()
    forwards, _ = _walk(reader, url)
    assert forwards == expected() and forwards[0] == moved.number

    last = reader.get(url).text
    while next_link := re.search(r'rel="next" href="([^"]+)"', last):
        last_url = "/incidents/" + next_link.group(1).replace("&amp;", "&")
        last = reader.get(last_url).text
    assert _walk_back(reader, last_url) == forwards


def test_keyset_previous_link_goes_back(reader, settings):
    settings.PAGE_SIZE = 2
    for day in range(5):
        IncidentFactory(occurred_at=datetime(2025, 1, day + 1, tzinfo=UTC))
    first = reader.get("/incidents/").text
    second_url = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = reader.get("/incidents/" + second_url).text
    assert "Page 2 of 3" in second
    back_url = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    back = reader.get("/incidents/" + back_url).text
    assert "Page 1 of 3" in back
    assert re.findall(r'class="number">#(\d+)<', back) == re.findall(
        r'class="number">#(\d+)<', first
    )


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "bmV3ZXN0fG5vdC1hLWRhdGV8MXwx", "b2xkZXN0fDIwMjUtMDEtMDFUMDA6MDA6MDArMDA6MDB8MXwx"],
)
def test_a_bad_cursor_shows_the_first_page_with_a_message(reader, cursor):
    IncidentFactory(title="First")
    response = reader.get(f"/incidents/?after={cursor}")
    assert response.status_code == 200
    assert "That page link is not valid" in response.text
    assert "First" in response.text


def test_numbered_pages_are_capped(reader, settings):
    settings.PAGE_SIZE = 1
    IncidentFactory.create_batch(3)
    response = reader.get("/incidents/?sort=severity&page=500")
    assert response.status_code == 200
    assert "Only the first 50 pages" in response.text
    assert "Page 3 of 3" in response.text


def _list_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _incidents(count):
    tags = [TagFactory(), TagFactory(facet="sector")]
    system = AISystemFactory()
    for n in range(count):
        incident = IncidentFactory(tags=tags, organisations=[OrganisationFactory()])
        incident.ai_systems.add(system)
        if n % 2:
            PolicyChangeIncidentFactory(incident=incident)


@pytest.mark.parametrize(
    ("url", "most"),
    [
        # The first reader after a change counts the changed incidents' facet keys first: a
        # fixed number of queries, however many changed.
        ("/incidents/", 16),
        ("/incidents/?severity=SEV3&has_policy=yes&sort=severity", 9),
        # A search lists its matches once, then counts facets by id; on PostgreSQL it may also
        # widen a query with few exact hits to close words and names.
        ("/incidents/?q=incident", 13),
    ],
)
def test_the_query_count_does_not_grow_with_the_data(reader, url, most):
    _incidents(5)
    few = _list_queries(reader, url)
    _incidents(45)
    many = _list_queries(reader, url)
    assert few == many
    assert many <= most
    # Facet counts are cached until the data changes: a second look costs less.
    assert _list_queries(reader, url) < many


def test_the_query_count_is_constant_for_an_editor(eve_client):
    _incidents(5)
    few = _list_queries(eve_client, "/incidents/?status=published")
    _incidents(45)
    assert _list_queries(eve_client, "/incidents/?status=published") == few


@pytest.mark.parametrize("path", ["/", "/incidents/", "/policies/", "/tags/", "/data/"])
def test_every_page_has_the_search_box(reader, path):
    html = reader.get(path).text
    assert '<form class="site-search" role="search" method="get" action="/incidents/">' in html
    assert '<label class="visually-hidden" for="site-search-q">Search incidents</label>' in html
    assert 'name="q"' in html


def test_a_search_with_no_match_shows_the_empty_state_and_any_suggestions(reader, monkeypatch):
    IncidentFactory(title="Replit agent deleted a database")
    html = reader.get("/incidents/?q=zebra").text
    assert "No incidents match “zebra” with these filters." in html
    assert "No incidents have been published yet." not in html

    monkeypatch.setattr("incidents.search.suggestions", lambda query, reader, limit=5: ["replit"])
    # Nothing close either (on PostgreSQL a typo like "replt" would still find the incident).
    html = reader.get("/incidents/?q=zqxwv&severity=SEV3").text
    assert "Did you mean" in html
    assert 'href="?severity=SEV3&amp;q=replit"' in html


def test_no_incidents_at_all_has_its_own_empty_state(reader):
    assert "No incidents have been published yet." in reader.get("/incidents/").text


def test_the_filters_fold_into_a_details_panel(reader):
    IncidentFactory()
    html = reader.get("/incidents/").text
    assert '<details class="filter-panel" open' in html
    assert "<summary>Search and filters" in html


def test_staff_see_the_status_filter_and_the_public_does_not(reader, eve_client):
    IncidentFactory(title="Draft one", draft=True)
    assert 'name="status"' not in reader.get("/incidents/").text
    html = eve_client.get("/incidents/?status=draft").text
    assert 'name="status"' in html
    assert "Draft one" in html


def test_facet_counts_of_one_organisation_count_its_incidents_once(reader, catalogue):
    openai = OrganisationFactory(name="OpenAI")
    alpha, bravo = Incident.objects.filter(title__in=["Alpha", "Bravo"]).order_by("title")
    for incident in (alpha, bravo):
        IncidentOrganisationFactory(incident=incident, organisation=openai)
    # One incident known to two datasets, under two ids in one of them.
    for dataset, external_id in (("aiid", "1"), ("aiid", "2"), ("aiaaic", "A1")):
        Provenance.objects.create(
            incident=alpha, dataset=dataset, external_id=external_id, imported_at=timezone.now()
        )
    html = reader.get(f"/incidents/?organisation={openai.slug}").text
    assert "2 incidents" in html
    assert count_beside(html, "severity", "SEV1") == 2
    assert count_beside(html, "severity", "SEV2") is None
    assert count_beside(html, "tag", f"failure-mode:{catalogue['deletion'].slug}") == 2
    assert count_beside(html, "dataset", "aiid") == 1
    assert count_beside(html, "dataset", "aiaaic") == 1
    assert count_beside(html, "has_policy", "yes") == 1
