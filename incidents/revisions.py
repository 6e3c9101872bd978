"""A postmortem's editable content as plain data: taken from forms or from the record, stored
in a revision, compared field by field, and written back onto the record when it is approved.

Related rows are kept by natural content (tag ids, organisation id and role, the text of a
timeline event...), so two snapshots compare equal exactly when a reader would see no change.
"""

from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.db import models

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
    Severity,
    Source,
    Tag,
    TimelineEvent,
)

EDITABLE_FIELDS = [
    "title", "summary", "narrative", "visibility", "severity", "perpetrator", "autonomy",
    "access_held", "broader_permissions", "occurred_at", "occurred_precision", "detected_at",
    "mitigated_at", "resolved_at", "disclosed_on", "affected_services", "affected_regions",
    "users_affected", "outage_duration", "data_lost", "estimated_cost_usd", "blast_radius_notes",
    "remediation",
]  # fmt: skip
CHILDREN = {
    "organisation_roles": (IncidentOrganisation, ["organisation", "role"]),
    "timeline_events": (TimelineEvent, ["at", "description"]),
    "action_items": (ActionItem, ["title", "owner", "assignee", "due_on", "status"]),
    "sources": (Source, ["url", "publisher", "title", "published_on", "stance"]),
    "agent_actions": (
        AgentAction,
        [
            "position",
            "at",
            "ai_system",
            "tool",
            "command",
            "target",
            "action_class",
            "reversible",
            "approval_gate",
            "outcome",
            "harmful",
        ],
    ),  # fmt: skip
}
# Rows kept in an order of their own rather than by content.
ROW_ORDER = {"agent_actions": lambda row: int(row["position"])}
MANY = ["tags", "ai_systems"]
LABELS = {
    "organisation_roles": "Organisations",
    "timeline_events": "Timeline",
    "action_items": "Action items",
    "sources": "Sources",
    "agent_actions": "Action record",
    "tags": "Tags",
    "ai_systems": "AI systems",
}
# Near misses and counterfactual severity; the controls judged against the incident.
EDITABLE_FIELDS += ["kind", "worst_credible_severity"]
CHILDREN["control_assessments"] = (ControlAssessment, ["control", "verdict", "rationale"])
LABELS["control_assessments"] = "Controls"


def _field(model, name):
    return model._meta.get_field(name)


def _dump(model, name, value):
    """A Python value as JSON-safe text, the way Django serialises the field."""
    if value is None:
        return None
    field = _field(model, name)
    if isinstance(value, models.Model):
        value = value.pk
    if field.is_relation:
        return value
    # A plain holder, not a model instance: a trace import dumps 10,000 rows of 11 fields.
    holder = SimpleNamespace(**{field.attname: value})
    return field.value_to_string(holder)


def _load(model, name, value):
    if value is None:
        return None
    field = _field(model, name)
    return value if field.is_relation else field.to_python(value)


def _row(model, names, values):
    return {name: _dump(model, name, values.get(name)) for name in names}


def from_values(fields, children, many):
    """A snapshot from cleaned form data: `fields` by name, `children` as lists of dicts,
    `many` as lists of objects or ids."""
    snapshot = {"fields": _row(Incident, EDITABLE_FIELDS, fields)}
    for key in CHILDREN:
        snapshot[key] = child_rows(key, children.get(key, []))
    for key in MANY:
        snapshot[key] = sorted(getattr(item, "pk", item) for item in many.get(key, []))
    return snapshot


def child_rows(key, values):
    """One kind of related rows as snapshot data, in the snapshot's order."""
    model, names = CHILDREN[key]
    rows = [_row(model, names, row) for row in values]
    by_content = lambda row: [str(row[name]) for name in names]  # noqa: E731
    return sorted(rows, key=ROW_ORDER.get(key, by_content))


def from_incident(incident):
    fields = {name: getattr(incident, _field(Incident, name).attname) for name in EDITABLE_FIELDS}
    children = {
        key: [
            {name: getattr(row, _field(model, name).attname) for name in names}
            for row in getattr(incident, key).all()
        ]
        for key, (model, names) in CHILDREN.items()
    }
    many = {key: list(getattr(incident, key).values_list("pk", flat=True)) for key in MANY}
    return from_values(fields, children, many)


def field_values(snapshot):
    """The scalar fields as Python values, for a form's initial data."""
    return {
        _field(Incident, name).attname if _field(Incident, name).is_relation else name: _load(
            Incident, name, value
        )
        for name, value in snapshot["fields"].items()
    }


def child_values(snapshot, key):
    model, names = CHILDREN[key]
    return [
        {
            (_field(model, n).attname if _field(model, n).is_relation else n): _load(
                model, n, row[n]
            )
            for n in names
        }
        for row in snapshot.get(key, [])
    ]


def apply(incident, snapshot):
    """Write a snapshot onto the record and its related rows."""
    for name, value in field_values(snapshot).items():
        setattr(incident, name, value)
    incident.save()
    for key, (model, _names) in CHILDREN.items():
        getattr(incident, key).all().delete()
        model.objects.bulk_create(
            model(incident=incident, **values) for values in child_values(snapshot, key)
        )
    for key in MANY:
        getattr(incident, key).set(snapshot.get(key, []))


def diff(old, new):
    """[(label, old value, new value)] for every field that differs."""
    old = old or {"fields": {}}
    changes = []
    for name in EDITABLE_FIELDS:
        before, after = old["fields"].get(name), new["fields"].get(name)
        if before != after:
            changes.append((_field(Incident, name).verbose_name.capitalize(), before, after))
    for key in [*CHILDREN, *MANY]:
        if old.get(key, []) != new.get(key, []):
            changes.append((LABELS[key], old.get(key, []), new.get(key, [])))
    return changes


def changed_names(old, new):
    return [label for label, _, _ in diff(old, new)]


# Presenting snapshots: they hold raw values and ids; people read names.
NAME_OF_LABEL = {
    **{_field(Incident, name).verbose_name.capitalize(): name for name in EDITABLE_FIELDS},
    **{label: key for key, label in LABELS.items()},
}


class Names:
    """Display names for every id the given snapshots mention, one query per kind."""

    def __init__(self, snapshots):
        snapshots = [snapshot for snapshot in snapshots if snapshot]
        kinds = ("severity", "perpetrator", "tag", "ai", "org", "user", "control")
        ids = {kind: set() for kind in kinds}
        for snapshot in snapshots:
            fields = snapshot.get("fields", {})
            ids["severity"].add(fields.get("severity"))
            ids["severity"].add(fields.get("worst_credible_severity"))
            ids["control"].update(row["control"] for row in snapshot.get("control_assessments", []))
            ids["perpetrator"].add(fields.get("perpetrator"))
            ids["tag"].update(snapshot.get("tags", []))
            ids["ai"].update(snapshot.get("ai_systems", []))
            ids["org"].update(row["organisation"] for row in snapshot.get("organisation_roles", []))
            ids["user"].update(row["assignee"] for row in snapshot.get("action_items", []))
            ids["ai"].update(row["ai_system"] for row in snapshot.get("agent_actions", []))
        models = {
            "severity": Severity,
            "perpetrator": PerpetratorKind,
            "tag": Tag,
            "ai": AISystem,
            "org": Organisation,
            "user": get_user_model(),
            "control": Control,
        }
        self.names = {}
        for kind, model in models.items():
            wanted = ids[kind] - {None}
            self.names[kind] = (
                {pk: str(obj) for pk, obj in model.objects.in_bulk(wanted).items()}
                if wanted
                else {}
            )

    def of(self, kind, pk):
        if pk is None:
            return ""
        return self.names[kind].get(pk, f"(deleted {kind} {pk})")

    def field(self, name, value):
        if value in (None, ""):
            return ""
        if name in ("severity", "perpetrator"):
            return self.of(name, value)
        if name == "worst_credible_severity":
            return self.of("severity", value)
        choices = dict(Incident._meta.get_field(name).flatchoices)
        return str(choices.get(value, value))

    def items(self, key, value):
        """The rows of a list-valued part of a snapshot, each as one line of text."""
        if key == "tags":
            return sorted(self.of("tag", pk) for pk in value)
        if key == "ai_systems":
            return sorted(self.of("ai", pk) for pk in value)
        lines = []
        for row in value:
            if key == "organisation_roles":
                role = IncidentOrganisation.Role(row["role"]).label
                parts = [f"{self.of('org', row['organisation'])} ({role})"]
            elif key == "timeline_events":
                parts = [row["at"], row["description"]]
            elif key == "action_items":
                assignee = self.of("user", row["assignee"])
                parts = [
                    row["title"],
                    row["owner"],
                    assignee and f"assigned to {assignee}",
                    row["due_on"] and f"due {row['due_on']}",
                    row["status"],
                ]
            elif key == "agent_actions":
                parts = [
                    f"{row['position']}.",
                    row["at"],
                    self.of("ai", row["ai_system"]),
                    row["tool"],
                    row["command"],
                    row["target"] and f"on {row['target']}",
                    AgentAction.ActionClass(row["action_class"]).label,
                    AgentAction.Gate(row["approval_gate"]).label,
                    AgentAction.Outcome(row["outcome"]).label,
                    row["harmful"] == "True" and "the harmful step",
                ]
            elif key == "control_assessments":
                verdict = ControlAssessment.Verdict(row["verdict"]).label
                parts = [f"{self.of('control', row['control'])}: {verdict}", row["rationale"]]
            else:
                parts = [row["title"] or row["url"], row["url"], row["publisher"], row["stance"]]
            lines.append(" · ".join(str(part) for part in parts if part))
        return lines
