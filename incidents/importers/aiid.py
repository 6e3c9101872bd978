"""AI Incident Database snapshot CSVs (incidents.csv plus the taxonomy tables beside it), and
the report files that may be copied beside it (see `REPORT_FILES`)."""

import json
import re
from collections import defaultdict
from urllib.parse import urlsplit

from django.utils.dateparse import parse_date

from incidents.models import Dataset, IncidentOrganisation, Organisation
from incidents.untrusted import Unreadable, load_json
from incidents.vocabularies import Vocabulary

from .base import CrossRef, Importer, Record, SourceRef, unique

ROLES = {
    "Alleged deployer of AI system": IncidentOrganisation.Role.DEPLOYER,
    "Alleged developer of AI system": IncidentOrganisation.Role.DEVELOPER,
    "Alleged harmed or nearly harmed parties": IncidentOrganisation.Role.HARMED,
}
REQUIRED = ["incident_id", "date", "title", "description", *ROLES]
# The database's own list of incidents it found recorded twice: each duplicate number names
# the incident that is kept ("true"); a duplicate may already be gone from incidents.csv.
DUPLICATES = "duplicates.csv"
DUPLICATE_COLUMNS = ["duplicate_incident_number", "true_incident_number"]


def page(number):
    return f"https://incidentdatabase.ai/cite/{number}/"


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
# Files beside incidents.csv that name an incident's reports. The lookup index and the full
# incident documents link reports to incidents; submissions, quick adds and news-article
# candidates carry no incident (their `incident_id` is empty or 0), so they only add a title,
# date or publisher to a report URL that one of the others links.
LOOKUP_INDEX = "lookupIndex.json"  # [{"i": incident, "r": [{"n": report, "u": url}]}]
FULL_INCIDENTS = "fullIncident*.json"  # {"data": {"incident": {"incident_id", "reports"}}}
REPORT_DETAILS = ("submissions.csv", "quickadd.csv")
NEWS_ARTICLES = "newsArticles.json"  # {"data": {"candidates": [{"url", "title", ...}]}}


def entity_name(slug):
    """AIID names entities by slug ("keolis-north-america"); show them as words. The casing
    is a guess ("Openai"), marked as such, until another source spells the name."""
    return " ".join(part.capitalize() for part in slug.split("-") if part)


class AIIDImporter(Importer):
    dataset = Dataset.AIID
    licence = "CC BY-SA 4.0"
    description = "AI Incident Database snapshot: a folder with incidents.csv"
    party_names = Organisation.NameSource.SLUG
    vocabularies = [vocabulary for _, vocabulary, _ in CLASSIFICATIONS]

    def records(self):
        folder = self.path if self.path.is_dir() else self.path.parent
        incidents_csv = self.path if self.path.is_file() else folder / "incidents.csv"
        source_values = self.classifications(folder)
        reports = self.reports(folder)
        self.read_duplicates(folder)
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
            url = page(number)
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
                sources=[
                    SourceRef(url=url, publisher="AI Incident Database", title=title),
                    *reports.get(number, []),
                ],
            )

    def read_duplicates(self, folder):
        """The database's duplicates.csv as cross-references: duplicate number N is another
        AIID record of the incident imported as the true number, so an import of both flags
        them as certainly one, and a link to N elsewhere reaches the true one."""
        path = folder / DUPLICATES
        if not path.exists():
            return
        for line, row in self.read_csv(path):
            self.require_columns(path, line, row, DUPLICATE_COLUMNS)
            duplicate, kept = (row[column].strip() for column in DUPLICATE_COLUMNS)
            for column, number in zip(DUPLICATE_COLUMNS, (duplicate, kept), strict=True):
                if not number.isdigit():
                    self.fail(line, column, f"not an incident number: {number!r}", path)
            if duplicate != kept:
                self.cross_references.append(
                    CrossRef(Dataset.AIID, duplicate, Dataset.AIID, kept, page(duplicate))
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

    def reports(self, folder):
        """{incident number: [SourceRef]} from the report files beside incidents.csv; what a
        file does not say about a report (its title, date, publisher) stays empty, except
        the publisher, which is then the address's domain."""
        linked = defaultdict(dict)  # incident -> url -> details
        path = folder / LOOKUP_INDEX
        if path.is_file():
            for position, entry in enumerate(self._json_at(path, [], list)):
                where = f"[{position}]"
                number = self._number(path, entry, "i", where)
                for report in self._list(path, entry, "r", where):
                    url = self._text(path, report, "u", where)
                    linked[number].setdefault(url, {})
        for path in sorted(folder.glob(FULL_INCIDENTS)):
            incident = self._json_at(path, ["data", "incident"], dict)
            number = self._number(path, incident, "incident_id", "data.incident")
            for position, report in enumerate(self._list(path, incident, "reports", "")):
                where = f"data.incident.reports[{position}]"
                details = self._details(path, report, where, "source_domain")
                linked[number].setdefault(details["url"], {}).update(details)
        if not linked:
            return {}
        known = {url for reports in linked.values() for url in reports}
        found = {}
        for name in REPORT_DETAILS:
            path = folder / name
            if path.is_file():
                for line, row in self.read_csv(path):
                    incident = (row.get("incident_id") or "").strip()
                    url = (row.get("url") or "").strip()
                    details = self._details(path, row, f"line {line}", "source_domain")
                    if incident.isdigit() and incident != "0":
                        linked[incident].setdefault(url, {}).update(details)
                    elif url in known:
                        found.setdefault(url, {}).update(details)
        path = folder / NEWS_ARTICLES
        if path.is_file():
            for position, article in enumerate(self._json_at(path, ["data", "candidates"], list)):
                details = self._details(path, article, f"data.candidates[{position}]", None)
                if details["url"] in known:
                    found.setdefault(details["url"], {}).update(details)
        return {
            number: [
                self._source({**found.get(url, {}), **details, "url": url})
                for url, details in reports.items()
            ]
            for number, reports in linked.items()
        }

    @staticmethod
    def _source(details):
        domain = details.get("domain") or urlsplit(details["url"]).hostname or ""
        return SourceRef(
            url=details["url"],
            title=details.get("title", ""),
            published_on=details.get("published_on"),
            publisher=domain.removeprefix("www."),
        )

    def _details(self, path, item, where, domain_key):
        """A report's url, and its title, publication date and domain where it gives them."""
        details = {"url": self._text(path, item, "url", where)}
        if title := str(item.get("title") or "").strip():
            details["title"] = title
        if published := str(item.get("date_published") or "").strip():
            details["published_on"] = parse_date(published[:10])
            if details["published_on"] is None:
                self.fail(None, f"{where}.date_published", f"not a date: {published!r}", path)
        if domain_key and (domain := str(item.get(domain_key) or "").strip()):
            details["domain"] = domain
        return details

    def _json_at(self, path, keys, kind):
        """The value at `keys` in a JSON file, which must be a `kind` (list or dict)."""
        data = self.parse_json(self.read_text(path), path)
        for key in keys:
            if not isinstance(data, dict) or key not in data:
                self.fail(None, ".".join(keys), "missing", path)
            data = data[key]
        if not isinstance(data, kind):
            what = "a JSON list" if kind is list else "a JSON object"
            self.fail(None, ".".join(keys) or None, f"not {what}", path)
        return data

    def _list(self, path, item, key, where):
        value = item.get(key, []) if isinstance(item, dict) else None
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(None, f"{where}.{key}".lstrip("."), "not a list of objects", path)
        return value

    def _text(self, path, item, key, where):
        value = item.get(key) if isinstance(item, dict) else None
        if not isinstance(value, str) or not value.strip():
            self.fail(None, f"{where}.{key}", "missing or not text", path)
        return value.strip()

    def _number(self, path, item, key, where):
        value = item.get(key) if isinstance(item, dict) else None
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(None, f"{where}.{key}", f"not an incident number: {value!r}", path)
        return str(value)
