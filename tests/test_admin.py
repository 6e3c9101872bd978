"""Every model can be browsed, searched and edited in the admin."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from .factories import UserFactory

pytestmark = pytest.mark.django_db

REGISTERED = sorted(
    (model._meta.app_label, model._meta.model_name) for model in admin.site._registry
)
INCIDENT_MODELS = [entry for entry in REGISTERED if entry[0] == "incidents"]


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    call_command("load_demo", verbosity=0)
    return client


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
def test_changelist_search_and_change_form_load(superuser_client, app_label, model_name):
    changelist = reverse(f"admin:{app_label}_{model_name}_changelist")
    assert superuser_client.get(changelist).status_code == 200
    assert superuser_client.get(changelist, {"q": "Kiro"}).status_code == 200
    add_page = superuser_client.get(reverse(f"admin:{app_label}_{model_name}_add"))
    # Provenance and duplicate flags are only ever written by imports, never typed in.
    expected = 403 if model_name in {"provenance", "duplicateflag"} else 200
    assert add_page.status_code == expected


def test_the_incident_form_has_inlines_for_the_postmortem(superuser_client):
    from incidents.models import Incident

    kiro = Incident.objects.get(slug="kiro-aws-cost-explorer-outage")
    response = superuser_client.get(reverse("admin:incidents_incident_change", args=[kiro.pk]))
    html = response.text
    for prefix in ["organisation_roles", "timeline_events", "action_items", "sources"]:
        assert f'id="id_{prefix}-TOTAL_FORMS"' in html
    assert "Amazon Web Services" in html
