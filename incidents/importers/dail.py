"""The Database of AI Litigation (DAIL, GWU Ethical Tech Initiative): a folder with its four
tables, read into legal cases, not incidents.

The tables join on the case's record number (`Case_Number` in the docket, document and
secondary source tables). The multi-value columns come twice: `X_List` in `'a','b'` syntax and
`X_Text` as free text; the list is read when it is there, else the text split at semicolons
(never at commas: "Corrections and Conditional Release Act, S.C. 1992, c. 20" is one value).
Dates the source gives only in part ("2015", "9/2015") are kept as written, with no date.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from django.utils.text import slugify

from incidents.models import (
    CaseDocument,
    CaseSecondarySource,
    Dataset,
    Docket,
    LegalCase,
)
from incidents.models.legal import DAIL_LICENCE
from incidents.services.legal_links import legal_case_links_find
from incidents.untrusted import field_limit
from incidents.web_addresses import web_address_problem

from .base import Importer, Record, unique

TABLES = {
    "cases": "Case_Table",
    "dockets": "Docket_Table",
    "documents": "Document_Table",
    "secondary": "Secondary_Source_Coverage_Table",
}
LISTS = {
    "areas_of_application": "Area_of_Application",
    "causes_of_action": "Cause_of_Action",
    "issues": "Issue",
    "algorithm_names": "Name_of_Algorithm",
}
CASE_COLUMNS = ["Record_Number", "Caption"]
CHILD_COLUMNS = {
    "dockets": ["Case_Number", "id", "court", "number", "link"],
    "documents": ["Case_Number", "id", "court", "date", "link", "cite_or_reference", "document"],
    "secondary": ["Case_Number", "id", "Secondary_Source_Link", "Secondary_Source_Title"],
}
LIST_SYNTAX = re.compile(r"'(?:[^']|'')*'(?:\s*,\s*'(?:[^']|'')*')*")
LIST_ITEM = re.compile(r"'((?:[^']|'')*)'")
DATE_FORMATS = ["%m/%d/%Y", "%m/%d/%y", "%m.%d.%Y", "%B %d %Y", "%b %d %Y", "%Y-%m-%d"]
LEVEL = re.compile(r"\s*(federal|state|international)\b", re.IGNORECASE)
STATUS_GROUPS = {"active": "Active", "inactive": "Inactive"}


@dataclass
class DocketRef:
    external_id: str
    court: str
    number: str
    link: str


@dataclass
class DocumentRef:
    external_id: str
    court: str
    date: str
    dated_on: object
    link: str
    citation: str
    title: str


@dataclass
class SecondaryRef:
    external_id: str
    title: str
    link: str


@dataclass
class CaseRecord(Record):
    """A `Record` whose title is the caption; what a case is made of is in `case`."""

    case: dict = field(default_factory=dict)
    dockets: list[DocketRef] = field(default_factory=list)
    documents: list[DocumentRef] = field(default_factory=list)
    secondary_sources: list[SecondaryRef] = field(default_factory=list)


def parse_date(text):
    """A whole date in one of the forms DAIL uses, or None (the text is kept as written)."""
    text = " ".join(text.split())
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


def _one_line(text):
    return " ".join(text.split())


class DAILImporter(Importer):
    dataset = Dataset.DAIL
    licence = DAIL_LICENCE
    description = (
        "the Database of AI Litigation: a folder with its Case, Docket, Document and "
        "Secondary_Source_Coverage tables (CSV), imported as legal cases"
    )

    def table(self, name):
        prefix = TABLES[name]
        if not self.path.is_dir():
            self.fail(None, None, "expected the folder holding the four DAIL tables")
        found = sorted(self.path.glob(f"{prefix}*.csv"))
        if len(found) != 1:
            what = "no file" if not found else f"{len(found)} files"
            self.fail(None, None, f"{what} named {prefix}*.csv in this folder: expected one")
        return found[0]

    def rows(self, name, columns):
        path = self.table(name)
        for position, (line, row) in enumerate(self.read_csv(path)):
            if position == 0:
                self.require_columns(path, line, row, columns)
            yield path, line, {key: value.strip() for key, value in row.items()}

    def check(self, path, line, label, value, model, model_field):
        limit = field_limit(model, model_field)
        if len(value) > limit:
            self.fail(line, label, f"{len(value):,} characters; at most {limit:,} fit", path)
        return value

    def link(self, path, line, label, value, model):
        if problem := web_address_problem(value):
            if urlsplit(value).scheme:  # javascript:, data: and the like are refused
                self.fail(line, label, problem, path)
            # Plain words where a link belongs ("In Re Clearview"): no address to keep.
            self.notes.append(
                f"{path.name}, line {line}, field {label!r}: {value!r} is not a web address; "
                "kept without a link."
            )
            return ""
        return self.check(path, line, label, value, model, "link")

    def values(self, path, line, row, column):
        """A multi-value column: its `_List` version when given, else its `_Text` split at ';'."""
        listed = row.get(f"{column}_List", "")
        if listed:
            if not LIST_SYNTAX.fullmatch(listed):
                self.fail(
                    line, f"{column}_List", f"expected a list like 'a','b', got {listed!r}", path
                )
            items = [item.replace("''", "'") for item in LIST_ITEM.findall(listed)]
        else:
            items = row.get(f"{column}_Text", "").split(";")
        return unique(_one_line(item) for item in items if item.strip())

    def children(self, known):
        """{record number: {"dockets": [...], "documents": [...], "secondary": [...]}}."""
        found = {number: {name: [] for name in CHILD_COLUMNS} for number in known}
        for name, columns in CHILD_COLUMNS.items():
            seen = {}
            for path, line, row in self.rows(name, columns):
                number, external_id = row["Case_Number"], row["id"]
                if number not in known:
                    self.fail(line, "Case_Number", f"no case with record number {number!r}", path)
                if external_id in seen:
                    self.fail(
                        line, "id", f"id {external_id!r} already on line {seen[external_id]}", path
                    )
                seen[external_id] = line
                found[number][name].append(self.child(name, path, line, row))
        return found

    def child(self, name, path, line, row):
        if name == "dockets":
            return DocketRef(
                external_id=row["id"],
                court=self.check(path, line, "court", row["court"], Docket, "court"),
                number=self.check(path, line, "number", row["number"], Docket, "number"),
                link=self.link(path, line, "link", row["link"], Docket),
            )
        if name == "documents":
            return DocumentRef(
                external_id=row["id"],
                court=self.check(path, line, "court", row["court"], CaseDocument, "court"),
                date=self.check(path, line, "date", row["date"], CaseDocument, "date"),
                dated_on=parse_date(row["date"]),
                link=self.link(path, line, "link", row["link"], CaseDocument),
                citation=self.check(
                    path,
                    line,
                    "cite_or_reference",
                    row["cite_or_reference"],
                    CaseDocument,
                    "citation",
                ),  # fmt: skip
                title=self.check(path, line, "document", row["document"], CaseDocument, "title"),
            )
        link = row["Secondary_Source_Link"]
        if not link:
            self.fail(line, "Secondary_Source_Link", "a secondary source needs a link", path)
        return SecondaryRef(
            external_id=row["id"],
            title=self.check(
                path,
                line,
                "Secondary_Source_Title",
                row["Secondary_Source_Title"],
                CaseSecondarySource,
                "title",
            ),  # fmt: skip
            link=self.link(path, line, "Secondary_Source_Link", link, CaseSecondarySource),
        )

    def records(self):
        cases = []
        for path, line, row in self.rows("cases", CASE_COLUMNS):
            if not row["Record_Number"]:
                self.fail(line, "Record_Number", "a case needs its record number", path)
            if not row["Caption"]:
                self.fail(line, "Caption", "a case needs a caption", path)
            cases.append((path, line, row))
        children = self.children({row["Record_Number"] for _, _, row in cases})
        for path, line, row in cases:
            yield self.case(path, line, row, children[row["Record_Number"]])

    def case(self, path, line, row, children):
        def text(column, model_field):
            return self.check(path, line, column, row.get(column, ""), LegalCase, model_field)

        jurisdiction = text("Jurisdiction_Filed", "jurisdiction")
        status = text("Status_Disposition", "status")
        level = LEVEL.match(jurisdiction)
        class_action = (row.get("Class_Action") or row.get("Class_Action_list", "")).strip("'")
        case = {
            "caption": text("Caption", "caption"),
            "brief_description": row.get("Brief_Description", ""),
            "jurisdiction": jurisdiction,
            "jurisdiction_level": level.group(1).capitalize() if level else "",
            "filed": text("Date_Action_Filed", "filed"),
            "filed_on": parse_date(row.get("Date_Action_Filed", "")),
            "status": status,
            "status_group": STATUS_GROUPS.get(status.split(":")[0].strip().casefold(), ""),
            "class_action": {"yes": True, "no": False}.get(class_action.casefold()),
            "published_opinions": text("Published_Opinions", "published_opinions"),
            "parties": row.get("Organizations_involved", ""),
            "summary_of_significance": row.get("Summary_of_Significance", ""),
            "facts_to_date": row.get("Summary_Facts_Activity_to_Date", ""),
            "most_recent_activity": row.get("Most_Recent_Activity", ""),
            "most_recent_activity_on": parse_date(row.get("Most_Recent_Activity_Date", "")),
            "added_on": parse_date(row.get("Date_Added", "")),
            "last_updated_on": parse_date(row.get("Last_Update", "")),
        }
        for name, column in LISTS.items():
            case[name] = self.values(path, line, row, column)
        return CaseRecord(
            external_id=row["Record_Number"],
            line=line,
            title=case["caption"],
            path=path,
            case=case,
            dockets=children["dockets"],
            documents=children["documents"],
            secondary_sources=children["secondary"],
        )

    def writer(self, now):
        return _LegalCaseWriter(self, now)


class _LegalCaseWriter:
    """Writes legal cases keyed by record number; their dockets, documents and secondary
    sources follow the file exactly. Links to incidents are looked for once, at the end."""

    def __init__(self, importer, now):
        self.importer, self.now = importer, now
        self.cases = {case.record_number: case for case in LegalCase.objects.all()}
        self.slugs = {case.slug for case in self.cases.values()}

    def incident_id(self, record):
        return None  # a legal case is not an incident: nothing to reindex or compare

    def incident_to_update(self, record):
        return None  # nor any incident history to write

    def slug(self, record):
        slug = slugify(record.title)[:100] or "case"
        if slug in self.slugs:
            slug = f"{slug}-{record.external_id}"[:120]
        self.slugs.add(slug)
        return slug

    def write(self, record) -> str:
        fingerprint = record.fingerprint()
        case = self.cases.get(record.external_id)
        if case and case.content_hash == fingerprint:
            return "unchanged"
        outcome = "updated" if case else "created"
        if case is None:
            case = LegalCase(record_number=record.external_id, slug=self.slug(record))
            self.cases[record.external_id] = case
        for name, value in record.case.items():
            setattr(case, name, value)
        case.licence = self.importer.licence
        case.imported_at = self.now
        case.content_hash = fingerprint
        case.save()
        case.dockets.all().delete()
        Docket.objects.bulk_create(Docket(case=case, **vars(docket)) for docket in record.dockets)
        case.documents.all().delete()
        CaseDocument.objects.bulk_create(
            CaseDocument(case=case, **vars(document)) for document in record.documents
        )
        case.secondary_sources.all().delete()
        CaseSecondarySource.objects.bulk_create(
            CaseSecondarySource(case=case, **vars(source)) for source in record.secondary_sources
        )
        return outcome

    def finish(self):
        linked, suggested = legal_case_links_find()
        self.importer.notes.append(
            f"Legal cases linked to incidents on evidence: {linked}; "
            f"suggestions waiting for an editor: {suggested}."
        )
