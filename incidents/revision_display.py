"""Revisions as people read them: snapshots hold raw values and ids, people read names.

The review page, the comparison of two revisions and the page shown when someone saved first
all present snapshots through here.
"""

from dataclasses import dataclass

from incidents import revisions
from incidents.markdown import render_markdown
from incidents.models import Incident
from incidents.parts import BY_KEY, PARTS

# Revisions are not stored as HTML; only staff see them, so these are rendered on demand.
MARKDOWN_FIELDS = {"narrative", "remediation"}


def _incident_relations():
    for name in revisions.EDITABLE_FIELDS:
        field = Incident._meta.get_field(name)
        if field.is_relation:
            yield name, field.related_model


def _row_relations(part):
    for name in part.fields:
        field = part.model._meta.get_field(name)
        if field.is_relation:
            yield name, field.related_model


class Names:
    """Display names for every id the given snapshots mention, one query per kind of record."""

    def __init__(self, snapshots):
        wanted = {}
        for snapshot in snapshots:
            if not snapshot:
                continue
            fields = snapshot.get("fields", {})
            for name, model in _incident_relations():
                wanted.setdefault(model, set()).add(fields.get(name))
            for part in PARTS:
                rows = snapshot.get(part.key, [])
                if part.links:
                    wanted.setdefault(part.model, set()).update(rows)
                    continue
                for name, model in _row_relations(part):
                    wanted.setdefault(model, set()).update(row[name] for row in rows)
        self.names = {}
        for model, ids in wanted.items():
            ids.discard(None)
            found = model.objects.in_bulk(ids) if ids else {}
            self.names[model] = {pk: str(obj) for pk, obj in found.items()}

    def of(self, model, pk):
        if pk is None:
            return ""
        return self.names.get(model, {}).get(pk, f"(deleted {model._meta.verbose_name} {pk})")

    def field(self, name, value):
        """One of the record's own fields as text."""
        if value in (None, ""):
            return ""
        field = Incident._meta.get_field(name)
        if field.is_relation:
            return self.of(field.related_model, value)
        return str(dict(field.flatchoices).get(value, value))

    def items(self, key, value):
        """The rows (or links) of one part of a snapshot, each as one line of text."""
        part = BY_KEY[key]
        if part.links:
            return sorted(self.of(part.model, pk) for pk in value)
        relations = dict(_row_relations(part))
        lines = []
        for row in value:
            named = {
                name: self.of(relations[name], row[name]) if name in relations else row[name]
                for name in part.fields
            }
            lines.append(" · ".join(str(piece) for piece in part.describe(named) if piece))
        return lines


def present(snapshot, names):
    """A revision as the reviewer reads it: every field and part, labelled, ids as names.
    Each row has a label and one of `html` (Markdown fields), `text` or `lines` (parts)."""
    rows = []
    for name in revisions.EDITABLE_FIELDS:
        value = snapshot["fields"].get(name)
        row = {"label": revisions.label(name)}
        if name in MARKDOWN_FIELDS:
            row["html"] = render_markdown(value or "")
        else:
            row["text"] = names.field(name, value)
        rows.append(row)
    for part in PARTS:
        rows.append(
            {"label": part.label, "lines": names.items(part.key, snapshot.get(part.key, []))}
        )
    return rows


@dataclass(frozen=True)
class Difference:
    """One field or part that differs between two snapshots, as text. A field is at most one
    line (which may hold newlines); a part is a line per row."""

    label: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    is_part: bool

    @property
    def removed(self):
        return [line for line in self.old if line not in self.new]

    @property
    def added(self):
        return [line for line in self.new if line not in self.old]

    @property
    def old_text(self):
        return "\n".join(self.old)

    @property
    def new_text(self):
        return "\n".join(self.new)


def differences(old, new, names=None):
    """What differs from snapshot `old` (None: nothing yet) to `new`, ids shown as names."""
    names = names or Names([old, new])
    shown = []
    for change in revisions.diff(old, new):
        if change.key in BY_KEY:
            before = names.items(change.key, change.old)
            after = names.items(change.key, change.new)
            shown.append(Difference(change.label, tuple(before), tuple(after), is_part=True))
        else:
            before = names.field(change.key, change.old)
            after = names.field(change.key, change.new)
            shown.append(
                Difference(change.label, _one_line(before), _one_line(after), is_part=False)
            )
    return shown


def _one_line(text):
    return (text,) if text else ()
