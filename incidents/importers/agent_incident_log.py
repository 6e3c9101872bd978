"""Helio Agent Incident Log: the generated JSON bundle (dist/incidents.json).

The repository keeps each incident as YAML front matter plus Markdown, and generates the bundle
from those files with the same keys and the body added. Reading the bundle spares a YAML parser.
"""

import json

from django.utils.dateparse import parse_date
from django.utils.translation import ngettext

from incidents.models import Dataset, IncidentOrganisation, Tag

from .base import CrossRef, Importer, Record, SourceRef, unique

REQUIRED = ["id", "date", "title", "organization", "sources"]
# The log names no organisation when the operator is a private person.
UNNAMED = {"not disclosed", "unknown", ""}
PERPETRATORS = {"coding_agent": "ai-coding-agent"}
REPOSITORY = "https://github.com/gethelio/agent-incident-log/blob/main/incidents/"


def words(code):
    """The log's enum values are snake_case codes ("data_destruction"); show them as words."""
    return code.replace("_", " ").capitalize()


class AgentIncidentLogImporter(Importer):
    dataset = Dataset.AGENT_INCIDENT_LOG
    licence = "CC BY 4.0"
    description = "Helio Agent Incident Log: the repository folder or its dist/incidents.json"

    def records(self):
        if self.path.is_dir():
            self.path = self.path / "dist" / "incidents.json"
        text = self.read_text(missing="file not found (this importer reads dist/incidents.json)")
        bundle = self.parse_json(text)
        if not isinstance(bundle, dict) or not isinstance(bundle.get("incidents"), list):
            self.fail(1, "incidents", "expected an object with an 'incidents' list")
        incidents = bundle["incidents"]
        if isinstance(bundle.get("count"), int) and bundle["count"] != len(incidents):
            self.fail(
                None,
                "count",
                f"the bundle says it holds {bundle['count']} incidents but has {len(incidents)}: "
                "it looks truncated",
            )
        position = 0
        for index, entry in enumerate(incidents, start=1):
            line, position = self.line_of(text, entry, position, index)
            yield self.record(line, entry)

    @staticmethod
    def line_of(text, entry, after, index):
        """The line where this incident's id appears, so errors point into the file."""
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            found = text.find(f'"id": {json.dumps(entry["id"])}', after)
            if found >= 0:
                return text.count("\n", 0, found) + 1, found
        return index, after

    def date(self, line, field_name, value):
        try:
            parsed = parse_date(value) if isinstance(value, str) else None
        except ValueError:  # well formed but impossible, such as 2025-02-30
            parsed = None
        if parsed is None:
            self.fail(line, field_name, f"not a YYYY-MM-DD date: {value!r}")
        return parsed

    def record(self, line, entry):
        if not isinstance(entry, dict):
            self.fail(line, None, "each incident must be a JSON object")
        missing = [key for key in REQUIRED if key not in entry]
        if missing:
            what = ngettext("missing required field", "missing required fields", len(missing))
            self.fail(line, missing[0], f"{what}: {', '.join(missing)}")
        for key in ("sources", "harm", "root_cause"):
            if not isinstance(entry.get(key, []), list):
                self.fail(line, key, "expected a list")
        occurred = self.date(line, "date", entry["date"])
        sources = []
        for source in entry["sources"]:
            if not isinstance(source, dict) or not str(source.get("url", "")).startswith("http"):
                self.fail(line, "sources", f"a source needs an http(s) url: {source!r}")
            sources.append(
                SourceRef(
                    url=source["url"],
                    publisher=source.get("publisher") or "",
                    title=source.get("title") or "",
                    published_on=self.date(line, "sources.date", source["date"])
                    if source.get("date")
                    else None,
                )
            )
        if entry.get("aiid_incident"):
            number = entry["aiid_incident"]
            if isinstance(number, bool) or not str(number).isdigit():
                self.fail(line, "aiid_incident", f"not an AIID incident number: {number!r}")
            sources.append(
                SourceRef(
                    url=f"https://incidentdatabase.ai/cite/{number}/",
                    publisher="AI Incident Database",
                )
            )
            # The log says which AIID incident this is: the two are certainly one.
            self.cross_references.append(
                CrossRef(
                    Dataset.AGENT_INCIDENT_LOG,
                    entry["id"],
                    Dataset.AIID,
                    str(number),
                    f"{REPOSITORY}{entry['id']}.md",
                )
            )
        primary = next((s for s in entry["sources"] if s.get("primary")), None)
        organisation = entry["organization"].strip()
        # One field names every organisation involved ("Replit and SaaStr"); the log gives
        # no roles, so they are recorded as the organisations running the affected system.
        organisations = [
            (name.strip(), IncidentOrganisation.Role.DEPLOYER)
            for name in organisation.split(" and ")
            if name.strip().lower() not in UNNAMED
        ]
        stack = entry.get("agent_stack") or {}
        tags = [(Tag.Facet.HARM_TYPE, words(code)) for code in entry.get("harm", [])]
        tags += [
            (Tag.Facet.CONTRIBUTING_FACTOR, words(code)) for code in entry.get("root_cause", [])
        ]
        if entry.get("surface"):
            tags.append((Tag.Facet.TECHNOLOGY, words(entry["surface"])))
        body = (entry.get("body") or "").strip()
        return Record(
            external_id=entry["id"],
            line=line,
            title=str(entry["title"]).strip(),
            summary=" ".join(body.split("\n\n")[0].split()),
            narrative=body,
            url=(primary or entry["sources"][0])["url"] if entry["sources"] else "",
            occurred_at=self.day(occurred),
            perpetrator=PERPETRATORS.get(entry.get("surface"), ""),
            organisations=unique(organisations),
            ai_systems=unique(
                [stack[key].strip() for key in ("framework", "model") if stack.get(key)]
            ),
            tags=unique(tags),
            sources=sources,
            fields={"blast_radius_notes": (entry.get("scale") or "").strip()},
        )
