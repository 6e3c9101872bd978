"""Filing and editing postmortems: the form, its rows, conflicts, preview and suggestions."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client

from incidents.forms.filing import IncidentForm, MinutesDurationField
from incidents.models import Incident, IncidentRevision, Severity, Tag
from incidents.services import review as review_services

from .factories import (
    ActionItemFactory,
    AISystemFactory,
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    SourceFactory,
    TagFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NEW_URL = "/postmortems/new/"
PREVIEW_URL = "/postmortems/preview/"
SIMILAR_URL = "/postmortems/similar/"


class _FormValues(HTMLParser):
    """What a browser would submit from the page's filing form (not its <template> rows)."""

    def __init__(self):
        super().__init__()
        self.data, self._in_template, self._textarea, self._select = {}, 0, None, None

    def _add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "template":
            self._in_template += 1
        if self._in_template or "name" not in attrs and tag != "option":
            return
        if tag == "input" and attrs.get("type") not in ("checkbox", "radio", "submit"):
            self._add(attrs["name"], attrs.get("value") or "")
        elif tag == "input" and "checked" in attrs:
            self._add(attrs["name"], attrs.get("value", "on"))
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self._add(self._textarea, "")
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self._add(self._select, attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "template":
            self._in_template -= 1
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea and not self._in_template:
            self.data[self._textarea][-1] += data.removeprefix("\n")


def form_values(response):
    parser = _FormValues()
    html = response.content.decode()
    parser.feed(html[html.index('<form method="post" class="filing-form"') :])
    data = parser.data
    data.pop("csrfmiddlewaretoken", None)
    return {name: values if len(values) > 1 else values[0] for name, values in data.items()}


def new_form_data(client, **changes):
    data = form_values(client.get(NEW_URL))
    data.update(changes)
    return data


def edit_url(incident):
    return f"/postmortems/{incident.number}/edit/"


# Filing


def test_the_new_form_starts_the_narrative_with_the_postmortem_sections(ada_client):
    response = ada_client.get(NEW_URL)
    assert response.status_code == 200
    narrative = form_values(response)["narrative"]
    for section in ("Summary", "Impact", "Timeline", "Root cause", "Contributing factors"):
        assert f"## {section}" in narrative
    assert "## Lessons" in narrative


def test_severity_choices_show_the_name_and_its_definition(ada_client):
    html = ada_client.get(NEW_URL).content.decode()
    sev2 = Severity.objects.get(name="SEV2")
    assert "<strong>SEV2</strong>" in html
    assert sev2.description in html
    assert "An agent that writes code or runs commands" in html


def test_it_files_a_new_postmortem_as_a_draft_with_revision_one_and_its_rows(ada_client, ada):
    organisation = OrganisationFactory(name="Amazon Web Services")
    tag = TagFactory(facet=Tag.Facet.FAILURE_MODE, name="Destructive action")
    system = AISystemFactory(name="Kiro")
    data = new_form_data(
        ada_client,
        title="Agent deleted and recreated a production environment",
        summary="Cost Explorer was down for 13 hours.",
        severity=str(Severity.objects.get(name="SEV2").pk),
        ai_systems=str(system.pk),
        occurred_at="2025-12-01T09:00",
        detected_at="2025-12-01T09:20",
        resolved_at="2025-12-01T22:00",
        outage_duration="13:00",
        tags_failure_mode=str(tag.pk),
        new_tags_contributing_factor="Excessive permissions, No peer review",
        **{
            "organisation_roles-0-organisation": str(organisation.pk),
            "organisation_roles-0-role": "deployer",
            "timeline_events-0-at": "2025-12-01T09:00",
            "timeline_events-0-description": "The agent decided to delete the environment.",
            "action_items-0-title": "Require a second approval for production changes",
            "action_items-0-owner": "Platform team",
            "action_items-0-assignee": str(ada.pk),
            "action_items-0-due_on": "2026-01-15",
            "sources-0-url": "https://example.com/kiro-outage",
            "sources-0-publisher": "Example News",
            "sources-0-stance": "official",
        },
    )

    response = ada_client.post(NEW_URL, data)

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == edit_url(incident)
    assert incident.status == Incident.Status.DRAFT
    assert incident.title == "Agent deleted and recreated a production environment"
    assert incident.outage_duration == timedelta(hours=13)
    assert list(incident.revisions.values_list("number", flat=True)) == [1]
    assert incident.revisions.get().author == ada
    assert incident.organisation_roles.get().organisation == organisation
    assert incident.timeline_events.get().description.startswith("The agent decided")
    item = incident.action_items.get()
    assert (item.assignee, str(item.due_on)) == (ada, "2026-01-15")
    assert incident.sources.get().stance == "official"
    assert list(incident.ai_systems.all()) == [system]
    new_tags = Tag.objects.filter(facet=Tag.Facet.CONTRIBUTING_FACTOR)
    assert sorted(new_tags.values_list("name", flat=True)) == [
        "Excessive permissions",
        "No peer review",
    ]
    assert set(incident.tags.all()) == {tag, *new_tags}
    follow = ada_client.get(response["Location"])
    assert "Saved #1 as a draft" in follow.content.decode()


def test_it_reshows_everything_typed_with_errors_next_to_the_fields(ada_client):
    data = new_form_data(
        ada_client,
        title="Chatbot invented a refund policy",
        occurred_at="2025-12-02T10:00",
        resolved_at="2025-12-01T10:00",
        outage_duration="forever",
        **{
            "timeline_events-0-at": "2025-12-02T10:05",
            "timeline_events-0-description": "A customer asked about bereavement fares.",
            "sources-0-url": "not a url",
            "sources-0-publisher": "Tribunal",
        },
    )

    response = ada_client.post(NEW_URL, data)

    assert response.status_code == 400
    assert not Incident.objects.exists()
    html = response.content.decode()
    typed = form_values(response)
    assert typed["title"] == "Chatbot invented a refund policy"
    assert typed["resolved_at"] == "2025-12-01T10:00"
    assert typed["outage_duration"] == "forever"
    assert typed["timeline_events-0-description"] == "A customer asked about bereavement fares."
    assert typed["sources-0-url"] == "not a url"
    assert typed["sources-0-publisher"] == "Tribunal"
    assert (
        '<ul class="errorlist" id="id_resolved_at_error"><li>'
        "Resolved cannot be before it occurred.</li></ul>" in html
    )
    assert 'aria-describedby="id_resolved_at_helptext id_resolved_at_error"' in html
    assert 'id="id_sources-0-url_error"><li>Enter a valid URL.</li>' in html
    assert '<a href="#id_sources-0-url">Sources, row 1: URL: Enter a valid URL.</a>' in html
    assert '<a href="#id_resolved_at">' in html
    assert "Enter minutes, such as 90" in html


def test_it_refuses_the_same_source_twice(ada_client):
    data = new_form_data(
        ada_client,
        title="Twice reported",
        **{"sources-0-url": "https://example.com/a", "sources-1-url": "https://example.com/a"},
    )
    response = ada_client.post(NEW_URL, data)
    assert response.status_code == 400
    assert "This source is already listed above." in response.content.decode()


def test_it_ignores_blank_and_deleted_rows(ada_client):
    data = new_form_data(
        ada_client,
        title="Only one source kept",
        **{
            "sources-0-url": "https://example.com/kept",
            "sources-1-url": "https://example.com/dropped",
            "sources-1-DELETE": "on",
        },
    )
    assert ada_client.post(NEW_URL, data).status_code == 302
    assert [s.url for s in Incident.objects.get().sources.all()] == ["https://example.com/kept"]
    assert not Incident.objects.get().timeline_events.exists()


def test_outage_duration_takes_minutes_or_hours_and_minutes():
    field = MinutesDurationField(required=False)
    assert field.clean("90") == timedelta(minutes=90)
    assert field.clean("13:00") == timedelta(hours=13)
    assert field.clean(" 1:05 ") == timedelta(hours=1, minutes=5)
    assert field.clean("") is None
    assert field.prepare_value(timedelta(hours=26, minutes=30)) == "26:30"


def test_the_form_reports_date_order_errors_on_the_later_field():
    form = IncidentForm(
        {
            "title": "Out of order",
            "occurred_at": "2025-12-02T10:00",
            "detected_at": "2025-12-01T10:00",
            "visibility": "public",
            "autonomy": "unknown",
            "broader_permissions": "unknown",
            "occurred_precision": "day",
            "data_lost": "unknown",
        }
    )
    assert not form.is_valid()
    assert form.errors == {"detected_at": ["Detected cannot be before it occurred."]}


# Who may file


@pytest.mark.parametrize("path", [NEW_URL, "/postmortems/1/edit/", SIMILAR_URL])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    IncidentFactory()
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_visitors_cannot_preview(client):
    response = client.post(PREVIEW_URL, {"text": "hi"})
    assert response.status_code == 302


def test_a_viewer_without_the_file_permission_gets_403(vic_client):
    incident = IncidentFactory()
    assert vic_client.get(NEW_URL).status_code == 403
    assert vic_client.post(NEW_URL, {"title": "Sneaky"}).status_code == 403
    assert vic_client.get(edit_url(incident)).status_code == 403
    assert vic_client.post(PREVIEW_URL, {"text": "x"}).status_code == 403
    assert vic_client.get(SIMILAR_URL, {"title": "anything"}).status_code == 403
    assert not Incident.objects.exclude(pk=incident.pk).exists()


# Editing


def test_the_edit_form_starts_from_the_records_rows(ada_client):
    incident = IncidentFactory(title="Replit agent deleted a database")
    SourceFactory(incident=incident, url="https://example.com/replit")
    IncidentOrganisationFactory(incident=incident, role="developer")
    ActionItemFactory(incident=incident, title="Separate dev and prod")
    typed = form_values(ada_client.get(edit_url(incident)))
    assert typed["title"] == "Replit agent deleted a database"
    assert typed["base_revision"] == "0"
    assert typed["sources-0-url"] == "https://example.com/replit"
    assert typed["organisation_roles-0-role"] == "developer"
    assert typed["action_items-0-title"] == "Separate dev and prod"
    assert typed["severity"] == str(incident.severity_id)
    assert "## Summary" not in typed["narrative"]


def test_editing_a_published_incident_waits_for_review(ada_client, client):
    incident = IncidentFactory(title="Old title")
    data = form_values(ada_client.get(edit_url(incident)))
    data["title"] = "New title"

    response = ada_client.post(edit_url(incident), data)

    assert response.status_code == 302
    latest = incident.latest_revision()
    assert latest.number == 2
    assert latest.data["fields"]["title"] == "New title"
    public = client.get(incident.get_absolute_url()).content.decode()
    assert "Old title" in public and "New title" not in public
    page = ada_client.get(edit_url(incident)).content.decode()
    assert "Published, with unpublished edits" in page
    assert f'action="/postmortems/{incident.number}/submit/"' in page


def test_saving_a_draft_applies_it_to_the_record(ada_client):
    incident = IncidentFactory(draft=True, title="Draft title")
    data = form_values(ada_client.get(edit_url(incident)))
    data["title"] = "Better draft title"
    assert ada_client.post(edit_url(incident), data).status_code == 302
    incident.refresh_from_db()
    assert incident.title == "Better draft title"


def test_a_stale_save_gets_409_with_both_versions_and_keeps_what_was_typed(
    ada_client, grace_client
):
    incident = IncidentFactory(draft=True, title="Kiro outage")
    first = form_values(ada_client.get(edit_url(incident)))
    second = form_values(grace_client.get(edit_url(incident)))
    assert first["base_revision"] == second["base_revision"]

    first["title"] = "Kiro outage: Cost Explorer down for 13 hours"
    assert ada_client.post(edit_url(incident), first).status_code == 302
    second["title"] = "Kiro deleted a production environment"
    second["sources-0-url"] = "https://example.com/second-source"

    response = grace_client.post(edit_url(incident), second)

    assert response.status_code == 409
    html = response.content.decode()
    latest = incident.latest_revision()
    assert f"Revision {latest.number} was saved by ada" in html
    assert "Kiro outage: Cost Explorer down for 13 hours" in html
    assert "https://example.com/second-source" in html
    kept = form_values(response)
    assert kept["title"] == "Kiro deleted a production environment"
    assert kept["sources-0-url"] == "https://example.com/second-source"
    assert kept["base_revision"] == str(latest.number)
    assert latest.data["fields"]["title"].startswith("Kiro outage")

    assert grace_client.post(edit_url(incident), kept).status_code == 302
    incident.refresh_from_db()
    assert incident.title == "Kiro deleted a production environment"
    assert incident.sources.get().url == "https://example.com/second-source"
    assert IncidentRevision.objects.filter(incident=incident).count() == latest.number + 1


def test_the_edit_page_shows_the_latest_review_comment(ada_client, ada, rui):
    incident = IncidentFactory(draft=True)
    data = form_values(ada_client.get(edit_url(incident)))
    data["title"] = "Needs work"
    ada_client.post(edit_url(incident), data)
    review_services.review_submit(incident=incident, by=ada)
    review_services.review_request_changes(
        incident=incident, by=rui, comment="Add the vendor's statement as a source."
    )
    page = ada_client.get(edit_url(incident)).content.decode()
    assert "Changes requested" in page
    assert "Add the vendor&#x27;s statement as a source." in page


def test_the_edit_page_costs_a_fixed_number_of_queries(ada_client, django_assert_max_num_queries):
    def busy_incident(rows):
        # Every row brings new choices too (tags, assignees, AI systems): users here are
        # assignees to choose from, not people signing in.
        incident = IncidentFactory(tags=[TagFactory() for _ in range(rows)])
        for _ in range(rows):
            SourceFactory(incident=incident)
            TimelineEventFactory(incident=incident)
            ActionItemFactory(incident=incident, assignee=UserFactory())
            IncidentOrganisationFactory(incident=incident)
        incident.ai_systems.set([AISystemFactory() for _ in range(rows)])
        return incident

    small, large = busy_incident(1), busy_incident(8)
    with django_assert_max_num_queries(31) as one_row:
        assert ada_client.get(edit_url(small)).status_code == 200
    with django_assert_max_num_queries(31) as eight_rows:
        assert ada_client.get(edit_url(large)).status_code == 200
    assert len(eight_rows) == len(one_row)


# Preview and suggestions


def test_the_preview_renders_markdown_and_strips_scripts(ada_client):
    response = ada_client.post(
        PREVIEW_URL, {"text": "## Root cause\n\n<script>alert(1)</script> **too much access**"}
    )
    assert response.status_code == 200
    html = response.json()["html"]
    assert "<strong>too much access</strong>" in html
    assert "<h3>Root cause</h3>" in html
    assert "<script" not in html


def test_the_preview_needs_a_csrf_token(ada):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    assert client.post(PREVIEW_URL, {"text": "hi"}).status_code == 403


def test_the_preview_only_accepts_post(ada_client):
    assert ada_client.get(PREVIEW_URL).status_code == 405


def test_suggestions_find_an_existing_incident_by_title_words(ada_client):
    match = IncidentFactory(title="Replit agent deleted production database during code freeze")
    IncidentFactory(title="Chatbot invented an airline refund policy")
    response = ada_client.get(SIMILAR_URL, {"title": "AI agent deletes production database"})
    assert response.status_code == 200
    results = response.json()
    assert [r["number"] for r in results] == [match.number]
    assert results[0]["url"] == match.get_absolute_url()
    assert results[0]["title"] == match.title
    assert 0 < results[0]["score"] <= 1


def test_suggestions_leave_out_the_incident_being_edited_and_cap_at_five(ada_client):
    incidents = [IncidentFactory(title=f"Agent wiped production database {n}") for n in range(7)]
    params = {"title": "agent wiped production database", "exclude": incidents[0].number}
    results = ada_client.get(SIMILAR_URL, params).json()
    assert len(results) == 5
    assert incidents[0].number not in [r["number"] for r in results]
    assert ada_client.get(SIMILAR_URL, {"title": "a"}).json() == []


def test_saving_an_unchanged_form_from_a_browser_adds_no_revision(ada_client):
    incident = IncidentFactory(draft=True, narrative="Line one\nLine two")
    data = form_values(ada_client.get(edit_url(incident)))
    data["narrative"] = data["narrative"].replace("\n", "\r\n")
    assert ada_client.post(edit_url(incident), data).status_code == 302
    data["base_revision"] = "1"
    assert ada_client.post(edit_url(incident), data).status_code == 302
    assert incident.revisions.count() == 1
    assert "no revision was added" in ada_client.get(edit_url(incident)).content.decode()


def test_it_files_several_rows_of_a_kind_without_unique_fields(ada_client):
    data = new_form_data(
        ada_client,
        title="Agent deleted a volume",
        **{
            "timeline_events-0-at": "2026-04-25T10:00",
            "timeline_events-0-description": "The agent deletes the volume.",
            "timeline_events-1-at": "2026-04-25T10:01",
            "timeline_events-1-description": "The service goes down.",
        },
    )

    assert ada_client.post(NEW_URL, data).status_code == 302
    assert Incident.objects.get().timeline_events.count() == 2
