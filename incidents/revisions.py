"""A postmortem's editable content as plain data: taken from forms or from the record, stored
in a revision, compared field by field, and written back onto the record when it is approved.

A snapshot holds the record's own fields and each of its parts (`incidents/parts.py`). Related
rows are kept by natural content (tag ids, organisation id and role, the text of a timeline
event...), so two snapshots compare equal exactly when a reader would see no change. How people
read a snapshot is `incidents/revision_display.py`.
"""

from types import SimpleNamespace
from typing import NamedTuple

from django.db import models

from incidents.models import Incident
from incidents.parts import BY_KEY, LINKS, PARTS, ROWS

# The record's own fields, in the order the drafts API lists them and the review page shows them.
EDITABLE_FIELDS = [
    "title", "summary", "narrative", "visibility", "severity", "perpetrator", "autonomy",
    "access_held", "broader_permissions", "occurred_at", "occurred_precision", "detected_at",
    "mitigated_at", "resolved_at", "disclosed_on", "affected_services", "affected_regions",
    "users_affected", "lives_lost", "injuries", "outage_duration", "data_lost",
    "estimated_cost_usd", "blast_radius_notes", "remediation", "kind", "worst_credible_severity",
]  # fmt: skip


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
    `many` as lists of objects or ids, each keyed by its part's key."""
    snapshot = {"fields": _row(Incident, EDITABLE_FIELDS, fields)}
    for part in ROWS:
        snapshot[part.key] = child_rows(part.key, children.get(part.key, []))
    for part in LINKS:
        snapshot[part.key] = sorted(getattr(item, "pk", item) for item in many.get(part.key, []))
    return snapshot


def child_rows(key, values):
    """One part's rows as snapshot data, in the snapshot's order."""
    part = BY_KEY[key]
    rows = [_row(part.model, part.fields, row) for row in values]
    by_content = lambda row: [str(row[name]) for name in part.fields]  # noqa: E731
    return sorted(rows, key=part.order or by_content)


def from_incident(incident):
    fields = {name: getattr(incident, _field(Incident, name).attname) for name in EDITABLE_FIELDS}
    children = {
        part.key: [
            {name: getattr(row, _field(part.model, name).attname) for name in part.fields}
            for row in getattr(incident, part.key).all()
        ]
        for part in ROWS
    }
    many = {part.key: [item.pk for item in getattr(incident, part.key).all()] for part in LINKS}
    return from_values(fields, children, many)


def from_incidents(incident_ids, batch_size=500):
    """{incident id: snapshot} for many incidents, in one query per part and batch."""
    incident_ids = sorted(incident_ids)
    snapshots = {}
    for start in range(0, len(incident_ids), batch_size):
        batch = Incident.objects.filter(pk__in=incident_ids[start : start + batch_size])
        for incident in batch.prefetch_related(*(part.key for part in PARTS)):
            snapshots[incident.pk] = from_incident(incident)
    return snapshots


def field_values(snapshot):
    """The scalar fields as Python values, for a form's initial data."""
    return {
        _field(Incident, name).attname if _field(Incident, name).is_relation else name: _load(
            Incident, name, value
        )
        for name, value in snapshot["fields"].items()
    }


def child_values(snapshot, key):
    """One part's rows as Python values, relations by attname (`organisation_id`)."""
    part = BY_KEY[key]
    model = part.model
    return [
        {
            (_field(model, n).attname if _field(model, n).is_relation else n): _load(
                model, n, row[n]
            )
            for n in part.fields
        }
        for row in snapshot.get(key, [])
    ]


def apply(incident, snapshot):
    """Write a snapshot onto the record and its related rows."""
    for name, value in field_values(snapshot).items():
        setattr(incident, name, value)
    incident.save()
    for part in ROWS:
        getattr(incident, part.key).all().delete()
        part.model.objects.bulk_create(
            part.model(incident=incident, **values) for values in child_values(snapshot, part.key)
        )
    for part in LINKS:
        getattr(incident, part.key).set(snapshot.get(part.key, []))


class Change(NamedTuple):
    key: str  # a field's name or a part's key
    label: str
    old: object
    new: object


def label(key):
    """What people call a field or a part."""
    if key in BY_KEY:
        return BY_KEY[key].label
    return _field(Incident, key).verbose_name.capitalize()


def diff(old, new):
    """A Change for every field and part that differs, in the order the record lists them."""
    old = old or {"fields": {}}
    changes = []
    for name in EDITABLE_FIELDS:
        before, after = old["fields"].get(name), new["fields"].get(name)
        if before != after:
            changes.append(Change(name, label(name), before, after))
    for part in PARTS:
        before, after = old.get(part.key, []), new.get(part.key, [])
        if before != after:
            changes.append(Change(part.key, part.label, before, after))
    return changes


def changed_names(old, new):
    return [change.label for change in diff(old, new)]
