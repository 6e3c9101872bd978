"""One module per source format; `IMPORTERS` maps a source name to its importer."""

from .agent_incident_log import AgentIncidentLogImporter
from .agent_register import AgentRegisterImporter
from .agent_spending import AgentSpendingImporter
from .aiaaic import AIAAICImporter
from .aiid import AIIDImporter
from .awesome_agent_failures import AwesomeAgentFailuresImporter
from .base import ImportFailed, ImportSummary, run_import
from .blast_radius import BlastRadiusImporter

IMPORTERS = {
    "aiid": AIIDImporter,
    "aiaaic": AIAAICImporter,
    "agent-incident-log": AgentIncidentLogImporter,
    "ai-agent-incident-register": AgentRegisterImporter,
    "agent-spending-incidents": AgentSpendingImporter,
    "awesome-agent-failures": AwesomeAgentFailuresImporter,
    "blast-radius": BlastRadiusImporter,
}

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
    "VOCABULARIES",
    "source_values_grouped",
    "vocabulary_label",
    "ImportFailed",
    "ImportSummary",
    "run_import",
]
