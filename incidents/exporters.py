"""Blast Radius's own export format: public data only, as JSON or as a set of CSV tables.

docs/export-format.md documents both. Exports are deterministic: the same data gives the same
bytes (records in a fixed order, no export timestamp), so they can be diffed and mirrored.
The current version is written; version 1 is still served, as the same data without the parts
version 2 added, for mirrors that fetch it by name.
"""

import csv
import io
import json
import zipfile
from datetime import UTC
from pathlib import Path

from django.db.models import Prefetch

from incidents.caching import cached_for_this_data
from incidents.csv_cells import spreadsheet_safe
from incidents.models import (
    AgentAction,
    AISystem,
    ControlAssessment,
    Incident,
    IncidentOrganisation,
    PolicyChange,
    PolicyChangeIncident,
)

VERSION = 2
# Every version the site still serves and the importer still reads.
VERSIONS = (1, 2)
# What version 2 added; a version 1 document is a version 2 one without these keys.
ADDED_IN_V2 = {
    "document": ["controls"],
    "incident": ["kind", "worst_credible_severity", "agent_actions", "control_assessments"],
    "policy_change": ["controls"],
}
# Every zip member gets this timestamp so identical data gives an identical archive.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def schema(version=VERSION):
    return f"urn:blast-radius:export:v{version}"


SCHEMA = schema()


def json_filename(version=VERSION):
    return f"blast-radius-v{version}.json"


def csv_filename(version=VERSION):
    return f"blast-radius-v{version}-csv.zip"


def _datetime(value):
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _date(value):
    return value.isoformat() if value else None


def _minutes(duration):
    if duration is None:
        return None
    minutes = duration.total_seconds() / 60
    return int(minutes) if minutes.is_integer() else minutes


def _source(source):
    return {
        "url": source.url,
        "publisher": source.publisher,
        "title": source.title,
        "published_on": _date(source.published_on),
    }


def _system(system):
    if system is None:
        return None
    return {"name": system.name, "vendor": system.vendor.name if system.vendor else None}


def exported_incidents():
    """The incidents an export holds: exactly what the public may open."""
    return (
        Incident.objects.public()
        .select_related("severity", "worst_credible_severity", "perpetrator", "merged_into")
        .prefetch_related(
            Prefetch("ai_systems", queryset=AISystem.objects.select_related("vendor")),
            Prefetch(
                "agent_actions",
                queryset=AgentAction.objects.select_related("ai_system__vendor"),
            ),
            Prefetch(
                "control_assessments",
                queryset=ControlAssessment.objects.select_related("control"),
            ),
            Prefetch(
                "organisation_roles",
                queryset=IncidentOrganisation.objects.select_related("organisation"),
            ),
            "tags",
            "timeline_events",
            "action_items",
            "sources",
            "provenances",
        )
        .order_by("number")
    )


def incident_document(incident, public_ids):
    merged_into = incident.merged_into if incident.merged_into_id in public_ids else None
    systems = sorted(
        (_system(s) for s in incident.ai_systems.all()),
        key=lambda system: (system["name"], system["vendor"] or ""),
    )
    assessments = sorted(
        incident.control_assessments.all(), key=lambda a: (a.control.name, a.control.slug)
    )
    return {
        "number": incident.number,
        "slug": incident.slug,
        "title": incident.title,
        "kind": incident.kind,
        "status": incident.status,
        "retraction_reason": incident.retraction_reason,
        "merged_into": merged_into.slug if merged_into else None,
        "summary": incident.summary,
        "narrative": incident.narrative,
        "severity": incident.severity.name if incident.severity else None,
        "worst_credible_severity": (
            incident.worst_credible_severity.name if incident.worst_credible_severity else None
        ),
        "perpetrator": incident.perpetrator.slug if incident.perpetrator else None,
        "autonomy": incident.autonomy,
        "access_held": incident.access_held,
        "broader_permissions": incident.broader_permissions,
        "ai_systems": systems,
        "organisations": sorted(
            (
                {"name": role.organisation.name, "role": role.role}
                for role in incident.organisation_roles.all()
            ),
            key=lambda role: (role["role"], role["name"]),
        ),
        "occurred_at": _datetime(incident.occurred_at),
        "occurred_precision": incident.occurred_precision,
        "detected_at": _datetime(incident.detected_at),
        "mitigated_at": _datetime(incident.mitigated_at),
        "resolved_at": _datetime(incident.resolved_at),
        "disclosed_on": _date(incident.disclosed_on),
        "published_at": _datetime(incident.published_at),
        "affected_services": incident.affected_services,
        "affected_regions": incident.affected_regions,
        "users_affected": incident.users_affected,
        "lives_lost": incident.lives_lost,
        "injuries": incident.injuries,
        "outage_minutes": _minutes(incident.outage_duration),
        "data_lost": incident.data_lost,
        "estimated_cost_usd": (
            str(incident.estimated_cost_usd) if incident.estimated_cost_usd is not None else None
        ),
        "blast_radius_notes": incident.blast_radius_notes,
        "remediation": incident.remediation,
        "action_items": [
            {
                "title": item.title,
                "owner": item.owner,
                "due_on": _date(item.due_on),
                "status": item.status,
            }
            for item in incident.action_items.all()
        ],
        "timeline": [
            {"at": _datetime(event.at), "description": event.description}
            for event in incident.timeline_events.all()
        ],
        # Stored already redacted: secrets never reach the database.
        "agent_actions": [
            {
                "position": action.position,
                "at": _datetime(action.at),
                "ai_system": _system(action.ai_system),
                "tool": action.tool,
                "command": action.command,
                "target": action.target,
                "action_class": action.action_class,
                "reversible": action.reversible,
                "approval_gate": action.approval_gate,
                "outcome": action.outcome,
                "harmful": action.harmful,
            }
            for action in incident.agent_actions.all()
        ],
        "control_assessments": [
            {
                "control": assessment.control.slug,
                "verdict": assessment.verdict,
                "rationale": assessment.rationale,
            }
            for assessment in assessments
        ],
        "sources": [
            {**_source(source), "stance": source.stance} for source in incident.sources.all()
        ],
        "tags": [
            {"facet": tag.facet, "slug": tag.slug, "name": tag.name}
            for tag in sorted(incident.tags.all(), key=lambda t: (t.facet, t.name, t.slug))
        ],
        "provenances": [
            {
                "dataset": provenance.dataset,
                "external_id": provenance.external_id,
                "url": provenance.url,
                "licence": provenance.licence,
                "imported_at": _datetime(provenance.imported_at),
            }
            for provenance in incident.provenances.all()
        ],
    }


def build_export():
    """The whole export as one JSON-ready dict, keys in their documented order."""
    incidents = list(exported_incidents())
    public_ids = {incident.pk for incident in incidents}
    policies = PolicyChange.objects.select_related("organisation").prefetch_related(
        "sources",
        "controls",
        Prefetch(
            "incident_links",
            queryset=PolicyChangeIncident.objects.filter(incident_id__in=public_ids).select_related(
                "incident"
            ),
        ),
    )
    organisations, tags, controls = {}, {}, {}
    incident_documents = []
    for incident in incidents:
        incident_documents.append(incident_document(incident, public_ids))
        for role in incident.organisation_roles.all():
            organisations[role.organisation.name] = role.organisation
        systems = [*incident.ai_systems.all()]
        systems += [action.ai_system for action in incident.agent_actions.all()]
        for system in systems:
            if system and system.vendor:
                organisations[system.vendor.name] = system.vendor
        for tag in incident.tags.all():
            tags[tag.facet, tag.slug] = tag
        for assessment in incident.control_assessments.all():
            controls[assessment.control.slug] = assessment.control
    policy_documents = []
    # Sorted here, not by the database, so the order does not depend on its collation.
    for policy in sorted(policies, key=lambda policy: policy.slug):
        organisations[policy.organisation.name] = policy.organisation
        adopted = sorted(control.slug for control in policy.controls.all())
        controls |= {control.slug: control for control in policy.controls.all()}
        policy_documents.append(
            {
                "slug": policy.slug,
                "organisation": policy.organisation.name,
                "title": policy.title,
                "description": policy.description,
                "kind": policy.kind,
                "status": policy.status,
                "announced_on": _date(policy.announced_on),
                "effective_on": _date(policy.effective_on),
                "sources": [_source(source) for source in policy.sources.all()],
                "incidents": [
                    {"incident": link.incident.slug, "relation": link.relation}
                    for link in policy.incident_links.all()
                ],
                "controls": adopted,
            }
        )
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "organisations": [
            {
                "name": organisation.name,
                "slug": organisation.slug,
                "website": organisation.website,
                "description": organisation.description,
            }
            for _, organisation in sorted(organisations.items())
        ],
        "tags": [
            {"facet": tag.facet, "slug": tag.slug, "name": tag.name, "description": tag.description}
            for _, tag in sorted(tags.items())
        ],
        "controls": [
            {
                "slug": control.slug,
                "name": control.name,
                "type": control.type,
                "description": control.description,
            }
            for _, control in sorted(controls.items())
        ],
        "incidents": incident_documents,
        "policy_changes": policy_documents,
    }


def as_version(document, version):
    """The document in an older version the site still serves: the same data, minus the keys
    added since."""
    if version == VERSION:
        return document
    if version != 1:
        raise ValueError(f"no export version {version}")

    def without(record, part):
        return {key: value for key, value in record.items() if key not in ADDED_IN_V2[part]}

    older = without(document, "document")
    older["schema"], older["version"] = schema(1), 1
    older["incidents"] = [without(incident, "incident") for incident in document["incidents"]]
    older["policy_changes"] = [
        without(policy, "policy_change") for policy in document["policy_changes"]
    ]
    return older


def render_json(document):
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def export_json(stream):
    """Write the JSON export to a text stream."""
    stream.write(render_json(build_export()))


def _children(records, key, parent_column, parent_key="slug"):
    for record in records:
        for child in record[key]:
            yield {parent_column: record[parent_key], **child}


def _sources(document):
    for incident in document["incidents"]:
        for source in incident["sources"]:
            yield {"record_type": "incident", "record": incident["slug"], **source}
    for policy in document["policy_changes"]:
        for source in policy["sources"]:
            yield {"record_type": "policy_change", "record": policy["slug"], **source, "stance": ""}


def _incident_tags(document):
    for incident in document["incidents"]:
        for tag in incident["tags"]:
            yield {"incident": incident["slug"], "facet": tag["facet"], "tag": tag["slug"]}


def _policy_incidents(document):
    for policy in document["policy_changes"]:
        for link in policy["incidents"]:
            yield {"policy_change": policy["slug"], **link}


def _agent_actions(document):
    for incident in document["incidents"]:
        for action in incident["agent_actions"]:
            system = action["ai_system"] or {"name": None, "vendor": None}
            yield {
                "incident": incident["slug"],
                **action,
                "ai_system": system["name"],
                "ai_system_vendor": system["vendor"],
            }


def _policy_controls(document):
    for policy in document["policy_changes"]:
        for control in policy["controls"]:
            yield {"policy_change": policy["slug"], "control": control}


# Each CSV table: its columns, and its rows taken from the JSON document. Lists inside a record
# become their own table, keyed by the record's slug.
CSV_TABLES = {
    "incidents.csv": (
        "number slug title kind status retraction_reason merged_into summary narrative severity "
        "worst_credible_severity perpetrator autonomy access_held broader_permissions "
        "occurred_at occurred_precision detected_at mitigated_at resolved_at disclosed_on "
        "published_at affected_services affected_regions users_affected lives_lost injuries "
        "outage_minutes data_lost estimated_cost_usd blast_radius_notes remediation",
        lambda d: d["incidents"],
    ),
    "organisations.csv": ("name slug website description", lambda d: d["organisations"]),
    "incident_organisations.csv": (
        "incident name role",
        lambda d: _children(d["incidents"], "organisations", "incident"),
    ),
    "incident_ai_systems.csv": (
        "incident name vendor",
        lambda d: _children(d["incidents"], "ai_systems", "incident"),
    ),
    "tags.csv": ("facet slug name description", lambda d: d["tags"]),
    "incident_tags.csv": ("incident facet tag", _incident_tags),
    "timeline.csv": (
        "incident at description",
        lambda d: _children(d["incidents"], "timeline", "incident"),
    ),
    "action_items.csv": (
        "incident title owner due_on status",
        lambda d: _children(d["incidents"], "action_items", "incident"),
    ),
    "sources.csv": ("record_type record url publisher title published_on stance", _sources),
    "provenances.csv": (
        "incident dataset external_id url licence imported_at",
        lambda d: _children(d["incidents"], "provenances", "incident"),
    ),
    "policy_changes.csv": (
        "slug organisation title description kind status announced_on effective_on",
        lambda d: d["policy_changes"],
    ),
    "policy_change_incidents.csv": ("policy_change incident relation", _policy_incidents),
    "controls.csv": ("slug name type description", lambda d: d["controls"]),
    "agent_actions.csv": (
        "incident position at ai_system ai_system_vendor tool command target action_class "
        "reversible approval_gate outcome harmful",
        _agent_actions,
    ),
    "control_assessments.csv": (
        "incident control verdict rationale",
        lambda d: _children(d["incidents"], "control_assessments", "incident"),
    ),
    "policy_change_controls.csv": ("policy_change control", _policy_controls),
}
ADDED_IN_V2_TABLES = {
    "controls.csv",
    "agent_actions.csv",
    "control_assessments.csv",
    "policy_change_controls.csv",
}


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return spreadsheet_safe(value)


def csv_tables(document):
    """{file name: CSV text}; empty values are empty cells, and every file has its header.
    Text that a spreadsheet would run as a formula starts with a `'` (the JSON keeps it as is)."""
    version = document["version"]
    tables = {}
    for name, (columns, rows) in CSV_TABLES.items():
        if version == 1 and name in ADDED_IN_V2_TABLES:
            continue
        columns = columns.split()
        if version == 1 and name == "incidents.csv":
            columns = [c for c in columns if c not in ADDED_IN_V2["incident"]]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows(document):
            writer.writerow([_cell(row[column]) for column in columns])
        tables[name] = out.getvalue()
    return tables


def write_zip(tables, target, version=VERSION):
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(tables.items()):
            info = zipfile.ZipInfo(f"blast-radius-v{version}/{name}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode())


def export_csv(target):
    """Write the CSV tables into a folder, a `.zip` path, or a binary file object (as a zip)."""
    tables = csv_tables(build_export())
    if hasattr(target, "write"):
        write_zip(tables, target)
        return
    target = Path(target)
    if target.suffix == ".zip":
        target.parent.mkdir(parents=True, exist_ok=True)
        write_zip(tables, target)
        return
    target.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (target / name).write_text(text, encoding="utf-8", newline="")


def csv_zip_bytes(document=None):
    document = document or build_export()
    buffer = io.BytesIO()
    write_zip(csv_tables(document), buffer, document["version"])
    return buffer.getvalue()


def published_files():
    """The public downloads, built once per change of the data rather than once per request
    (a full export of thousands of incidents takes seconds): {version: {"json", "csv"}} and
    the counts."""

    def build():
        document = build_export()
        files = {
            "incident_count": len(document["incidents"]),
            "policy_count": len(document["policy_changes"]),
        }
        for version in VERSIONS:
            versioned = as_version(document, version)
            files[version] = {
                "json": render_json(versioned).encode(),
                "csv": csv_zip_bytes(versioned),
            }
        return files

    return cached_for_this_data(f"public-export-v{VERSION}", build)
