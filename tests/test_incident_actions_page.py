"""The action record on the public incident page: ordered steps, the harmful one, the gate."""

import re

import pytest

from incidents.models import AgentAction

from .factories import AgentActionFactory, AISystemFactory, IncidentFactory

pytestmark = pytest.mark.django_db


def kiro_like():
    incident = IncidentFactory(title="Agent deletes and recreates an environment")
    kiro = AISystemFactory(name="Kiro")
    AgentActionFactory(
        incident=incident,
        position=2,
        ai_system=kiro,
        tool="run_shell",
        command="delete environment cost-explorer-prod",
        target="cost-explorer-prod",
        action_class=AgentAction.ActionClass.DESTROY,
        reversible="no",
        approval_gate=AgentAction.Gate.NONE,
        harmful=True,
    )
    AgentActionFactory(incident=incident, position=1, ai_system=kiro, tool="describe_environment")
    AgentActionFactory(
        incident=incident,
        position=3,
        ai_system=kiro,
        tool="run_shell",
        command="create environment cost-explorer-prod",
        action_class=AgentAction.ActionClass.DEPLOY,
    )
    return incident


def test_it_lists_the_steps_in_order_with_class_gate_and_outcome(reader):
    page = reader.get(kiro_like().get_absolute_url()).text

    section = page[page.index('id="actions-heading"') :]
    steps = re.findall(r'<span class="action-number">Step (\d+)</span>', section)
    assert steps == ["1", "2", "3"]
    assert section.index("describe_environment") < section.index("delete environment")
    assert section.index("delete environment") < section.index("create environment")
    assert '<span class="pill action-class">Destroy</span>' in section
    assert '<dt>Approval gate</dt><dd class="gate gate-none">No gate</dd>' in section
    assert "<dt>Outcome</dt><dd>Succeeded</dd>" in section
    assert "<dt>AI system</dt><dd>Kiro</dd>" in section
    assert 'aria-label="Action record, 3 steps in order"' in section


def test_the_harmful_step_is_marked_in_words_not_only_by_colour(reader):
    page = reader.get(kiro_like().get_absolute_url()).text

    harmful = re.search(
        r'<li class="action-step action-harmful" id="step-2">(.*?)</li>', page, re.S
    )
    assert harmful is not None
    assert "The harmful step" in harmful.group(1)
    assert page.count("The harmful step") == 1


def test_the_missing_gate_before_the_harmful_step_is_called_out(reader):
    page = reader.get(kiro_like().get_absolute_url()).text

    assert (
        "<strong>Missing gate:</strong> No approval gate before the harmful destroy step (step 2)."
        in page
    )


def test_a_bypassed_gate_is_called_out_and_an_approved_one_is_not(reader):
    bypassed = IncidentFactory()
    AgentActionFactory(
        incident=bypassed,
        harmful=True,
        action_class="destroy",
        approval_gate=AgentAction.Gate.BYPASSED,
    )
    approved = IncidentFactory()
    AgentActionFactory(incident=approved, harmful=True, approval_gate=AgentAction.Gate.APPROVED)

    assert "The approval gate was bypassed before the harmful destroy step" in (
        reader.get(bypassed.get_absolute_url()).text
    )
    assert "Missing gate" not in reader.get(approved.get_absolute_url()).text


def test_an_incident_without_actions_says_so(reader):
    page = reader.get(IncidentFactory().get_absolute_url()).text

    assert "No action record yet." in page
    assert "Missing gate" not in page


def test_drafts_keep_their_action_record_from_the_public(reader):
    draft = IncidentFactory(draft=True)
    AgentActionFactory(incident=draft, command="rm -rf /srv/data", harmful=True)

    assert reader.get(draft.get_absolute_url()).status_code == 404


def test_the_page_costs_the_same_queries_for_one_or_many_steps(
    reader, django_assert_max_num_queries
):
    one, many = IncidentFactory(), IncidentFactory()
    AgentActionFactory(incident=one, ai_system=AISystemFactory())
    for _ in range(15):
        AgentActionFactory(incident=many, ai_system=AISystemFactory(), harmful=True)

    with django_assert_max_num_queries(20) as for_one:
        reader.get(one.get_absolute_url())
    with django_assert_max_num_queries(20) as for_many:
        reader.get(many.get_absolute_url())
    assert len(for_many) == len(for_one)
