"""What every importer shares: the neutral record, clear errors, and the all-or-nothing upsert.

An importer only reads its format into `Record`s; `run_import` writes them. Records are read
and validated in full before anything is written, then written in one transaction, matched to
existing incidents by (dataset, external id).
"""

import csv
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import ngettext

from incidents import duplicates, queueing, semantic
from incidents.dashboards.summaries import SummaryChange
from incidents.importers.history import ImportHistory, origin_label
from incidents.models import (
    AISystem,
    CrossReference,
    Dataset,
    Derivation,
    Incident,
    IncidentOrganisation,
    Organisation,
    OrganisationAlias,
    PerpetratorKind,
    Provenance,
    Source,
    SourceTerm,
    Tag,
)
from incidents.parties import kind_for, party_key, surer_kind
from incidents.search_index import search_index_update
from incidents.services import followups
from incidents.services.crosswalk import (
    CrosswalkFileError,
    Deriver,
    crosswalk_load,
    incidents_reached,
    incidents_rederive,
    source_terms_replace,
)
from incidents.untrusted import MAX_FIELD_CHARS, Unreadable, decode, field_limit, load_json
from incidents.vocabularies import Vocabulary
from incidents.web_addresses import web_address_problem


class ImportFailed(Exception):
    """Bad input. Says where: file, line and field."""

    def __init__(self, path, line, field_name, message):
        self.path, self.line, self.field_name, self.message = str(path), line, field_name, message
        where = f"{Path(path).name}, line {line}" if line else Path(path).name
        if field_name:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {message}")


@dataclass
class SourceRef:
    url: str
    publisher: str = ""
    title: str = ""
    published_on: date | None = None
    stance: str = Source.Stance.REPORTS


@dataclass(frozen=True)
class CrossRef:
    """Another dataset's record (`dataset`, `external_id`, `url`) of the incident imported as
    (`refers_to_dataset`, `refers_to_id`); see `CrossReference`."""

    dataset: str
    external_id: str
    refers_to_dataset: str
    refers_to_id: str = ""
    url: str = ""


@dataclass
class Record:
    """One incident as a source dataset describes it; what the source lacks stays empty."""

    external_id: str
    line: int
    title: str
    summary: str = ""
    narrative: str = ""
    url: str = ""
    occurred_at: datetime | None = None
    occurred_precision: str = Incident.Precision.DAY
    perpetrator: str = ""
    organisations: list[tuple[str, str]] = field(default_factory=list)
    ai_systems: list[str] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    # (vocabulary key, value exactly as the source gives it), one value each, for the
    # vocabularies the importer declares; the crosswalk maps them to house tags and fields.
    source_values: list[tuple[str, str]] = field(default_factory=list)
    sources: list[SourceRef] = field(default_factory=list)
    fields: dict = field(default_factory=dict)
    verification: str = ""  # the source's own verification label, kept on the provenance
    path: Path | None = None  # the file it was read from, when not the importer's own

    def fingerprint(self):
        data = asdict(self)
        del data["line"], data["path"]
        if not data["verification"]:
            del data["verification"]  # so records of sources without one keep their fingerprint
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class ImportSummary:
    dataset: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    flagged: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    def __str__(self):
        prefix = "Dry run, nothing written. Would have: " if self.dry_run else ""
        return (
            f"{prefix}{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.skipped} skipped, {self.flagged} likely duplicates flagged "
            f"in {self.seconds:.1f} s"
        )


class Importer:
    dataset: Dataset
    licence = ""
    description = ""
    vocabularies: list[Vocabulary] = []  # the source fields whose values it keeps
    # How it spells the parties it names; a format naming them by slug says so, and a
    # proper spelling from another source then replaces its guess.
    party_names = Organisation.NameSource.SOURCE
    # A source that publishes what it has not checked: an incident only it describes is
    # shown as unverified.
    unverified = False

    def __init__(self, path):
        self.path = Path(path)
        self.skipped = 0
        self.notes = []
        self.cross_references: list[CrossRef] = []

    def records(self) -> Iterator[Record]:
        raise NotImplementedError

    def writer(self, now):
        """What writes the records; a format that carries more than `Record` brings its own."""
        return _Writer(self, now)

    def origin(self):
        """What the records were read from, for the history: the snapshot or the file."""
        path = self.path
        return origin_label(path.name, path.parent.name if path.is_file() else "")

    def fail(self, line, field_name, message, path=None):
        raise ImportFailed(path or self.path, line, field_name, message)

    def read_text(self, path=None, *, missing="file not found"):
        """A UTF-8 text file, whole, without a byte-order mark; a byte that is not UTF-8 is
        refused naming its line and column. Files are bounded by what the site unpacks
        (MAX_UNPACKED_BYTES), or by the operator's own disk."""
        path = Path(path or self.path)
        if not path.is_file():
            self.fail(None, None, missing, path)
        try:
            return decode(path.read_bytes())
        except Unreadable as error:
            message = f"not valid UTF-8 text at column {error.column}: {error.problem}"
            self.fail(error.line, None, message, path)

    def parse_json(self, text, path=None):
        try:
            return load_json(text)
        except json.JSONDecodeError as error:
            self.fail(
                error.lineno, None, f"not valid JSON: {error.msg} at column {error.colno}", path
            )
        except Unreadable as error:
            self.fail(None, None, str(error), path)

    def read_rows(self, path) -> Iterator[tuple[int, list[str]]]:
        """Non-blank rows of a UTF-8 CSV as (line number, cells), with clear errors for
        undecodable bytes, unterminated quotes and oversized fields."""
        path = Path(path)
        if not path.is_file():
            self.fail(None, None, "file not found", path)
        csv.field_size_limit(MAX_FIELD_CHARS)
        empty = True
        # Read as a stream, a buffer at a time; the decoder's position is only that of its
        # buffer, so a byte that is not UTF-8 is placed by reading the file again.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            try:
                for row in reader:
                    empty = False
                    if any(cell.strip() for cell in row):
                        yield reader.line_num, row
            except UnicodeDecodeError:
                self.read_text(path)
                raise  # not reached: the whole file failed to decode just as its buffer did
            except csv.Error as error:
                message = str(error)
                if "field larger" in message:
                    message = f"a field is longer than {MAX_FIELD_CHARS:,} characters"
                elif "EOF" in message or "end of data" in message:
                    message = "the file ends inside a quoted field: it looks truncated"
                self.fail(reader.line_num, None, message, path)
        if empty:
            self.fail(None, None, "the file is empty", path)

    def read_csv(self, path) -> Iterator[tuple[int, dict]]:
        """Rows as (line number, {column: value}), the first row naming the columns."""
        header = None
        for line, row in self.read_rows(path):
            if header is None:
                header = [column.strip() for column in row]
            else:
                yield line, dict(zip(header, row, strict=False))

    def require_columns(self, path, line, row, columns):
        missing = [column for column in columns if column not in row]
        if missing:
            what = ngettext("missing required column", "missing required columns", len(missing))
            self.fail(line, missing[0], f"{what}: {', '.join(missing)}", path)

    @staticmethod
    def day(value):
        return datetime(value.year, value.month, value.day, tzinfo=UTC) if value else None


def read_all(importer) -> list[Record]:
    """Every record, validated; a repeated external id is an error naming both lines, and an
    address that is not a web address (a `javascript:` source) is refused, whatever the format."""
    seen = {}
    records = []
    for record in importer.records():
        if not record.title.strip():
            importer.fail(record.line, "title", "an incident needs a title")
        check_lengths(importer, record)
        if record.external_id in seen:
            importer.fail(
                record.line,
                "id",
                f"external id {record.external_id!r} already appears on line "
                f"{seen[record.external_id]}",
            )
        seen[record.external_id] = record.line
        declared = {vocabulary.key for vocabulary in importer.vocabularies}
        for key, _ in record.source_values:
            if key not in declared:
                importer.fail(record.line, key, "not a vocabulary this importer declares")
        for field_name, address in [("url", record.url)] + [
            ("sources", ref.url) for ref in record.sources
        ]:
            if problem := web_address_problem(address):
                importer.fail(record.line, field_name, problem)
        records.append(record)
    return records


def _texts(record):
    """(field, text, model, model field) for every text of a record that is stored."""
    yield "id", record.external_id, Provenance, "external_id"
    yield "title", record.title, Incident, "title"
    yield "summary", record.summary, Incident, "summary"
    yield "narrative", record.narrative, Incident, "narrative"
    yield "url", record.url, Provenance, "url"
    for name, _ in record.organisations:
        yield "organisations", name, Organisation, "name"
    for name in record.ai_systems:
        yield "ai_systems", name, AISystem, "name"
    for *_, name in record.tags:
        yield "tags", name, Tag, "name"
    for key, value in record.source_values:
        yield key, value, SourceTerm, "value"
    for ref in record.sources:
        yield "sources.url", ref.url, Source, "url"
        yield "sources.publisher", ref.publisher, Source, "publisher"
        yield "sources.title", ref.title, Source, "title"
    for name, value in record.fields.items():
        if isinstance(value, str):
            yield name, value, Incident, name


def check_lengths(importer, record):
    """A text longer than its field holds is refused naming the record and the field, never
    cut short: a cut title or name reads as if the source had said it."""
    for field_name, text, model, model_field in _texts(record):
        limit = field_limit(model, model_field)
        if len(text) > limit:
            importer.fail(
                record.line,
                field_name,
                f"{record.external_id[:100]}: {len(text):,} characters, and at most {limit:,} "
                "fit in this field",
                record.path,
            )


class _Writer:
    """Writes records with in-memory lookups so each incident costs a handful of queries."""

    def __init__(self, importer, now):
        self.importer = importer
        self.now = now
        self.organisations = {o.slug: o for o in Organisation.objects.all()}
        self.aliases = {
            a.slug: self.organisations[a.organisation.slug]
            for a in OrganisationAlias.objects.select_related("organisation")
        }
        self.party_keys = {}
        for slug, party in [*self.organisations.items(), *self.aliases.items()]:
            self.party_keys.setdefault(party_key(slug), party)
        self.tags = {(t.facet, t.slug): t for t in Tag.objects.all()}
        self.systems = {s.slug: s for s in AISystem.objects.filter(vendor=None)}
        self.perpetrators = {p.slug: p for p in PerpetratorKind.objects.all()}
        self.provenances = {
            p.external_id: p
            for p in Provenance.objects.filter(dataset=importer.dataset).select_related("incident")
        }
        self.vocabularies = [vocabulary.key for vocabulary in importer.vocabularies]
        self.terms = {
            (t.vocabulary, t.slug): t
            for t in SourceTerm.objects.filter(vocabulary__in=self.vocabularies)
        }
        self.deriver = Deriver(vocabulary_order=self.vocabularies, tag=self.tag)

    def incident_id(self, record):
        return self.provenances[record.external_id].incident_id

    def incident_to_update(self, record):
        """The id of the incident this record will change, if any, before it is written."""
        provenance = self.provenances.get(record.external_id)
        if provenance and provenance.content_hash != record.fingerprint():
            return provenance.incident_id
        return None

    def finish(self):
        """Called once after every record was written, inside the transaction."""

    def organisation(self, name, role=None):
        """The party a source names, in the role it gives it: found by slug, alias or key
        ("Open AI" is OpenAI), created when new. The spelling improves when this source
        spells it better than the one before (an alias is another name, not a better one);
        the kind when the role says more."""
        slug = slugify(name)[:200]
        alias = self.aliases.get(slug)
        party = self.organisations.get(slug) or alias or self.party_keys.get(party_key(name))
        if party is None:
            party = Organisation.objects.create(
                name=name,
                slug=slug,
                kind=kind_for(name, role),
                name_source=self.importer.party_names,
            )
            self.organisations[slug] = party
            self.party_keys.setdefault(party_key(name), party)
            return party
        changed = []
        better = self.importer.party_names > party.name_source and party is not alias
        if better and party.name != name:
            party.name, party.name_source = name, self.importer.party_names
            changed += ["name", "name_source"]
        kind = surer_kind(party.kind, kind_for(name, role))
        if not party.kind_set_by_editor and kind != party.kind:
            party.kind = kind
            changed.append("kind")
        if changed:
            party.save(update_fields=[*changed, "updated_at"])
        return party

    def tag(self, facet, name):
        key = (facet, slugify(name)[:100])
        if key not in self.tags:
            self.tags[key] = Tag.objects.create(facet=facet, name=name, slug=key[1])
        return self.tags[key]

    def system(self, name):
        slug = slugify(name)[:200]
        if slug not in self.systems:
            self.systems[slug] = AISystem.objects.create(name=name, slug=slug)
        return self.systems[slug]

    def write(self, record) -> str:
        """Create or update one record's incident; returns 'created', 'updated' or 'unchanged'."""
        fingerprint = record.fingerprint()
        provenance = self.provenances.get(record.external_id)
        if provenance and provenance.content_hash == fingerprint:
            return "unchanged"
        if provenance:
            incident = provenance.incident
            outcome = "updated"
        else:
            incident = Incident(
                status=Incident.Status.PUBLISHED,
                visibility=Incident.Visibility.PUBLIC,
                published_at=self.now,
            )
            outcome = "created"
        incident.title = record.title
        incident.summary = record.summary
        incident.narrative = record.narrative
        incident.occurred_at = record.occurred_at
        incident.occurred_precision = record.occurred_precision
        if record.perpetrator or not self.vocabularies:
            incident.perpetrator = self.perpetrators.get(record.perpetrator)
        for name, value in record.fields.items():
            setattr(incident, name, value)
        if self.vocabularies:
            terms = self.source_terms(record)
            derivations = (
                list(incident.derivations.select_related("source_term", "entry"))
                if provenance
                else []
            )
            plan = self.deriver.derive_fields(incident, terms, derivations)
        incident.save()

        # An incident merged from several datasets keeps what each contributed; one that only
        # this dataset describes follows the dataset exactly.
        replace = outcome == "created" or incident.provenances.count() <= 1
        self.write_relations(incident, record, replace=replace)
        if self.vocabularies:
            source_terms_replace(incident=incident, terms=terms, vocabularies=self.vocabularies)
            plan.write()
        if provenance:
            provenance.content_hash = fingerprint
            provenance.url = record.url
            provenance.imported_at = self.now
            provenance.licence = self.importer.licence
            provenance.verification = record.verification
            provenance.save()
        else:
            self.provenances[record.external_id] = Provenance.objects.create(
                incident=incident,
                dataset=self.importer.dataset,
                external_id=record.external_id,
                url=record.url,
                licence=self.importer.licence,
                imported_at=self.now,
                content_hash=fingerprint,
                verification=record.verification,
            )
        return outcome

    def source_terms(self, record):
        """The record's source terms, creating those not seen before in one query."""
        keys = unique(
            (key, SourceTerm.slug_for(value), value) for key, value in record.source_values
        )
        missing = {
            (key, slug): SourceTerm(vocabulary=key, value=value, slug=slug)
            for key, slug, value in keys
            if (key, slug) not in self.terms
        }
        for term in SourceTerm.objects.bulk_create(missing.values()):
            self.terms[(term.vocabulary, term.slug)] = term
        return unique(self.terms[(key, slug)] for key, slug, _ in keys)

    def write_relations(self, incident, record, *, replace):
        if replace:
            incident.organisation_roles.all().delete()
            incident.tags.clear()
            incident.ai_systems.clear()
            incident.sources.all().delete()
        roles = {(self.organisation(name, role).pk, role) for name, role in record.organisations}
        IncidentOrganisation.objects.bulk_create(
            [IncidentOrganisation(incident=incident, organisation_id=o, role=r) for o, r in roles],
            ignore_conflicts=True,
        )
        incident.tags.add(*{self.tag(facet, name) for facet, name in record.tags})
        incident.ai_systems.add(*{self.system(name) for name in record.ai_systems})
        Source.objects.bulk_create(
            [
                Source(
                    incident=incident,
                    url=ref.url,
                    publisher=ref.publisher,
                    title=ref.title,
                    published_on=ref.published_on,
                    stance=ref.stance,
                )
                for ref in {ref.url: ref for ref in record.sources}.values()
            ],
            ignore_conflicts=True,
        )


# An import writing at least this many incidents refreshes PostgreSQL's planner statistics.
ANALYZE_AFTER = 200
# The tables an import fills and the follow-up work (summaries, related incidents) reads.
ANALYZED_TABLES = [
    Incident,
    IncidentOrganisation,
    Organisation,
    Incident.tags.through,
    Tag,
    Source,
    Provenance,
    Derivation,
    SourceTerm.incidents.through,
]


def planner_statistics_refresh():
    """ANALYZE the tables a large import filled. Autovacuum analyses them only some time
    later; until then PostgreSQL plans the follow-up queries on the counts of the empty or
    smaller tables it last saw (one dashboard ranking took 55 s instead of 0.1 s)."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in ANALYZED_TABLES)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def run_import(
    importer: Importer,
    *,
    dry_run=False,
    progress: Callable[[int, int], None] | None = None,
    origin="",
) -> ImportSummary:
    """Read, validate, then write every record in one transaction (rolled back on a dry run).
    `origin` names what was read in the history ("snapshot 2026-02"), when the path cannot."""
    started = time.monotonic()
    records = read_all(importer)
    summary = ImportSummary(
        dataset=importer.dataset, dry_run=dry_run, skipped=importer.skipped, notes=importer.notes
    )
    history = ImportHistory(
        note=f"Imported from {Dataset(importer.dataset).label} {origin or importer.origin()}"
    )
    with transaction.atomic():
        try:
            crosswalk_changed = crosswalk_load(
                dataset=importer.dataset, vocabularies=importer.vocabularies
            )
        except CrosswalkFileError as error:
            raise ImportFailed(error.path, error.line, error.field_name, error.message) from error
        writer = importer.writer(timezone.now())
        to_update = list(filter(None, map(writer.incident_to_update, records)))
        history.remember(to_update)
        summaries_change = SummaryChange(to_update)  # the dashboard rows they are in now
        touched = {"created": [], "updated": []}
        for position, record in enumerate(records, start=1):
            outcome = writer.write(record)
            setattr(summary, outcome, getattr(summary, outcome) + 1)
            # A writer of records that are not incidents (legal cases) names no incident.
            if outcome != "unchanged" and (incident_id := writer.incident_id(record)):
                touched[outcome].append(incident_id)
            if progress:
                progress(position, len(records))
        writer.finish()
        history.write(**touched)
        touched = touched["created"] + touched["updated"]
        rederived = 0
        if crosswalk_changed:
            # Entries new to the seed file reach incidents this import left unchanged.
            reached = incidents_reached(crosswalk_changed) - set(touched)
            summaries_change.watch(reached)
            rederived = incidents_rederive(
                incident_ids=reached, vocabulary_order=writer.vocabularies
            )
        write_cross_references(importer.cross_references)
        resolved = 0
        for dataset in {importer.dataset} | {
            ref.refers_to_dataset for ref in importer.cross_references
        }:
            while found := resolve_cross_references(dataset):
                resolved += found  # a reference resolved may be what another one points through
        search_index_update(touched)  # one UPDATE; a no-op except on PostgreSQL
        if len(touched) >= ANALYZE_AFTER and not dry_run:
            planner_statistics_refresh()
        # Matching by meaning needs the new incidents' vectors, which the worker makes first.
        flag_later = semantic.enabled() and bool(touched or resolved)
        if not semantic.enabled() and (touched or resolved):
            summary.flagged = duplicates.flag_duplicates(touched)
        if dry_run:
            transaction.set_rollback(True)
        else:
            if flag_later:
                queueing.duplicates_flag(touched)
                summary.notes.append("Likely duplicates are flagged by the worker.")
            if touched or rederived:
                followups.incidents_imported(
                    incident_ids=touched, summaries_change=summaries_change
                )
    summary.seconds = time.monotonic() - started
    return summary


def write_cross_references(references: Iterable[CrossRef]):
    """Record each cross-reference once, attached to its incident when that is imported
    already and waiting with none otherwise; a re-import adds nothing new."""
    existing = {
        (r.dataset, r.external_id, r.refers_to_dataset, r.refers_to_id): r
        for r in CrossReference.objects.filter(dataset__in={ref.dataset for ref in references})
    }
    for ref in unique(references):
        key = (ref.dataset, ref.external_id, ref.refers_to_dataset, ref.refers_to_id)
        stored = existing.get(key)
        if stored is None:
            existing[key] = CrossReference.objects.create(
                dataset=ref.dataset,
                external_id=ref.external_id,
                url=ref.url,
                refers_to_dataset=ref.refers_to_dataset,
                refers_to_id=ref.refers_to_id,
            )
        elif stored.url != ref.url:
            stored.url = ref.url
            stored.save(update_fields=["url"])


def resolve_cross_references(dataset):
    """Attach the cross-references waiting for a record of `dataset` to its incident, now
    that it may be imported: by id, or by the record's original URL when the id is unknown."""
    pending = list(CrossReference.objects.filter(refers_to_dataset=dataset, incident=None))
    if not pending:
        return 0
    provenances = Provenance.objects.filter(dataset=dataset)
    # A record the dataset itself folded into another (cross-referenced from it) counts as
    # that one: AVID's vulnerability summarising its reports, say.
    by_id = dict(
        CrossReference.objects.filter(dataset=dataset)
        .exclude(incident=None)
        .values_list("external_id", "incident_id")
    )
    by_id.update(provenances.values_list("external_id", "incident_id"))
    by_url = dict(provenances.exclude(url="").values_list("url", "incident_id"))
    taken = set(
        CrossReference.objects.exclude(incident=None).values_list(
            "incident_id", "dataset", "external_id"
        )
    )
    resolved = []
    for reference in pending:
        if reference.refers_to_id:
            incident_id = by_id.get(reference.refers_to_id)
        else:
            incident_id = by_url.get(reference.url)
        if incident_id and (incident_id, reference.dataset, reference.external_id) not in taken:
            reference.incident_id = incident_id
            taken.add((incident_id, reference.dataset, reference.external_id))
            resolved.append(reference)
    CrossReference.objects.bulk_update(resolved, ["incident"], batch_size=500)
    return len(resolved)


def split_list(value: str, separator=";") -> list[str]:
    return [item.strip() for item in (value or "").split(separator) if item.strip()]


def unique(items: Iterable) -> list:
    return list(dict.fromkeys(items))
