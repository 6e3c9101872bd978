"""The postmortem form: the record's fields, its tags by facet, and a formset for each part
with rows of its own (`incidents/parts.py`).

Nothing here writes. The forms only validate; the filing views turn their cleaned data into a
revision snapshot (see `incidents/revisions.py`) and hand it to the review services.
"""

import re
from datetime import timedelta
from functools import cache

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.module_loading import import_string
from django.utils.text import slugify

from incidents import revisions
from incidents.agent_actions import Classifier
from incidents.forms.widgets import DateInput, DateTimeLocalInput
from incidents.models import (
    ActionItem,
    AgentAction,
    AISystem,
    Control,
    ControlAssessment,
    Incident,
    IncidentOrganisation,
    Organisation,
    PerpetratorKind,
    Severity,
    Source,
    Tag,
    Tristate,
)
from incidents.models.taxonomy import Facet
from incidents.parts import ROWS
from incidents.redaction import redact

NARRATIVE_TEMPLATE = """\
## Summary

## Impact

## Timeline

## Root cause

## Contributing factors

## What went well

## What went wrong

## Lessons
"""


class MinutesDurationField(forms.Field):
    """A duration typed as minutes ("90") or hours and minutes ("13:00")."""

    widget = forms.TextInput(attrs={"placeholder": "90 or 13:00", "inputmode": "text"})
    default_error_messages = {
        "invalid": "Enter minutes, such as 90, or hours and minutes, such as 13:00.",
    }

    def prepare_value(self, value):
        if isinstance(value, timedelta):
            hours, minutes = divmod(int(value.total_seconds() // 60), 60)
            return f"{hours}:{minutes:02d}"
        return value

    def to_python(self, value):
        if isinstance(value, timedelta) or value in self.empty_values:
            return value or None
        value = str(value).strip()
        if match := re.fullmatch(r"(\d{1,7})", value):
            return timedelta(minutes=int(match[1]))
        if match := re.fullmatch(r"(\d{1,5}):([0-5]\d)", value):
            return timedelta(hours=int(match[1]), minutes=int(match[2]))
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class SeverityField(forms.ModelChoiceField):
    def label_from_instance(self, severity):
        return format_html(
            '<strong>{}</strong> {} <span class="choice-definition">{}</span>',
            severity.name,
            severity.label,
            severity.description,
        )


class PerpetratorField(forms.ModelChoiceField):
    def label_from_instance(self, kind):
        return format_html(
            '<strong>{}</strong> <span class="choice-definition">{}</span>',
            kind.name,
            kind.description,
        )


class TagField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, tag):
        return tag.name


def _facet_field(facet):
    return "tags_" + facet.replace("-", "_")


def _new_tags_field(facet):
    return "new_tags_" + facet.replace("-", "_")


def _split_names(text):
    return [name.strip() for name in (text or "").split(",") if name.strip()]


class IncidentForm(forms.ModelForm):
    base_revision = forms.IntegerField(
        widget=forms.HiddenInput, min_value=0, initial=0, required=False
    )
    severity = SeverityField(
        Severity.objects.all(),
        required=False,
        widget=forms.RadioSelect,
        blank=True,
        empty_label="Not assessed yet",
        label="Actual severity",
    )
    kind = forms.TypedChoiceField(
        choices=Incident.Kind.choices,
        required=False,
        empty_value=Incident.Kind.INCIDENT,
        initial=Incident.Kind.INCIDENT,
        widget=forms.RadioSelect,
        help_text=Incident._meta.get_field("kind").help_text,
    )
    worst_credible_severity = SeverityField(
        Severity.objects.all(),
        required=False,
        widget=forms.RadioSelect,
        blank=True,
        empty_label="Not assessed yet",
        label="Worst credible severity",
        help_text="What would have happened had nothing caught it.",
    )
    perpetrator = PerpetratorField(
        PerpetratorKind.objects.all(),
        required=False,
        widget=forms.RadioSelect,
        blank=True,
        empty_label="Unknown",
        label="What acted",
    )
    ai_systems = forms.ModelMultipleChoiceField(
        AISystem.objects.select_related("vendor"),
        required=False,
        label="AI systems",
        help_text="Hold Ctrl (⌘ on a Mac) to pick more than one.",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    outage_duration = MinutesDurationField(
        required=False,
        help_text="Minutes (90) or hours and minutes (13:00).",
    )

    class Meta:
        model = Incident
        fields = revisions.EDITABLE_FIELDS
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 3}),
            "narrative": forms.Textarea(attrs={"rows": 18, "data-markdown": ""}),
            "remediation": forms.Textarea(attrs={"rows": 6, "data-markdown": ""}),
            "access_held": forms.Textarea(attrs={"rows": 2}),
            "affected_services": forms.Textarea(attrs={"rows": 2}),
            "affected_regions": forms.Textarea(attrs={"rows": 2}),
            "blast_radius_notes": forms.Textarea(attrs={"rows": 3}),
            "visibility": forms.RadioSelect,
            "autonomy": forms.RadioSelect,
            "broader_permissions": forms.RadioSelect,
            "data_lost": forms.RadioSelect,
            "occurred_precision": forms.RadioSelect,
            "occurred_at": DateTimeLocalInput,
            "detected_at": DateTimeLocalInput,
            "mitigated_at": DateTimeLocalInput,
            "resolved_at": DateTimeLocalInput,
            "disclosed_on": DateInput,
        }
        help_texts = {
            "occurred_at": "UTC.",
            "detected_at": "UTC.",
            "mitigated_at": "UTC.",
            "resolved_at": "UTC.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        self.fields["narrative"].initial = NARRATIVE_TEMPLATE
        self.fields["title"].widget.attrs["autocomplete"] = "off"
        for facet, label in Facet.choices:
            self.fields[_facet_field(facet)] = TagField(
                Tag.objects.filter(facet=facet),
                required=False,
                label=label,
                widget=forms.CheckboxSelectMultiple,
            )
            self.fields[_new_tags_field(facet)] = forms.CharField(
                required=False,
                label=f"New {label.lower()} tags",
                help_text="Comma separated; created when you save.",
                max_length=500,
            )

    def tag_facets(self):
        """(facet label, checkboxes, new-tags field) for each facet, for the template."""
        return [
            (label, self[_facet_field(facet)], self[_new_tags_field(facet)])
            for facet, label in Facet.choices
        ]

    def clean(self):
        cleaned = super().clean()
        _normalise_newlines(cleaned)
        for facet, _label in Facet.choices:
            name = _new_tags_field(facet)
            for tag in _split_names(cleaned.get(name)):
                if len(tag) > 100 or not slugify(tag):
                    self.add_error(name, f"“{tag[:40]}” cannot be a tag name.")
        for field, messages in Incident.date_order_errors(cleaned).items():
            if field not in self._errors:
                # add_error drops the field from cleaned_data, so _post_clean's full_clean
                # skips this constraint instead of repeating it as a form-wide error.
                self.add_error(field, messages)
        return cleaned

    def field_values(self):
        return {name: self.cleaned_data.get(name) for name in revisions.EDITABLE_FIELDS}

    def chosen_tags(self):
        return [tag for facet, _ in Facet.choices for tag in self.cleaned_data[_facet_field(facet)]]

    def new_tag_names(self):
        """{facet: [name, ...]} typed into the "new tags" fields."""
        return {
            facet: _split_names(self.cleaned_data.get(_new_tags_field(facet)))
            for facet, _ in Facet.choices
        }

    @staticmethod
    def initial_from(snapshot, base_revision):
        """Initial data for editing a snapshot: model field names, not attnames."""
        initial = _by_name(Incident, revisions.field_values(snapshot))
        initial["base_revision"] = base_revision
        initial["ai_systems"] = snapshot.get("ai_systems", [])
        tag_ids = set(snapshot.get("tags", []))
        facets = dict(Tag.objects.filter(pk__in=tag_ids).values_list("pk", "facet"))
        for facet, _ in Facet.choices:
            initial[_facet_field(facet)] = [pk for pk in tag_ids if facets.get(pk) == facet]
        return initial


def _normalise_newlines(cleaned):
    # Browsers send textareas with CRLF; an unchanged form must give an unchanged snapshot.
    for name, value in cleaned.items():
        if isinstance(value, str):
            cleaned[name] = value.replace("\r\n", "\n")


def _by_name(model, values):
    return {
        (field.name if (field := _field_by_attname(model, key)) else key): value
        for key, value in values.items()
    }


def _field_by_attname(model, attname):
    return next((f for f in model._meta.concrete_fields if f.attname == attname), None)


class RowForm(forms.Form):
    """One related row of the snapshot. Choices that need the database come in as lists,
    computed once per request, so a formset of many rows costs no extra queries."""

    def __init__(self, *args, choices=None, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        for name, options in (choices or {}).items():
            if name in self.fields:
                self.fields[name].choices = [("", "---------"), *options]

    def clean(self):
        cleaned = super().clean()
        _normalise_newlines(cleaned)
        return cleaned


class OrganisationRoleForm(RowForm):
    organisation = forms.TypedChoiceField(coerce=int, empty_value=None)
    role = forms.ChoiceField(choices=[("", "---------"), *IncidentOrganisation.Role.choices])


class TimelineEventForm(RowForm):
    at = forms.DateTimeField(label="When (UTC)", widget=DateTimeLocalInput)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class ActionItemForm(RowForm):
    title = forms.CharField(max_length=300)
    owner = forms.CharField(max_length=200, required=False, help_text="A team or a person.")
    assignee = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, help_text="Someone with an account here."
    )
    due_on = forms.DateField(label="Due", required=False, widget=DateInput)
    status = forms.ChoiceField(choices=ActionItem.Status.choices, initial=ActionItem.Status.OPEN)


class SourceForm(RowForm):
    url = forms.URLField(label="URL", max_length=1000, assume_scheme="https")
    publisher = forms.CharField(max_length=200, required=False)
    title = forms.CharField(max_length=400, required=False)
    published_on = forms.DateField(label="Published", required=False, widget=DateInput)
    stance = forms.ChoiceField(choices=Source.Stance.choices, initial=Source.Stance.REPORTS)


class AgentActionForm(RowForm):
    position = forms.IntegerField(
        label="Step", min_value=1, required=False, help_text="Order; blank goes last."
    )
    at = forms.DateTimeField(label="When (UTC)", required=False, widget=DateTimeLocalInput)
    ai_system = forms.TypedChoiceField(
        label="AI system", coerce=int, empty_value=None, required=False
    )
    tool = forms.CharField(max_length=200, required=False)
    command = forms.CharField(
        label="Command or call",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="As executed. Secrets are replaced by [REDACTED] when saved.",
    )
    target = forms.CharField(label="Target resource", max_length=500, required=False)
    action_class = forms.ChoiceField(
        choices=[("", "From the classification rules"), *AgentAction.ActionClass.choices],
        required=False,
    )
    reversible = forms.ChoiceField(choices=Tristate.choices, initial=Tristate.UNKNOWN)
    approval_gate = forms.ChoiceField(
        choices=AgentAction.Gate.choices, initial=AgentAction.Gate.NONE
    )
    outcome = forms.ChoiceField(
        choices=AgentAction.Outcome.choices, initial=AgentAction.Outcome.SUCCEEDED
    )
    harmful = forms.BooleanField(label="The harmful step", required=False)

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("tool") or "").strip() and not (cleaned.get("command") or "").strip():
            self.add_error("tool", "Name the tool, or give the command the agent ran.")
        for name in ("tool", "command", "target"):
            if cleaned.get(name):
                cleaned[name] = redact(cleaned[name])
        return cleaned


class ControlAssessmentForm(RowForm):
    control = forms.TypedChoiceField(coerce=int, empty_value=None)
    verdict = forms.ChoiceField(choices=[("", "---------"), *ControlAssessment.Verdict.choices])
    rationale = forms.CharField(
        max_length=300, required=False, help_text="One line: why this verdict."
    )


class UniqueRowsFormSet(forms.BaseFormSet):
    """The rows of one part (`incidents.parts`); refuses rows the database would refuse when
    the revision is applied."""

    part = None  # set on each part's formset class by `formset_class`

    @property
    def legend(self):
        return self.part.label

    @property
    def help(self):
        return self.part.help

    def clean(self):
        unique = self.part.unique
        if not unique:
            return
        seen = set()
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form) or form.errors:
                continue
            key = tuple(form.cleaned_data.get(name) for name in unique)
            if key in seen:
                form.add_error(unique[0], self.part.duplicate_row_message)
            seen.add(key)

    def rows(self):
        """The cleaned rows to keep: not deleted, not left blank."""
        return [
            form.cleaned_data
            for form in self.forms
            if form.has_changed() and not self._should_delete_form(form)
        ]


class AgentActionFormSet(UniqueRowsFormSet):
    def rows(self):
        """Numbered 1, 2, 3... in the order of their step numbers (blank ones last), with an
        action class from the rules where none was chosen."""
        rows = list(enumerate(super().rows()))
        rows.sort(key=lambda item: (item[1]["position"] is None, item[1]["position"] or 0, item[0]))
        classifier = None
        numbered = []
        for number, (_, row) in enumerate(rows, start=1):
            row = {**row, "position": number}
            if not row["action_class"]:
                classifier = classifier or Classifier.from_database()
                row["action_class"] = classifier.classify(row["tool"], row["command"])
            numbered.append(row)
        return numbered


@cache
def formset_class(part):
    """The formset of a part's rows, made once: its row form, two blank rows, a Delete box."""
    base = import_string(part.formset) if part.formset else UniqueRowsFormSet
    formset = forms.formset_factory(
        import_string(part.row_form), formset=base, extra=2, can_delete=True
    )
    formset.part = part
    return formset


def row_choices():
    """The database-backed choices of every row form, one query each."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return {
        "organisation": list(Organisation.objects.values_list("pk", "name")),
        "assignee": [(user.pk, user.get_full_name() or user.username) for user in users],
        "ai_system": [
            (system.pk, str(system)) for system in AISystem.objects.select_related("vendor")
        ],
        "control": list(Control.objects.order_by("name").values_list("pk", "name")),
    }


def build_formsets(data=None, snapshot=None):
    """The row formsets, one per part with rows, bound to POST data or started from a
    snapshot's rows. Saving the form replaces every part's rows, so every part has one."""
    choices = row_choices()
    formsets = {}
    for part in ROWS:
        initial = None
        if snapshot is not None:
            rows = revisions.child_values(snapshot, part.key)
            initial = [_by_name(part.model, row) for row in rows]
        formsets[part.key] = formset_class(part)(
            data, initial=initial, prefix=part.key, form_kwargs={"choices": choices}
        )
    return formsets


def error_links(form, formsets):
    """[(anchor id, label, message)] for the summary at the top of an invalid form."""
    links = []
    for message in form.non_field_errors():
        links.append(("", "", message))
    for name, errors in form.errors.items():
        if name == forms.forms.NON_FIELD_ERRORS:
            continue
        bound = form[name]
        links += [(bound.auto_id, bound.label, message) for message in errors]
    for formset in formsets.values():
        for message in formset.non_form_errors():
            links.append((f"{formset.prefix}-rows", formset.legend, message))
        for number, row in enumerate(formset.forms, start=1):
            for name, errors in row.errors.items():
                label = f"{formset.legend}, row {number}"
                if name in row.fields:
                    bound = row[name]
                    links += [(bound.auto_id, f"{label}: {bound.label}", m) for m in errors]
                else:
                    links += [(f"{formset.prefix}-rows", label, m) for m in errors]
    return links
