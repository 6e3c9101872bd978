"""AIAAIC Repository sheet export: a banner row, a two-row header, blank rows, a repeated id."""

import re
from datetime import UTC, datetime

from incidents.models import Dataset, Incident, IncidentOrganisation, Organisation
from incidents.untrusted import field_limit
from incidents.vocabularies import Vocabulary

from .base import Importer, Record, SourceRef, split_list, unique

ID_COLUMN = "AIAAIC ID#"
REQUIRED = [ID_COLUMN, "Headline", "Occurred", "Deployer(s)", "Developer(s)", "Summary/links"]
YEAR = re.compile(r"\b(19|20)\d{2}\b")
# The list columns whose values are kept, each its own vocabulary; AIAAIC separates values with
# semicolons (a value may hold a comma: "Provide information, communicate"). The grouped
# columns under "External harms" and "Internal impacts" each hold one group's values.
LIST_COLUMNS = {
    "aiaaic-sector": "Sector(s)",
    "aiaaic-technology": "Technology(ies)",
    "aiaaic-purpose": "Purpose(s)",
    "aiaaic-news-trigger": "News trigger(s)",
    "aiaaic-issue": "Issue(s)",
    "aiaaic-external-harm-individual": "External harms: Individual",
    "aiaaic-external-harm-societal": "External harms: Societal",
    "aiaaic-external-harm-environmental": "External harms: Environmental",
    "aiaaic-internal-impact-strategic": "Internal impacts: Strategic/reputational",
    "aiaaic-internal-impact-operational": "Internal impacts: Operational",
    "aiaaic-internal-impact-financial": "Internal impacts: Financial",
    "aiaaic-internal-impact-legal": "Internal impacts: Legal/regulatory",
}
VOCABULARIES = [
    Vocabulary(key=key, dataset=Dataset.AIAAIC, field=column, label=column, multiple="; ")
    for key, column in LIST_COLUMNS.items()
]


class AIAAICImporter(Importer):
    dataset = Dataset.AIAAIC
    licence = "CC BY-SA 4.0"
    description = "AIAAIC Repository incidents sheet exported as CSV"
    vocabularies = VOCABULARIES

    def records(self):
        path = self.path
        if path.is_dir():
            matches = sorted(path.glob("*.csv"))
            if not matches:
                self.fail(None, None, "no CSV file in this folder")
            path = matches[0]
        self.path = path  # errors name the file itself
        rows = {}
        header = None
        grouped = False
        for line, cells in self.read_rows(path):
            # The export starts with a banner row; the real header is the row naming the id.
            if header is None:
                if ID_COLUMN in [cell.strip() for cell in cells]:
                    header = [cell.strip() for cell in cells]
                continue
            if not cells[0].strip() and not grouped:
                # The sub-header names the columns grouped under "External harms" and
                # "Internal impacts": they become "External harms: Individual" and so on.
                header = self.grouped_header(header, cells)
                grouped = True
                continue
            record_row = dict(zip(header, cells, strict=False))
            if not record_row.get(ID_COLUMN, "").strip():
                continue
            identifier = record_row[ID_COLUMN].strip()
            if not any(value.strip() for key, value in record_row.items() if key != ID_COLUMN):
                self.notes.append(f"{identifier} (line {line}) has an id and nothing else")
                self.skipped += 1
                continue
            if identifier in rows:
                rows[identifier] = self.fuller_of(
                    identifier, rows[identifier], (line, record_row), path
                )
                self.skipped += 1
                continue
            rows[identifier] = (line, record_row)
        if header is None:
            self.fail(None, ID_COLUMN, f"no header row with a {ID_COLUMN!r} column", path)
        for identifier, (line, row) in rows.items():
            self.require_columns(path, line, row, REQUIRED)
            yield self.record(identifier, line, row)

    @staticmethod
    def grouped_header(header, sub_header):
        names, group = [], ""
        for name, sub in zip(header, sub_header + [""] * len(header), strict=False):
            group = name or group
            names.append(f"{group}: {sub.strip()}" if sub.strip() else name)
        return names

    def fuller_of(self, identifier, first, second, path):
        """A repeated id is accepted only when one row is a partial copy of the other:
        every list item it has, the other has too."""
        (line_a, a), (line_b, b) = first, second

        def covers(full, part):
            return all(
                set(split_list(v)) <= set(split_list(full.get(k, ""))) for k, v in part.items()
            )

        if covers(a, b):
            kept, dropped = first, line_b
        elif covers(b, a):
            kept, dropped = second, line_a
        else:
            differing = sorted(k for k in a.keys() & b.keys() if a[k].strip() != b[k].strip())
            self.fail(
                line_b,
                differing[0] if differing else ID_COLUMN,
                f"{identifier} also appears on line {line_a} with different content",
                path,
            )
        self.notes.append(
            f"{identifier}: line {dropped} is a partial copy of line {kept[0]}; kept line {kept[0]}"
        )
        return kept

    def names(self, identifier, line, column, value):
        """The organisations a cell names. AIAAIC separates them with semicolons, but a few
        cells list people with commas, longer than any one name can be: those are read as
        lists separated by commas, and the summary says so."""
        names = []
        for name in split_list(value):
            if len(name) > field_limit(Organisation, "name") and "," in name:
                self.notes.append(
                    f"{identifier} (line {line}): {column} is too long for one name; "
                    "read as names separated by commas"
                )
                names += split_list(name, ",")
            else:
                names.append(name)
        return names

    def record(self, identifier, line, row):
        occurred_text = row.get("Occurred", "")
        year = YEAR.search(occurred_text)
        url = row.get("Summary/links", "").strip()
        organisations = [
            (name, role)
            for column, role in [
                ("Deployer(s)", IncidentOrganisation.Role.DEPLOYER),
                ("Developer(s)", IncidentOrganisation.Role.DEVELOPER),
            ]
            for name in self.names(identifier, line, column, row[column])
        ]
        source_values = [
            (key, value)
            for key, column in LIST_COLUMNS.items()
            for value in split_list(row.get(column, ""))
        ]
        headline = row["Headline"].strip()
        return Record(
            external_id=identifier,
            line=line,
            title=headline,
            url=url if url.startswith("http") else "",
            occurred_at=datetime(int(year.group()), 1, 1, tzinfo=UTC) if year else None,
            occurred_precision=Incident.Precision.YEAR,
            organisations=unique(organisations),
            ai_systems=unique(split_list(row.get("System name(s)", ""))),
            source_values=unique(source_values),
            sources=[SourceRef(url=url, publisher="AIAAIC", title=headline)]
            if url.startswith("http")
            else [],
            fields={"affected_regions": "; ".join(split_list(row.get("Country(ies)", "")))},
        )
