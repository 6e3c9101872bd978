"""Filing through the API with a token: drafts, revisions, conflicts and review rules.

Personas: Ada the reporter (her incident bot holds her token), Grace who edits the same
draft, Sam who reports and reviews, Rui the reviewer, Vic the viewer, and the anonymous public.
"""

import json

import pytest
from django.test import Client

from incidents import revisions
from incidents.api.authentication import issue_token
from incidents.models import AuditEvent, Incident
from incidents.services import review as review_service

from .factories import IncidentFactory, OrganisationFactory, TagFactory

pytestmark = pytest.mark.django_db

DRAFT = {
    "title": "Coding agent deleted the staging database",
    "summary": "An agent ran a destructive migration against staging during a freeze.",
    "severity": "SEV2",
    "perpetrator": "ai-coding-agent",
    "occurred_at": "2026-03-02T09:15:00Z",
    "detected_at": "2026-03-02T09:40:00Z",
    "outage_duration": "01:30:00",
    "timeline": [
        {"at": "2026-03-02T09:15:00Z", "description": "Migration started."},
        {"at": "2026-03-02T09:40:00Z", "description": "On-call paged."},
    ],
    "action_items": [{"title": "Require approval for destructive migrations"}],
    "sources": [{"url": "https://status.example.com/incidents/42", "stance": "official"}],
}


class TokenClient:
    """An API client as a tool sees it: JSON in and out, a token in the header."""

    def __init__(self, user=None):
        self.client = Client()
        self.headers = {}
        if user is not None:
            self.headers["HTTP_AUTHORIZATION"] = f"Token {issue_token(user=user)}"

    def _send(self, method, url, data=None):
        body = json.dumps(data) if data is not None else ""
        return getattr(self.client, method)(
            url, body, content_type="application/json", **self.headers
        )

    def get(self, url):
        return self.client.get(url, **self.headers)

    def post(self, url, data=None):
        return self._send("post", url, data)

    def put(self, url, data):
        return self._send("put", url, data)

    def patch(self, url, data):
        return self._send("patch", url, data)


@pytest.fixture
def bot(ada):
    return TokenClient(ada)


def url(number=None, action=""):
    if number is None:
        return "/api/v1/postmortems/"
    return f"/api/v1/postmortems/{number}/" + (f"{action}/" if action else "")


def test_a_reporter_token_files_a_draft_with_its_rows(bot, ada):
    tag = TagFactory(name="Data deletion")
    org = OrganisationFactory(name="Example Cloud")
    draft = {
        **DRAFT,
        "tags": [f"{tag.facet}:{tag.slug}"],
        "organisations": [{"organisation": org.slug, "role": "deployer"}],
    }

    response = bot.post(url(), draft)

    assert response.status_code == 201, response.json()
    data = response.json()
    incident = Incident.objects.get(number=data["number"])
    assert response["Location"].endswith(url(incident.number))
    assert incident.status == Incident.Status.DRAFT
    assert incident.severity.name == "SEV2"
    assert [e.description for e in incident.timeline_events.all()] == [
        "Migration started.",
        "On-call paged.",
    ]
    assert incident.action_items.get().title == "Require approval for destructive migrations"
    assert incident.sources.get().stance == "official"
    assert list(incident.tags.all()) == [tag]
    assert incident.revisions.get().author == ada
    assert data["revision"] == 1
    assert data["tags"] == [f"{tag.facet}:{tag.slug}"]
    assert data["organisations"] == [{"organisation": org.slug, "role": "deployer"}]
    assert data["outage_duration"] == "01:30:00"


def test_the_draft_stays_out_of_the_public_api(bot):
    number = bot.post(url(), DRAFT).json()["number"]
    public = Client()

    assert public.get(f"/api/v1/incidents/{number}/").status_code == 404
    assert public.get("/api/v1/incidents/").json()["results"] == []


def test_anonymous_clients_cannot_file():
    response = TokenClient().post(url(), DRAFT)

    assert response.status_code == 401
    assert Incident.objects.count() == 0


def test_a_viewer_token_cannot_file(vic):
    response = TokenClient(vic).post(url(), DRAFT)

    assert response.status_code == 403
    assert "reporter" in response.json()["detail"]


def test_a_wrong_token_is_refused(db):
    client = TokenClient()
    client.headers["HTTP_AUTHORIZATION"] = "Token not-a-real-token"

    assert client.get(url(1)).status_code == 401


def test_bad_input_gets_field_errors_and_saves_nothing(bot):
    bad = {
        **DRAFT,
        "title": "",
        "severity": "SEV9",
        "detected_at": "2026-03-01T00:00:00Z",  # before it occurred
        "tags": ["nonsense"],
        "sources": [{"url": "https://a.example"}, {"url": "https://a.example"}],
        "users_affected": -3,
        "outage_duration": "9999999 00:00:00",
    }

    response = bot.post(url(), bad)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"title", "severity", "tags", "users_affected", "outage_duration"} <= set(errors)
    assert Incident.objects.count() == 0


def test_the_date_order_is_checked_like_the_form_does(bot):
    response = bot.post(url(), {**DRAFT, "detected_at": "2026-03-01T00:00:00Z"})

    assert response.status_code == 400
    assert response.json()["errors"]["detected_at"] == ["Detected cannot be before it occurred."]


def test_a_non_object_body_is_a_400(bot):
    response = bot.client.post(url(), "[1, 2]", content_type="application/json", **bot.headers)
    broken = bot.client.post(url(), "{not json", content_type="application/json", **bot.headers)

    assert response.status_code == 400
    assert broken.status_code == 400
    assert broken.json()["detail"]


def test_patch_changes_some_fields_and_keeps_the_rest(bot):
    created = bot.post(url(), DRAFT).json()

    response = bot.patch(
        url(created["number"]), {"base_revision": created["revision"], "summary": "Shorter."}
    )

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["revision"] == 2
    assert data["summary"] == "Shorter."
    assert data["title"] == DRAFT["title"]
    assert len(data["timeline"]) == 2
    incident = Incident.objects.get(number=created["number"])
    assert incident.summary == "Shorter."
    assert incident.timeline_events.count() == 2


def test_put_replaces_the_whole_postmortem(bot):
    created = bot.post(url(), DRAFT).json()

    data = bot.put(url(created["number"]), {"base_revision": 1, "title": "Only a title now"}).json()

    assert data["title"] == "Only a title now"
    assert data["timeline"] == []
    assert data["severity"] is None


def test_an_update_needs_the_base_revision(bot):
    created = bot.post(url(), DRAFT).json()

    response = bot.patch(url(created["number"]), {"summary": "No base."})

    assert response.status_code == 400
    assert "base_revision" in response.json()["errors"]


def test_a_stale_edit_gets_409_and_overwrites_nothing(bot, ada, grace):
    created = bot.post(url(), DRAFT).json()
    colleague = TokenClient(grace)
    colleague.patch(url(created["number"]), {"base_revision": 1, "summary": "Grace's summary."})

    response = bot.patch(url(created["number"]), {"base_revision": 1, "summary": "Ada's."})

    assert response.status_code == 409
    assert response.json()["latest_revision"] == 2
    assert "grace" in response.json()["detail"]
    assert Incident.objects.get(number=created["number"]).summary == "Grace's summary."


def test_submit_puts_the_draft_in_review_and_says_so_twice(bot):
    created = bot.post(url(), DRAFT).json()

    response = bot.post(url(created["number"], "submit"))
    again = bot.post(url(created["number"], "submit"))

    assert response.status_code == 200
    assert response.json()["status"] == "in_review"
    assert response.json()["review_requested"] is True
    assert again.status_code == 409
    assert "already waiting" in again.json()["detail"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SUBMITTED).count() == 1


def test_a_reporter_who_also_reviews_cannot_publish_through_the_api(sam):
    client = TokenClient(sam)
    created = client.post(url(), {**DRAFT, "status": "published"}).json()
    client.post(url(created["number"], "submit"))

    # No endpoint publishes, and a status sent along is ignored.
    incident = Incident.objects.get(number=created["number"])
    assert incident.status == Incident.Status.IN_REVIEW
    assert client.post(url(created["number"], "approve")).status_code == 404
    assert client.patch(url(created["number"]), {"base_revision": 1, "status": "published"})
    incident.refresh_from_db()
    assert incident.status != Incident.Status.PUBLISHED
    assert incident.published_revision is None
    # And the web review refuses Sam, who wrote it.
    with pytest.raises(review_service.NotAllowed):
        review_service.review_approve_and_publish(incident=incident, by=sam)


def test_editing_a_published_incident_waits_for_review(bot, ada, rui):
    created = bot.post(url(), DRAFT).json()
    number = created["number"]
    bot.post(url(number, "submit"))
    incident = Incident.objects.get(number=number)
    review_service.review_approve_and_publish(incident=incident, by=rui)

    bot.patch(url(number), {"base_revision": 1, "title": "A new title, not approved yet"})

    public = Client().get(f"/api/v1/incidents/{number}/").json()
    working = bot.get(url(number)).json()
    assert public["title"] == DRAFT["title"]
    assert working["title"] == "A new title, not approved yet"
    assert working["status"] == "published"


def test_a_retracted_incident_cannot_be_submitted(bot):
    incident = IncidentFactory(retracted=True)

    response = bot.post(url(incident.number, "submit"))

    assert response.status_code == 409
    assert "retracted" in response.json()["detail"]


def test_reporters_read_imported_records_as_revision_zero(bot):
    incident = IncidentFactory(title="Imported record")

    data = bot.get(url(incident.number)).json()

    assert data["revision"] == 0
    assert data["title"] == "Imported record"
    assert bot.get(url(999999)).status_code == 404


def test_an_edit_keeps_parts_of_the_postmortem_the_api_does_not_show(bot, ada):
    created = bot.post(url(), DRAFT).json()
    incident = Incident.objects.get(number=created["number"])
    latest = incident.latest_revision()
    # The action record is typed in the web form; this API version does not show it.
    step = {
        "position": 1,
        "tool": "run_shell",
        "command": "terraform destroy -auto-approve",
        "target": "production",
        "action_class": "destroy",
        "reversible": "no",
        "approval_gate": "none",
        "outcome": "succeeded",
        "harmful": True,
    }
    review_service.incident_save(
        incident=incident,
        snapshot={**latest.data, "agent_actions": revisions.child_rows("agent_actions", [step])},
        by=ada,
        base_revision_number=latest.number,
    )

    bot.patch(url(incident.number), {"base_revision": 2, "summary": "Edited by the bot."})

    newest = incident.latest_revision()
    assert newest.number == 3
    assert newest.data["fields"]["summary"] == "Edited by the bot."
    assert [row["command"] for row in newest.data["agent_actions"]] == [step["command"]]
    assert incident.agent_actions.get().command == step["command"]


def test_a_near_miss_with_a_worst_credible_severity_reads_and_edits(bot):
    near_miss = {**DRAFT, "kind": "near_miss", "worst_credible_severity": "SEV1"}
    created = bot.post(url(), near_miss).json()
    assert created["worst_credible_severity"] == "SEV1"

    read = bot.get(url(created["number"]))
    edited = bot.patch(url(created["number"]), {"base_revision": 1, "summary": "Caught in time."})

    assert read.status_code == 200
    assert read.json()["worst_credible_severity"] == "SEV1"
    assert edited.status_code == 200, edited.content
    assert edited.json()["worst_credible_severity"] == "SEV1"
    assert edited.json()["summary"] == "Caught in time."
    assert Incident.objects.get(number=created["number"]).worst_credible_severity.name == "SEV1"


def test_json_nested_too_deeply_is_a_400_not_a_500(bot):
    created = bot.post(url(), DRAFT).json()
    body = '{"base_revision": 1, "summary": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = bot.client.patch(
        url(created["number"]), body, content_type="application/json", **bot.headers
    )

    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_a_null_character_anywhere_in_the_body_is_a_400_not_a_500(bot):
    body = {**DRAFT, "organisations": [{"organisation": "open\x00ai", "role": "developer"}]}

    response = bot.post(url(), body)

    assert response.status_code == 400
    assert "Null characters" in response.json()["detail"]
    assert not Incident.objects.exists()


def test_a_lone_surrogate_in_the_body_is_a_400_not_a_500(bot):
    body = '{"title": "A lone \\ud800 surrogate"}'

    response = bot.client.post(url(), body, content_type="application/json", **bot.headers)

    assert response.status_code == 400
    assert "lone surrogate" in response.json()["detail"]
