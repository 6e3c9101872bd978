"""One module per source format; `IMPORTERS` maps a source name to its importer."""

from .agent_incident_log import AgentIncidentLogImporter
from .agent_register import AgentRegisterImporter
from .agent_spending import AgentSpendingImporter
from .ai_escape_log import AIEscapeLogImporter
from .aiaaic import AIAAICImporter
from .aiid import AIIDImporter
from .avid import ATLASImporter, AVIDImporter
from .awesome_agent_failures import AwesomeAgentFailuresImporter
from .base import ImportFailed, ImportSummary, run_import
from .blast_radius import BlastRadiusImporter
from .dail import DAILImporter
from .genai_incidents import GenAIIncidentsImporter

IMPORTERS = {
    "aiid": AIIDImporter,
    "aiaaic": AIAAICImporter,
    "agent-incident-log": AgentIncidentLogImporter,
    "ai-agent-incident-register": AgentRegisterImporter,
    "agent-spending-incidents": AgentSpendingImporter,
    "awesome-agent-failures": AwesomeAgentFailuresImporter,
    "blast-radius": BlastRadiusImporter,
    "genai-incidents": GenAIIncidentsImporter,
    "avid": AVIDImporter,
    "atlas": ATLASImporter,
    "ai-escape-log": AIEscapeLogImporter,
    "dail": DAILImporter,
}
UNVERIFIED_DATASETS = frozenset(
    importer.dataset for importer in IMPORTERS.values() if importer.unverified
)


def is_unverified(incident):
    """Only datasets that publish what they have not checked describe this incident."""
    datasets = {provenance.dataset for provenance in incident.provenances.all()}
    return bool(datasets) and datasets <= UNVERIFIED_DATASETS


# Every source vocabulary an importer keeps values of, by key.
VOCABULARIES = {
    vocabulary.key: vocabulary
    for importer in IMPORTERS.values()
    for vocabulary in importer.vocabularies
}


def vocabulary_label(key):
    vocabulary = VOCABULARIES.get(key)
    return vocabulary.label if vocabulary else key


def source_values_grouped(terms):
    """An incident's source terms as (vocabulary label, terms), in the importers' order."""
    order = {key: position for position, key in enumerate(VOCABULARIES)}
    groups = {}
    for term in sorted(terms, key=lambda t: (order.get(t.vocabulary, len(order)), t.value)):
        groups.setdefault(term.vocabulary, []).append(term)
    return [(vocabulary_label(key), group) for key, group in groups.items()]


__all__ = [
    "IMPORTERS",
    "UNVERIFIED_DATASETS",
    "VOCABULARIES",
    "ImportFailed",
    "ImportSummary",
    "is_unverified",
    "source_values_grouped",
    "vocabulary_label",
    "run_import",
]
