"""AI Incident Database snapshot CSVs (incidents.csv plus the taxonomy tables beside it)."""

import json
import re
from collections import defaultdict

from django.utils.dateparse import parse_date

from incidents.models import Dataset, IncidentOrganisation
from incidents.untrusted import Unreadable, load_json
from incidents.vocabularies import Vocabulary

from .base import Importer, Record, SourceRef, unique

ROLES = {
    "Alleged deployer of AI system": IncidentOrganisation.Role.DEPLOYER,
    "Alleged developer of AI system": IncidentOrganisation.Role.DEVELOPER,
    "Alleged harmed or nearly harmed parties": IncidentOrganisation.Role.HARMED,
}
REQUIRED = ["incident_id", "date", "title", "description", *ROLES]


def _one(value):
    return [value.strip()] if value.strip() else []


def _commas(*kept):
    """A splitter for cells that list values with commas, where the values in `kept` hold
    commas of their own ("Arts, entertainment and recreation")."""
    pattern = re.compile(
        "|".join(re.escape(value) for value in sorted(kept, key=len, reverse=True)) or "$^",
        re.IGNORECASE,
    )

    def split(value):
        found = []

        def hold(match):
            found.append(match.group())
            return f"\0{len(found) - 1}\0"

        parts = pattern.sub(hold, value).split(",")
        restore = re.compile("\0(\\d+)\0")
        return unique(
            item
            for part in parts
            if (item := restore.sub(lambda m: found[int(m.group(1))], part).strip())
        )

    return split


CSET_SECTORS_WITH_COMMAS = (
    "Arts, entertainment and recreation",
    "professional, scientific and technical activities",
)


def _vocabulary(key, taxonomy, column, multiple=""):
    return Vocabulary(
        key=key,
        dataset=Dataset.AIID,
        field=column,
        label=f"{taxonomy}: {column}",
        multiple=multiple,
    )


# The taxonomy columns whose values are kept: (file, vocabulary, how a cell splits). The order
# is the order of precedence when two vocabularies give one house field (CSET v1 over v0).
CLASSIFICATIONS = [
    (
        "classifications_CSETv1.csv",
        _vocabulary("aiid-csetv1-autonomy-level", "CSET v1", "Autonomy Level"),
        _one,
    ),
    (
        "classifications_CSETv1.csv",
        _vocabulary("aiid-csetv1-tangible-harm", "CSET v1", "Tangible Harm"),
        _one,
    ),
    (
        "classifications_CSETv1.csv",
        _vocabulary("aiid-csetv1-ai-harm-level", "CSET v1", "AI Harm Level"),
        _one,
    ),
    (
        "classifications_CSETv1.csv",
        _vocabulary("aiid-csetv1-lives-lost", "CSET v1", "Lives Lost"),
        _one,
    ),
    (
        "classifications_CSETv1.csv",
        _vocabulary("aiid-csetv1-injuries", "CSET v1", "Injuries"),
        _one,
    ),
    (
        "classifications_CSETv1.csv",
        _vocabulary(
            "aiid-csetv1-sector-of-deployment", "CSET v1", "Sector of Deployment", "commas"
        ),
        _commas(*CSET_SECTORS_WITH_COMMAS),
    ),
    (
        "classifications_CSETv1.csv",
        _vocabulary("aiid-csetv1-harm-domain", "CSET v1", "Harm Domain"),
        _one,
    ),
    (
        "classifications_CSETv1.csv",
        _vocabulary(
            "aiid-csetv1-special-interest-intangible-harm",
            "CSET v1",
            "Special Interest Intangible Harm",
        ),
        _one,
    ),
    (
        "classifications_CSETv0.csv",
        _vocabulary("aiid-csetv0-severity", "CSET v0", "Severity"),
        _one,
    ),
    (
        "classifications_CSETv0.csv",
        _vocabulary("aiid-csetv0-harm-type", "CSET v0", "Harm Type", "commas"),
        _commas(),
    ),
    (
        "classifications_CSETv0.csv",
        _vocabulary("aiid-csetv0-near-miss", "CSET v0", "Near Miss"),
        _one,
    ),
    (
        "classifications_CSETv0.csv",
        _vocabulary("aiid-csetv0-level-of-autonomy", "CSET v0", "Level of Autonomy"),
        _one,
    ),
    (
        "classifications_CSETv0.csv",
        _vocabulary("aiid-csetv0-lives-lost", "CSET v0", "Lives Lost"),
        _one,
    ),
    (
        "classifications_CSETv0.csv",
        _vocabulary("aiid-csetv0-sector-of-deployment", "CSET v0", "Sector of Deployment"),
        _one,
    ),
    ("classifications_MIT.csv", _vocabulary("aiid-mit-risk-domain", "MIT", "Risk Domain"), _one),
    (
        "classifications_MIT.csv",
        _vocabulary("aiid-mit-risk-subdomain", "MIT", "Risk Subdomain"),
        _one,
    ),
    ("classifications_MIT.csv", _vocabulary("aiid-mit-entity", "MIT", "Entity"), _one),
    ("classifications_MIT.csv", _vocabulary("aiid-mit-intent", "MIT", "Intent"), _one),
    ("classifications_MIT.csv", _vocabulary("aiid-mit-timing", "MIT", "Timing"), _one),
    (
        "classifications_GMF.csv",
        _vocabulary("aiid-gmf-known-ai-goal", "GMF", "Known AI Goal", "commas"),
        _commas(),
    ),
    (
        "classifications_GMF.csv",
        _vocabulary("aiid-gmf-known-ai-technology", "GMF", "Known AI Technology", "commas"),
        _commas(),
    ),
    (
        "classifications_GMF.csv",
        _vocabulary(
            "aiid-gmf-known-ai-technical-failure", "GMF", "Known AI Technical Failure", "commas"
        ),
        _commas(),
    ),
]


def entity_name(slug):
    """AIID names entities by slug ("keolis-north-america"); show them as words."""
    return " ".join(part.capitalize() for part in slug.split("-") if part)


class AIIDImporter(Importer):
    dataset = Dataset.AIID
    licence = "CC BY-SA 4.0"
    description = "AI Incident Database snapshot: a folder with incidents.csv"
    vocabularies = [vocabulary for _, vocabulary, _ in CLASSIFICATIONS]

    def records(self):
        folder = self.path if self.path.is_dir() else self.path.parent
        incidents_csv = self.path if self.path.is_file() else folder / "incidents.csv"
        source_values = self.classifications(folder)
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
                source_values=source_values.get(number, []),
                sources=[SourceRef(url=url, publisher="AI Incident Database", title=title)],
            )

    def classifications(self, folder):
        """(vocabulary key, value) per incident id, from the published rows of each taxonomy
        file beside incidents.csv."""
        values = defaultdict(list)
        for filename in unique(filename for filename, _, _ in CLASSIFICATIONS):
            path = folder / filename
            if not path.exists():
                continue
            columns = [(v, split) for name, v, split in CLASSIFICATIONS if name == filename]
            for line, row in self.read_csv(path):
                self.require_columns(path, line, row, ["Incident ID"])
                if row.get("Published", "True").strip() != "True":
                    continue
                carried = values[row["Incident ID"].strip()]
                for vocabulary, split in columns:
                    for value in split(row.get(vocabulary.field) or ""):
                        if (vocabulary.key, value) not in carried:
                            carried.append((vocabulary.key, value))
        return values
