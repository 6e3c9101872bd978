"""`manage.py load_demo`: the shipped demo set loads completely and reloads without changes."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from incidents.models import (
    ActionItem,
    Incident,
    IncidentOrganisation,
    Organisation,
    PatternCluster,
    PolicyChange,
    PolicyChangeIncident,
    PolicySource,
    RelatedIncident,
    Source,
    SummaryCount,
    Tag,
    TimelineEvent,
)

from .factories import IncidentFactory

KIRO = "kiro-aws-cost-explorer-outage"

pytestmark = pytest.mark.django_db


def load_demo():
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def snapshot():
    models = [
        ActionItem,
        Incident,
        IncidentOrganisation,
        Organisation,
        PolicyChange,
        PolicyChangeIncident,
        PolicySource,
        RelatedIncident,
        Source,
        Tag,
        TimelineEvent,
    ]
    return {
        "counts": {model.__name__: model.objects.count() for model in models},
        "numbers": dict(Incident.objects.values_list("slug", "number")),
        "related": set(RelatedIncident.objects.values_list("incident__slug", "related__slug")),
    }


def test_it_loads_the_demo_incidents_as_published_and_public():
    output = load_demo()

    total = Incident.objects.count()
    assert total >= 15
    assert Incident.objects.published().count() == total
    assert f"{total} incidents" in output


def test_it_loads_the_kiro_incident_with_its_severity_and_a_disputing_source():
    load_demo()

    kiro = Incident.objects.get(slug=KIRO)
    assert kiro.severity is not None
    assert kiro.perpetrator is not None
    assert kiro.sources.filter(stance=Source.Stance.DISPUTES).exists()
    assert kiro.timeline_events.exists()


def test_it_links_the_aws_policy_change_as_prompted_by_kiro():
    load_demo()

    assert PolicyChangeIncident.objects.filter(
        incident__slug=KIRO,
        relation=PolicyChangeIncident.Relation.PROMPTED_BY,
        policy_change__organisation__name="Amazon Web Services",
    ).exists()


def test_every_demo_incident_cites_a_source():
    load_demo()

    assert not Incident.objects.annotate(n=Count("sources")).filter(n=0).exists()


def test_the_worker_computes_related_incidents_once_the_load_commits(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        load_demo()
    assert not RelatedIncident.objects.exists()

    for callback in callbacks:
        callback()

    assert RelatedIncident.objects.filter(incident__slug=KIRO).exists()


def test_loading_twice_changes_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        load_demo()
    first = snapshot()

    with django_capture_on_commit_callbacks(execute=True):
        load_demo()

    assert snapshot() == first


def test_reloading_keeps_numbers_even_after_newer_incidents():
    load_demo()
    numbers = dict(Incident.objects.values_list("slug", "number"))
    newer = IncidentFactory()

    load_demo()

    assert dict(Incident.objects.exclude(pk=newer.pk).values_list("slug", "number")) == numbers
    assert Incident.objects.get(pk=newer.pk).number == max(numbers.values()) + 1


def test_the_dashboard_and_patterns_are_built_from_the_demo(
    django_capture_on_commit_callbacks, client
):
    with django_capture_on_commit_callbacks(execute=True):
        load_demo()

    assert SummaryCount.objects.exists()
    html = client.get("/dashboard/").content.decode()
    kiro = Incident.objects.get(slug=KIRO)
    by_severity = html.split('id="incidents-by-severity"', 1)[1].split("</section>", 1)[0]
    assert "No incidents to chart" not in by_severity
    # The demo spans more than ten years, so the chart counts per year.
    assert f'<th scope="row">{kiro.occurred_at:%Y}</th>' in by_severity
    assert PatternCluster.objects.exists()
