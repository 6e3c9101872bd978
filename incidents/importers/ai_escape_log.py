"""The AI Escape Log (00EVA/ai-escape-log): `data/incidents.json`, or `incidents.csv` with the
same records (tags joined with ";", no verification label).

A tracker kept by one maintainer and fed by an automated news monitor: nothing in it has been
checked here, so every record is imported as a hazard (a credible risk, the harm unconfirmed)
and shown as unverified while no other dataset records it.
"""

import re

from django.utils.dateparse import parse_date
from django.utils.translation import ngettext

from incidents.models import Dataset, IncidentOrganisation
from incidents.vocabularies import Vocabulary

from .base import Importer, Record, SourceRef, split_list, unique

DATASET = Dataset.AI_ESCAPE_LOG
VOCABULARIES = [
    Vocabulary("ai-escape-log-category", DATASET, "category", "AI Escape Log category"),
    Vocabulary("ai-escape-log-incident-type", DATASET, "incident_type", "AI Escape Log type"),
    Vocabulary("ai-escape-log-tags", DATASET, "tags", "AI Escape Log tags", "a JSON list"),
    Vocabulary("ai-escape-log-lab", DATASET, "lab", "AI Escape Log lab"),
    Vocabulary("ai-escape-log-model", DATASET, "model", "AI Escape Log model"),
    Vocabulary("ai-escape-log-status", DATASET, "status", "AI Escape Log status"),
]
REQUIRED = ["id", "date", "lab", "model", "category", "title", "url", "summary"]
# "N/A (US Congress)": the log's way of saying no lab or model is involved.
NONE_GIVEN = re.compile(r"^n/?a\b", re.IGNORECASE)
REMARK = re.compile(r"\s*\([^)]*\)\s*$")


def names(value, separators):
    """The names a free-text cell lists: "OpenAI / Anthropic (third-party test)" names OpenAI
    and Anthropic; what follows a dash describes ("Ray (Anyscale) — AI/ML compute
    infrastructure"), and a parenthesised remark at the end is not part of a name."""
    value = value.split(" — ")[0].strip()
    if not value or NONE_GIVEN.match(value):
        return []
    found = []
    for part in re.split(separators, value):
        part = REMARK.sub("", part).strip()
        if part and not NONE_GIVEN.match(part):
            found.append(part)
    return found


class AIEscapeLogImporter(Importer):
    dataset = DATASET
    licence = "MIT"
    description = "AI Escape Log: its data folder, incidents.json or incidents.csv"
    vocabularies = VOCABULARIES
    unverified = True

    def records(self):
        if self.path.is_dir():
            json_path = self.path / "incidents.json"
            self.path = json_path if json_path.is_file() else self.path / "incidents.csv"
        if self.path.suffix == ".csv":
            for line, row in self.read_csv(self.path):
                self.require_columns(self.path, line, row, [*REQUIRED, "tags"])
                yield self.record(line, {**row, "tags": split_list(row["tags"])})
            return
        text = self.read_text()
        entries = self.parse_json(text)
        if not isinstance(entries, list):
            self.fail(1, None, "expected a list of incidents")
        position = 0
        for index, entry in enumerate(entries, start=1):
            line = index
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                found = text.find(f'"id": "{entry["id"]}"', position)
                if found >= 0:
                    line, position = text.count("\n", 0, found) + 1, found
            if not isinstance(entry, dict):
                self.fail(line, None, "each incident must be a JSON object")
            yield self.record(line, entry)

    def record(self, line, entry):
        missing = [key for key in REQUIRED if not isinstance(entry.get(key), str)]
        if missing:
            what = ngettext("missing required field", "missing required fields", len(missing))
            self.fail(line, missing[0], f"{what}: {', '.join(missing)}")
        tags = entry.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            self.fail(line, "tags", "expected a list of words")
        try:
            occurred = parse_date(entry["date"])
        except ValueError:
            occurred = None
        if occurred is None:
            self.fail(line, "date", f"not a YYYY-MM-DD date: {entry['date']!r}")
        url = entry["url"].strip()
        if not url.startswith("http"):
            self.fail(line, "url", f"not a web address: {url!r}")
        values = [
            ("ai-escape-log-category", entry["category"]),
            ("ai-escape-log-incident-type", entry.get("incident_type") or ""),
            ("ai-escape-log-lab", entry["lab"]),
            ("ai-escape-log-model", entry["model"]),
            ("ai-escape-log-status", entry.get("status") or ""),
            *[("ai-escape-log-tags", tag) for tag in tags],
        ]
        title = entry["title"].strip()
        return Record(
            external_id=entry["id"].strip(),
            line=line,
            title=title,
            summary=entry["summary"].strip(),
            url=url,
            occurred_at=self.day(occurred),
            organisations=unique(
                (name, IncidentOrganisation.Role.DEVELOPER)
                for name in names(entry["lab"], r"\s*/\s*|,\s*|\s+and\s+")
            ),
            ai_systems=unique(names(entry["model"], r"\s*;\s*")),
            source_values=unique((k, v.strip()) for k, v in values if v.strip()),
            sources=[
                SourceRef(url=url, title=title, publisher=(entry.get("source") or "").strip())
            ],
            verification=(entry.get("verification") or "").strip(),
        )
