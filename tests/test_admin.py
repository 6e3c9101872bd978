"""Every model can be browsed, searched and edited in the admin."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from incidents.models import DuplicateFlag, Incident
from incidents.search_index import search_index_update

from .factories import IncidentFactory, IncidentOrganisationFactory

pytestmark = pytest.mark.django_db

REGISTERED = sorted(
    (model._meta.app_label, model._meta.model_name) for model in admin.site._registry
)
INCIDENT_MODELS = [entry for entry in REGISTERED if entry[0] == "incidents"]


# Imports write provenance and duplicate flags; the review flow writes postmortems, their
# revisions, reviews, audit events and notifications. None of them is typed into the admin.
WRITTEN_ELSEWHERE = {
    "provenance", "duplicateflag", "incident", "incidentrevision", "review", "auditevent",
    "notification", "sourceterm",
}  # fmt: skip


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)


def test_every_incidents_model_is_registered():
    expected = {
        "actionitem",
        "aisystem",
        "incident",
        "organisation",
        "perpetratorkind",
        "policychange",
        "relatedincident",
        "severity",
        "source",
        "tag",
    }
    assert expected <= {name for _, name in INCIDENT_MODELS}


@pytest.mark.parametrize(("app_label", "model_name"), INCIDENT_MODELS)
def test_changelist_search_and_change_form_load(sue_client, demo, app_label, model_name):
    changelist = reverse(f"admin:{app_label}_{model_name}_changelist")
    assert sue_client.get(changelist).status_code == 200
    assert sue_client.get(changelist, {"q": "Kiro"}).status_code == 200
    add_page = sue_client.get(reverse(f"admin:{app_label}_{model_name}_add"))
    expected = 403 if model_name in WRITTEN_ELSEWHERE else 200
    assert add_page.status_code == expected


def test_the_incident_page_shows_the_postmortem_read_only(sue_client, demo):
    kiro = Incident.objects.get(slug="kiro-aws-cost-explorer-outage")
    response = sue_client.get(reverse("admin:incidents_incident_change", args=[kiro.pk]))
    html = response.text
    assert response.status_code == 200
    for heading in ["Organisation roles", "Timeline events", "Action items", "Sources"]:
        assert heading in html
    assert "Amazon Web Services" in html
    assert 'name="_save"' not in html


def test_the_incident_page_shows_the_action_record_inline(sue_client, demo):
    kiro = Incident.objects.get(slug="kiro-aws-cost-explorer-outage")
    response = sue_client.get(reverse("admin:incidents_incident_change", args=[kiro.pk]))

    assert "Agent actions" in response.text
    assert "Recreate the environment from scratch" in response.text


def test_duplicate_flag_actions_count_what_they_did(sue_client):
    first, second, third = IncidentFactory(), IncidentFactory(), IncidentFactory()
    flags = [
        DuplicateFlag.objects.create(incident=first, candidate=second, score=0.8),
        DuplicateFlag.objects.create(incident=first, candidate=third, score=0.8),
    ]
    url = reverse("admin:incidents_duplicateflag_changelist")

    one = sue_client.post(
        url, {"action": "dismiss", "_selected_action": [flags[0].pk]}, follow=True
    )
    merged = sue_client.post(
        url,
        {"action": "merge_candidate_into_incident", "_selected_action": [flags[1].pk]},
        follow=True,
    )

    assert "Dismissed 1 flag." in one.text
    assert "Merged 1 pair; both provenances kept." in merged.text


def test_the_incident_changelist_searches_titles_names_and_numbers(sue_client):
    wanted = IncidentFactory(title="Coding agent wiped the staging cluster")
    IncidentOrganisationFactory(incident=wanted, organisation__name="Globex Robotics")
    other = IncidentFactory(title="Chatbot invented a refund policy")
    search_index_update()  # as every save path does
    changelist = reverse("admin:incidents_incident_changelist")
    for term in ("wiped staging", "Globex", str(wanted.number)):
        response = sue_client.get(changelist, {"q": term})
        listed = {incident.pk for incident in response.context["cl"].result_list}
        assert wanted.pk in listed, term
        assert other.pk not in listed, term
