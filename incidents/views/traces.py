"""Importing an agent's trace into a postmortem's action record (reporters)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from incidents.forms.traces import AgentTraceUploadForm
from incidents.importers.agent_trace import TraceError
from incidents.models import Incident
from incidents.permissions import can_file, requires
from incidents.services import review as review_services
from incidents.services.agent_trace import agent_trace_import


@require_POST
@requires(can_file)
def agent_trace_upload(request, number):
    incident = get_object_or_404(Incident, number=number)
    back = reverse("incident_edit", args=[incident.number]) + "#trace-import"
    form = AgentTraceUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, f"The trace was not imported: {message}")
        return redirect(back)
    upload = form.cleaned_data["trace"]
    try:
        data = upload.read()
    finally:
        upload.close()  # a large upload's temporary file goes with it
    try:
        result = agent_trace_import(
            incident=incident,
            data=data,
            by=request.user,
            base_revision_number=form.cleaned_data["based_on"] or 0,
            append=form.cleaned_data["append"],
        )
    except TraceError as error:
        messages.error(request, f"The trace was not imported: {error}")
    except review_services.Conflict as conflict:
        messages.error(
            request,
            f"The trace was not imported: revision {conflict.latest.number} was saved while "
            "you were on this page. Look at it, then import again.",
        )
    else:
        messages.success(request, str(result))
    return redirect(back)
