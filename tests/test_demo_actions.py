"""The demo set's action records: Kiro, Replit and the agent incidents of the Helio log."""

from io import StringIO

import pytest
from django.core.management import call_command

from incidents.models import AgentAction, Incident

pytestmark = pytest.mark.django_db


def load_demo():
    call_command("load_demo", stdout=StringIO())


def test_kiro_deletes_and_recreates_its_environment_with_no_gate(reader):
    load_demo()

    kiro = Incident.objects.get(slug="kiro-aws-cost-explorer-outage")
    steps = list(kiro.agent_actions.order_by("position"))
    assert [step.action_class for step in steps] == ["destroy", "deploy"]
    assert all(step.approval_gate == AgentAction.Gate.NONE for step in steps)
    assert steps[0].harmful and "broader than intended" in steps[0].target
    assert steps[0].ai_system.name == "Kiro"
    page = reader.get(kiro.get_absolute_url()).text
    assert "No approval gate before the harmful destroy step (step 1)." in page


def test_replit_deletes_the_database_despite_the_code_freeze():
    load_demo()

    harmful = AgentAction.objects.get(
        incident__slug="replit-agent-deletes-production-database", harmful=True
    )
    assert harmful.action_class == "destroy"
    assert harmful.approval_gate == AgentAction.Gate.BYPASSED
    assert "code and action freeze" in harmful.command


def test_the_agent_log_incidents_have_their_actions_and_sources():
    load_demo()

    for slug, action_class in [
        ("pocketos-agent-deletes-production-volume", "destroy"),
        ("openclaw-agent-deletes-inbox", "destroy"),
        ("lobstar-trading-agent-sends-token-balance", "spend"),
    ]:
        incident = Incident.objects.get(slug=slug)
        assert incident.agent_actions.get(harmful=True).action_class == action_class
        assert incident.sources.filter(publisher="Helio Agent Incident Log").exists()


def test_reloading_the_demo_keeps_one_action_record_per_incident():
    load_demo()
    first = list(AgentAction.objects.values_list("incident__slug", "position", "command"))

    load_demo()

    assert list(AgentAction.objects.values_list("incident__slug", "position", "command")) == first
