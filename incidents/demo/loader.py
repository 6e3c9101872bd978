"""Load the shipped demo set: real incidents, in our own words, with their sources.

Loading is idempotent: records are matched by their key (which becomes the slug), updated in
place and their child rows replaced, so public numbers stay stable across reloads.
"""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from incidents import queueing
from incidents.models import (
    AgentAction,
    AISystem,
    Control,
    ControlAssessment,
    Incident,
    Organisation,
    PerpetratorKind,
    PolicyChange,
    PolicyChangeIncident,
    Severity,
    Tag,
)
from incidents.search_index import search_index_update

DEMO_FILE = Path(__file__).with_name("incidents.json")

INCIDENT_FIELDS = [
    "title",
    "summary",
    "narrative",
    "autonomy",
    "access_held",
    "broader_permissions",
    "affected_services",
    "affected_regions",
    "users_affected",
    "data_lost",
    "blast_radius_notes",
    "remediation",
]


def _moment(value):
    """A date or datetime string as an aware datetime (dates mean midnight UTC)."""
    if not value:
        return None
    day = parse_date(value) if len(value) == 10 else None
    if day:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    moment = parse_datetime(value)
    if moment is None or timezone.is_naive(moment):
        raise ValueError(f"Not a date or a datetime with a time zone: {value!r}")
    return moment


def _date(value):
    return parse_date(value) if value else None


def _organisation(name):
    organisation, _ = Organisation.objects.get_or_create(name=name)
    return organisation


def _load_incident(data):
    incident = Incident.objects.filter(slug=data["key"]).first() or Incident(slug=data["key"])
    for field in INCIDENT_FIELDS:
        setattr(incident, field, data.get(field) or Incident._meta.get_field(field).get_default())
    incident.severity = Severity.objects.get(name=data["severity"])
    incident.perpetrator = PerpetratorKind.objects.get(slug=data["perpetrator"])
    for field in ["occurred_at", "detected_at", "mitigated_at", "resolved_at"]:
        setattr(incident, field, _moment(data.get(field)))
    incident.occurred_precision = data.get("occurred_precision") or Incident.Precision.DAY
    incident.disclosed_on = _date(data.get("disclosed_on"))
    minutes = data.get("outage_minutes")
    incident.outage_duration = timedelta(minutes=minutes) if minutes else None
    cost = data.get("estimated_cost_usd")
    incident.estimated_cost_usd = Decimal(str(cost)) if cost is not None else None
    incident.status = Incident.Status.PUBLISHED
    incident.visibility = Incident.Visibility.PUBLIC
    incident.published_at = (
        incident.published_at or _moment(data.get("disclosed_on")) or incident.occurred_at
    )
    incident.save()

    incident.ai_systems.set(
        AISystem.objects.get_or_create(
            name=system["name"],
            vendor=_organisation(system["vendor"]) if system.get("vendor") else None,
        )[0]
        for system in data.get("ai_systems", [])
    )
    incident.organisation_roles.all().delete()
    for role in data.get("organisations", []):
        incident.organisation_roles.create(
            organisation=_organisation(role["name"]), role=role["role"]
        )
    incident.tags.set(
        Tag.objects.get_or_create(facet=facet, name=name)[0]
        for facet, names in data.get("tags", {}).items()
        for name in names
    )
    incident.timeline_events.all().delete()
    for event in data.get("timeline", []):
        incident.timeline_events.create(at=_moment(event["at"]), description=event["description"])
    incident.action_items.all().delete()
    for item in data.get("action_items", []):
        incident.action_items.create(
            title=item["title"],
            owner=item.get("owner") or "",
            due_on=_date(item.get("due_on")),
            status=item.get("status") or "open",
        )
    _load_agent_actions(incident, data.get("agent_actions", []))
    incident.sources.all().delete()
    for source in data.get("sources", []):
        incident.sources.create(
            url=source["url"],
            publisher=source.get("publisher") or "",
            title=source.get("title") or "",
            published_on=_date(source.get("published_on")),
            stance=source.get("stance") or "reports",
        )
    _load_kind_and_controls(incident, data)
    return incident


def _load_agent_actions(incident, actions):
    """The action record, in the order given; AI systems are named as in `ai_systems`."""
    systems = {system.name: system for system in incident.ai_systems.all()}
    incident.agent_actions.all().delete()
    AgentAction.objects.bulk_create(
        AgentAction(
            incident=incident,
            position=position,
            at=_moment(action.get("at")),
            ai_system=systems.get(action.get("ai_system")),
            tool=action.get("tool") or "",
            command=action.get("command") or "",
            target=action.get("target") or "",
            action_class=action["action_class"],
            reversible=action.get("reversible") or "unknown",
            approval_gate=action["approval_gate"],
            outcome=action.get("outcome") or "succeeded",
            harmful=bool(action.get("harmful")),
        )
        for position, action in enumerate(actions, start=1)
    )


def _load_kind_and_controls(incident, data):
    """Near miss or incident, the worst credible severity, and the controls assessed."""
    incident.kind = data.get("kind") or Incident.Kind.INCIDENT
    worst = data.get("worst_credible_severity")
    incident.worst_credible_severity = Severity.objects.get(name=worst) if worst else None
    incident.save(update_fields=["kind", "worst_credible_severity"])
    incident.control_assessments.all().delete()
    ControlAssessment.objects.bulk_create(
        ControlAssessment(
            incident=incident,
            control=Control.objects.get(slug=row["control"]),
            verdict=row["verdict"],
            rationale=row.get("rationale") or "",
        )
        for row in data.get("control_assessments", [])
    )


def _load_policy(data, incidents_by_key):
    policy = PolicyChange.objects.filter(slug=data["key"]).first() or PolicyChange(slug=data["key"])
    policy.organisation = _organisation(data["organisation"])
    policy.title = data["title"]
    policy.description = data.get("description") or ""
    policy.kind = data["kind"]
    policy.status = data["status"]
    policy.announced_on = _date(data.get("announced_on"))
    policy.effective_on = _date(data.get("effective_on"))
    policy.save()
    policy.sources.all().delete()
    for source in data.get("sources", []):
        policy.sources.create(
            url=source["url"],
            publisher=source.get("publisher") or "",
            title=source.get("title") or "",
            published_on=_date(source.get("published_on")),
        )
    policy.incident_links.all().delete()
    PolicyChangeIncident.objects.bulk_create(
        PolicyChangeIncident(
            policy_change=policy,
            incident=incidents_by_key[link["incident"]],
            relation=link["relation"],
        )
        for link in data.get("incidents", [])
    )
    policy.controls.set(Control.objects.filter(slug__in=data.get("controls", [])))
    return policy


@transaction.atomic
def load_demo(path=DEMO_FILE, progress=None):
    """Create or update every demo record; returns (incident count, policy change count)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    incidents_by_key = {}
    for position, item in enumerate(data["incidents"], start=1):
        incidents_by_key[item["key"]] = _load_incident(item)
        if progress:
            progress(f"[{position}/{len(data['incidents'])}] {item['title']}")
    for item in data.get("policy_changes", []):
        _load_policy(item, incidents_by_key)
    search_index_update()
    # Built from what was just loaded, by the worker (inline without a broker): the vectors
    # for matching by meaning, the similar incidents and then the pattern clusters, and the
    # dashboards.
    queueing.related_incidents_all()
    queueing.summaries_rebuild()
    return len(incidents_by_key), len(data.get("policy_changes", []))
