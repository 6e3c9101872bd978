"""Reporting clocks (staff only): the obligations marked on an incident, their deadlines in the
reader's time zone, and the due-soon and overdue list. Nothing here is public."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from incidents.forms.reporting import ReportFiledForm, ReportingClockForm
from incidents.models import Incident, ReportingClock, ReportingDeadline
from incidents.models.reporting import DUE_SOON
from incidents.permissions import can_file, can_read_internal, requires
from incidents.services import reporting as reporting_services

DEADLINES_PER_PAGE = 50


def _error_text(error):
    return " ".join(error.messages)


@requires(can_read_internal)
def incident_reporting(request, number):
    incident = get_object_or_404(Incident.objects.visible_to(request.user), number=number)
    reader_tz = reporting_services.reader_timezone(request)
    with timezone.override(reader_tz):
        clock_form = ReportingClockForm()
        filed_forms = {}
        if request.method == "POST":
            if not can_file(request.user):
                raise PermissionDenied("Only reporters can change reporting obligations.")
            response, clock_form, filed_forms = _handle_post(request, incident)
            if response is not None:
                return response
        clocks = list(reporting_services.clocks_for(incident))
        for clock in clocks:
            for deadline in clock.deadlines.all():
                deadline.form = filed_forms.get(deadline.pk) or ReportFiledForm(
                    prefix=f"deadline-{deadline.pk}",
                    initial={"filed_at": deadline.filed_at, "reference": deadline.reference},
                )
        status = 400 if clock_form.errors or any(f.errors for f in filed_forms.values()) else 200
        return render(
            request,
            "incidents/staff/reporting.html",
            {
                "incident": incident,
                "clocks": clocks,
                "clock_form": clock_form,
                "reader_tz": reader_tz,
                "now": timezone.now(),
            },
            status=status,
        )


def _handle_post(request, incident):
    """(redirect or None, clock form, {deadline id: bound form}) for one submitted action."""
    action = request.POST.get("action")
    clock_form = ReportingClockForm()
    if action == "clock":
        clock_form = ReportingClockForm(request.POST)
        if clock_form.is_valid():
            try:
                clock = reporting_services.reporting_clock_set(
                    incident=incident, by=request.user, **clock_form.cleaned_data
                )
            except ValidationError as error:
                clock_form.add_error("aware_at", error)
            else:
                messages.success(request, f"{clock.trigger} marked; its deadlines are below.")
                return redirect("incident_reporting", number=incident.number), clock_form, {}
        return None, clock_form, {}
    if action == "remove":
        clock = get_object_or_404(ReportingClock, pk=request.POST.get("clock"), incident=incident)
        try:
            reporting_services.reporting_clock_remove(clock=clock, by=request.user)
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, f"{clock.trigger} no longer marked as applying.")
        return redirect("incident_reporting", number=incident.number), clock_form, {}
    if action == "filed":
        deadline = get_object_or_404(
            ReportingDeadline.objects.select_related("clock", "stage"),
            pk=request.POST.get("deadline"),
            clock__incident=incident,
        )
        form = ReportFiledForm(request.POST, prefix=f"deadline-{deadline.pk}")
        if form.is_valid():
            try:
                reporting_services.report_filed(
                    deadline=deadline,
                    filed_at=form.cleaned_data["filed_at"],
                    reference=form.cleaned_data["reference"].strip(),
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error("filed_at", error)
            else:
                messages.success(request, f"Saved the {deadline.stage.name.lower()}.")
                return redirect("incident_reporting", number=incident.number), clock_form, {}
        return None, clock_form, {deadline.pk: form}
    messages.error(request, "Nothing to do: the form sent no known action.")
    return redirect("incident_reporting", number=incident.number), clock_form, {}


@requires(can_read_internal)
def reporting_due(request):
    """Open deadlines, soonest (most overdue) first, with how many are overdue and due within a
    day; `?all=1` also lists those due later."""
    reader_tz = reporting_services.reader_timezone(request)
    now = timezone.now()
    incidents = Incident.objects.visible_to(request.user)
    open_deadlines = ReportingDeadline.objects.open().filter(clock__incident__in=incidents)
    counts = open_deadlines.aggregate(
        overdue=Count("pk", filter=Q(due_at__lt=now)),
        due_soon=Count("pk", filter=Q(due_at__gte=now, due_at__lt=now + DUE_SOON)),
        later=Count("pk", filter=Q(due_at__gte=now + DUE_SOON)),
    )
    show_all = request.GET.get("all") == "1"
    listed = open_deadlines if show_all else open_deadlines.needing_attention(now)
    page = Paginator(listed.for_list(), DEADLINES_PER_PAGE).get_page(request.GET.get("page"))
    with timezone.override(reader_tz):
        return render(
            request,
            "incidents/staff/reporting_due.html",
            {
                "counts": counts,
                "page": page,
                "show_all": show_all,
                "reader_tz": reader_tz,
                "now": now,
            },
        )
