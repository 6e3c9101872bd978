"""Importing an agent's trace into an incident's action record, as a new revision.

The trace is read and checked completely before anything is written; the steps then go
through the review flow like any edit (`incident_save`: the optimistic lock, a revision by the
importing person, and for a published incident a change that waits for review). Nothing here
publishes, and the file itself is never stored.
"""

import copy
from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import ngettext

from incidents import revisions
from incidents.agent_actions import Classifier
from incidents.importers.agent_trace import parse_trace
from incidents.models import AgentAction, AISystem, IncidentRevision, Tristate
from incidents.permissions import can_file
from incidents.services import review as review_services


@dataclass
class TraceImport:
    revision: IncidentRevision
    imported: int
    replaced: int
    by_class: dict
    changed: bool

    def __str__(self):
        steps = ngettext("%(n)d step", "%(n)d steps", self.imported) % {"n": self.imported}
        if not self.changed:
            return f"The record already holds these {steps}; no revision was added."
        classes = ", ".join(f"{count} {label.lower()}" for label, count in self.by_class.items())
        kept = ""
        if self.replaced:
            replaced = ngettext("%(n)d earlier step", "%(n)d earlier steps", self.replaced)
            kept = f"; {replaced % {'n': self.replaced}} replaced"
        return f"Imported {steps} ({classes}) as revision {self.revision.number}{kept}."


def agent_trace_import(*, incident, data, by, base_revision_number, append=False, progress=None):
    """Add the tool calls of an OTLP JSON trace (`data`, bytes or text) to the action record.

    Replaces the record's steps, or with `append` adds them after the existing ones.
    Raises TraceError for a bad file, Conflict when someone saved since `base_revision_number`,
    NotAllowed for someone who may not edit postmortems; in each case nothing is written.
    """
    if not can_file(by):
        raise review_services.NotAllowed("Only reporters can import agent traces.")
    steps = parse_trace(data, progress=progress)
    classifier = Classifier.from_database()
    with transaction.atomic():
        snapshot = copy.deepcopy(review_services.working_snapshot(incident))
        kept = snapshot.get("agent_actions", []) if append else []
        replaced = 0 if append else len(snapshot.get("agent_actions", []))
        start = max((int(row["position"]) for row in kept), default=0)
        systems = _ai_systems(incident, {step.agent for step in steps if step.agent})
        rows = [
            {
                "position": start + number,
                "at": step.at,
                "ai_system": systems.get(step.agent.casefold()),
                "tool": step.tool,
                "command": step.command,
                "target": step.target,
                "action_class": classifier.classify(step.tool, step.command),
                "reversible": Tristate.UNKNOWN,
                "approval_gate": (
                    AgentAction.Gate.BLOCKED if step.outcome == "blocked" else AgentAction.Gate.NONE
                ),
                "outcome": step.outcome,
                "harmful": False,
            }
            for number, step in enumerate(steps, start=1)
        ]
        snapshot["agent_actions"] = kept + revisions.child_rows("agent_actions", rows)
        _, revision = review_services.incident_save(
            incident=incident, snapshot=snapshot, by=by, base_revision_number=base_revision_number
        )
        changed = revision.author_id == by.pk and revision.number > (base_revision_number or 0)
        if changed:
            revision.note = f"Imported {len(rows)} steps from an agent trace"
            revision.save(update_fields=["note"])
    by_class = {}
    for row in rows:
        label = AgentAction.ActionClass(row["action_class"]).label
        by_class[label] = by_class.get(label, 0) + 1
    return TraceImport(
        revision=revision,
        imported=len(rows),
        replaced=replaced,
        by_class=by_class,
        changed=changed,
    )


def _ai_systems(incident, names):
    """{casefolded agent name: AI system id}: the incident's own systems first, then any with
    that name; an agent the catalogue does not know yet is added to it."""
    found = {}
    candidates = list(incident.ai_systems.all()) + list(
        AISystem.objects.filter(name__in=names).order_by("pk")
    )
    for system in candidates:
        found.setdefault(system.name.casefold(), system.pk)
    for name in names:
        key = name.casefold()
        if key not in found:
            name = name[:200]
            system = AISystem.objects.filter(slug=slugify(name)[:200]).first()
            found[key] = (system or AISystem.objects.create(name=name)).pk
    return found
