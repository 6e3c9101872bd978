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

__all__ = ["IMPORTERS", "VOCABULARIES", "ImportFailed", "ImportSummary", "run_import"]
