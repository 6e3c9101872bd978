"""The action record in the filing form: rows typed inline, revisions, diffs and restores."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from incidents.models import AgentAction, AISystem, IncidentRevision
from incidents.services import review as review_services

from .factories import AgentActionFactory, AISystemFactory, IncidentFactory, signed_in
from .test_filing import NEW_URL, edit_url, form_values, new_form_data

pytestmark = pytest.mark.django_db


def row(number, **fields):
    return {f"agent_actions-{number}-{name}": value for name, value in fields.items()}


def test_the_new_form_has_an_action_record_section(ada_client):
    html = ada_client.get(NEW_URL).text

    assert "<legend>Action record</legend>" in html
    assert 'name="agent_actions-0-command"' in html
    assert '<option value="" selected>From the classification rules</option>' in html
    assert "Secrets are replaced by [REDACTED] when saved." in html


def test_it_files_actions_in_step_order_classifying_those_left_blank(ada_client, ada):
    kiro = AISystem.objects.create(name="Kiro")
    data = new_form_data(
        ada_client,
        title="Agent deletes and recreates an environment",
        **row(
            0,
            position="2",
            ai_system=str(kiro.pk),
            tool="run_shell",
            command="terraform destroy -auto-approve",
            target="cost-explorer (cn-north-1)",
            reversible="no",
            approval_gate="none",
            outcome="succeeded",
            harmful="on",
        ),
        **row(1, position="1", at="2025-12-01T09:00", tool="read_file", command="main.tf"),
    )

    response = ada_client.post(NEW_URL, data)

    assert response.status_code == 302
    first, second = AgentAction.objects.order_by("position")
    assert (first.position, first.tool, first.action_class) == (1, "read_file", "read")
    assert first.at == datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
    assert (second.position, second.action_class, second.ai_system) == (2, "destroy", kiro)
    assert second.harmful and second.reversible == "no" and second.approval_gate == "none"
    revision = IncidentRevision.objects.get()
    assert [row["tool"] for row in revision.data["agent_actions"]] == ["read_file", "run_shell"]


def test_a_chosen_action_class_beats_the_rules(ada_client):
    data = new_form_data(
        ada_client,
        title="Agent spends on GPUs",
        **row(
            0, tool="run_shell", command="gcloud compute instances create x", action_class="spend"
        ),
    )

    assert ada_client.post(NEW_URL, data).status_code == 302
    assert AgentAction.objects.get().action_class == "spend"


def test_an_invalid_row_is_shown_again_as_typed_with_its_error(ada_client):
    data = new_form_data(
        ada_client,
        title="Agent wipes a bucket",
        **row(0, at="yesterday", target="s3://backups", harmful="on"),
    )

    response = ada_client.post(NEW_URL, data)

    assert response.status_code == 400
    assert not AgentAction.objects.exists()
    typed = form_values(response)
    assert typed["agent_actions-0-at"] == "yesterday"
    assert typed["agent_actions-0-target"] == "s3://backups"
    assert typed["agent_actions-0-harmful"] == "on"
    html = response.text
    assert (
        '<a href="#id_agent_actions-0-tool">Action record, row 1: Tool: '
        "Name the tool, or give the command the agent ran.</a>" in html
    )
    assert '<a href="#id_agent_actions-0-at">Action record, row 1: When (UTC):' in html


def test_the_edit_form_lists_the_steps_in_order_and_saves_changes_as_a_revision(ada_client):
    incident = IncidentFactory(draft=True)
    AgentActionFactory(incident=incident, position=2, tool="delete_volume", command="vol-9")
    AgentActionFactory(incident=incident, position=1, tool="list_volumes", command="")
    data = form_values(ada_client.get(edit_url(incident)))
    assert data["agent_actions-0-tool"] == "list_volumes"
    assert data["agent_actions-1-tool"] == "delete_volume"

    data["agent_actions-1-harmful"] = "on"
    data["agent_actions-0-DELETE"] = "on"
    assert ada_client.post(edit_url(incident), data).status_code == 302

    (step,) = AgentAction.objects.filter(incident=incident)
    assert (step.position, step.tool, step.harmful) == (1, "delete_volume", True)
    assert incident.latest_revision().changed_fields == ["Action record"]


def test_the_diff_shows_the_action_record_and_an_editor_can_restore_it(ada, rui_client, eve):
    incident = IncidentFactory(draft=True)
    AgentActionFactory(incident=incident, tool="drop_table", command="DROP TABLE users")
    client = signed_in(ada)
    data = form_values(client.get(edit_url(incident)))
    data["agent_actions-0-command"] = "DROP TABLE sessions"
    assert client.post(edit_url(incident), data).status_code == 302  # revisions 1 and 2

    diff = rui_client.get(reverse("incident_diff", args=[incident.number]), {"from": 1, "to": 2})
    assert "Action record" in diff.text
    assert "DROP TABLE users" in diff.text and "DROP TABLE sessions" in diff.text

    review_services.revision_restore(
        incident=incident,
        revision=IncidentRevision.objects.get(incident=incident, number=1),
        by=eve,
    )
    assert AgentAction.objects.get(incident=incident).command == "DROP TABLE users"


def test_a_conflict_keeps_the_typed_steps(ada_client):
    incident = IncidentFactory(draft=True, title="Kiro outage")
    first = form_values(ada_client.get(edit_url(incident)))
    second = dict(first)
    first["title"] = "Kiro outage, 13 hours"
    assert ada_client.post(edit_url(incident), first).status_code == 302
    second.update(row(0, tool="run_shell", command="kubectl delete ns cost-explorer"))

    response = ada_client.post(edit_url(incident), second)

    assert response.status_code == 409
    assert form_values(response)["agent_actions-0-command"] == "kubectl delete ns cost-explorer"
    assert "kubectl delete ns cost-explorer" in response.text.split("<h2>Your version</h2>")[0]


def test_the_edit_page_costs_the_same_queries_for_one_or_many_steps(
    ada_client, django_assert_max_num_queries
):
    def with_steps(count):
        incident = IncidentFactory(draft=True)
        for _ in range(count):
            AgentActionFactory(incident=incident, ai_system=AISystemFactory())
        return incident

    one, many = with_steps(1), with_steps(12)
    with django_assert_max_num_queries(30) as for_one:
        assert ada_client.get(edit_url(one)).status_code == 200
    with django_assert_max_num_queries(30) as for_many:
        assert ada_client.get(edit_url(many)).status_code == 200
    assert len(for_many) == len(for_one)
