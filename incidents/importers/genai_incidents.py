"""The GenAI Incidents index (PyPI package `genai-incidents`): `incidents.min.json`, with
`id_deprecations.json` beside it.

The index gathers records from other datasets. Its OECD AI Incidents and Hazards Monitor records
and its own are imported. Rows copied from the AI Incident Database, the AIAAIC Repository,
AVID and MITRE ATLAS are imported from those originals instead, so here they only become
cross-references to them; security advisories (CVE and GitHub advisories) are skipped, as a
vulnerability in a package is not an incident.
"""

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from django.utils.translation import ngettext

from incidents.models import Dataset, Incident
from incidents.vocabularies import Vocabulary

from .base import CrossRef, Importer, Record, SourceRef, _Writer, unique

DATASET = Dataset.GENAI_INCIDENTS
LISTED = "a JSON list"
VOCABULARIES = [
    Vocabulary("genai-severity", DATASET, "severity", "GenAI Incidents severity"),
    Vocabulary("genai-attack-vector", DATASET, "attack_vector", "GenAI Incidents attack vector"),
    Vocabulary("genai-owasp-llm", DATASET, "owasp_llm", "OWASP Top 10 for LLMs", LISTED),
    Vocabulary("genai-owasp-asi", DATASET, "owasp_asi", "OWASP agentic AI threats", LISTED),
    Vocabulary("genai-nist-ai-rmf", DATASET, "nist_ai_rmf", "NIST AI RMF subcategory", LISTED),
    Vocabulary("genai-mitre-atlas", DATASET, "mitre_atlas", "MITRE ATLAS technique", LISTED),
    Vocabulary("genai-tags", DATASET, "tags", "GenAI Incidents tags", LISTED),
    Vocabulary("genai-status", DATASET, "status", "GenAI Incidents status"),
]
SINGLE = {"severity": "genai-severity", "attack_vector": "genai-attack-vector"}
LISTS = {
    "owasp_llm": "genai-owasp-llm",
    "owasp_asi": "genai-owasp-asi",
    "nist_ai_rmf": "genai-nist-ai-rmf",
    "mitre_atlas": "genai-mitre-atlas",
    "tags": "genai-tags",
}
ADVISORY_HOSTS = {"nvd.nist.gov", "cve.org", "cve.mitre.org"}
REQUIRED = ["id", "title", "date", "primary_reference", "description"]
DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")
AIID_CITE = re.compile(r"^/cite/(\d+)/?$")
AVID_PAGE = re.compile(r"^/database/(avid-\d{4}-[rv]\d+)/?$", re.IGNORECASE)
ATLAS_STUDY = re.compile(r"^/studies/(AML\.CS\d+)/?$")
OECD_PAGE = re.compile(r"^/en/incidents/([\w-]+)/?$")


class GenAIIncidentsImporter(Importer):
    dataset = DATASET
    licence = "CC BY 4.0"
    description = (
        "GenAI Incidents index: the package's data folder or its incidents.min.json "
        "(id_deprecations.json and an AIID oecd_relationships*.json beside it are read too)"
    )
    vocabularies = VOCABULARIES

    def __init__(self, path, *, oecd_relationships=None):
        super().__init__(path)
        self.oecd_relationships = Path(oecd_relationships) if oecd_relationships else None
        self.successor = {}  # a retired id: the one id that replaced it
        self.skips = Counter()

    def writer(self, now):
        return _RenumberingWriter(self, now)

    def records(self):
        folder = self.path if self.path.is_dir() else self.path.parent
        if self.path.is_dir():
            self.path = folder / "incidents.min.json"
        self.successor = self.read_deprecations(folder / "id_deprecations.json")
        relationships = self.oecd_relationships or next(
            iter(sorted(folder.glob("oecd_relationships*.json"))), None
        )
        if relationships:
            self.read_oecd_relationships(relationships)
        bundle = self.parse_json(self.read_text())
        if not isinstance(bundle, dict) or not isinstance(bundle.get("incidents"), list):
            self.fail(1, "incidents", "expected an object with an 'incidents' list")
        entries = []
        for position, entry in enumerate(bundle["incidents"], start=1):
            self.check(position, entry)
            entries.append(entry)
        present = {entry["id"] for entry in entries}
        for position, entry in enumerate(entries, start=1):
            identifier = entry["id"]
            if identifier in self.successor:
                if self.successor[identifier] in present:
                    self.skip("retired ids whose successor is in the file too")
                    continue
                identifier = self.successor[identifier]
            record = self.record(position, identifier, entry)
            if record:
                yield record
        for reason, count in self.skips.items():
            self.notes.append(f"{count} {reason}: skipped")
        self.skipped += sum(self.skips.values())

    def skip(self, reason):
        self.skips[reason] += 1

    def read_deprecations(self, path):
        """{retired id: successor} for ids retired into exactly one other, following chains
        (INC-00497 merged into INC-00311, itself split later, has no single successor)."""
        if not path.is_file():
            return {}
        data = self.parse_json(self.read_text(path), path)
        if not isinstance(data, dict) or not isinstance(data.get("deprecations"), list):
            self.fail(1, "deprecations", "expected an object with a 'deprecations' list", path)
        latest = {}
        for position, entry in enumerate(data["deprecations"], start=1):
            if not isinstance(entry, dict) or not isinstance(entry.get("from"), str):
                self.fail(1, "from", f"deprecation {position} names no retired id", path)
            if entry.get("valid_for_releases"):
                continue  # a mapping that held for some old releases only
            if str(entry.get("date", "")) >= str(latest.get(entry["from"], {}).get("date", "")):
                latest[entry["from"]] = entry

        def single(into):
            if isinstance(into, list) and len(into) == 1:
                into = into[0]
            return into if isinstance(into, str) else None

        successor = {}
        for retired, entry in latest.items():
            target, seen = single(entry.get("into")), {retired}
            while target in latest and target not in seen:
                seen.add(target)
                target = single(latest[target].get("into"))
            if target and target not in seen:
                successor[retired] = target
        return successor

    def read_oecd_relationships(self, path):
        """The AI Incident Database's own list of its incidents that the OECD monitor records
        too (aiid-repo-fixtures/oecd_relationships_*.json)."""
        data = self.parse_json(self.read_text(path), path)
        if not isinstance(data, list):
            self.fail(1, None, "expected a list of {incident_id, sameAs} links", path)
        for position, link in enumerate(data, start=1):
            if not isinstance(link, dict) or not isinstance(link.get("incident_id"), int):
                self.fail(1, "incident_id", f"link {position} names no AIID incident", path)
            same_as = str(link.get("sameAs", ""))
            page = OECD_PAGE.match(urlparse(same_as).path)
            if not same_as.startswith("https://oecd.ai/") or not page:
                self.fail(1, "sameAs", f"link {position}: not an OECD AIM page: {same_as!r}", path)
            self.cross_references.append(
                CrossRef(
                    Dataset.OECD_AIM,
                    page.group(1),
                    Dataset.AIID,
                    str(link["incident_id"]),
                    same_as,
                )
            )

    def check(self, position, entry):
        where = f"record {position}"
        if not isinstance(entry, dict):
            self.fail(1, None, f"{where} is not a JSON object")
        missing = [key for key in REQUIRED if not isinstance(entry.get(key), str)]
        if missing:
            what = ngettext("missing required field", "missing required fields", len(missing))
            name = entry.get("id") if isinstance(entry.get("id"), str) else where
            self.fail(1, missing[0], f"{name}: {what}: {', '.join(missing)}")
        for key in [*LISTS, "cve_ids"]:
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.fail(1, key, f"{entry['id']}: expected a list of strings")
        if not DATE.match(entry["date"]):
            self.fail(1, "date", f"{entry['id']}: not a YYYY, YYYY-MM or YYYY-MM-DD date")

    def record(self, position, identifier, entry):
        reference = entry["primary_reference"].strip()
        address = urlparse(reference)
        host, path = address.netloc.lower().removeprefix("www."), address.path
        if entry.get("status") == "retracted":
            self.skip("records the index retracted")
            return None
        if host == "incidentdatabase.ai":
            if cite := AIID_CITE.match(path):
                self.refer(identifier, reference, Dataset.AIID, cite.group(1))
            self.skip("rows from the AI Incident Database (imported from the original)")
            return None
        if host == "aiaaic.org":
            # The index keeps no AIAAIC id: the reference is resolved by the AIAAIC page.
            self.refer(identifier, reference, Dataset.AIAAIC, "")
            self.skip("rows from the AIAAIC Repository (imported from the original)")
            return None
        if host == "avidml.org" and (page := AVID_PAGE.match(path)):
            self.refer(identifier, reference, Dataset.AVID, page.group(1).upper())
            self.skip("rows from AVID (imported from the original)")
            return None
        if host == "atlas.mitre.org" and (study := ATLAS_STUDY.match(path)):
            self.refer(identifier, reference, Dataset.ATLAS, study.group(1))
            self.skip("rows from MITRE ATLAS (imported from AVID)")
            return None
        # A CVE entry or advisory describes a weakness in a package; a report of one being
        # exploited, which names its CVE too, is kept.
        if host in ADVISORY_HOSTS or (host == "github.com" and path.startswith("/advisories")):
            self.skip("security advisories (CVE, GitHub advisories), which are not incidents")
            return None

        sources = [SourceRef(url=reference, title=entry["title"].strip())]
        if host == "oecd.ai" and (page := OECD_PAGE.match(path)):
            sources[0].publisher = Dataset.OECD_AIM.label.removeprefix("the ")
            self.refer(page.group(1), reference, DATASET, identifier, dataset=Dataset.OECD_AIM)
        year, month, day = DATE.match(entry["date"]).groups()
        precision = (
            Incident.Precision.DAY
            if day
            else Incident.Precision.MONTH
            if month
            else Incident.Precision.YEAR
        )
        values = [(key, entry[name]) for name, key in SINGLE.items() if entry.get(name)]
        values += [(key, value) for name, key in LISTS.items() for value in entry.get(name, [])]
        if entry.get("status"):
            values.append(("genai-status", entry["status"]))
        return Record(
            external_id=identifier,
            line=1,
            title=entry["title"].strip(),
            # The index cuts descriptions at 280 characters ("…"): kept as the summary only.
            summary=entry["description"].strip(),
            url=reference,
            occurred_at=datetime(int(year), int(month or 1), int(day or 1), tzinfo=UTC),
            occurred_precision=precision,
            source_values=unique((key, value.strip()) for key, value in values if value.strip()),
            sources=sources,
            fields={"affected_services": (entry.get("affected") or "").strip()},
        )

    def refer(self, external_id, url, refers_to_dataset, refers_to_id, *, dataset=DATASET):
        self.cross_references.append(
            CrossRef(dataset, external_id, refers_to_dataset, refers_to_id, url)
        )


class _RenumberingWriter(_Writer):
    """A record whose id retired an older one updates the incident imported under the old id
    instead of creating a second one."""

    def __init__(self, importer, now):
        super().__init__(importer, now)
        self.retired_by = defaultdict(list)
        for old, new in importer.successor.items():
            self.retired_by[new].append(old)

    def write(self, record):
        if record.external_id not in self.provenances:
            retired = [o for o in self.retired_by[record.external_id] if o in self.provenances]
            if retired:
                provenance = self.provenances.pop(sorted(retired)[0])
                provenance.external_id = record.external_id
                provenance.save(update_fields=["external_id"])
                self.provenances[record.external_id] = provenance
        return super().write(record)
