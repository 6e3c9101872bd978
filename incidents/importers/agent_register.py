"""AI Agent Incident Register: one evidence-graded incident per row of data/incidents.csv."""

import re

from django.utils.dateparse import parse_date

from incidents.models import Dataset, Incident, IncidentOrganisation, Source, Tag

from .base import Importer, Record, SourceRef, unique

REQUIRED = ["id", "title", "event_date", "deployer", "what_happened", "source_1_url", "disputed"]
FACETS = {
    "sector": Tag.Facet.SECTOR,
    "agent_type": Tag.Facet.TECHNOLOGY,
    "harm_type": Tag.Facet.HARM_TYPE,
    "failure_pattern": Tag.Facet.FAILURE_MODE,
}
# agent_type is free text; only these words say plainly what kind of system acted.
PERPETRATORS = [
    ("coding agent", "ai-coding-agent"),
    ("chatbot", "chatbot"),
    ("assistant", "ai-assistant"),
]
# URL column -> the column labelling it.
URL_COLUMNS = {
    "source_1_url": "source_1_label",
    "source_2_url": "source_2_label",
    "aftermath_source_url": "",
}
AUTONOMY = {
    "no": Incident.Autonomy.AUTONOMOUS,
    "yes": Incident.Autonomy.APPROVED,
    # The approval gate existed but the agent went around it.
    "yes, bypassed": Incident.Autonomy.AUTONOMOUS,
}
# "SaaStr, using Replit": the deployer comes first; the rest describes it.
# "Hundreds of Salesforce customers, ..." names a crowd, not an organisation.
CROWD = re.compile(r"^(hundreds|thousands|dozens|many|several|multiple)\b", re.IGNORECASE)


class AgentRegisterImporter(Importer):
    dataset = Dataset.AGENT_INCIDENT_REGISTER
    licence = "CC BY 4.0"
    description = "AI Agent Incident Register: its data/incidents.csv (or the folder holding it)"

    def records(self):
        if self.path.is_dir():
            candidates = [self.path / "incidents.csv", self.path / "data" / "incidents.csv"]
            self.path = next((p for p in candidates if p.is_file()), candidates[0])
        for line, row in self.read_csv(self.path):
            self.require_columns(self.path, line, row, REQUIRED)
            yield self.record(line, row)

    def record(self, line, row):
        identifier = row["id"].strip()
        if not identifier:
            self.fail(line, "id", "every incident needs an id")
        event_date = row["event_date"].strip()
        try:
            occurred = parse_date(event_date) if event_date else None
        except ValueError:  # well formed but impossible, such as 2025-02-30
            occurred = None
        if event_date and occurred is None:
            self.fail(line, "event_date", f"not a YYYY-MM-DD date: {event_date!r}")
        disputed = row["disputed"].strip().lower()
        if disputed not in ("yes", "no", ""):
            self.fail(line, "disputed", f"expected Yes or No, not {row['disputed']!r}")
        stance = Source.Stance.DISPUTES if disputed == "yes" else Source.Stance.REPORTS
        sources = []
        for column, label in URL_COLUMNS.items():
            url = row.get(column, "").strip()
            if url and not url.startswith(("http://", "https://")):
                self.fail(line, column, f"not an http(s) URL: {url!r}")
            if url and url not in [ref.url for ref in sources]:
                title = row.get(label, "").strip() if label else "What changed after"
                sources.append(SourceRef(url=url, title=title, stance=stance))
        deployer = row["deployer"].split(",")[0].strip()
        organisations = (
            [(deployer, IncidentOrganisation.Role.DEPLOYER)]
            if deployer and not CROWD.match(deployer)
            else []
        )
        agent_type = row.get("agent_type", "").lower()
        perpetrator = next((slug for word, slug in PERPETRATORS if word in agent_type), "")
        fields = {
            "remediation": row.get("what_changed_after", "").strip(),
            "blast_radius_notes": row.get("harm_borne_by", "").strip(),
            "access_held": ", ".join(
                part.strip() for part in row.get("authority", "").split("|") if part.strip()
            ),
        }
        approval = row.get("human_approval", "").strip().lower()
        if approval in AUTONOMY:
            fields["autonomy"] = AUTONOMY[approval]
        return Record(
            external_id=identifier,
            line=line,
            title=row["title"].strip(),
            summary=row["what_happened"].strip(),
            url=sources[0].url if sources else "",
            occurred_at=self.day(occurred),
            perpetrator=perpetrator,
            organisations=organisations,
            tags=unique(
                (facet, row[column].strip())
                for column, facet in FACETS.items()
                if row.get(column, "").strip()
            ),
            sources=sources,
            fields=fields,
        )
