"""API endpoints: public reads (the same records the public pages show, whoever asks) and the
reporters' postmortem endpoints, which write only through `incidents.services.review`."""

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from incidents.caching import incidents_api_version, public_page_cache
from incidents.models import (
    Incident,
    IncidentOrganisation,
    LegalCase,
    LegalCaseIncident,
    Organisation,
    PolicyChange,
    PolicyChangeIncident,
    Tag,
)
from incidents.services import review as review_service
from incidents.services.controls import incident_assessments

from .errors import ConflictSerializer, ErrorSerializer
from .filters import IncidentApiFilter
from .pagination import Cursor, IncidentPages, NewestRecordedCursor, SlugCursor, TagCursor
from .permissions import IsReporter
from .serializers import drafts, public


class ApiViewMixin:
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # No stored text contains NUL, and PostgreSQL refuses to compare with it.
        for name, values in request.query_params.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                raise ValidationError({name: ["Null characters are not allowed."]})


class PublicViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [AllowAny]
    pagination_class = Cursor


def public_incidents_detail():
    """Incidents as the detail endpoint reads them, with everything it nests."""
    return (
        Incident.objects.public()
        .for_detail()
        .with_disputed()
        .select_related("published_revision", "worst_credible_severity")
        .defer("published_revision__data", "search_vector")
        .prefetch_related(
            Prefetch(
                "policy_links",
                queryset=PolicyChangeIncident.objects.select_related("policy_change"),
            ),
            incident_assessments(),
        )
    )


@extend_schema_view(
    list=extend_schema(
        summary="Published incidents",
        description="With the web list's filters and search. A search (q) is ranked by "
        "relevance, as on the web list, unless sort asks for newest or oldest; otherwise newest "
        "first. When thousands of incidents use a search's words, only its best candidates "
        "are ranked and listed. Follow `next` for the following page: a cursor by date, or, "
        "for a ranked search, the next page number.",
    ),
    retrieve=extend_schema(
        summary="One public incident",
        description="Published or retracted; a retracted incident says why.",
    ),
)
# Anonymous reads of incidents are cached like the pages; a token or a session reads afresh.
@method_decorator(
    public_page_cache(version=incidents_api_version, vary_on=("HTTP_ACCEPT",)), name="dispatch"
)
class IncidentViewSet(PublicViewSet):
    lookup_field = "number"
    lookup_value_regex = r"[0-9]+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = IncidentApiFilter
    pagination_class = IncidentPages

    def get_queryset(self):
        if self.action == "list":
            return Incident.objects.published().for_list().prefetch_related("tags")
        return public_incidents_detail()

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self):
        if self.action == "list":
            return public.IncidentSummarySerializer
        if self.action == "similar":
            return public.SimilarIncidentSerializer
        return public.IncidentDetailSerializer

    @extend_schema(
        summary="Similar incidents",
        description="Incidents sharing tags, organisations, what acted or wording, best first.",
        responses=public.SimilarIncidentSerializer(many=True),
    )
    @action(detail=True, pagination_class=None)
    def similar(self, request, number=None):
        incident = get_object_or_404(Incident.objects.public(), number=number)
        links = list(incident.related_links.filter(related__in=Incident.objects.published()))
        related = (
            Incident.objects.filter(pk__in=[link.related_id for link in links])
            .for_list()
            .prefetch_related("tags")
            .in_bulk()
        )
        for link in links:
            link.related = related[link.related_id]
        return Response(public.SimilarIncidentSerializer(links, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Policy changes", description="Newest recorded first."),
    retrieve=extend_schema(summary="One policy change"),
)
class PolicyChangeViewSet(PublicViewSet):
    serializer_class = public.PolicyChangeSerializer
    lookup_field = "slug"
    pagination_class = NewestRecordedCursor

    def get_queryset(self):
        public_links = PolicyChangeIncident.objects.filter(
            incident__in=Incident.objects.public()
        ).select_related("incident")
        return PolicyChange.objects.select_related("organisation").prefetch_related(
            "sources",
            Prefetch("incident_links", queryset=public_links, to_attr="public_incident_links"),
        )


@extend_schema_view(
    list=extend_schema(
        summary="Legal cases",
        description="Lawsuits about AI systems from the Database of AI Litigation, newest "
        "recorded first.",
    ),
    retrieve=extend_schema(summary="One legal case"),
)
class LegalCaseViewSet(PublicViewSet):
    serializer_class = public.LegalCaseSerializer
    lookup_field = "slug"
    pagination_class = NewestRecordedCursor

    def get_queryset(self):
        public_links = LegalCaseIncident.objects.filter(
            status=LegalCaseIncident.Status.LINKED, incident__in=Incident.objects.public()
        ).select_related("incident")
        return LegalCase.objects.prefetch_related(
            "dockets",
            "documents",
            "secondary_sources",
            Prefetch("incident_links", queryset=public_links, to_attr="public_incident_links"),
        )


@extend_schema_view(
    list=extend_schema(
        summary="Organisations",
        description="Organisations with a published incident or a policy change, by name.",
    ),
    retrieve=extend_schema(
        summary="One organisation",
        description="Any organisation a public incident or a policy change names, or that "
        "the editors made public; others are not found.",
    ),
)
class OrganisationViewSet(PublicViewSet):
    serializer_class = public.OrganisationSerializer
    lookup_field = "slug"
    pagination_class = SlugCursor

    def get_queryset(self):
        if self.action != "list":
            return Organisation.objects.public()
        published_roles = IncidentOrganisation.objects.filter(
            organisation=OuterRef("pk"), incident__in=Incident.objects.published()
        )
        policies = PolicyChange.objects.filter(organisation=OuterRef("pk"))
        return Organisation.objects.filter(Exists(published_roles) | Exists(policies))


@extend_schema_view(
    list=extend_schema(summary="Tags", description="Tags of published incidents, by facet."),
    retrieve=extend_schema(
        summary="One tag",
        description="Any tag a public incident carries, or that the editors made public; "
        "others are not found.",
        parameters=[
            OpenApiParameter(
                "tag",
                str,
                OpenApiParameter.PATH,
                description="facet:slug, e.g. failure-mode:data-deletion",
            )
        ],
    ),
)
class TagViewSet(PublicViewSet):
    serializer_class = public.TagSerializer
    lookup_url_kwarg = "tag"
    lookup_value_regex = r"[a-z-]+:[-a-zA-Z0-9_]+"
    pagination_class = TagCursor

    def get_queryset(self):
        if self.action != "list":
            return Tag.objects.public()
        tagged = Incident.tags.through.objects.filter(
            tag=OuterRef("pk"), incident__in=Incident.objects.published()
        )
        return Tag.objects.filter(Exists(tagged))

    def get_object(self):
        facet, slug = self.kwargs["tag"].split(":", 1)
        return get_object_or_404(self.get_queryset(), facet=facet, slug=slug)


# Reporters


DRAFT_EXAMPLE = OpenApiExample(
    "A new draft",
    request_only=True,
    value={
        "title": "Coding agent deleted the staging database",
        "summary": "An agent ran a destructive migration against staging during a freeze.",
        "severity": "SEV2",
        "perpetrator": "ai-coding-agent",
        "occurred_at": "2026-03-02T09:15:00Z",
        "timeline": [{"at": "2026-03-02T09:15:00Z", "description": "Migration started."}],
        "action_items": [{"title": "Require approval for destructive migrations"}],
        "sources": [{"url": "https://status.example.com/incidents/42"}],
    },
)
REFUSED = OpenApiResponse(ErrorSerializer, description="Not signed in as a reporter.")


@extend_schema_view(
    create=extend_schema(
        summary="File a draft postmortem",
        examples=[DRAFT_EXAMPLE],
        responses={201: drafts.PostmortemSerializer, 401: REFUSED, 403: REFUSED},
    ),
    retrieve=extend_schema(
        summary="A postmortem's newest revision",
        responses={200: drafts.PostmortemSerializer, 401: REFUSED, 403: REFUSED},
    ),
    update=extend_schema(
        summary="Replace a postmortem's content (a new revision)",
        description="Fields left out take their defaults; send base_revision.",
        responses={
            200: drafts.PostmortemSerializer,
            401: REFUSED,
            403: REFUSED,
            409: OpenApiResponse(ConflictSerializer, description="Someone saved first."),
        },
    ),
    partial_update=extend_schema(
        summary="Change some fields of a postmortem (a new revision)",
        description="Fields left out keep their value; a list sent replaces the whole list. "
        "Send base_revision.",
        responses={
            200: drafts.PostmortemSerializer,
            401: REFUSED,
            403: REFUSED,
            409: OpenApiResponse(ConflictSerializer, description="Someone saved first."),
        },
    ),
)
class PostmortemViewSet(
    ApiViewMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Reporters file and edit postmortems as the filing form does; publishing needs a
    reviewer's approval in the web interface."""

    permission_classes = [IsReporter]
    serializer_class = drafts.PostmortemSerializer
    queryset = Incident.objects.all()
    lookup_field = "number"
    lookup_value_regex = r"[0-9]+"

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = review_service.incident_create(snapshot=serializer.snapshot(), by=request.user)
        data = self.get_serializer(drafts.working_copy(incident)).data
        location = public.api_address("postmortem-detail", incident.number)
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})

    def retrieve(self, request, *args, **kwargs):
        return Response(self.get_serializer(drafts.working_copy(self.get_object())).data)

    def update(self, request, *args, **kwargs):
        incident = self.get_object()
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        data = request.data
        if kwargs.get("partial"):
            # Fields left out keep their current value: merge onto the newest revision.
            current = self.get_serializer(drafts.working_copy(incident)).data
            data = {**current, **data}
        serializer = self.get_serializer(data=data)
        serializer.is_valid(raise_exception=True)
        base = serializer.validated_data.get("base_revision")
        if base is None:
            raise ValidationError(
                {"base_revision": ["Send the revision your change starts from (see GET)."]}
            )
        try:
            with transaction.atomic():
                incident, _ = review_service.incident_save(
                    incident=incident,
                    snapshot=serializer.snapshot(base=review_service.working_snapshot(incident)),
                    by=request.user,
                    base_revision_number=base,
                )
        except review_service.Conflict as conflict:
            return Response(
                {"detail": f"{conflict} Fetch it, apply your change again and resend.",
                 "latest_revision": conflict.latest.number},
                status=status.HTTP_409_CONFLICT,
            )  # fmt: skip
        incident.refresh_from_db()
        return Response(self.get_serializer(drafts.working_copy(incident)).data)

    @extend_schema(
        summary="Submit a postmortem for review",
        request=None,
        responses={
            200: drafts.PostmortemSerializer,
            401: REFUSED,
            403: REFUSED,
            409: OpenApiResponse(ErrorSerializer, description="Nothing to submit."),
        },
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, number=None):
        incident = self.get_object()
        if incident.review_requested_at is not None:
            return Response(
                {"detail": f"{incident.public_number} is already waiting for review."},
                status=status.HTTP_409_CONFLICT,
            )
        try:
            review_service.review_submit(incident=incident, by=request.user)
        except review_service.NotAllowed as refusal:
            # The reporter may submit; the postmortem's state says no.
            return Response({"detail": str(refusal)}, status=status.HTTP_409_CONFLICT)
        incident.refresh_from_db()
        return Response(self.get_serializer(drafts.working_copy(incident)).data)
