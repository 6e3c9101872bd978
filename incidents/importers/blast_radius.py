"""Another Blast Radius instance's JSON export (docs/export-format.md), restored faithfully.

Unlike the other importers this one matches incidents by slug, not by provenance: the file is
our own format, so its records keep their slugs, their public numbers where free here, and the
provenances they carry, verbatim. Importing an export adds no provenance of its own, so an
export → import → export round trip gives the same bytes.

Versions 1 and 2 are read. The parts version 2 added (kind, worst credible severity, action
records, control assessments, controls adopted by policy changes) are replaced when a record
carries them, and left as they are here when it does not, as in every version 1 file.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import slugify

from incidents import exporters, facet_counts
from incidents.models import (
    ActionItem,
    AgentAction,
    AISystem,
    Control,
    ControlAssessment,
    Dataset,
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
    Tristate,
)
from incidents.redaction import redact_many
from incidents.untrusted import MAX_FIELD_CHARS
from incidents.web_addresses import web_address_problem

from .base import Importer, Record, SourceRef

_MISSING = object()
# Texts of an action record that can hold a secret.
REDACTED_ACTION_TEXTS = ("tool", "command", "target")


@dataclass
class ExportedIncident(Record):
    """A `Record` plus what only our own format carries."""

    number: int = 0
    severity: str = ""
    merged_into: str = ""
    systems: list[tuple[str, str]] = field(default_factory=list)
    timeline: list[tuple] = field(default_factory=list)
    action_items: list[dict] = field(default_factory=list)
    provenances: list[dict] = field(default_factory=list)
    document: dict = field(default_factory=dict)
    # Version 2 parts; None (or _MISSING for the severity) when the record does not carry them.
    kind: str | None = None
    worst_credible_severity: object = _MISSING
    agent_actions: list[dict] | None = None
    control_assessments: list[dict] | None = None


class _Object:
    """One JSON object being validated; every error names its path, e.g. incidents[3].title."""

    def __init__(self, importer, data, where):
        if not isinstance(data, dict):
            importer.fail(None, where, "expected an object")
        self.importer, self.data, self.where = importer, data, where

    def path(self, key):
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key, message):
        self.importer.fail(None, self.path(key), message)

    def get(self, key, kind, *, required=True, default=None):
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.fail(key, "missing required key")
            return default
        if value is None and not required:
            return default
        if not isinstance(value, kind) or isinstance(value, bool):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            self.fail(key, f"expected {names}, got {type(value).__name__}")
        return value

    def text(self, key, *, required=False, max_length=MAX_FIELD_CHARS, choices=None):
        value = self.get(key, str, required=required, default="")
        if len(value) > max_length:
            self.fail(key, f"{len(value):,} characters; at most {max_length:,} fit in this field")
        if choices is not None and value not in choices:
            self.fail(key, f"{value!r} is not one of: {', '.join(choices)}")
        return value

    def boolean(self, key):
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {type(value).__name__}")
        return value

    def has(self, key):
        return key in self.data

    def web_address(self, key, *, required=False, max_length=1000):
        value = self.text(key, required=required, max_length=max_length)
        if problem := web_address_problem(value):
            self.fail(key, problem)
        return value

    def date(self, key):
        value = self.get(key, str, required=False)
        if value is None:
            return None
        parsed = parse_date(value) if len(value) == 10 else None
        if parsed is None:
            self.fail(key, f"not a date (YYYY-MM-DD): {value!r}")
        return parsed

    def datetime(self, key, *, required=False):
        value = self.get(key, str, required=required)
        if value is None:
            return None
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is None or timezone.is_naive(parsed):
            self.fail(key, f"not a date and time with a time zone: {value!r}")
        return parsed

    def items(self, key, *, required=False):
        values = self.get(key, list, required=required, default=[])
        return [
            _Object(self.importer, value, f"{self.path(key)}[{n}]")
            for n, value in enumerate(values)
        ]


def _choices(enum):
    return [value for value, _ in enum.choices]


class BlastRadiusImporter(Importer):
    dataset = Dataset.BLAST_RADIUS
    licence = ""
    description = "a Blast Radius JSON export (docs/export-format.md)"

    def records(self):
        document = self.read_document()
        self.organisations = [
            {
                "name": o.text("name", required=True, max_length=200),
                "slug": o.text("slug", max_length=200),
                "website": o.web_address("website", max_length=200),
                "description": o.text("description"),
            }
            for o in document.items("organisations")
        ]
        self.tags = [
            {
                "facet": t.text("facet", required=True, choices=_choices(Tag.Facet)),
                "slug": t.text("slug", required=True, max_length=100),
                "name": t.text("name", max_length=100),
                "description": t.text("description"),
            }
            for t in document.items("tags")
        ]
        self.controls = [self.control(c) for c in document.items("controls")]
        self.known_controls = {control["slug"] for control in self.controls}
        self.known_controls |= set(Control.objects.values_list("slug", flat=True))
        severities = set(Severity.objects.values_list("name", flat=True))
        perpetrators = set(PerpetratorKind.objects.values_list("slug", flat=True))
        items = document.items("incidents", required=True)
        records = [self.incident(item, severities, perpetrators) for item in items]
        self.check_unique(records, items)
        self.redact_action_records(records)
        self.file_numbers = {record.external_id: record.number for record in records}
        policy_items = document.items("policy_changes", required=True)
        self.policy_changes = [self.policy_change(item) for item in policy_items]
        known = {record.external_id for record in records}
        known |= set(Incident.objects.values_list("slug", flat=True))
        for record, item in zip(records, items, strict=True):
            if record.merged_into and record.merged_into not in known:
                item.fail("merged_into", f"no incident with slug {record.merged_into!r}")
        for policy, item in zip(self.policy_changes, policy_items, strict=True):
            for (slug, _), link in zip(policy["incidents"], item.items("incidents"), strict=True):
                if slug not in known:
                    link.fail("incident", f"no incident with slug {slug!r}")
        yield from records

    def read_document(self):
        document = _Object(self, self.parse_json(self.read_text()), "")
        schemas = {exporters.schema(version): version for version in exporters.VERSIONS}
        schema = document.get("schema", str)
        if schema not in schemas:
            document.fail("schema", f"expected {exporters.SCHEMA!r}: not a Blast Radius export")
        version = document.get("version", int)
        readable = " and ".join(str(version) for version in exporters.VERSIONS)
        if version not in exporters.VERSIONS:
            document.fail(
                "version", f"version {version} is not supported; this reads versions {readable}"
            )
        if version != schemas[schema]:
            document.fail("version", f"version {version} does not match the schema {schema!r}")
        self.version = version
        return document

    def control(self, item):
        return {
            "slug": item.text("slug", required=True, max_length=120),
            "name": item.text("name", required=True, max_length=200),
            "type": item.text("type", required=True, choices=_choices(Control.Type)),
            "description": item.text("description"),
        }

    def incident(self, item, severities, perpetrators):
        severity = item.text("severity")
        if severity and severity not in severities:
            item.fail(
                "severity", f"unknown severity {severity!r}; known: {', '.join(sorted(severities))}"
            )
        perpetrator = item.text("perpetrator")
        if perpetrator and perpetrator not in perpetrators:
            item.fail("perpetrator", f"unknown perpetrator kind {perpetrator!r}")
        status = item.text(
            "status", required=True, choices=[Incident.Status.PUBLISHED, Incident.Status.RETRACTED]
        )
        reason = item.text("retraction_reason")
        if status == Incident.Status.RETRACTED and not reason.strip():
            item.fail("retraction_reason", "a retracted incident needs a reason")
        minutes = item.get("outage_minutes", (int, float), required=False)
        cost = item.get("estimated_cost_usd", str, required=False)
        if cost is not None:
            try:
                cost = Decimal(cost)
            except InvalidOperation:
                item.fail("estimated_cost_usd", f"not a decimal number: {cost!r}")
        users = item.get("users_affected", int, required=False)
        if users is not None and users < 0:
            item.fail("users_affected", "cannot be negative")
        counts = {}
        for name in ("lives_lost", "injuries"):  # absent before these fields existed
            counts[name] = item.get(name, int, required=False)
            if counts[name] is not None and counts[name] < 0:
                item.fail(name, "cannot be negative")
        tristate = _choices(Tristate)
        number = item.get("number", int)
        if number < 1:
            item.fail("number", "must be a positive integer")
        return ExportedIncident(
            external_id=item.text("slug", required=True, max_length=120),
            line=None,
            title=item.text("title", required=True, max_length=200),
            summary=item.text("summary"),
            narrative=item.text("narrative"),
            occurred_at=item.datetime("occurred_at"),
            occurred_precision=item.text(
                "occurred_precision", required=True, choices=_choices(Incident.Precision)
            ),
            perpetrator=perpetrator,
            organisations=[
                (
                    o.text("name", required=True, max_length=200),
                    o.text("role", required=True, choices=_choices(IncidentOrganisation.Role)),
                )
                for o in item.items("organisations")
            ],
            tags=[
                (
                    t.text("facet", required=True, choices=_choices(Tag.Facet)),
                    t.text("slug", required=True, max_length=100),
                    t.text("name", max_length=100),
                )
                for t in item.items("tags")
            ],
            sources=[
                SourceRef(
                    url=s.web_address("url", required=True),
                    publisher=s.text("publisher", max_length=200),
                    title=s.text("title", max_length=400),
                    published_on=s.date("published_on"),
                    stance=s.text("stance", choices=_choices(Source.Stance))
                    or Source.Stance.REPORTS,
                )
                for s in item.items("sources")
            ],
            fields={
                "status": status,
                "retraction_reason": reason,
                "autonomy": item.text("autonomy", choices=_choices(Incident.Autonomy))
                or Incident.Autonomy.UNKNOWN,
                "access_held": item.text("access_held"),
                "broader_permissions": item.text("broader_permissions", choices=tristate)
                or Tristate.UNKNOWN,
                "detected_at": item.datetime("detected_at"),
                "mitigated_at": item.datetime("mitigated_at"),
                "resolved_at": item.datetime("resolved_at"),
                "disclosed_on": item.date("disclosed_on"),
                "published_at": item.datetime("published_at"),
                "affected_services": item.text("affected_services"),
                "affected_regions": item.text("affected_regions"),
                "users_affected": users,
                **counts,
                "outage_duration": timedelta(minutes=minutes) if minutes is not None else None,
                "data_lost": item.text("data_lost", choices=tristate) or Tristate.UNKNOWN,
                "estimated_cost_usd": cost,
                "blast_radius_notes": item.text("blast_radius_notes"),
                "remediation": item.text("remediation"),
            },
            number=number,
            severity=severity,
            merged_into=item.text("merged_into"),
            systems=[
                (s.text("name", required=True, max_length=200), s.text("vendor", max_length=200))
                for s in item.items("ai_systems")
            ],
            timeline=[
                (e.datetime("at", required=True), e.text("description", required=True))
                for e in item.items("timeline")
            ],
            action_items=[
                {
                    "title": a.text("title", required=True, max_length=300),
                    "owner": a.text("owner", max_length=200),
                    "due_on": a.date("due_on"),
                    "status": a.text("status", choices=_choices(ActionItem.Status))
                    or ActionItem.Status.OPEN,
                }
                for a in item.items("action_items")
            ],
            provenances=[
                {
                    "dataset": p.text("dataset", required=True, choices=_choices(Dataset)),
                    "external_id": p.text("external_id", required=True, max_length=100),
                    "url": p.web_address("url"),
                    "licence": p.text("licence", max_length=100),
                    "imported_at": p.datetime("imported_at", required=True),
                }
                for p in item.items("provenances")
            ],
            document=item.data,
            **(self.version_2_parts(item, severities) if self.version >= 2 else {}),
        )

    def version_2_parts(self, item, severities):
        """The parts version 2 added, each only where the record carries it."""
        parts = {}
        if item.has("kind"):
            parts["kind"] = item.text("kind", required=True, choices=_choices(Incident.Kind))
        if item.has("worst_credible_severity"):
            worst = item.text("worst_credible_severity")
            if worst and worst not in severities:
                item.fail("worst_credible_severity", f"unknown severity {worst!r}")
            parts["worst_credible_severity"] = worst
        if item.has("agent_actions"):
            parts["agent_actions"] = [self.agent_action(a) for a in item.items("agent_actions")]
        if item.has("control_assessments"):
            assessed = set()
            parts["control_assessments"] = []
            for assessment in item.items("control_assessments"):
                control = self.known_control(assessment, "control")
                if control in assessed:
                    assessment.fail("control", f"{control!r} is assessed twice")
                assessed.add(control)
                parts["control_assessments"].append(
                    {
                        "control": control,
                        "verdict": assessment.text(
                            "verdict", required=True, choices=_choices(ControlAssessment.Verdict)
                        ),
                        "rationale": assessment.text("rationale", max_length=300),
                    }
                )
        return parts

    def known_control(self, item, key):
        slug = item.text(key, required=True, max_length=120)
        if slug not in self.known_controls:
            item.fail(key, f"unknown control {slug!r}: not in the file's controls nor here")
        return slug

    def agent_action(self, action):
        system = None
        if action.data.get("ai_system") is not None:
            named = _Object(self, action.data["ai_system"], action.path("ai_system"))
            system = (
                named.text("name", required=True, max_length=200),
                named.text("vendor", max_length=200),
            )
        position = action.get("position", int)
        if position < 0:
            action.fail("position", "cannot be negative")
        tristate = _choices(Tristate)
        return {
            "position": position,
            "at": action.datetime("at"),
            "ai_system": system,
            "tool": action.text("tool", max_length=200),
            "command": action.text("command"),
            "target": action.text("target", max_length=500),
            "action_class": action.text(
                "action_class", required=True, choices=_choices(AgentAction.ActionClass)
            ),
            "reversible": action.text("reversible", choices=tristate) or Tristate.UNKNOWN,
            "approval_gate": action.text(
                "approval_gate", required=True, choices=_choices(AgentAction.Gate)
            ),
            "outcome": action.text("outcome", choices=_choices(AgentAction.Outcome))
            or AgentAction.Outcome.SUCCEEDED,
            "harmful": action.boolean("harmful"),
        }

    def redact_action_records(self, records):
        """Secrets never reach storage, whatever the other instance let through."""
        actions = [action for record in records for action in record.agent_actions or []]
        texts = iter(redact_many([a[key] for a in actions for key in REDACTED_ACTION_TEXTS]))
        for action in actions:
            for key in REDACTED_ACTION_TEXTS:
                action[key] = next(texts)

    def check_unique(self, records, items):
        slugs, numbers, provenances = {}, {}, {}
        for position, (record, item) in enumerate(zip(records, items, strict=True)):
            slug, number = record.external_id, record.number
            if slug in slugs:
                item.fail("slug", f"{slug!r} is also the slug of incidents[{slugs[slug]}]")
            if number in numbers:
                item.fail("number", f"{number} is also the number of incidents[{numbers[number]}]")
            slugs[slug] = numbers[number] = position
            for provenance in record.provenances:
                key = provenance["dataset"], provenance["external_id"]
                if key in provenances:
                    item.fail(
                        "provenances",
                        f"{key[0]} {key[1]} already belongs to incidents[{provenances[key]}]",
                    )
                provenances[key] = position

    def policy_change(self, item):
        announced, effective = item.date("announced_on"), item.date("effective_on")
        if announced and effective and effective < announced:
            item.fail("effective_on", "a policy cannot take effect before it is announced")
        return {
            "slug": item.text("slug", required=True, max_length=120),
            "organisation": item.text("organisation", required=True, max_length=200),
            "title": item.text("title", required=True, max_length=200),
            "description": item.text("description"),
            "kind": item.text("kind", required=True, choices=_choices(PolicyChange.Kind)),
            "status": item.text("status", required=True, choices=_choices(PolicyChange.Status)),
            "announced_on": announced,
            "effective_on": effective,
            "sources": [
                {
                    "url": s.web_address("url", required=True),
                    "publisher": s.text("publisher", max_length=200),
                    "title": s.text("title", max_length=400),
                    "published_on": s.date("published_on"),
                }
                for s in item.items("sources")
            ],
            "incidents": [
                (
                    link.text("incident", required=True),
                    link.text(
                        "relation", required=True, choices=_choices(PolicyChangeIncident.Relation)
                    ),
                )
                for link in item.items("incidents")
            ],
            "controls": self.adopted_controls(item) if self.version >= 2 else None,
        }

    def adopted_controls(self, item):
        if not item.has("controls"):
            return None
        slugs = item.get("controls", list)
        for n, slug in enumerate(slugs):
            where = f"{item.path('controls')}[{n}]"
            if not isinstance(slug, str):
                self.fail(None, where, f"expected str, got {type(slug).__name__}")
            if slug not in self.known_controls:
                self.fail(None, where, f"unknown control {slug!r}: not in the file's controls")
        return list(dict.fromkeys(slugs))

    def writer(self, now):
        return _BlastRadiusWriter(self)


class _BlastRadiusWriter:
    """Writes incidents keyed by slug, then (in `finish`) merges and policy changes."""

    def __init__(self, importer):
        self.importer = importer
        self.records = {}
        self.incidents = {incident.slug: incident for incident in Incident.objects.all()}
        current = exporters.exported_incidents()
        public_ids = set(current.values_list("pk", flat=True))
        self.current = {
            incident.slug: exporters.incident_document(incident, public_ids) for incident in current
        }
        self.numbers = set(Incident.objects.values_list("number", flat=True))
        # File numbers free here are kept for their own records, whatever order they come in.
        self.reserved = {
            number
            for slug, number in importer.file_numbers.items()
            if slug not in self.incidents and number not in self.numbers
        }
        self.provenances = {(p.dataset, p.external_id): p for p in Provenance.objects.all()}
        self.severities = {s.name: s for s in Severity.objects.all()}
        self.perpetrators = {p.slug: p for p in PerpetratorKind.objects.all()}
        self.systems = {(s.name, s.vendor_id): s for s in AISystem.objects.all()}
        self.organisations = {o.name: o for o in Organisation.objects.all()}
        self.tags = {(t.facet, t.slug): t for t in Tag.objects.all()}
        self.organisation_slugs = {o.slug for o in self.organisations.values()}
        for data in importer.organisations:
            self.organisation(data["name"], data)
        for data in importer.tags:
            self.tag(data["facet"], data["slug"], data)
        self.controls = {c.slug: c for c in Control.objects.all()}
        for data in importer.controls:
            self.control(data)

    def organisation(self, name, data=None):
        data = data or {}
        organisation = self.organisations.get(name)
        if organisation is None:
            slug = base = data.get("slug") or slugify(name)[:200] or "organisation"
            n = 1
            while slug in self.organisation_slugs:
                n += 1
                slug = f"{base[:190]}-{n}"
            organisation = Organisation.objects.create(
                name=name,
                slug=slug,
                website=data.get("website", ""),
                description=data.get("description", ""),
            )
            self.organisations[name] = organisation
            self.organisation_slugs.add(slug)
        elif (data.get("website") and not organisation.website) or (
            data.get("description") and not organisation.description
        ):
            # What this instance already says about an organisation wins; gaps are filled.
            organisation.website = organisation.website or data["website"]
            organisation.description = organisation.description or data["description"]
            organisation.save()
        return organisation

    def tag(self, facet, slug, data):
        tag = self.tags.get((facet, slug))
        if tag is None:
            tag = Tag.objects.create(
                facet=facet,
                slug=slug,
                name=data.get("name") or slug,
                description=data.get("description", ""),
            )
            self.tags[facet, slug] = tag
        elif data.get("description") and not tag.description:
            tag.description = data["description"]
            tag.save()
        return tag

    def control(self, data):
        """Controls are matched by slug, then by name; one already here keeps its wording."""
        control = self.controls.get(data["slug"])
        if control is None:
            control = Control.objects.filter(name=data["name"]).first() or Control.objects.create(
                **data
            )
            self.controls[data["slug"]] = control
        elif data["description"] and not control.description:
            control.description = data["description"]
            control.save()
        return control

    def system(self, name, vendor_name):
        vendor = self.organisation(vendor_name) if vendor_name else None
        key = name, vendor.pk if vendor else None
        if key not in self.systems:
            self.systems[key] = AISystem.objects.create(name=name, vendor=vendor)
        return self.systems[key]

    def incident_id(self, record):
        return self.incidents[record.external_id].pk

    def incident_to_update(self, record):
        incident = self.incidents.get(record.external_id)
        if incident and not _same(self.current.get(record.external_id), record.document):
            return incident.pk
        return None

    def write(self, record) -> str:
        self.records[record.external_id] = record
        incident = self.incidents.get(record.external_id)
        if incident and _same(self.current.get(record.external_id), record.document):
            return "unchanged"
        created = incident is None
        if created:
            incident = Incident(slug=record.external_id, visibility=Incident.Visibility.PUBLIC)
        incident.title = record.title
        incident.summary = record.summary
        incident.narrative = record.narrative
        incident.occurred_at = record.occurred_at
        incident.occurred_precision = record.occurred_precision
        incident.severity = self.severities.get(record.severity)
        incident.perpetrator = self.perpetrators.get(record.perpetrator)
        for name, value in record.fields.items():
            setattr(incident, name, value)
        if record.kind is not None:
            incident.kind = record.kind
        if record.worst_credible_severity is not _MISSING:
            incident.worst_credible_severity = self.severities.get(record.worst_credible_severity)
        incident.save()
        if created:
            self.incidents[incident.slug] = incident
            self.give_number(incident, record.number)
        self.write_relations(incident, record)
        return "created" if created else "updated"

    def give_number(self, incident, wanted):
        """Public numbers are cited from outside: keep the file's number when it is free here."""
        if wanted in self.numbers:
            wanted = max(self.numbers | self.reserved, default=0) + 1
        self.numbers.add(wanted)
        if wanted != incident.number:
            Incident.objects.filter(pk=incident.pk).update(number=wanted)
            incident.number = wanted

    def write_relations(self, incident, record):
        incident.organisation_roles.all().delete()
        IncidentOrganisation.objects.bulk_create(
            IncidentOrganisation(incident=incident, organisation=self.organisation(name), role=role)
            for name, role in dict.fromkeys(record.organisations)
        )
        incident.ai_systems.set([self.system(name, vendor) for name, vendor in record.systems])
        incident.tags.set(
            [self.tag(facet, slug, {"name": name}) for facet, slug, name in record.tags]
        )
        incident.timeline_events.all().delete()
        TimelineEvent.objects.bulk_create(
            TimelineEvent(incident=incident, at=at, description=text)
            for at, text in record.timeline
        )
        incident.action_items.all().delete()
        ActionItem.objects.bulk_create(
            ActionItem(incident=incident, **item) for item in record.action_items
        )
        incident.sources.all().delete()
        Source.objects.bulk_create(
            Source(
                incident=incident,
                url=ref.url,
                publisher=ref.publisher,
                title=ref.title,
                published_on=ref.published_on,
                stance=ref.stance,
            )
            for ref in {ref.url: ref for ref in record.sources}.values()
        )
        if record.agent_actions is not None:
            incident.agent_actions.all().delete()
            AgentAction.objects.bulk_create(
                AgentAction(
                    incident=incident,
                    **{**action, "ai_system": system and self.system(*system)},
                )
                for action in record.agent_actions
                for system in [action["ai_system"]]
            )
        if record.control_assessments is not None:
            incident.control_assessments.all().delete()
            ControlAssessment.objects.bulk_create(
                ControlAssessment(
                    incident=incident,
                    control=self.controls[row["control"]],
                    verdict=row["verdict"],
                    rationale=row["rationale"],
                )
                for row in record.control_assessments
            )
        for data in record.provenances:
            key = data["dataset"], data["external_id"]
            provenance = self.provenances.get(key)
            if provenance and provenance.incident_id != incident.pk:
                self.importer.notes.append(
                    f"{incident.slug}: kept {key[0]} {key[1]} on incident "
                    f"#{provenance.incident.number}, which already holds it here"
                )
                continue
            if provenance is None:
                provenance = Provenance(incident=incident, dataset=key[0], external_id=key[1])
                self.provenances[key] = provenance
            provenance.url, provenance.licence = data["url"], data["licence"]
            provenance.imported_at = data["imported_at"]
            provenance.save()

    def finish(self):
        for slug, record in self.records.items():
            target = self.incidents[record.merged_into].pk if record.merged_into else None
            incident = self.incidents[slug]
            if incident.merged_into_id != target:
                Incident.objects.filter(pk=incident.pk).update(merged_into=target)
        created = updated = 0
        for data in self.importer.policy_changes:
            policy = PolicyChange.objects.filter(slug=data["slug"]).first()
            if policy is None:
                policy, created = PolicyChange(slug=data["slug"]), created + 1
            else:
                updated += 1
            policy.organisation = self.organisation(data["organisation"])
            for name in ["title", "description", "kind", "status", "announced_on", "effective_on"]:
                setattr(policy, name, data[name])
            policy.save()
            policy.sources.all().delete()
            PolicySource.objects.bulk_create(
                PolicySource(policy_change=policy, **source)
                for source in {source["url"]: source for source in data["sources"]}.values()
            )
            policy.incident_links.all().delete()
            PolicyChangeIncident.objects.bulk_create(
                PolicyChangeIncident(
                    policy_change=policy, incident=self.incidents[slug], relation=relation
                )
                for slug, relation in dict.fromkeys(data["incidents"])
            )
            facet_counts.changed(self.incidents[slug].pk for slug, _ in data["incidents"])
            if data["controls"] is not None:
                policy.controls.set([self.controls[slug] for slug in data["controls"]])
        if self.importer.policy_changes:
            self.importer.notes.append(
                f"Policy changes: {created} created, {updated} already here and rewritten "
                "from the file."
            )


def _same(current, document):
    """Whether the file says of an incident what this instance would export, in what the file
    carries (a version 1 file carries less), apart from its number, which is this instance's own
    business."""
    return current is not None and all(
        current.get(key, _MISSING) == value for key, value in document.items() if key != "number"
    )
