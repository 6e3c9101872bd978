"""Control assessments, incident kind and worst credible severity in the filing form, its
revisions and review: filed, suggested, diffed, restored and published like the rest."""

import pytest
from django.urls import reverse

from incidents.models import AgentAction, ControlAssessment, Incident, Severity
from incidents.services import review as review_service

from .factories import IncidentFactory, control, signed_in, snapshot_of
from .test_filing import NEW_URL, edit_url, form_values, new_form_data

pytestmark = pytest.mark.django_db

STOPPED = ControlAssessment.Verdict.WOULD_HAVE_STOPPED
SUGGEST_URL = "/postmortems/control-suggestions/"


def assessment_rows(*rows):
    data = {}
    for n, (slug, verdict, rationale) in enumerate(rows):
        data[f"control_assessments-{n}-control"] = str(control(slug).pk)
        data[f"control_assessments-{n}-verdict"] = verdict
        data[f"control_assessments-{n}-rationale"] = rationale
    return data


def test_it_files_a_near_miss_with_worst_credible_severity_and_assessments(ada_client):
    data = new_form_data(
        ada_client,
        title="Agent tried to drop the orders table; the deletion lock refused",
        kind="near_miss",
        severity=str(Severity.objects.get(name="SEV5").pk),
        worst_credible_severity=str(Severity.objects.get(name="SEV1").pk),
        **assessment_rows(
            ("deletion-protection", "worked", "The lock refused the drop."),
            ("peer-review-ai-production-changes", STOPPED, "Nobody reviewed the migration."),
        ),
    )
    response = ada_client.post(NEW_URL, data)
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.kind == Incident.Kind.NEAR_MISS
    assert incident.worst_credible_severity.name == "SEV1"
    assert sorted(incident.control_assessments.values_list("control__slug", "verdict")) == [
        ("deletion-protection", "worked"),
        ("peer-review-ai-production-changes", STOPPED),
    ]
    # The edit page shows the same rows back.
    values = form_values(ada_client.get(edit_url(incident)))
    assert values["kind"] == "near_miss"
    assert {
        values["control_assessments-0-rationale"],
        values["control_assessments-1-rationale"],
    } == {
        "The lock refused the drop.",
        "Nobody reviewed the migration.",
    }


def test_a_form_without_a_kind_files_an_incident(ada_client):
    data = new_form_data(ada_client, title="Chatbot promised a refund")
    data.pop("kind", None)
    ada_client.post(NEW_URL, data)
    assert Incident.objects.get().kind == Incident.Kind.INCIDENT


def test_the_same_control_twice_is_refused_and_nothing_is_lost(ada_client):
    data = new_form_data(
        ada_client,
        title="Two verdicts for one control",
        **assessment_rows(
            ("spend-limits", STOPPED, "First"),
            ("spend-limits", "unknown", "Second"),
        ),
    )
    response = ada_client.post(NEW_URL, data)
    assert response.status_code == 400
    assert "This control is already assessed above." in response.content.decode()
    assert form_values(response)["control_assessments-1-rationale"] == "Second"
    assert not Incident.objects.exists()


def test_the_edit_page_offers_suggestions_from_saved_actions_without_saving_them(ada_client, ada):
    incident = review_service.incident_create(
        snapshot=snapshot_of(title="Agent recreated the environment", broader_permissions="yes"),
        by=ada,
    )
    AgentAction.objects.create(
        incident=incident,
        position=1,
        tool="shell",
        command="terraform destroy",
        action_class="destroy",
        approval_gate="none",
    )
    page = ada_client.get(edit_url(incident))
    html = page.content.decode()
    assert "Suggested from the action record." in html
    assert "Deletion protection on production resources" in html
    assert "Least-privilege scoped credentials for agents" in html

    response = ada_client.post(edit_url(incident), form_values(page))
    assert response.status_code == 302
    assert not incident.control_assessments.exists()


def test_a_control_already_assessed_is_not_suggested_again(ada_client):
    data = {
        "agent_actions-TOTAL_FORMS": "1",
        "agent_actions-0-action_class": "destroy",
        "agent_actions-0-approval_gate": "none",
        "control_assessments-TOTAL_FORMS": "1",
        "control_assessments-0-control": str(control("deletion-protection").pk),
    }
    suggestions = ada_client.post(SUGGEST_URL, data).json()
    names = [row["name"] for row in suggestions]
    assert "Deletion protection on production resources" not in names
    assert "Confirmation before destructive actions" in names


def test_suggestions_follow_the_action_rows_typed_into_the_form(ada_client):
    data = {
        "agent_actions-TOTAL_FORMS": "2",
        "agent_actions-0-action_class": "spend",
        "agent_actions-0-approval_gate": "none",
        "agent_actions-1-action_class": "deploy",
        "agent_actions-1-approval_gate": "none",
        "agent_actions-1-DELETE": "on",
    }
    suggestions = ada_client.post(SUGGEST_URL, data).json()
    assert [(row["name"], row["verdict_label"]) for row in suggestions] == [
        ("Spend limits", "Absent; would have reduced the harm")
    ]
    # Malformed counts are ignored, not an error.
    assert ada_client.post(SUGGEST_URL, {"agent_actions-TOTAL_FORMS": "lots"}).json() == []


def test_suggestions_fall_back_to_the_incidents_saved_actions(ada_client):
    incident = IncidentFactory(draft=True)
    AgentAction.objects.create(
        incident=incident, position=1, action_class="permission_change", approval_gate="none"
    )
    suggestions = ada_client.post(SUGGEST_URL, {"incident": str(incident.number)}).json()
    assert [row["name"] for row in suggestions] == ["Least-privilege scoped credentials for agents"]


def test_only_reporters_may_ask_for_suggestions(reader, vic_client):
    assert reader.post(SUGGEST_URL, {}).status_code == 302
    assert vic_client.post(SUGGEST_URL, {}).status_code == 403


def _publish(ada, rui, snapshot):
    incident = review_service.incident_create(snapshot=snapshot, by=ada)
    review_service.review_submit(incident=incident, by=ada)
    review_service.review_approve_and_publish(incident=incident, by=rui)
    incident.refresh_from_db()
    return incident


def _with_assessments(snapshot, *rows):
    snapshot["control_assessments"] = [
        {"control": control(slug).pk, "verdict": verdict, "rationale": why}
        for slug, verdict, why in rows
    ]
    return snapshot


def test_an_assessment_change_to_a_published_incident_waits_for_approval(ada, rui, reader):
    incident = _publish(
        ada,
        rui,
        _with_assessments(
            snapshot_of(title="Agent deleted the database"),
            ("point-in-time-backups", "worked", "Restored within the hour."),
        ),
    )
    latest = incident.latest_revision()
    changed = _with_assessments(
        {**latest.data},
        ("point-in-time-backups", "failed", "The restore was a day old."),
    )
    review_service.incident_save(
        incident=incident, snapshot=changed, by=ada, base_revision_number=latest.number
    )
    page = reader.get(incident.get_absolute_url()).content.decode()
    assert "Restored within the hour." in page
    assert "The restore was a day old." not in page

    review_service.review_submit(incident=incident, by=ada)
    review_service.review_approve_and_publish(incident=incident, by=rui)
    page = reader.get(incident.get_absolute_url()).content.decode()
    assert "The restore was a day old." in page


def test_the_diff_names_the_controls_that_changed(ada):
    incident = review_service.incident_create(
        snapshot=snapshot_of(title="Agent spent the budget"), by=ada
    )
    latest = incident.latest_revision()
    changed = _with_assessments(
        {**latest.data, "fields": {**latest.data["fields"], "kind": "near_miss"}},
        ("spend-limits", STOPPED, "No cap on the card."),
    )
    review_service.incident_save(
        incident=incident, snapshot=changed, by=ada, base_revision_number=1
    )
    page = signed_in(ada).get(
        reverse("incident_diff", args=[incident.number]), {"from": 1, "to": 2}
    )
    html = page.content.decode()
    assert "Controls" in html
    assert "Spend limits: Absent; would have stopped it" in html
    assert "Near miss" in html


def test_restoring_a_revision_brings_back_its_assessments(ada, eve):
    incident = review_service.incident_create(
        snapshot=_with_assessments(
            snapshot_of(title="Agent pushed to production"),
            ("peer-review-ai-production-changes", STOPPED, "No review."),
        ),
        by=ada,
    )
    first = incident.latest_revision()
    review_service.incident_save(
        incident=incident,
        snapshot=_with_assessments({**first.data}),
        by=ada,
        base_revision_number=1,
    )
    assert not incident.control_assessments.exists()
    review_service.revision_restore(incident=incident, revision=first, by=eve)
    assert list(incident.control_assessments.values_list("rationale", flat=True)) == ["No review."]


def test_the_edit_page_leaves_out_controls_the_revision_already_assesses(ada_client, ada):
    incident = review_service.incident_create(
        snapshot=_with_assessments(
            snapshot_of(title="Agent dropped a table"),
            ("deletion-protection", STOPPED, "No lock on the table."),
        ),
        by=ada,
    )
    AgentAction.objects.create(
        incident=incident, position=1, action_class="destroy", approval_gate="none"
    )
    suggestions = ada_client.get(edit_url(incident)).context["formsets"]["control_assessments"]
    slugs = {suggestion.control.slug for suggestion in suggestions.suggestions}
    assert "deletion-protection" not in slugs
    assert "confirmation-before-destructive-actions" in slugs
