from .classification import ActionClassRule
from .controls import AgentAction, Control, ControlAssessment, PolicyControl
from .crosswalk import CrosswalkEntry, Derivation, SourceTerm
from .embedding import IncidentEmbedding
from .facets import FacetCount, FacetCountPending, IncidentFacetKeys
from .imports import ImportJob
from .incident import (
    ActionItem,
    Incident,
    IncidentOrganisation,
    RelatedIncident,
    Source,
    TimelineEvent,
    Tristate,
)
from .legal import (
    CaseDocument,
    CaseSecondarySource,
    Docket,
    LegalCase,
    LegalCaseIncident,
)
from .patterns import (
    DigestSubscription,
    PatternCluster,
    PatternClusterMember,
    SummaryContribution,
    SummaryCount,
)
from .pending import PendingWork
from .policy import PolicyChange, PolicyChangeIncident, PolicySource
from .provenance import CrossReference, Dataset, DuplicateFlag, Provenance
from .review import AuditEvent, IncidentRevision, Notification, Review
from .taxonomy import AISystem, Organisation, OrganisationAlias, PerpetratorKind, Severity, Tag

__all__ = [
    "ActionClassRule",
    "AgentAction",
    "Control",
    "ControlAssessment",
    "CrosswalkEntry",
    "Derivation",
    "SourceTerm",
    "PolicyControl",
    "AISystem",
    "Dataset",
    "FacetCount",
    "FacetCountPending",
    "IncidentFacetKeys",
    "CaseDocument",
    "CaseSecondarySource",
    "Docket",
    "LegalCase",
    "LegalCaseIncident",
    "DuplicateFlag",
    "Provenance",
    "CrossReference",
    "ActionItem",
    "AuditEvent",
    "IncidentRevision",
    "Notification",
    "Review",
    "Incident",
    "IncidentEmbedding",
    "ImportJob",
    "IncidentOrganisation",
    "Organisation",
    "OrganisationAlias",
    "PerpetratorKind",
    "PolicyChange",
    "PolicyChangeIncident",
    "PolicySource",
    "RelatedIncident",
    "Severity",
    "Source",
    "Tag",
    "TimelineEvent",
    "Tristate",
    "DigestSubscription",
    "PatternCluster",
    "PatternClusterMember",
    "PendingWork",
    "SummaryContribution",
    "SummaryCount",
]

from .reporting import (  # noqa: E402
    ReportingClock,
    ReportingDeadline,
    ReportingRegime,
    ReportingStage,
    ReportingTrigger,
)

__all__ += [
    "ReportingClock",
    "ReportingDeadline",
    "ReportingRegime",
    "ReportingStage",
    "ReportingTrigger",
]
