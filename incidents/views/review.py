"""Review, history, restore, retraction and the audit log (reviewers and editors).

Every write goes through `incidents.services.review`, which also enforces who may do what; the
checks here only decide which pages a role can open.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from incidents import revision_display
from incidents.models import (
    AuditEvent,
    Incident,
    IncidentRevision,
    Review,
)
from incidents.permissions import can_curate, can_file, can_read_internal, can_review, requires
from incidents.services import review as review_service

User = get_user_model()


def _incident(number):
    return get_object_or_404(Incident, number=number)


# Views


@requires(can_file)
@require_POST
def incident_submit(request, number):
    incident = _incident(number)
    try:
        review_service.review_submit(incident=incident, by=request.user)
    except review_service.NotAllowed as refusal:
        # Nothing new, or retracted: a state to explain, not a missing permission.
        messages.error(request, f"{incident.public_number} was not submitted: {refusal}")
    else:
        messages.success(request, f"{incident.public_number} is waiting for review.")
    return redirect("my_postmortems")


@requires(can_review)
@require_http_methods(["GET", "POST"])
def incident_review(request, number):
    incident = _incident(number)
    error, status = "", 200
    if request.method == "POST":
        decision = request.POST.get("decision")
        comment = request.POST.get("comment", "").strip()
        # The revision the reviewer read; the service refuses if a newer one was saved since.
        seen = request.POST.get("revision", "")
        if decision not in Review.Decision.values or not (seen == "" or seen.isdigit()):
            error, status = "Choose to approve or to request changes.", 400
        elif decision == Review.Decision.REQUEST_CHANGES and not comment:
            error, status = "Say what needs to change.", 400
        else:
            decide = {
                Review.Decision.APPROVE: review_service.review_approve_and_publish,
                Review.Decision.REQUEST_CHANGES: review_service.review_request_changes,
            }[decision]
            try:
                decide(
                    incident=incident,
                    by=request.user,
                    comment=comment,
                    revision_number=int(seen) if seen else None,
                )
            except review_service.Conflict as conflict:
                error, status = f"{conflict} Read it, then decide again.", 409
            except review_service.NotAllowed as refusal:
                # Shown on the page, with 403: the service refused, not the form.
                error, status = str(refusal), 403
            else:
                if decision == Review.Decision.APPROVE:
                    messages.success(request, f"{incident.public_number} is published.")
                    return redirect(incident)
                messages.success(request, "Changes requested; the authors have been told.")
                return redirect("my_postmortems")
            incident.refresh_from_db()
    latest = incident.latest_revision()
    published = incident.published_revision
    snapshots = [latest and latest.data, published and published.data]
    names = revision_display.Names(snapshots)
    context = {
        "incident": incident,
        "latest": latest,
        "published": published,
        "rendered": revision_display.present(latest.data, names) if latest else [],
        "changes": (
            revision_display.differences(published and published.data, latest.data, names)
            if latest
            else []
        ),
        "reviews": Review.objects.filter(revision__incident=incident).select_related(
            "reviewer", "revision"
        ),
        "awaiting": incident.review_requested_at is not None,
        "is_author": request.user.pk in incident.authors_since_publication(),
        "error": error,
    }
    return render(request, "incidents/staff/review.html", context, status=status)


@requires(can_read_internal)
@require_GET
def incident_history(request, number):
    incident = _incident(number)
    history = incident.revisions.select_related("author").prefetch_related(
        Prefetch("reviews", queryset=Review.objects.select_related("reviewer"))
    )
    return render(
        request,
        "incidents/staff/history.html",
        {"incident": incident, "history": history},
    )


def _revision_number(value, default):
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise Http404("Not a revision number.") from None


@requires(can_read_internal)
@require_GET
def incident_diff(request, number):
    incident = _incident(number)
    latest = incident.latest_revision()
    if latest is None:
        raise Http404("This incident has no revisions yet.")
    to_number = _revision_number(request.GET.get("to"), latest.number)
    from_number = _revision_number(request.GET.get("from"), to_number - 1)
    found = {
        revision.number: revision
        for revision in incident.revisions.select_related("author").filter(
            number__in=[from_number, to_number]
        )
    }
    if to_number not in found or (from_number not in found and from_number != 0):
        raise Http404("No such revision.")
    old, new = found.get(from_number), found[to_number]
    return render(
        request,
        "incidents/staff/diff.html",
        {
            "incident": incident,
            "old": old,
            "new": new,
            "changes": revision_display.differences(old and old.data, new.data),
            "numbers": incident.revisions.values_list("number", flat=True),
        },
    )


@requires(can_curate)
@require_POST
def revision_restore(request, number, revision):
    incident = _incident(number)
    old = get_object_or_404(IncidentRevision, incident=incident, number=revision)
    latest = incident.latest_revision()
    restored = review_service.revision_restore(incident=incident, revision=old, by=request.user)
    if restored == latest:
        messages.info(request, f"Revision {old.number} has the same content as the latest one.")
    else:
        messages.success(request, f"Revision {old.number} restored as revision {restored.number}.")
    return redirect("incident_history", number=incident.number)


@requires(can_curate)
@require_http_methods(["GET", "POST"])
def incident_retract(request, number):
    incident = _incident(number)
    error, status = "", 200
    reason = ""
    if request.method == "POST":
        action = request.POST.get("action")
        reason = request.POST.get("reason", "").strip()
        try:
            if action == "request":
                if not reason:
                    error, status = "A retraction needs a reason.", 400
                else:
                    review_service.retraction_request(
                        incident=incident, by=request.user, reason=reason
                    )
                    messages.success(request, "Retraction requested; a second editor must confirm.")
                    return redirect("incident_retract", number=incident.number)
            elif action == "confirm":
                review_service.retraction_confirm(incident=incident, by=request.user)
                messages.success(request, f"{incident.public_number} is retracted.")
                return redirect(incident)
            else:
                error, status = "Choose to request or to confirm a retraction.", 400
        except review_service.NotAllowed as refusal:
            error, status = str(refusal), 403
            incident.refresh_from_db()
    requested_by = incident.retraction_requested_by
    return render(
        request,
        "incidents/staff/retract.html",
        {
            "incident": incident,
            "requested_by": requested_by,
            "requested_by_me": requested_by is not None and requested_by.pk == request.user.pk,
            "reason": reason,
            "error": error,
        },
        status=status,
    )


@requires(can_curate)
@require_GET
def audit_log(request):
    action = request.GET.get("action", "")
    events = AuditEvent.objects.select_related("actor", "incident")
    if action in AuditEvent.Action.values:
        events = events.filter(action=action)
    else:
        action = ""
    page = Paginator(events, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "incidents/staff/audit_log.html",
        {"page": page, "action": action, "actions": AuditEvent.Action.choices},
    )
