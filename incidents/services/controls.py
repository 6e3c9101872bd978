"""The control catalogue's questions: which controls an action record calls for, which would
have stopped the most harm, which failed, and what an organisation adopted against what its
incidents called for.

Suggestions are only offered: nothing here writes an assessment.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, Sum, Value
from django.db.models.functions import Coalesce, Least

from incidents.caching import cached_for_this_data
from incidents.models import (
    AgentAction,
    Control,
    ControlAssessment,
    IncidentOrganisation,
    Organisation,
    PolicyChange,
    PolicyControl,
    Severity,
)

Action = AgentAction.ActionClass
Gate = AgentAction.Gate
Verdict = ControlAssessment.Verdict
UNGATED = {Gate.NONE, Gate.BYPASSED}
# What an organisation's incidents "call for": the controls that were missing.
CALLED_FOR = [Verdict.WOULD_HAVE_STOPPED, Verdict.WOULD_HAVE_REDUCED]
# The organisations answerable for an incident's controls, as opposed to those harmed by it.
RESPONSIBLE_ROLES = [IncidentOrganisation.Role.DEVELOPER, IncidentOrganisation.Role.DEPLOYER]


@dataclass(frozen=True)
class Rule:
    """When an action matches, the control it calls for and the likely verdict."""

    control: str  # slug in the catalogue
    verdict: str
    why: str
    classes: frozenset = frozenset()  # empty: any class
    gates: frozenset = frozenset()  # empty: any gate
    irreversible_only: bool = False


RULES = [
    Rule(
        "deletion-protection",
        Verdict.WOULD_HAVE_STOPPED,
        "A destructive step ran with no gate.",
        frozenset({Action.DESTROY}),
        frozenset(UNGATED),
    ),
    Rule(
        "confirmation-before-destructive-actions",
        Verdict.WOULD_HAVE_STOPPED,
        "A destructive step ran without anyone confirming it.",
        frozenset({Action.DESTROY}),
        frozenset(UNGATED),
    ),
    Rule(
        "point-in-time-backups",
        Verdict.WOULD_HAVE_REDUCED,
        "Something was destroyed; a restore would have limited the loss.",
        frozenset({Action.DESTROY}),
    ),
    Rule(
        "human-approval-irreversible-actions",
        Verdict.WOULD_HAVE_STOPPED,
        "An irreversible step ran with no person approving it.",
        gates=frozenset(UNGATED),
        irreversible_only=True,
    ),
    Rule(
        "least-privilege-agent-credentials",
        Verdict.WOULD_HAVE_STOPPED,
        "The agent changed permissions.",
        frozenset({Action.PERMISSION_CHANGE}),
    ),
    Rule(
        "spend-limits",
        Verdict.WOULD_HAVE_REDUCED,
        "The agent spent money.",
        frozenset({Action.SPEND}),
    ),
    Rule(
        "peer-review-ai-production-changes",
        Verdict.WOULD_HAVE_STOPPED,
        "A deployment ran with no review.",
        frozenset({Action.DEPLOY}),
        frozenset(UNGATED),
    ),
    Rule(
        "sandboxed-execution-egress-allowlist",
        Verdict.WOULD_HAVE_STOPPED,
        "Data was sent out of the organisation.",
        frozenset({Action.EXFILTRATE}),
    ),
    Rule(
        "monitoring-anomaly-alerts",
        Verdict.WOULD_HAVE_REDUCED,
        "A gate was bypassed or ignored without anyone being alerted.",
        gates=frozenset({Gate.BYPASSED}),
    ),
]
BROADER_PERMISSIONS_RULE = Rule(
    "least-privilege-agent-credentials",
    Verdict.WOULD_HAVE_STOPPED,
    "The AI system held broader permissions than it needed.",
)


@dataclass
class Suggestion:
    control: Control
    verdict: str
    rationale: str

    @property
    def verdict_label(self):
        return Verdict(self.verdict).label


def _value(action, name):
    value = action.get(name) if isinstance(action, dict) else getattr(action, name, None)
    return str(value or "")


def _matches(rule, action):
    if rule.classes and _value(action, "action_class") not in rule.classes:
        return False
    if rule.gates and _value(action, "approval_gate") not in rule.gates:
        return False
    if _value(action, "outcome") == AgentAction.Outcome.BLOCKED:
        return False
    return not (rule.irreversible_only and _value(action, "reversible") != "no")


def suggest_assessments(*, actions, broader_permissions=None, assessed=()):
    """The assessments an action record suggests, one per control, in catalogue order.

    `actions` are AgentAction rows or dicts of their fields (action_class, approval_gate,
    reversible, outcome); controls in `assessed` (ids) are left out, being already judged."""
    reasons = {}
    for action in actions:
        for rule in RULES:
            if _matches(rule, action):
                reasons.setdefault(rule.control, rule)
    if broader_permissions == "yes":
        reasons.setdefault(BROADER_PERMISSIONS_RULE.control, BROADER_PERMISSIONS_RULE)
    if not reasons:
        return []
    assessed = {int(pk) for pk in assessed if str(pk).isdigit()}
    controls = Control.objects.filter(slug__in=reasons).exclude(pk__in=assessed)
    return [
        Suggestion(control, reasons[control.slug].verdict, reasons[control.slug].why)
        for control in controls
    ]


def actions_from_form_data(data, prefix="agent_actions"):
    """The action rows typed into the filing form, read from its raw POST data, so they can be
    judged before (or without) being valid. Rows marked for deletion are left out."""
    try:
        total = min(int(data.get(f"{prefix}-TOTAL_FORMS", 0)), 1000)
    except (TypeError, ValueError):
        return []
    rows = []
    for number in range(total):
        key = f"{prefix}-{number}-"
        if data.get(key + "DELETE"):
            continue
        row = {
            name: data.get(key + name, "")
            for name in ("action_class", "approval_gate", "reversible", "outcome")
        }
        if row["action_class"]:
            rows.append(row)
    return rows


def assessed_control_ids(data, prefix="control_assessments"):
    try:
        total = min(int(data.get(f"{prefix}-TOTAL_FORMS", 0)), 1000)
    except (TypeError, ValueError):
        return []
    return [
        data.get(f"{prefix}-{n}-control")
        for n in range(total)
        if not data.get(f"{prefix}-{n}-DELETE")
    ]


# Ranking the catalogue


def _severity_weight(prefix=""):
    """The worse of actual and worst credible severity as a weight: with five ranks, SEV1
    weighs 5 and SEV5 (or unassessed) weighs 1."""
    lowest = Severity.objects.aggregate(n=Max("rank"))["n"] or 1
    actual = F(f"{prefix}incident__severity__rank")
    worst = F(f"{prefix}incident__worst_credible_severity__rank")
    rank = Least(Coalesce(actual, worst, Value(lowest)), Coalesce(worst, actual, Value(lowest)))
    return Value(lowest + 1) - rank


def control_ranking(incidents):
    """Every control with, over the given incidents: how many it would have stopped and their
    weight by severity, how many it would have reduced, how often it was in place and worked,
    and in place and failed. Ranked by severity-weighted incidents stopped. Counted in one
    pass over the assessments of those incidents, then set on the catalogue's controls."""

    def verdict(value):
        return Q(verdict=value)

    rows = (
        ControlAssessment.objects.filter(incident__in=incidents.order_by().values("pk"))
        .order_by()
        .values("control_id")
        .annotate(
            stopped=Count("pk", filter=verdict(Verdict.WOULD_HAVE_STOPPED)),
            stopped_weight=Coalesce(
                Sum(_severity_weight(), filter=verdict(Verdict.WOULD_HAVE_STOPPED)), Value(0)
            ),
            reduced=Count("pk", filter=verdict(Verdict.WOULD_HAVE_REDUCED)),
            worked=Count("pk", filter=verdict(Verdict.WORKED)),
            failed=Count("pk", filter=verdict(Verdict.FAILED)),
        )
    )
    counts = {row.pop("control_id"): row for row in rows}
    controls = list(Control.objects.all())
    for control in controls:
        for name in RANKING_FIELDS:
            setattr(control, name, counts.get(control.pk, {}).get(name, 0))
    return sorted(controls, key=lambda c: (-c.stopped_weight, -c.stopped, -c.reduced, c.name))


RANKING_FIELDS = ["stopped", "stopped_weight", "reduced", "worked", "failed"]
FAILED_SHOWN = 25


@dataclass
class Overview:
    ranked: list  # controls with their RANKING_FIELDS set, best first
    failed: list  # the latest assessments of controls in place that failed
    kinds: dict  # Incident.objects.kind_counts()
    organisations: list  # [(slug, name)] of organisations with incidents or policies


def overview(incidents, scope):
    """What the controls page shows over the given incidents. The aggregates read every
    assessment, so they are remembered until the data changes (`scope` names the set of
    incidents); the catalogue's names and the failed assessments are read fresh by id."""

    def compute():
        responsible = IncidentOrganisation.objects.filter(
            organisation=OuterRef("pk"), role__in=RESPONSIBLE_ROLES, incident__in=incidents
        )
        adopting = PolicyChange.objects.filter(organisation=OuterRef("pk"))
        return {
            "ranking": [
                (control.pk, *(getattr(control, name) for name in RANKING_FIELDS))
                for control in control_ranking(incidents)
            ],
            "failed": list(failed_controls(incidents).values_list("pk", flat=True)[:FAILED_SHOWN]),
            "kinds": incidents.kind_counts(),
            "organisations": list(
                Organisation.objects.ranked()
                .filter(Exists(responsible) | Exists(adopting))
                .order_by("name")
                .values_list("slug", "name")
            ),
        }

    cached = cached_for_this_data(f"controls-overview:{scope}", compute)
    controls = Control.objects.in_bulk()
    ranked = []
    for pk, *values in cached["ranking"]:
        if (control := controls.pop(pk, None)) is not None:
            for name, value in zip(RANKING_FIELDS, values, strict=True):
                setattr(control, name, value)
            ranked.append(control)
    for control in sorted(controls.values(), key=lambda c: c.name):  # added since
        for name in RANKING_FIELDS:
            setattr(control, name, 0)
        ranked.append(control)
    failed = ControlAssessment.objects.select_related("control", "incident__severity").in_bulk(
        cached["failed"]
    )
    return Overview(
        ranked=ranked,
        failed=[failed[pk] for pk in cached["failed"] if pk in failed],
        kinds=cached["kinds"],
        organisations=cached["organisations"],
    )


def failed_controls(incidents):
    """Assessments of controls that were in place and failed, most severe incidents first."""
    return (
        ControlAssessment.objects.filter(verdict=Verdict.FAILED, incident__in=incidents)
        .select_related("control", "incident__severity")
        .order_by(F("incident__severity__rank").asc(nulls_last=True), "-incident__number")
    )


# An organisation's row lists this many of its incidents, then says how many more.
INCIDENTS_PER_ROW = 10


@dataclass
class OrganisationControl:
    control: Control
    incidents: list
    policies: list
    incident_count: int = 0

    @property
    def more_incidents(self):
        return self.incident_count - len(self.incidents)

    @property
    def gap(self):
        return bool(self.incidents) and not self.policies


def organisation_controls(organisation, incidents):
    """For one organisation: each control its incidents (as developer or deployer) called for
    or its policy changes adopted, with those incidents and policies; gaps first. Two queries."""
    responsible = IncidentOrganisation.objects.filter(
        organisation=organisation, role__in=RESPONSIBLE_ROLES
    ).values("incident_id")
    called = (
        ControlAssessment.objects.filter(
            verdict__in=CALLED_FOR, incident__in=incidents, incident_id__in=responsible
        )
        .select_related("control", "incident__severity")
        .order_by("control__name", "-incident__number")
    )
    adopted = (
        PolicyControl.objects.filter(policy_change__organisation=organisation)
        .select_related("control", "policy_change")
        .order_by("control__name", "policy_change__title")
    )
    rows = {}
    for assessment in called:
        empty = OrganisationControl(assessment.control, [], [])
        row = rows.setdefault(assessment.control_id, empty)
        row.incident_count += 1
        if len(row.incidents) < INCIDENTS_PER_ROW:
            row.incidents.append(assessment)
    for adoption in adopted:
        row = rows.setdefault(adoption.control_id, OrganisationControl(adoption.control, [], []))
        row.policies.append(adoption.policy_change)
    return sorted(
        rows.values(), key=lambda row: (not row.gap, -row.incident_count, row.control.name)
    )


def policy_control_incidents(policy, incidents):
    """{control: [incident, ...]} for each control a policy adopts: the incidents, among those
    given, where that control was absent and would have stopped it. One query each way."""
    controls = list(policy.controls.order_by("name"))
    stopped = defaultdict(list)
    assessments = (
        ControlAssessment.objects.filter(
            control__in=controls, verdict=Verdict.WOULD_HAVE_STOPPED, incident__in=incidents
        )
        .select_related("incident__severity")
        .order_by("-incident__number")
    )
    for assessment in assessments:
        stopped[assessment.control_id].append(assessment.incident)
    return [(control, stopped[control.pk]) for control in controls]


def verdict_counts(control, incidents):
    """[(verdict, label, count)] of a control's assessments over the given incidents, in the
    catalogue's order of verdicts, leaving out verdicts never given; one query."""
    counts = dict(
        control.assessments.filter(incident__in=incidents)
        .order_by()
        .values_list("verdict")
        .annotate(n=Count("pk"))
    )
    return [(value, label, counts[value]) for value, label in Verdict.choices if counts.get(value)]


def control_assessments_with(control, incidents, verdict):
    """A control's assessments with one verdict, most severe incidents first."""
    return (
        control.assessments.filter(incident__in=incidents, verdict=verdict)
        .select_related("incident__severity")
        .order_by(F("incident__severity__rank").asc(nulls_last=True), "-incident__number")
    )


def incident_assessments():
    """The prefetch for showing an incident's assessments without a query per row."""
    return Prefetch(
        "control_assessments",
        queryset=ControlAssessment.objects.select_related("control").order_by("control__name"),
    )
