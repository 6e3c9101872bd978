"""Filing and editing postmortems (reporters)."""

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_date
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from incidents import duplicates, revision_display, revisions
from incidents.forms.filing import IncidentForm, build_formsets, error_links
from incidents.markdown import render_markdown
from incidents.models import Incident, Organisation, Review, Tag
from incidents.permissions import can_file, requires
from incidents.services import controls as control_services
from incidents.services import review as review_services
from incidents.untrusted import size

SUGGESTION_LIMIT = 5
# Enough of the title and summary to tell an incident by; the rest only costs time.
MAX_TYPED_CHARS = 2000


def _forms_valid(form, formsets):
    # Validate everything, so every error shows at once.
    return all([form.is_valid(), *(formset.is_valid() for formset in formsets.values())])


def _tags(form):
    """The chosen tags plus the typed new ones, created now, inside the save's transaction."""
    tags = list(form.chosen_tags())
    for facet, names in form.new_tag_names().items():
        for name in names:
            tag, _ = Tag.objects.get_or_create(
                facet=facet, slug=slugify(name)[:100], defaults={"name": name}
            )
            tags.append(tag)
    return tags


def _snapshot(form, formsets, tags):
    return revisions.from_values(
        form.field_values(),
        {key: formset.rows() for key, formset in formsets.items()},
        {"tags": tags, "ai_systems": form.cleaned_data["ai_systems"]},
    )


def _render_form(request, template, context, status=200):
    form, formsets = context["form"], context["formsets"]
    if assessments := formsets.get("control_assessments"):
        assessments.extra_template = "incidents/staff/_control_suggestions.html"
        assessments.suggestions = _control_suggestions(form, formsets, context["incident"])
    context["errors"] = error_links(form, formsets) if form.is_bound else []
    if context["errors"] and status == 200:
        status = 400
    return render(request, template, context, status=status)


@requires(can_file)
def incident_new(request):
    if request.method == "POST":
        form, formsets = IncidentForm(request.POST), build_formsets(request.POST)
        if _forms_valid(form, formsets):
            with transaction.atomic():
                snapshot = _snapshot(form, formsets, _tags(form))
                incident = review_services.incident_create(snapshot=snapshot, by=request.user)
            messages.success(request, f"Saved {incident.public_number} as a draft, revision 1.")
            return redirect("incident_edit", number=incident.number)
    else:
        form, formsets = IncidentForm(), build_formsets()
    context = {"form": form, "formsets": formsets, "incident": None}
    return _render_form(request, "incidents/staff/incident_form.html", context)


@requires(can_file)
def incident_edit(request, number):
    incident = get_object_or_404(Incident.objects.with_newest_revision(), number=number)
    latest = incident.latest_revision()
    if request.method == "POST":
        form, formsets = IncidentForm(request.POST), build_formsets(request.POST)
        if _forms_valid(form, formsets):
            base = form.cleaned_data["base_revision"] or 0
            try:
                with transaction.atomic():
                    snapshot = _snapshot(form, formsets, _tags(form))
                    _, revision = review_services.incident_save(
                        incident=incident,
                        snapshot=snapshot,
                        by=request.user,
                        base_revision_number=base,
                    )
            except review_services.Conflict as conflict:
                return _conflict(request, incident, form, formsets, conflict.latest)
            if revision.number > base and revision.author_id == request.user.pk:
                messages.success(request, f"Saved revision {revision.number}.")
            else:
                messages.info(request, "Nothing had changed, so no revision was added.")
            return redirect("incident_edit", number=incident.number)
    else:
        snapshot = review_services.working_snapshot(incident)
        base = latest.number if latest else 0
        form = IncidentForm(initial=IncidentForm.initial_from(snapshot, base))
        formsets = build_formsets(snapshot=snapshot)
    context = {
        "form": form,
        "formsets": formsets,
        "trace_upload_limit": size(settings.MAX_TRACE_BYTES),
        **_review_state(incident, latest),
    }
    return _render_form(request, "incidents/staff/incident_form.html", context)


def _conflict(request, incident, form, formsets, latest):
    """Someone saved first: show both versions, and the form again with everything typed,
    now based on the newest revision so that saving it again is a deliberate overwrite."""
    # The typed new tags were rolled back with the refused save; the form still holds them.
    typed = _snapshot(form, formsets, form.chosen_tags())
    data = request.POST.copy()
    data["base_revision"] = latest.number
    form, formsets = IncidentForm(data), build_formsets(data)
    context = {
        "form": form,
        "formsets": formsets,
        "latest": latest,
        "comparison": revision_display.differences(latest.data, typed),
        **_review_state(incident, latest),
    }
    return _render_form(request, "incidents/staff/conflict.html", context, status=409)


def _review_state(incident, latest):
    if incident.status == Incident.Status.PUBLISHED and latest is not None:
        unpublished = latest.pk != incident.published_revision_id
        if unpublished and incident.review_requested_at:
            status = "Published, with edits in review"
        elif unpublished:
            status = "Published, with unpublished edits"
        else:
            status = "Published"
    else:
        status = incident.get_status_display()
    reviews = (
        Review.objects.filter(revision__incident=incident)
        .select_related("reviewer", "revision")
        .order_by("-created_at")[:3]
    )
    return {
        "incident": incident,
        "latest": latest,
        "status_text": status,
        "can_submit": incident.may_be_submitted(),
        "reviews": reviews,
    }


@require_POST
@requires(can_file)
def markdown_preview(request):
    return JsonResponse({"html": render_markdown(request.POST.get("text", ""))})


@require_GET
@requires(can_file)
def duplicate_suggestions(request):
    """Existing incidents that look like the one being typed, scored as duplicate flags are:
    its title and summary, with the date and the organisations when the form has them."""
    organisation_ids = [pk for pk in request.GET.getlist("organisation") if pk.isdigit()]
    try:
        occurred = parse_date((request.GET.get("occurred_at") or "")[:10])
    except ValueError:  # well formed but no such day
        occurred = None
    typed = duplicates.Profile.typed(
        title=request.GET.get("title", "")[:MAX_TYPED_CHARS],
        summary=request.GET.get("summary", "")[:MAX_TYPED_CHARS],
        occurred=occurred,
        organisations=Organisation.objects.filter(
            pk__in=organisation_ids, kind=Organisation.Kind.ORGANISATION
        ).values_list("slug", flat=True),
    )
    candidates = Incident.objects.visible_to(request.user).filter(merged_into=None)
    if (editing := request.GET.get("exclude", "")).isdigit():
        candidates = candidates.exclude(number=int(editing))
    return JsonResponse(
        [
            {
                "number": incident.number,
                "title": incident.title,
                "url": incident.get_absolute_url(),
                "score": score,
            }
            for score, incident in duplicates.suggestions(typed, candidates, SUGGESTION_LIMIT)
        ],
        safe=False,
    )


def _actions_to_judge(data, incident, formsets=None):
    """The action rows to judge: those typed into the form, else those of the revision being
    edited (when the form has action rows), else those saved on the incident."""
    actions = control_services.actions_from_form_data(data) if data is not None else []
    if not actions and formsets and "agent_actions" in formsets:
        actions = list(formsets["agent_actions"].initial or [])
    if not actions and incident is not None:
        actions = list(incident.agent_actions.all())
    return actions


def _control_suggestions(form, formsets, incident):
    assessments = formsets["control_assessments"]
    if form.is_bound:
        data = form.data
        broader = data.get("broader_permissions")
        assessed = control_services.assessed_control_ids(data)
    else:
        data = None
        broader = form.initial.get("broader_permissions")
        assessed = [
            row.get("control_id") or row.get("control") for row in assessments.initial or []
        ]
    return control_services.suggest_assessments(
        actions=_actions_to_judge(data, incident, formsets),
        broader_permissions=broader,
        assessed=assessed,
    )


@require_POST
@requires(can_file)
def control_suggestions(request):
    """The controls the action rows in the form call for, for the form to offer as they change."""
    incident = None
    if (number := request.POST.get("incident", "")).isdigit():
        incident = Incident.objects.filter(number=int(number)).first()
    suggestions = control_services.suggest_assessments(
        actions=_actions_to_judge(request.POST, incident),
        broader_permissions=request.POST.get("broader_permissions"),
        assessed=control_services.assessed_control_ids(request.POST),
    )
    return JsonResponse(
        [
            {
                "control": suggestion.control.pk,
                "name": suggestion.control.name,
                "verdict": suggestion.verdict,
                "verdict_label": suggestion.verdict_label,
                "rationale": suggestion.rationale,
            }
            for suggestion in suggestions
        ],
        safe=False,
    )
