"""The incident list's facet counts kept by the write path: they stay equal to counts taken
from the incidents after every kind of change, the list shows them, and lists that combine
filters count a bounded number of matches, labelled as estimates when there are more."""

from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import facet_counts, filters
from incidents.filters import IncidentFilter
from incidents.models import FacetCount, Incident, PerpetratorKind, Provenance, Severity
from incidents.services.merge import incident_merge
from incidents.services.review import (
    incident_create,
    review_approve_and_publish,
    review_submit,
)

from .factories import (
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    PolicyChangeIncidentFactory,
    TagFactory,
    import_,
    signed_in,
    snapshot_of,
)

pytestmark = pytest.mark.django_db
AIID = Path(__file__).parent / "data" / "aiid" / "2025-03"


def assert_kept_counts_are_exact():
    facet_counts.count_pending()
    assert facet_counts.is_built()
    assert facet_counts.differences() == []


def _severity_counts(html):
    """{"SEV1": "3", ...} as the list's severity options show them."""
    counts = {}
    for name in Severity.objects.values_list("name", flat=True):
        marker = f'name="severity" value="{name}"'
        if marker in html:
            after = html.split(marker, 1)[1]
            counts[name] = after.split('<span class="count">', 1)[1].split("</span>", 1)[0]
    return counts


def test_kept_counts_equal_exact_counts_after_saves_tags_organisations_and_links(eve):
    sev1 = Severity.objects.get(name="SEV1")
    outage, sector = TagFactory(), TagFactory(facet="sector")
    acme, globex = OrganisationFactory(), OrganisationFactory()
    first = IncidentFactory(tags=[outage], organisations=[acme])
    second = IncidentFactory(tags=[outage, sector])
    hidden = IncidentFactory(internal=True, tags=[sector])
    assert_kept_counts_are_exact()

    first.severity = sev1
    first.kind = Incident.Kind.NEAR_MISS
    first.save()
    second.tags.remove(outage)
    hidden.tags.add(outage)
    outage.incidents.add(IncidentFactory())  # from the tag's side
    assert_kept_counts_are_exact()

    IncidentOrganisationFactory(incident=second, organisation=globex)
    first.organisation_roles.all().delete()
    PolicyChangeIncidentFactory(incident=second)
    Provenance.objects.create(
        incident=first, dataset="aiid", external_id="99", imported_at=timezone.now()
    )
    sector.incidents.clear()
    assert_kept_counts_are_exact()

    incident_merge(primary=first, duplicate=second, by=eve)
    hidden.status = Incident.Status.RETRACTED
    hidden.retraction_reason = "A duplicate of another report."
    hidden.save()
    assert_kept_counts_are_exact()


def test_kept_counts_follow_a_publication(ada, rui):
    incident = incident_create(snapshot=snapshot_of(title="Agent dropped a table"), by=ada)
    assert_kept_counts_are_exact()
    review_submit(incident=incident, by=ada)
    review_approve_and_publish(incident=incident, by=rui)
    assert_kept_counts_are_exact()
    public_total = FacetCount.objects.get(
        scope=FacetCount.Scope.PUBLIC, filter_key="", facet_key="total"
    )
    assert public_total.count == 1


def test_kept_counts_follow_an_import():
    IncidentFactory()
    import_("aiid", AIID)
    assert_kept_counts_are_exact()
    assert facet_counts.maintained(FacetCount.Scope.PUBLIC, "dataset:aiid")["total"] == 4


def test_the_check_reports_a_wrong_count_and_the_rebuild_puts_it_right():
    IncidentFactory()
    facet_counts.count_pending()
    FacetCount.objects.filter(filter_key="", facet_key="total").update(count=7)

    with pytest.raises(CommandError, match="2 facet count"):
        call_command("facet_counts_check")
    call_command("facet_counts_rebuild")
    call_command("facet_counts_check")


def test_a_rebuild_counts_what_the_saves_kept_in_both_scopes():
    tag, other = TagFactory(name="Deletion"), TagFactory(name="Prompt injection")
    acme = OrganisationFactory(name="Acme")
    IncidentFactory(tags=[tag, other], organisations=[acme])
    IncidentFactory(tags=[tag], severity=Severity.objects.get(name="SEV1"))
    IncidentFactory(tags=[tag, other], organisations=[acme], internal=True)
    IncidentFactory(tags=[other], draft=True)
    facet_counts.count_pending()
    kept = set(FacetCount.objects.values_list("scope", "filter_key", "facet_key", "count"))

    facet_counts.rebuild()

    assert set(FacetCount.objects.values_list("scope", "filter_key", "facet_key", "count")) == kept
    public_tag = FacetCount.objects.get(
        scope=FacetCount.Scope.PUBLIC, filter_key=f"tag:{tag.pk}", facet_key="total"
    )
    internal_tag = FacetCount.objects.get(
        scope=FacetCount.Scope.INTERNAL, filter_key=f"tag:{tag.pk}", facet_key="total"
    )
    assert (public_tag.count, internal_tag.count) == (2, 3)


def test_the_list_shows_kept_counts_unfiltered_and_for_one_filter(reader):
    coding = PerpetratorKind.objects.get(slug="ai-coding-agent")
    IncidentFactory.create_batch(2)
    IncidentFactory(severity=Severity.objects.get(name="SEV1"))
    IncidentFactory(draft=True, severity=Severity.objects.get(name="SEV1"))

    unfiltered = reader.get("/incidents/").text
    assert _severity_counts(unfiltered) == {"SEV1": "1", "SEV3": "2"}
    assert "3 incidents" in unfiltered

    Incident.objects.filter(severity__name="SEV3").first().save()  # a save changes nothing
    one_filter = reader.get(f"/incidents/?perpetrator={coding.slug}&severity=SEV1").text
    assert "1 incident" in one_filter
    only_sev3 = reader.get("/incidents/?severity=SEV3").text
    assert _severity_counts(only_sev3) == {"SEV3": "2"}
    assert "2 incidents" in only_sev3


def test_the_internal_list_counts_drafts_and_filters_by_status(vic):
    IncidentFactory()
    IncidentFactory(draft=True)
    client = signed_in(vic)

    assert "2 incidents" in client.get("/incidents/").text
    assert "1 incident" in client.get("/incidents/?status=draft").text


def test_a_large_combination_shows_estimates_labelled_as_such(reader, monkeypatch):
    monkeypatch.setattr(filters, "MATCHES_COUNTED", 2)
    tag = TagFactory()
    IncidentFactory.create_batch(4, tags=[tag])

    combined = reader.get(f"/incidents/?tag={tag.facet}:{tag.slug}&severity=SEV3").text
    assert "More than 2 incidents match" in combined
    assert '<span class="visually-hidden">at least </span>3<span aria-hidden="true">+</span>' in (
        combined
    )
    assert "Page 1 of" not in combined

    single = reader.get(f"/incidents/?tag={tag.facet}:{tag.slug}").text
    assert "4 incidents" in single
    assert "at least" not in single


def test_kept_counts_cost_a_handful_of_queries_however_many_incidents(reader):
    tags = [TagFactory(), TagFactory(facet="sector")]
    IncidentFactory.create_batch(30, tags=tags, organisations=[OrganisationFactory()])
    reader.get("/incidents/")  # the first reader counts the changes
    Incident.objects.first().save()
    with CaptureQueriesContext(connection) as catching_up:
        assert reader.get("/incidents/?kind=incident").status_code == 200
    with CaptureQueriesContext(connection) as steady:
        assert reader.get(f"/incidents/?tag={tags[0].facet}:{tags[0].slug}").status_code == 200
    assert len(steady) <= 8
    assert len(catching_up) <= 16
    assert not any("WITH m" in query["sql"] for query in steady.captured_queries)


@pytest.mark.parametrize("internal", [False, True])
def test_kept_counts_equal_the_counts_of_the_filtered_list(rf, vic, internal):
    sector, outage = TagFactory(facet="sector"), TagFactory()
    acme = OrganisationFactory()
    IncidentFactory(tags=[sector, outage], organisations=[acme], kind=Incident.Kind.NEAR_MISS)
    IncidentFactory(tags=[outage], severity=Severity.objects.get(name="SEV1"))
    IncidentFactory(draft=True, tags=[sector], organisations=[acme])
    IncidentFactory(internal=True, tags=[outage])
    PolicyChangeIncidentFactory(incident=IncidentFactory(tags=[sector]))
    Provenance.objects.create(
        incident=Incident.objects.first(),
        dataset="aiid",
        external_id="1",
        imported_at=timezone.now(),
    )
    request = rf.get("/incidents/")
    request.user = vic if internal else AnonymousUser()
    queries = [
        "",
        "severity=SEV1",
        "perpetrator=ai-coding-agent",
        "autonomy=unknown",
        "kind=near_miss",
        f"tag={sector.facet}:{sector.slug}",
        "dataset=aiid",
        f"organisation={acme.slug}",
        "has_policy=yes",
        "has_policy=no",
    ] + (["status=draft", "status=published"] if internal else [])
    assert facet_counts.is_built()
    for query in queries:
        kept = IncidentFilter(QueryDict(query), request=request)
        assert kept.single_filter_key() is not None, query
        counted = IncidentFilter(QueryDict(query), request=request)
        counted._maintained = False
        assert kept.facet_counts() == counted.facet_counts(), query


def test_the_home_page_counts_published_incidents_from_the_kept_counts(client):
    IncidentFactory.create_batch(3)
    IncidentFactory(draft=True)
    IncidentFactory(internal=True)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert "3 published incidents so far" in response.content.decode()
    assert not any("COUNT(" in query["sql"] for query in queries.captured_queries)
