"""Legal cases that followed incidents: public pages."""

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from incidents.caching import public_page_cache
from incidents.forms.legal import LegalCaseFilterForm
from incidents.models import Incident, LegalCase, LegalCaseIncident


@public_page_cache
def legal_case_list(request):
    form = LegalCaseFilterForm(request.GET)
    cases = form.cases()
    page = Paginator(cases, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "incidents/legal_case_list.html",
        {
            "form": form,
            "page": page,
            "filtered": any(request.GET.get(name) for name in form.fields),
            "any_case": LegalCase.objects.exists(),
        },
    )


@public_page_cache
def legal_case_detail(request, slug):
    case = get_object_or_404(
        LegalCase.objects.prefetch_related("dockets", "documents", "secondary_sources"),
        slug=slug,
    )
    incidents = (
        Incident.objects.visible_to(request.user)
        .filter(
            legal_case_links__case=case, legal_case_links__status=LegalCaseIncident.Status.LINKED
        )
        .select_related("severity")
        .order_by("number")
    )
    return render(
        request, "incidents/legal_case_detail.html", {"case": case, "incidents": incidents}
    )
