"""Reporting clocks (internal only): times are typed in the reader's time zone."""

from django import forms

from incidents.forms.widgets import DateTimeLocalInput
from incidents.models import ReportingTrigger


class TriggerField(forms.ModelChoiceField):
    def label_from_instance(self, trigger):
        return f"{trigger.regime}: {trigger.name}"


class ReportingClockForm(forms.Form):
    trigger = TriggerField(
        ReportingTrigger.objects.select_related("regime"),
        label="Regime and trigger",
        empty_label="Choose what applies",
    )
    aware_at = forms.DateTimeField(
        label="Became aware at", widget=DateTimeLocalInput, help_text="In your time zone."
    )
    notes = forms.CharField(
        max_length=300, required=False, help_text="E.g. who decided it applies."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)


class ReportFiledForm(forms.Form):
    filed_at = forms.DateTimeField(
        label="Report filed at",
        widget=DateTimeLocalInput,
        required=False,
        help_text="In your time zone; leave empty to mark it not filed.",
    )
    reference = forms.CharField(label="Reference", max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("filed_at") and not cleaned.get("reference", "").strip():
            self.add_error("reference", "Give the authority's reference, or “none given”.")
        return cleaned
