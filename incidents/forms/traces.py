"""Importing an agent's trace into the action record."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from incidents.untrusted import size


class AgentTraceUploadForm(forms.Form):
    """An OTLP JSON trace to import into the action record; read in memory, never stored.

    The web process reads and checks the whole trace while the request waits, so it takes
    traces up to MAX_TRACE_BYTES; a larger one is imported with `manage.py import_agent_trace`
    on the server. A job on the worker would have to keep the raw file, secrets and all, until
    it ran, and the file is never stored."""

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
        if trace.size > settings.MAX_TRACE_BYTES:
            raise ValidationError(
                f"The file is larger than {size(settings.MAX_TRACE_BYTES)}, the most a web "
                "upload may be (MAX_TRACE_BYTES). Import a larger trace on the server with "
                "manage.py import_agent_trace, which reads the file where it is."
            )
        return trace
