"""Test data: each factory builds a valid record; traits name the states tests care about."""

import json
from datetime import UTC, date, datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from factory.django import DjangoModelFactory

from incidents import revisions
from incidents.importers import IMPORTERS, run_import
from incidents.models import (
    ActionItem,
    AgentAction,
    AISystem,
    Control,
    ControlAssessment,
    Incident,
    IncidentOrganisation,
    Organisation,
    PerpetratorKind,
    PolicyChange,
    PolicyChangeIncident,
    PolicySource,
    Provenance,
    Severity,
    Source,
    Tag,
    TimelineEvent,
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag

    facet = Tag.Facet.FAILURE_MODE
    name = factory.Sequence(lambda n: f"Tag {n}")


class AISystemFactory(DjangoModelFactory):
    class Meta:
        model = AISystem

    name = factory.Sequence(lambda n: f"Agent {n}")
    vendor = factory.SubFactory(OrganisationFactory)


class IncidentFactory(DjangoModelFactory):
    """A published, public incident; severity and perpetrator come from the migrated rows."""

    class Meta:
        model = Incident
        skip_postgeneration_save = True

    class Params:
        draft = factory.Trait(status=Incident.Status.DRAFT, published_at=None)
        in_review = factory.Trait(status=Incident.Status.IN_REVIEW, published_at=None)
        internal = factory.Trait(visibility=Incident.Visibility.INTERNAL)
        retracted = factory.Trait(
            status=Incident.Status.RETRACTED,
            retraction_reason="The only source turned out to be satire.",
        )

    title = factory.Sequence(lambda n: f"Incident {n}")
    summary = "An AI system did something its operators did not expect."
    narrative = "## What happened\n\nThe agent acted **without review**."
    status = Incident.Status.PUBLISHED
    visibility = Incident.Visibility.PUBLIC
    severity = factory.LazyFunction(lambda: Severity.objects.get(name="SEV3"))
    perpetrator = factory.LazyFunction(lambda: PerpetratorKind.objects.get(slug="ai-coding-agent"))
    occurred_at = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)

    @factory.post_generation
    def organisations(self, create, extracted, **kwargs):
        """`organisations=[org, ...]` adds each as the deployer."""
        if create and extracted:
            for organisation in extracted:
                IncidentOrganisation.objects.create(
                    incident=self,
                    organisation=organisation,
                    role=IncidentOrganisation.Role.DEPLOYER,
                )


class IncidentOrganisationFactory(DjangoModelFactory):
    class Meta:
        model = IncidentOrganisation

    incident = factory.SubFactory(IncidentFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = IncidentOrganisation.Role.DEPLOYER


class SourceFactory(DjangoModelFactory):
    class Meta:
        model = Source

    incident = factory.SubFactory(IncidentFactory)
    url = factory.Sequence(lambda n: f"https://news.example.com/story-{n}")
    publisher = "Example News"
    title = factory.Sequence(lambda n: f"Report {n}")
    published_on = date(2025, 12, 2)
    stance = Source.Stance.REPORTS


class TimelineEventFactory(DjangoModelFactory):
    class Meta:
        model = TimelineEvent

    incident = factory.SubFactory(IncidentFactory)
    at = factory.LazyAttribute(lambda event: event.incident.occurred_at or timezone.now())
    description = "The agent started deleting resources."


class ActionItemFactory(DjangoModelFactory):
    class Meta:
        model = ActionItem

    incident = factory.SubFactory(IncidentFactory)
    title = factory.Sequence(lambda n: f"Action item {n}")
    owner = "Platform team"
    status = ActionItem.Status.OPEN


class PolicyChangeFactory(DjangoModelFactory):
    class Meta:
        model = PolicyChange

    organisation = factory.SubFactory(OrganisationFactory)
    title = factory.Sequence(lambda n: f"Policy change {n}")
    description = "Production changes by AI agents now need a second reviewer."
    kind = PolicyChange.Kind.PEER_REVIEW
    status = PolicyChange.Status.IN_EFFECT
    announced_on = date(2025, 12, 10)
    effective_on = date(2026, 1, 1)


class PolicyChangeIncidentFactory(DjangoModelFactory):
    class Meta:
        model = PolicyChangeIncident

    policy_change = factory.SubFactory(PolicyChangeFactory)
    incident = factory.SubFactory(IncidentFactory)
    relation = PolicyChangeIncident.Relation.PROMPTED_BY


class PolicySourceFactory(DjangoModelFactory):
    class Meta:
        model = PolicySource

    policy_change = factory.SubFactory(PolicyChangeFactory)
    url = factory.Sequence(lambda n: f"https://press.example.com/release-{n}")
    publisher = "Example Corp"


class AgentActionFactory(DjangoModelFactory):
    """One step of an action record: by default a harmless read that succeeded."""

    class Meta:
        model = AgentAction

    incident = factory.SubFactory(IncidentFactory)
    position = factory.Sequence(lambda n: n + 1)
    at = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
    tool = "run_shell"
    command = "kubectl get pods -n staging"
    target = "staging"
    action_class = AgentAction.ActionClass.READ
    approval_gate = AgentAction.Gate.NONE
    outcome = AgentAction.Outcome.SUCCEEDED


def person(username, *groups, **fields):
    """A user in the named groups ("reporter", "reviewer", "editor", "viewer")."""
    user = UserFactory(username=username, **fields)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


def signed_in(user):
    """A client with this user signed in."""
    client = Client()
    client.force_login(user)
    return client


def snapshot_of(**fields):
    """A postmortem's editable content with these fields set and the rest at their defaults."""
    blank = Incident()
    values = {
        name: getattr(blank, Incident._meta.get_field(name).attname)
        for name in revisions.EDITABLE_FIELDS
    }
    many = {"tags": fields.pop("tags", [])}
    return revisions.from_values({**values, **fields}, {}, many)


def import_(source, path, **options):
    """Run one importer over a file or folder, as `manage.py import_incidents` does."""
    return run_import(IMPORTERS[source](path), **options)


def incident_for(dataset, external_id):
    """The incident an import made from a dataset's record."""
    return (
        Provenance.objects.select_related("incident")
        .get(dataset=dataset, external_id=external_id)
        .incident
    )


TRACE_START_NS = 1_764_579_600_000_000_000  # 2025-12-01 09:00:00 UTC


def otlp_trace(*calls, agent="ops-agent", trace_id="5b8efff798038103d269b633813fc60c"):
    """An OTLP JSON trace: one invoke_agent span named for `agent`, and under it one
    execute_tool span per call, a dict with `tool` and optionally `arguments` (a dict or a
    string), `second` (start, after 09:00:00 UTC) and `status` (an OTLP status object)."""

    def attribute(key, value):
        return {"key": key, "value": {"stringValue": value}}

    root = "a1" * 8
    spans = [
        {
            "traceId": trace_id,
            "spanId": root,
            "name": f"invoke_agent {agent}",
            "kind": "SPAN_KIND_INTERNAL",
            "startTimeUnixNano": str(TRACE_START_NS),
            "endTimeUnixNano": str(TRACE_START_NS + 3_600 * 10**9),
            "attributes": [
                attribute("gen_ai.operation.name", "invoke_agent"),
                attribute("gen_ai.agent.name", agent),
            ],
        }
    ]
    for number, call in enumerate(calls, start=1):
        arguments = call.get("arguments", {})
        start = TRACE_START_NS + call.get("second", number) * 10**9
        span = {
            "traceId": trace_id,
            "spanId": f"{number:016x}",
            "parentSpanId": root,
            "name": f"execute_tool {call['tool']}",
            "kind": 1,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + 10**8),
            "attributes": [
                attribute("gen_ai.operation.name", "execute_tool"),
                attribute("gen_ai.tool.name", call["tool"]),
                attribute(
                    "gen_ai.tool.call.arguments",
                    arguments if isinstance(arguments, str) else json.dumps(arguments),
                ),
            ],
        }
        if "status" in call:
            span["status"] = call["status"]
        spans.append(span)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attribute("service.name", agent)]},
                "scopeSpans": [{"scope": {"name": "tests"}, "spans": spans}],
            }
        ]
    }


def control(slug):
    """A control from the default catalogue, which a migration ships."""
    return Control.objects.get(slug=slug)


def assess(incident, slug, verdict, rationale=""):
    """Record how a catalogue control fared in an incident."""
    return ControlAssessment.objects.create(
        incident=incident, control=control(slug), verdict=verdict, rationale=rationale
    )
