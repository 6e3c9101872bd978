"""The crosswalk: seeding it from `incidents/crosswalk/<dataset>.csv`, and deriving house tags
and fields from the source terms an incident carries.

The importer never invents: a house field is set only by a crosswalk entry matching a source
term, and each such value is written down as a `Derivation` naming the term and the rule. A
field with no derivation and a value that is not unknown was set by hand and is left alone; a
derived field whose derivation no longer holds goes back to unknown.

When several terms give one field different values, the first of these wins:
severity, the more severe; lives lost and injuries, the larger number; what acted, nothing
unless all agree; autonomy and kind, the vocabulary listed first by the importer (CSET v1 before
CSET v0).
"""

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from incidents.models import (
    CrosswalkEntry,
    Derivation,
    Incident,
    PerpetratorKind,
    Severity,
    SourceTerm,
    Tag,
)

SEED_FOLDER = Path(__file__).resolve().parent.parent / "crosswalk"
SEED_COLUMNS = ["vocabulary", "value", "target", "result", "rule"]
TARGETS = set(CrosswalkEntry.Target.values)
FIELDS = ["autonomy", "kind", "severity", "lives_lost", "injuries", "perpetrator"]
NUMBERS = {"lives_lost", "injuries"}
DERIVED_COLUMNS = ["autonomy", "kind", "severity", "lives_lost", "injuries", "perpetrator"]


class CrosswalkFileError(ValueError):
    """A seed file that cannot be loaded. Says where: file, line and field."""

    def __init__(self, path, line, field_name, message):
        self.path, self.line, self.field_name, self.message = str(path), line, field_name, message
        where = f"{Path(path).name}, line {line}" if line else Path(path).name
        if field_name:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {message}")


def _unknown(target):
    """The value a field holds when nothing is known; kind has no unknown of its own, and an
    incident is what every record is until a source says otherwise."""
    return {"autonomy": Incident.Autonomy.UNKNOWN, "kind": Incident.Kind.INCIDENT}.get(target, "")


def _result_problem(target, result, severities, perpetrators):
    if target == "autonomy" and result not in Incident.Autonomy.values:
        return f"not an autonomy value: {result!r} (one of {', '.join(Incident.Autonomy.values)})"
    if target == "kind" and result not in Incident.Kind.values:
        return f"not a kind: {result!r} (one of {', '.join(Incident.Kind.values)})"
    if target == "severity" and result not in severities:
        return f"not a severity name: {result!r}"
    if target == "perpetrator" and result not in perpetrators:
        return f"not a kind of what acted: {result!r}"
    if target in NUMBERS and result and not result.isdigit():
        return f"not a number: {result!r} (leave it empty to take the source's number)"
    if target.startswith("tag:") and not result.strip():
        return "a tag needs a name"
    if len(result) > 100:
        return f"{len(result)} characters, and at most 100 fit in a house name"
    return ""


def crosswalk_result_problem(target, result):
    """Why `result` cannot be the house value of `target`, or "" when it can."""
    return _result_problem(
        target,
        result,
        set(Severity.objects.values_list("name", flat=True)),
        set(PerpetratorKind.objects.values_list("slug", flat=True)),
    )


def crosswalk_seed_rows(path, vocabularies):
    """The rows of one seed file as dicts, validated: each vocabulary is one of `vocabularies`
    (keys), each target and result one the house knows, each row has its rule."""
    path = Path(path)
    severities = set(Severity.objects.values_list("name", flat=True))
    perpetrators = set(PerpetratorKind.objects.values_list("slug", flat=True))
    rows, seen = [], {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != SEED_COLUMNS:
            raise CrosswalkFileError(path, 1, None, f"the header must be {','.join(SEED_COLUMNS)}")
        for row in reader:
            line = reader.line_num
            row = {name: (row[name] or "").strip() for name in SEED_COLUMNS}
            if row["vocabulary"] not in vocabularies:
                raise CrosswalkFileError(path, line, "vocabulary", "not a known vocabulary")
            if row["target"] not in TARGETS:
                raise CrosswalkFileError(path, line, "target", "not a known target")
            if problem := _result_problem(row["target"], row["result"], severities, perpetrators):
                raise CrosswalkFileError(path, line, "result", problem)
            if not row["value"] or not row["rule"]:
                raise CrosswalkFileError(
                    path, line, "value" if not row["value"] else "rule", "must not be empty"
                )
            key = (row["vocabulary"], row["value"], row["target"])
            if key in seen:
                raise CrosswalkFileError(path, line, "value", f"repeats line {seen[key]}")
            seen[key] = line
            rows.append(row)
    return rows


def crosswalk_load(*, dataset, vocabularies, folder=SEED_FOLDER):
    """Create the entries of `<dataset>.csv` that are missing and bring the ones no editor
    changed up to date with the file; a row an editor changed is never overwritten. Returns
    the entries created or changed (none on a second run)."""
    path = Path(folder) / f"{dataset}.csv"
    if not path.exists():
        return []
    rows = crosswalk_seed_rows(path, {vocabulary.key for vocabulary in vocabularies})
    existing = {
        (e.vocabulary, e.value, e.target): e
        for e in CrosswalkEntry.objects.filter(vocabulary__in={row["vocabulary"] for row in rows})
    }
    created, changed = [], []
    for row in rows:
        entry = existing.get((row["vocabulary"], row["value"], row["target"]))
        if entry is None:
            created.append(CrosswalkEntry(**row))
        elif entry.edited_by_id is None and (entry.result, entry.rule) != (
            row["result"],
            row["rule"],
        ):
            entry.result, entry.rule, entry.updated_at = row["result"], row["rule"], timezone.now()
            changed.append(entry)
    CrosswalkEntry.objects.bulk_create(created)
    CrosswalkEntry.objects.bulk_update(changed, ["result", "rule", "updated_at"])
    return created + changed


@dataclass
class _Candidate:
    value: str  # the house value as text
    entry: CrosswalkEntry
    term: SourceTerm


class Deriver:
    """Applies the crosswalk to incidents, with every entry, severity and kind of what acted
    held in memory: each incident costs a few queries, whatever the number of terms."""

    def __init__(self, *, vocabulary_order, tag):
        self.order = {key: position for position, key in enumerate(vocabulary_order)}
        self.tag = tag  # (facet, name) -> Tag, creating it when missing
        self.entries = defaultdict(list)
        for entry in CrosswalkEntry.objects.filter(vocabulary__in=self.order):
            self.entries[(entry.vocabulary, entry.value)].append(entry)
        self.severities = {s.name: s for s in Severity.objects.all()}
        self.perpetrators = {p.slug: p for p in PerpetratorKind.objects.all()}

    def candidates(self, terms):
        found = defaultdict(list)
        for term in terms:
            for entry in [
                *self.entries[(term.vocabulary, term.value)],
                *self.entries[(term.vocabulary, CrosswalkEntry.ANY)],
            ]:
                value = entry.result
                if entry.target in NUMBERS:
                    value = entry.result or term.value
                    if not value.isdigit():
                        continue  # the source gave no number: nothing is known
                    value = str(int(value))
                found[entry.target].append(_Candidate(value, entry, term))
        return found

    def choose(self, target, candidates):
        if not candidates:
            return None
        if target == "severity":
            return min(candidates, key=lambda c: self.severities[c.value].rank)
        if target in NUMBERS:
            return max(candidates, key=lambda c: int(c.value))
        if target == "perpetrator":
            return candidates[0] if len({c.value for c in candidates}) == 1 else None
        return min(candidates, key=lambda c: (self.order.get(c.term.vocabulary, 0), c.value))

    @staticmethod
    def current(incident, target):
        if target == "severity":
            return incident.severity.name if incident.severity_id else ""
        if target == "perpetrator":
            return incident.perpetrator.slug if incident.perpetrator_id else ""
        if target in NUMBERS:
            number = getattr(incident, target)
            return "" if number is None else str(number)
        return getattr(incident, target)

    def set(self, incident, target, value):
        if target == "severity":
            incident.severity = self.severities[value] if value else None
        elif target == "perpetrator":
            incident.perpetrator = self.perpetrators[value] if value else None
        elif target in NUMBERS:
            setattr(incident, target, int(value) if value else None)
        else:
            setattr(incident, target, value)

    def derive_fields(self, incident, terms, derivations):
        """Set the incident's derived fields in memory (the caller saves it) and return the
        plan: the derivations to keep or write, per field and per tag."""
        found = self.candidates(terms)
        # A merged incident keeps what another dataset's terms derived: that is not ours to undo.
        own = [d for d in derivations if d.source_term.vocabulary in self.order]
        foreign = {d.target for d in derivations if d.source_term.vocabulary not in self.order}
        old = {d.target: d for d in own if d.tag_id is None}
        plan = _Plan(incident=incident, old=own)
        for target in FIELDS:
            if target in foreign:
                continue
            previous = old.get(target)
            current = self.current(incident, target)
            if previous is not None and current != previous.value:
                continue  # changed by hand since it was derived: the derivation goes
            if previous is None and current != _unknown(target):
                continue  # set by hand (or by a source that says it directly)
            chosen = self.choose(target, found[target])
            self.set(incident, target, chosen.value if chosen else _unknown(target))
            if chosen:
                plan.keep(target, None, chosen)
        for target, candidates in found.items():
            if target.startswith("tag:"):
                facet = target.removeprefix("tag:")
                for candidate in candidates:
                    plan.keep(target, self.tag(facet, candidate.value), candidate)
        return plan


class _Plan:
    """What deriving one incident writes once it is saved."""

    def __init__(self, *, incident, old):
        self.incident = incident
        self.old = old
        self.new = {}  # (target, tag id or None) -> Derivation

    def keep(self, target, tag, candidate):
        key = (target, tag.pk if tag else None)
        if key not in self.new:
            self.new[key] = Derivation(
                incident=self.incident,
                target=target,
                tag=tag,
                value=candidate.value,
                source_term=candidate.term,
                entry=candidate.entry,
                rule=candidate.entry.rule,
            )

    def write(self):
        """Replace the derivations that changed and bring the derived tags in line: tags
        derived before and no longer are removed, tags set by hand stay."""
        incident = self.incident
        old = {(d.target, d.tag_id): d for d in self.old}

        def same(a, b):
            return (a.value, a.source_term_id, a.entry_id, a.rule) == (
                b.value,
                b.source_term.pk,
                b.entry.pk,
                b.rule,
            )

        stale = [d for key, d in old.items() if key not in self.new or not same(d, self.new[key])]
        fresh = [d for key, d in self.new.items() if key not in old or not same(old[key], d)]
        if stale:
            Derivation.objects.filter(pk__in=[d.pk for d in stale]).delete()
        if fresh:
            for derivation in fresh:
                derivation.incident = incident
            Derivation.objects.bulk_create(fresh)
        dropped = [d.tag_id for d in self.old if d.tag_id and (d.target, d.tag_id) not in self.new]
        if dropped:
            incident.tags.remove(*dropped)
        tags = [d.tag for d in self.new.values() if d.tag is not None]
        if tags:
            incident.tags.add(*tags)


def source_terms_replace(*, incident, terms, vocabularies):
    """The incident carries exactly `terms` from these vocabularies (those of one dataset)."""
    through = SourceTerm.incidents.through
    through.objects.filter(incident=incident, sourceterm__vocabulary__in=vocabularies).exclude(
        sourceterm__in=terms
    ).delete()
    through.objects.bulk_create(
        [through(incident=incident, sourceterm=term) for term in terms], ignore_conflicts=True
    )


def _tag_getter():
    tags = {(t.facet, t.slug): t for t in Tag.objects.all()}

    def tag(facet, name):
        key = (facet, slugify(name)[:100])
        if key not in tags:
            tags[key] = Tag.objects.create(facet=facet, name=name, slug=key[1])
        return tags[key]

    return tag


def incidents_rederive(*, incident_ids, vocabulary_order):
    """Derive the house fields of these incidents again from the terms they carry, as after
    an editor changed the crosswalk. Returns how many incidents changed."""
    deriver = Deriver(vocabulary_order=vocabulary_order, tag=_tag_getter())
    changed = 0
    incidents = Incident.objects.filter(pk__in=incident_ids).prefetch_related(
        "source_terms", "derivations__source_term", "derivations__entry"
    )
    with transaction.atomic():
        for incident in incidents:
            before = {target: Deriver.current(incident, target) for target in FIELDS}
            derivations = list(incident.derivations.all())
            plan = deriver.derive_fields(incident, list(incident.source_terms.all()), derivations)
            after = {target: Deriver.current(incident, target) for target in FIELDS}
            if after != before:
                incident.save(update_fields=[*DERIVED_COLUMNS, "updated_at"])
            plan.write()
            changed += after != before
    return changed


def incidents_reached(entries):
    """The incident ids these entries reach: those carrying their terms, and those they
    derived before (an entry's value may have been edited since)."""
    values = defaultdict(set)
    for entry in entries:
        values[entry.vocabulary].add(entry.value)
    terms = [
        term.pk
        for term in SourceTerm.objects.filter(vocabulary__in=values).only("vocabulary", "value")
        if CrosswalkEntry.ANY in values[term.vocabulary] or term.value in values[term.vocabulary]
    ]
    carrying = SourceTerm.incidents.through.objects.filter(sourceterm__in=terms)
    derived = Derivation.objects.filter(entry__in=[entry.pk for entry in entries])
    return set(carrying.values_list("incident_id", flat=True)) | set(
        derived.values_list("incident_id", flat=True)
    )


def crosswalk_entry_reach(entry_id):
    """The incident ids a changed or deleted entry reaches (a deleted entry left its
    derivations without one)."""
    entry = CrosswalkEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        return set(Derivation.objects.filter(entry=None).values_list("incident_id", flat=True))
    return incidents_reached([entry])


def crosswalk_entry_rederive(*, entry_id, vocabulary_order):
    """After an editor changed or deleted an entry: derive again the incidents it reaches."""
    reached = crosswalk_entry_reach(entry_id)
    return incidents_rederive(incident_ids=reached, vocabulary_order=vocabulary_order)
