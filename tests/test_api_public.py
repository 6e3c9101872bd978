"""The public API: what anyone can read at /api/v1/, and what never appears there."""

import base64
from datetime import UTC, datetime

import pytest
from django.test import Client

from incidents.models import Incident, RelatedIncident, ReportingTrigger, Severity
from incidents.search_index import search_index_update
from incidents.services import reporting as reporting_service

from .factories import (
    ActionItemFactory,
    AgentActionFactory,
    IncidentFactory,
    OrganisationFactory,
    PolicyChangeFactory,
    PolicyChangeIncidentFactory,
    SourceFactory,
    TagFactory,
    TimelineEventFactory,
    assess,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return Client()


def numbers(response):
    return [row["number"] for row in response.json()["results"]]


def test_it_lists_published_incidents_only(api):
    published = IncidentFactory(title="Agent wiped the staging cluster")
    IncidentFactory(draft=True)
    IncidentFactory(in_review=True)
    IncidentFactory(internal=True)
    IncidentFactory(retracted=True)

    response = api.get("/api/v1/incidents/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert numbers(response) == [published.number]
    row = response.json()["results"][0]
    assert row["title"] == "Agent wiped the staging cluster"
    assert row["severity"]["name"] == "SEV3"
    assert row["permanent_url"] == f"http://localhost:8000/incidents/{published.number}/"


def test_it_answers_404_for_drafts_and_internal_incidents(api):
    for incident in (IncidentFactory(draft=True), IncidentFactory(internal=True)):
        response = api.get(f"/api/v1/incidents/{incident.number}/")
        assert response.status_code == 404
        assert response.json()["detail"]
        assert api.get(f"/api/v1/incidents/{incident.number}/similar/").status_code == 404


def test_staff_tokens_do_not_widen_the_public_endpoints(eve_client):
    """The public endpoints answer the same to everyone, so they can be cited and cached."""
    draft = IncidentFactory(draft=True)

    assert eve_client.get(f"/api/v1/incidents/{draft.number}/").status_code == 404
    assert draft.number not in numbers(eve_client.get("/api/v1/incidents/"))


def test_a_retracted_incident_stays_readable_with_its_reason(api):
    incident = IncidentFactory(retracted=True)

    data = api.get(f"/api/v1/incidents/{incident.number}/").json()

    assert data["status"] == "retracted"
    assert data["retraction_reason"] == "The only source turned out to be satire."


def test_the_detail_nests_the_postmortem_without_internal_fields(api, ada):
    incident = IncidentFactory(organisations=[OrganisationFactory(name="Replit")])
    TimelineEventFactory(incident=incident, description="The agent dropped the tables.")
    ActionItemFactory(incident=incident, title="Separate prod credentials", assignee=ada)
    SourceFactory(incident=incident, url="https://news.example.com/replit")
    PolicyChangeIncidentFactory(incident=incident, policy_change__title="Code freeze for agents")

    data = api.get(f"/api/v1/incidents/{incident.number}/").json()

    assert data["organisations"] == [
        {
            "organisation": {
                "slug": "replit",
                "name": "Replit",
                "url": "http://localhost:8000/organisations/replit/",
            },
            "role": "deployer",
        }
    ]
    assert data["timeline"][0]["description"] == "The agent dropped the tables."
    assert data["action_items"] == [
        {"title": "Separate prod credentials", "owner": "Platform team", "due_on": None,
         "status": "open"}
    ]  # fmt: skip
    assert data["sources"][0]["url"] == "https://news.example.com/replit"
    assert data["policy_changes"][0]["title"] == "Code freeze for agents"
    assert "<strong>without review</strong>" in data["narrative_html"]
    for internal in ("visibility", "search_vector", "review_requested_at", "assignee", "id"):
        assert internal not in data
        assert internal not in str(data["action_items"])


def test_it_filters_and_searches_like_the_web_list(api):
    tag = TagFactory(name="Data deletion")
    deletion = IncidentFactory(title="Agent deleted the production database", tags=[tag])
    IncidentFactory(title="Chatbot promised a refund")
    sev1 = IncidentFactory(
        title="Agent took down the region", severity=Severity.objects.get(name="SEV1")
    )

    assert numbers(api.get(f"/api/v1/incidents/?tag={tag.facet}:{tag.slug}")) == [deletion.number]
    assert numbers(api.get("/api/v1/incidents/?q=database")) == [deletion.number]
    assert numbers(api.get("/api/v1/incidents/?severity=SEV1")) == [sev1.number]


def test_invalid_filters_get_a_400_naming_the_parameter(api):
    response = api.get("/api/v1/incidents/?tag=nonsense&severity=SEV9&sort=loudest")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"tag", "severity", "sort"}


def test_cursor_pages_walk_every_incident_once(api):
    created = [IncidentFactory().number for _ in range(5)]

    seen, url = [], "/api/v1/incidents/?page_size=2"
    while url:
        page = api.get(url).json()
        seen += [row["number"] for row in page["results"]]
        url = page["next"]

    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))


def test_oldest_first_reverses_the_order(api):
    incidents = [IncidentFactory(occurred_at=None) for _ in range(3)]

    newest = numbers(api.get("/api/v1/incidents/"))
    oldest = numbers(api.get("/api/v1/incidents/?sort=oldest"))

    assert oldest == list(reversed(newest)) == [i.number for i in incidents]


def test_a_forged_cursor_is_a_404_not_an_error(api):
    forged = base64.b64encode(b"p=not-a-date&o=0").decode()
    response = api.get(f"/api/v1/incidents/?cursor={forged}")

    assert response.status_code == 404
    assert "cursor" in response.json()["detail"]


@pytest.fixture
def ranked():
    """Three incidents that match "refund chatbot invented", best match oldest."""
    best = IncidentFactory(
        title="Chatbot invented a refund policy",
        summary="The airline's chatbot invented a refund the airline then refused.",
        occurred_at=datetime(2022, 11, 1, tzinfo=UTC),
    )
    middle = IncidentFactory(
        title="Chatbot invented a discount", occurred_at=datetime(2024, 1, 1, tzinfo=UTC)
    )
    worst = IncidentFactory(
        title="Support desk overwhelmed",
        summary="Customers asked for a refund.",
        occurred_at=datetime(2025, 6, 1, tzinfo=UTC),
    )
    search_index_update()
    return [best.number, middle.number, worst.number]


def test_a_search_is_ranked_by_relevance_by_default(api, ranked):
    query = "refund chatbot invented"

    assert numbers(api.get("/api/v1/incidents/", {"q": query})) == ranked
    assert numbers(api.get("/api/v1/incidents/", {"q": query, "sort": "relevance"})) == ranked
    newest = numbers(api.get("/api/v1/incidents/", {"q": query, "sort": "newest"}))
    assert newest == list(reversed(ranked))


def test_relevance_without_a_search_lists_newest_first_like_the_web(api, ranked):
    response = api.get("/api/v1/incidents/?sort=relevance")

    assert response.status_code == 200
    assert numbers(response) == list(reversed(ranked))


def test_ranked_pages_walk_every_match_once_in_order(api, ranked):
    seen, url = [], "/api/v1/incidents/?q=refund+chatbot+invented&page_size=2"
    while url:
        page = api.get(url).json()
        seen += [row["number"] for row in page["results"]]
        url = page["next"]

    assert seen == ranked
    assert "page=2" in api.get("/api/v1/incidents/?q=refund&page_size=1").json()["next"]


def test_a_ranked_page_past_the_last_is_a_404(api, ranked):
    response = api.get("/api/v1/incidents/?q=refund&page=9")

    assert response.status_code == 404
    assert "page" in response.json()["detail"]


def test_null_characters_in_parameters_are_refused(api):
    response = api.get("/api/v1/incidents/?organisation=a%00b")

    assert response.status_code == 400


def test_similar_incidents_leave_out_unpublished_ones(api):
    incident = IncidentFactory()
    visible = IncidentFactory(title="A similar outage")
    SourceFactory(incident=visible, stance="disputes")
    hidden = IncidentFactory(draft=True)
    RelatedIncident.objects.filter(incident=incident).delete()
    RelatedIncident.objects.create(incident=incident, related=visible, score=3.0, shared_tags=2)
    RelatedIncident.objects.create(incident=incident, related=hidden, score=9.0, shared_tags=5)

    data = api.get(f"/api/v1/incidents/{incident.number}/similar/").json()

    assert [row["incident"]["number"] for row in data] == [visible.number]
    assert data[0]["shared_tags"] == 2
    assert data[0]["incident"]["is_disputed"] is True


def test_policy_changes_link_only_public_incidents(api):
    policy = PolicyChangeFactory(title="Agents need approval")
    PolicyChangeIncidentFactory(policy_change=policy, incident=IncidentFactory())
    PolicyChangeIncidentFactory(policy_change=policy, incident=IncidentFactory(internal=True))

    listed = api.get("/api/v1/policy-changes/").json()["results"]
    detail = api.get(f"/api/v1/policy-changes/{policy.slug}/").json()

    assert [row["title"] for row in listed] == ["Agents need approval"]
    assert len(detail["incidents"]) == 1


def test_organisations_and_tags_list_those_with_published_incidents(api):
    seen_org, seen_tag = OrganisationFactory(name="Seen"), TagFactory(name="Seen tag")
    OrganisationFactory(name="Unseen")
    IncidentFactory(organisations=[seen_org], tags=[seen_tag])
    IncidentFactory(draft=True, organisations=[OrganisationFactory(name="Drafted")])

    organisations = api.get("/api/v1/organisations/").json()["results"]
    tags = api.get("/api/v1/tags/").json()["results"]
    tag = api.get(f"/api/v1/tags/{seen_tag.facet}:{seen_tag.slug}/").json()

    assert [row["name"] for row in organisations] == ["Seen"]
    assert [row["name"] for row in tags] == ["Seen tag"]
    assert tag["incidents_api_url"].endswith(f"?tag={seen_tag.facet}:{seen_tag.slug}")


@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v1/postmortems/h%0AW/"])
def test_unknown_api_addresses_answer_json(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response.json()["detail"]


def test_the_list_costs_the_same_queries_for_many_incidents(api, django_assert_max_num_queries):
    for _ in range(15):
        IncidentFactory(tags=[TagFactory()])

    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/incidents/")

    assert len(response.json()["results"]) == 15


def test_anonymous_clients_are_throttled_with_a_json_message(api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anonymous": "2/minute", "token": "1000/minute"},
    }

    statuses = [api.get("/api/v1/tags/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert "Too many requests" in api.get("/api/v1/tags/").json()["detail"]


def test_public_incidents_count_matches_the_web_list(api):
    IncidentFactory.create_batch(3)
    IncidentFactory(draft=True)

    assert len(numbers(api.get("/api/v1/incidents/"))) == Incident.objects.published().count()


def test_the_detail_costs_the_same_queries_for_many_rows(api, django_assert_max_num_queries):
    incident = IncidentFactory(
        organisations=[OrganisationFactory() for _ in range(4)],
        tags=[TagFactory() for _ in range(4)],
    )
    for _ in range(5):
        TimelineEventFactory(incident=incident)
        ActionItemFactory(incident=incident)
        SourceFactory(incident=incident)
        PolicyChangeIncidentFactory(incident=incident)

    # the incident, what hangs off it, and the version its cached response is keyed on
    with django_assert_max_num_queries(13):
        data = api.get(f"/api/v1/incidents/{incident.number}/").json()

    assert len(data["timeline"]) == len(data["sources"]) == len(data["policy_changes"]) == 5


def test_numbers_beyond_any_incident_are_404(api):
    huge = "9" * 30

    assert api.get(f"/api/v1/incidents/{huge}/").status_code == 404
    assert api.get(f"/api/v1/incidents/{huge}/similar/").status_code == 404


def test_the_detail_shows_what_the_ai_did_and_the_controls_but_no_reporting_clock(api, ada):
    incident = IncidentFactory(
        kind=Incident.Kind.NEAR_MISS, worst_credible_severity=Severity.objects.get(name="SEV1")
    )
    AgentActionFactory(
        incident=incident,
        position=1,
        tool="run_shell",
        command="terraform destroy -auto-approve",
        action_class="destroy",
        approval_gate="none",
        harmful=True,
    )
    assess(incident, "deletion-protection", "would_have_stopped", "Nothing guarded the volume.")
    reporting_service.reporting_clock_set(
        incident=incident,
        trigger=ReportingTrigger.objects.get(regime__slug="gdpr-art-33"),
        aware_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        by=ada,
    )

    data = api.get(f"/api/v1/incidents/{incident.number}/").json()

    assert data["kind"] == "near_miss"
    assert data["worst_credible_severity"]["name"] == "SEV1"
    [step] = data["agent_actions"]
    assert (step["command"], step["action_class"], step["harmful"]) == (
        "terraform destroy -auto-approve",
        "destroy",
        True,
    )
    [assessment] = data["control_assessments"]
    assert assessment["control"]["slug"] == "deletion-protection"
    assert assessment["verdict"] == "would_have_stopped"
    body = api.get(f"/api/v1/incidents/{incident.number}/").content.decode()
    assert "gdpr" not in body.lower() and "aware" not in body
