"""AI Incident Database snapshot CSVs (incidents.csv plus the taxonomy tables beside it)."""

import json
import re
from collections import defaultdict

from django.utils.dateparse import parse_date

from incidents.models import Dataset, IncidentOrganisation, Organisation, Tag
from incidents.untrusted import Unreadable, load_json

from .base import Importer, Record, SourceRef, unique

ROLES = {
    "Alleged deployer of AI system": IncidentOrganisation.Role.DEPLOYER,
    "Alleged developer of AI system": IncidentOrganisation.Role.DEVELOPER,
    "Alleged harmed or nearly harmed parties": IncidentOrganisation.Role.HARMED,
}
REQUIRED = ["incident_id", "date", "title", "description", *ROLES]
# Taxonomy columns that become faceted tags: (file, column, facet).
TAXONOMIES = [
    ("classifications_MIT.csv", "Risk Subdomain", Tag.Facet.HARM_TYPE),
    ("classifications_GMF.csv", "Known AI Technology", Tag.Facet.TECHNOLOGY),
    ("classifications_GMF.csv", "Known AI Technical Failure", Tag.Facet.FAILURE_MODE),
    ("classifications_CSETv1.csv", "Sector of Deployment", Tag.Facet.SECTOR),
]
NUMBERING = re.compile(r"^\s*\d+(\.\d+)*\.?\s+")


def entity_name(slug):
    """AIID names entities by slug ("keolis-north-america"); show them as words. The casing
    is a guess ("Openai"), marked as such, until another source spells the name."""
    return " ".join(part.capitalize() for part in slug.split("-") if part)


class AIIDImporter(Importer):
    dataset = Dataset.AIID
    licence = "CC BY-SA 4.0"
    description = "AI Incident Database snapshot: a folder with incidents.csv"
    party_names = Organisation.NameSource.SLUG

    def records(self):
        folder = self.path if self.path.is_dir() else self.path.parent
        incidents_csv = self.path if self.path.is_file() else folder / "incidents.csv"
        tags = self.taxonomy_tags(folder)
        self.path = incidents_csv  # errors name the file itself
        for line, row in self.read_csv(incidents_csv):
            self.require_columns(incidents_csv, line, row, REQUIRED)
            number = row["incident_id"].strip()
            if not number.isdigit():
                self.fail(line, "incident_id", f"not an incident number: {number!r}", incidents_csv)
            occurred = parse_date(row["date"].strip()) if row["date"].strip() else None
            if row["date"].strip() and occurred is None:
                self.fail(line, "date", f"not a date: {row['date']!r}", incidents_csv)
            organisations = []
            for column, role in ROLES.items():
                try:
                    slugs = load_json(row[column] or "[]")
                except json.JSONDecodeError as error:
                    self.fail(line, column, f"not a JSON list ({error.msg})", incidents_csv)
                except Unreadable as error:
                    self.fail(line, column, f"not a JSON list ({error})", incidents_csv)
                if not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs):
                    self.fail(line, column, "not a JSON list of names", incidents_csv)
                organisations += [(entity_name(slug), role) for slug in slugs if slug]
            url = f"https://incidentdatabase.ai/cite/{number}/"
            title = row["title"].strip()
            yield Record(
                external_id=number,
                line=line,
                title=title,
                summary=row["description"].strip(),
                url=url,
                occurred_at=self.day(occurred),
                organisations=unique(organisations),
                tags=tags.get(number, []),
                sources=[SourceRef(url=url, publisher="AI Incident Database", title=title)],
            )

    def taxonomy_tags(self, folder):
        tags = defaultdict(list)
        for filename, column, facet in TAXONOMIES:
            path = folder / filename
            if not path.exists():
                continue
            for line, row in self.read_csv(path):
                self.require_columns(path, line, row, ["Incident ID", column])
                if row.get("Published", "True").strip() == "False":
                    continue
                for value in row[column].split(","):
                    name = NUMBERING.sub("", value).strip().strip('"').strip()
                    if name and (facet, name) not in tags[row["Incident ID"].strip()]:
                        tags[row["Incident ID"].strip()].append((facet, name))
        return tags
