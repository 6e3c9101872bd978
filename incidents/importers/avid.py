"""The AI Vulnerability Database (avidml/avid-db): one JSON file per report (`reports/`) or
vulnerability (`vulnerabilities/`), in schema versions 0.1, 0.2 and 0.3.3.

Reports become incidents of the `avid` dataset. Vulnerabilities that are MITRE ATLAS case
studies become incidents of the `atlas` dataset, keyed by their ATLAS id where the case study's
page is linked; those that copy an AI Incident Database incident become cross-references to
it; a vulnerability summarising reports that are in the folder becomes a cross-reference to
the first of them; any other vulnerability is an incident of its own.

Nothing happened in an evaluation, a CVE entry or an advisory: AVID records weaknesses found,
so the crosswalk (`crosswalk/avid.csv`) makes hazards of them by their class and problem type,
each with its rule; an ATLAS case study's class says nothing of its kind.
"""

import json
import re
from datetime import UTC, datetime
from urllib.parse import urlparse

from django.utils.dateparse import parse_date

from incidents.models import Dataset, IncidentOrganisation
from incidents.vocabularies import Vocabulary

from .base import CrossRef, Importer, Record, SourceRef, unique

LISTED = "a JSON list"
AVID = Dataset.AVID
VOCABULARIES = [
    Vocabulary("avid-risk-domain", AVID, "impact.avid.risk_domain", "AVID risk domain", LISTED),
    Vocabulary("avid-sep-view", AVID, "impact.avid.sep_view", "AVID SEP view", LISTED),
    Vocabulary(
        "avid-lifecycle-view", AVID, "impact.avid.lifecycle_view", "AVID lifecycle stage", LISTED
    ),
    Vocabulary("avid-classof", AVID, "problemtype.classof", "AVID class of problem"),
    Vocabulary("avid-problem-type", AVID, "problemtype.type", "AVID problem type"),
]
ROLES = {
    "developer": IncidentOrganisation.Role.DEVELOPER,
    "deployer": IncidentOrganisation.Role.DEPLOYER,
}
AIID_CITE = re.compile(r"^https?://incidentdatabase\.ai/cite/(\d+)/?$")
ATLAS_STUDY = re.compile(r"^https://atlas\.mitre\.org/studies/(AML\.CS\d+)/?$")
ATLAS_CASE_STUDY = "ATLAS Case Study"
AIID_INCIDENT = "AIID Incident"


def page(identifier):
    return f"https://avidml.org/database/{identifier.lower()}/"


class AVIDImporter(Importer):
    dataset = Dataset.AVID
    licence = "MIT"
    description = "AI Vulnerability Database: the avid-db folder (reports/ and vulnerabilities/)"
    vocabularies = VOCABULARIES

    def records(self):
        folder = self.path
        if not folder.is_dir():
            self.fail(None, None, "expected the avid-db folder, with reports/ and vulnerabilities/")
        documents = []
        for kind in ("reports", "vulnerabilities"):
            for path in sorted((folder / kind).glob("*/*.json")):
                documents.append((kind, path, self.document(path)))
        if not documents:
            self.fail(None, None, "no reports/*/*.json or vulnerabilities/*/*.json files here")
        report_ids = {
            doc["metadata"]["report_id"] for kind, _, doc in documents if kind == "reports"
        }
        folded = 0
        for kind, path, doc in documents:
            if kind == "reports":
                if self.dataset == Dataset.AVID:
                    yield self.record(path, doc, doc["metadata"]["report_id"], Dataset.AVID)
                continue
            vuln_id = doc["metadata"]["vuln_id"]
            classof = doc["problemtype"].get("classof") or ""
            urls = [ref["url"] for ref in doc["references"]]
            if (classof == ATLAS_CASE_STUDY) != (self.dataset == Dataset.ATLAS):
                continue  # the other importer's record
            if classof == AIID_INCIDENT:
                cited = [m.group(1) for url in urls if (m := AIID_CITE.match(url))]
                if not cited:
                    self.fail(1, "references", "an AIID Incident without its AIID link", path)
                self.cross_references.append(
                    CrossRef(Dataset.AVID, vuln_id, Dataset.AIID, cited[0], page(vuln_id))
                )
                folded += 1
                continue
            listed = [r.get("report_id") for r in doc.get("reports") or [] if isinstance(r, dict)]
            present = [report for report in listed if report in report_ids]
            if classof != ATLAS_CASE_STUDY and present:
                self.cross_references.append(
                    CrossRef(Dataset.AVID, vuln_id, Dataset.AVID, present[0], page(vuln_id))
                )
                folded += 1
                continue
            if classof == ATLAS_CASE_STUDY:
                studies = [m.group(1) for url in urls if (m := ATLAS_STUDY.match(url))]
                atlas_id = studies[0] if studies else vuln_id
                self.cross_references.append(
                    CrossRef(Dataset.AVID, vuln_id, Dataset.ATLAS, atlas_id, page(vuln_id))
                )
                yield self.record(path, doc, atlas_id, Dataset.ATLAS)
            else:
                yield self.record(path, doc, vuln_id, Dataset.AVID)
        if folded:
            self.notes.append(
                f"{folded} vulnerabilities kept as cross-references: they copy an AI Incident "
                "Database incident or summarise reports imported here"
            )
            self.skipped += folded

    def document(self, path):
        doc = self.parse_json(self.read_text(path), path)
        if not isinstance(doc, dict):
            self.fail(1, None, "expected a JSON object", path)
        for key in ("metadata", "affects", "problemtype", "description"):
            if not isinstance(doc.get(key), dict):
                self.fail(self.line_of(path, key), key, "missing or not an object", path)
        kind = "report_id" if path.parent.parent.name == "reports" else "vuln_id"
        identifier = doc["metadata"].get(kind)
        if not isinstance(identifier, str) or not identifier.strip():
            self.fail(self.line_of(path, "metadata"), f"metadata.{kind}", "missing", path)
        references = doc.get("references") or []
        if not isinstance(references, list) or not all(
            isinstance(r, dict) and isinstance(r.get("url"), str) for r in references
        ):
            self.fail(self.line_of(path, "references"), "references", "each needs a url", path)
        doc["references"] = references
        return doc

    def line_of(self, path, key):
        text = self.read_text(path)
        found = text.find(json.dumps(key) + ":")
        return text.count("\n", 0, found) + 1 if found >= 0 else 1

    def record(self, path, doc, external_id, dataset):
        problem = doc["problemtype"]
        title = " ".join(str((problem.get("description") or {}).get("value") or "").split())
        affects = doc["affects"]
        organisations = [
            (name.strip(), role)
            for key, role in ROLES.items()
            for name in affects.get(key) or []
            if isinstance(name, str) and name.strip()
        ]
        systems = [
            artifact["name"].strip()
            for artifact in affects.get("artifacts") or []
            if isinstance(artifact, dict) and str(artifact.get("name") or "").strip()
        ]
        impact = ((doc.get("impact") or {}).get("avid")) or {}
        values = [
            (key, value)
            for key, field_name in [
                ("avid-risk-domain", "risk_domain"),
                ("avid-sep-view", "sep_view"),
                ("avid-lifecycle-view", "lifecycle_view"),
            ]
            for value in impact.get(field_name) or []
            if isinstance(value, str)
        ]
        values += [
            (key, problem[name])
            for key, name in [("avid-classof", "classof"), ("avid-problem-type", "type")]
            if isinstance(problem.get(name), str) and problem[name].strip()
        ]
        sources = [
            SourceRef(
                url=ref["url"].strip(),
                title=" ".join(str(ref.get("label") or "").split()),
                publisher=urlparse(ref["url"]).netloc.removeprefix("www."),
            )
            for ref in doc["references"]
            if ref["url"].strip().startswith("http")
        ]
        reported = doc.get("reported_date") or doc.get("published_date")
        occurred = None
        if reported:
            try:
                occurred = parse_date(str(reported))
            except ValueError:
                occurred = None
            if occurred is None:
                self.fail(self.line_of(path, "reported_date"), "reported_date", "not a date", path)
        avid_id = doc["metadata"].get("report_id") or doc["metadata"].get("vuln_id")
        record = Record(
            external_id=external_id,
            line=1,
            title=title or avid_id,
            summary=" ".join(str(doc["description"].get("value") or "").split()),
            url=page(avid_id),
            # AVID gives when a weakness was reported, not when it arose.
            occurred_at=datetime(occurred.year, occurred.month, occurred.day, tzinfo=UTC)
            if occurred
            else None,
            organisations=unique(organisations),
            ai_systems=unique(systems),
            source_values=unique((k, v.strip()) for k, v in values if v.strip()),
            sources=sources,
            path=path,
        )
        return record


class ATLASImporter(AVIDImporter):
    """The MITRE ATLAS case studies that AVID carries, read from the same folder."""

    dataset = Dataset.ATLAS
    licence = "Apache-2.0"
    description = "MITRE ATLAS case studies as carried by AVID: the avid-db folder"
