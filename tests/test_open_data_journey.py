"""From an incident bot to the public record: a draft filed through the API with a token is
approved in the web interface by a reviewer, then appears in the feeds and the public API."""

import json

import feedparser
import pytest
from django.test import Client

from incidents.api.authentication import issue_token

from .factories import OrganisationFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_a_draft_filed_by_token_is_approved_on_the_web_and_published_everywhere(ada, rui_client):
    tag = TagFactory(name="Data deletion")
    organisation = OrganisationFactory(name="Example Cloud")
    bot = {"HTTP_AUTHORIZATION": f"Token {issue_token(user=ada)}"}
    public = Client()
    assert feedparser.parse(public.get("/feeds/incidents/atom/").content).entries == []

    filed = Client().post(
        "/api/v1/postmortems/",
        json.dumps(
            {
                "title": "Deploy bot deleted the billing database",
                "summary": "A deploy agent dropped a production schema it was not meant to reach.",
                "severity": "SEV1",
                "tags": [f"{tag.facet}:{tag.slug}"],
                "organisations": [{"organisation": organisation.slug, "role": "deployer"}],
                "timeline": [{"at": "2026-03-02T09:15:00Z", "description": "Schema dropped."}],
                "action_items": [{"title": "Scope the deploy agent's credentials"}],
                "sources": [{"url": "https://status.example.com/incidents/7"}],
            }
        ),
        content_type="application/json",
        **bot,
    )
    assert filed.status_code == 201, filed.json()
    number = filed.json()["number"]
    submitted = Client().post(f"/api/v1/postmortems/{number}/submit/", **bot)
    assert submitted.json()["status"] == "in_review"
    assert public.get(f"/api/v1/incidents/{number}/").status_code == 404

    review_page = rui_client.get(f"/postmortems/{number}/review/")
    assert "Deploy bot deleted the billing database" in review_page.content.decode()
    approved = rui_client.post(
        f"/postmortems/{number}/review/", {"decision": "approve", "revision": "1"}
    )
    assert approved.status_code == 302

    feed = feedparser.parse(public.get("/feeds/incidents/atom/").content)
    assert [entry.title for entry in feed.entries] == [
        f"[SEV1] #{number} Deploy bot deleted the billing database"
    ]
    tag_feed = feedparser.parse(public.get(f"/feeds/tags/{tag.facet}/{tag.slug}/rss/").content)
    assert [entry.id for entry in tag_feed.entries] == [
        f"http://localhost:8000/incidents/{number}/"
    ]

    listed = public.get("/api/v1/incidents/?severity=SEV1").json()["results"]
    assert [row["number"] for row in listed] == [number]
    detail = public.get(f"/api/v1/incidents/{number}/").json()
    assert detail["status"] == "published"
    assert detail["revision"]["number"] == 1
    assert detail["organisations"][0]["organisation"]["name"] == "Example Cloud"
    assert detail["action_items"][0]["title"] == "Scope the deploy agent's credentials"
