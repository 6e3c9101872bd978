"""The control catalogue: which controls would have stopped the most harm, which failed, and
what an organisation adopted against what its incidents called for.

Anyone reads it over published public incidents; signed-in staff over every incident they can
read."""

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from incidents.caching import cached_for_this_data
from incidents.models import Control, ControlAssessment, Incident, Organisation
from incidents.permissions import can_read_internal
from incidents.services import controls as control_services


def _incidents(user):
    if can_read_internal(user):
        return Incident.objects.visible_to(user), False
    return Incident.objects.published(), True


def control_list(request):
    incidents, public = _incidents(request.user)
    overview = control_services.overview(incidents, "public" if public else "internal")
    chosen = None
    comparison = []
    slug = request.GET.get("organisation", "").strip()
    problem = ""
    if slug:
        chosen = Organisation.objects.visible_to(request.user).filter(slug=slug).first()
        if chosen is None:
            problem = f"There is no organisation “{slug[:80]}”; showing the whole catalogue."
        else:
            comparison = control_services.organisation_controls(chosen, incidents)
    ranked = overview.ranked

    def judged(control):
        return control.stopped or control.reduced or control.worked or control.failed

    return render(
        request,
        "incidents/control_list.html",
        {
            "public": public,
            "ranked": [control for control in ranked if judged(control)],
            "unranked": [control for control in ranked if not judged(control)],
            "failed": overview.failed,
            "kinds": overview.kinds,
            "organisations": overview.organisations,
            "organisation": chosen,
            "comparison": comparison,
            "gaps": sum(1 for row in comparison if row.gap),
            "problem": problem,
        },
    )


def control_detail(request, slug):
    control = get_object_or_404(Control, slug=slug)
    incidents, public = _incidents(request.user)
    counts = cached_for_this_data(
        f"control-verdicts:{'public' if public else 'internal'}:{control.pk}",
        lambda: control_services.verdict_counts(control, incidents),
    )
    given = {value for value, _, _ in counts}
    verdict = request.GET.get("verdict", "")
    if verdict not in given:
        verdict = next((value for value, _, _ in counts), "")
    page = None
    if verdict:
        assessments = control_services.control_assessments_with(control, incidents, verdict)
        page = Paginator(assessments, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "incidents/control_detail.html",
        {
            "control": control,
            "public": public,
            "counts": counts,
            "verdict": verdict,
            "verdict_label": dict(ControlAssessment.Verdict.choices).get(verdict, ""),
            "page": page,
            "policies": control.policy_changes.for_list(),
        },
    )
