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
from .patterns import DigestSubscription, PatternCluster, PatternClusterMember, SummaryCount
from .policy import PolicyChange, PolicyChangeIncident, PolicySource
from .provenance import Dataset, DuplicateFlag, Provenance
from .review import AuditEvent, IncidentRevision, Notification, Review
from .taxonomy import AISystem, Organisation, PerpetratorKind, Severity, Tag

__all__ = [
    "AISystem",
    "Dataset",
    "DuplicateFlag",
    "Provenance",
    "ActionItem",
    "AuditEvent",
    "IncidentRevision",
    "Notification",
    "Review",
    "Incident",
    "ImportJob",
    "IncidentOrganisation",
    "Organisation",
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
    "SummaryCount",
]
