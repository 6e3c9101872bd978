"""Importing an agent's trace into the action record."""

from django import forms
from django.core.exceptions import ValidationError


class AgentTraceUploadForm(forms.Form):
    """An OTLP JSON trace to import into the action record; read in memory, never stored."""

    MAX_BYTES = 50 * 1024 * 1024

    based_on = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)
    trace = forms.FileField(
        label="OTLP JSON trace file",
        help_text="Exported by an OpenTelemetry exporter; execute_tool spans become steps.",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.jsonl,application/json"}),
    )
    append = forms.BooleanField(
        label="Add after the existing steps instead of replacing them", required=False
    )

    def clean_trace(self):
        trace = self.cleaned_data["trace"]
        if trace.size > self.MAX_BYTES:
            raise ValidationError("The file is larger than 50 MB.")
        return trace
