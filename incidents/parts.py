"""The parts of a postmortem beyond its own fields: the rows it holds (organisations with their
roles, timeline, action items, sources, action record, control assessments) and its links to
shared records (tags, AI systems).

Each part is declared once, in `PARTS`. Snapshots (`incidents.revisions`), the filing form's
formsets, the drafts API and the review pages all read it from here, so a new part is one entry.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models

from incidents.models import (
    ActionItem,
    AgentAction,
    AISystem,
    ControlAssessment,
    IncidentOrganisation,
    Source,
    Tag,
    TimelineEvent,
)


@dataclass(frozen=True)
class Part:
    # The snapshot's key, the formset's prefix and the name of the incident's relation.
    key: str
    label: str
    # The rows' model; for links, the model of the records linked to.
    model: type[models.Model]
    # What a snapshot keeps of each row, in the order rows are sorted by.
    fields: tuple[str, ...] = ()
    # Links to shared records, kept as a sorted list of their ids, rather than rows.
    links: bool = False
    # The pieces of one row's line of text, from the row with its ids replaced by names; empty
    # pieces are left out. Links read as the linked record's name.
    describe: Callable[[dict], list] | None = None
    # Rows kept in an order of their own rather than by content.
    order: Callable[[dict], object] | None = None
    # Forms and serializers are named, not imported: they import the snapshot code, which reads
    # this registry, so importing them here would be a cycle. A part with rows names its row
    # form for the filing form, and its formset class when it needs more than the usual one.
    row_form: str = ""
    formset: str = ""
    # Shown above the part's rows in the filing form.
    help: str = ""
    # Where the model allows a row only once (`unique`): the form's message beside the repeat.
    duplicate_row_message: str = ""
    # A part the drafts API exposes: its name there, for rows their serializer, and the answer
    # when a list repeats a row the model allows only once.
    api_name: str = ""
    api_serializer: str = ""
    duplicate_api_message: str = ""

    @property
    def unique(self):
        """The fields no two rows of one incident may share, from the model's constraint."""
        for constraint in self.model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and "incident" in constraint.fields:
                return tuple(name for name in constraint.fields if name != "incident")
        return ()


def _organisation_role(row):
    return [f"{row['organisation']} ({IncidentOrganisation.Role(row['role']).label})"]


def _timeline_event(row):
    return [row["at"], row["description"]]


def _action_item(row):
    return [
        row["title"],
        row["owner"],
        row["assignee"] and f"assigned to {row['assignee']}",
        row["due_on"] and f"due {row['due_on']}",
        row["status"],
    ]


def _source(row):
    return [row["title"] or row["url"], row["url"], row["publisher"], row["stance"]]


def _agent_action(row):
    return [
        f"{row['position']}.",
        row["at"],
        row["ai_system"],
        row["tool"],
        row["command"],
        row["target"] and f"on {row['target']}",
        AgentAction.ActionClass(row["action_class"]).label,
        AgentAction.Gate(row["approval_gate"]).label,
        AgentAction.Outcome(row["outcome"]).label,
        row["harmful"] == "True" and "the harmful step",
    ]


def _control_assessment(row):
    verdict = ControlAssessment.Verdict(row["verdict"]).label
    return [f"{row['control']}: {verdict}", row["rationale"]]


FORMS = "incidents.forms.filing"
DRAFTS = "incidents.api.serializers.drafts"

PARTS = (
    Part(
        key="organisation_roles",
        label="Organisations",
        model=IncidentOrganisation,
        fields=("organisation", "role"),
        describe=_organisation_role,
        row_form=f"{FORMS}.OrganisationRoleForm",
        duplicate_row_message="This organisation already has this role above.",
        api_name="organisations",
        api_serializer=f"{DRAFTS}.DraftOrganisationSerializer",
        duplicate_api_message="An organisation is listed twice.",
    ),
    Part(
        key="timeline_events",
        label="Timeline",
        model=TimelineEvent,
        fields=("at", "description"),
        describe=_timeline_event,
        row_form=f"{FORMS}.TimelineEventForm",
        api_name="timeline",
        api_serializer=f"{DRAFTS}.DraftTimelineEventSerializer",
    ),
    Part(
        key="action_items",
        label="Action items",
        model=ActionItem,
        fields=("title", "owner", "assignee", "due_on", "status"),
        describe=_action_item,
        row_form=f"{FORMS}.ActionItemForm",
        api_name="action_items",
        api_serializer=f"{DRAFTS}.DraftActionItemSerializer",
    ),
    Part(
        key="sources",
        label="Sources",
        model=Source,
        fields=("url", "publisher", "title", "published_on", "stance"),
        describe=_source,
        row_form=f"{FORMS}.SourceForm",
        duplicate_row_message="This source is already listed above.",
        api_name="sources",
        api_serializer=f"{DRAFTS}.DraftSourceSerializer",
        duplicate_api_message="A source URL is listed twice.",
    ),
    Part(
        key="agent_actions",
        label="Action record",
        model=AgentAction,
        fields=(
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
        ),  # fmt: skip
        describe=_agent_action,
        order=lambda row: int(row["position"]),
        row_form=f"{FORMS}.AgentActionForm",
        formset=f"{FORMS}.AgentActionFormSet",
        help="One row per step the AI system took. Leave the action class blank for the "
        "classification rules to choose it, and tick the harmful step. An agent's trace can "
        "also be imported below, once the postmortem is saved.",
    ),
    Part(
        key="control_assessments",
        label="Controls",
        model=ControlAssessment,
        fields=("control", "verdict", "rationale"),
        describe=_control_assessment,
        row_form=f"{FORMS}.ControlAssessmentForm",
        duplicate_row_message="This control is already assessed above.",
    ),
    Part(key="tags", label="Tags", model=Tag, links=True, api_name="tags"),
    Part(key="ai_systems", label="AI systems", model=AISystem, links=True, api_name="ai_systems"),
)

BY_KEY = {part.key: part for part in PARTS}
ROWS = tuple(part for part in PARTS if not part.links)
LINKS = tuple(part for part in PARTS if part.links)
BY_API_NAME = {part.api_name: part for part in PARTS if part.api_name}
