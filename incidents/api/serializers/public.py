"""The API's field names are part of its contract (documented in the OpenAPI schema): rename
nothing, only add. Public serializers show what the public pages show, never who wrote, reviewed
or is assigned what, nor anything of unpublished or internal records.

Related data is nested through small serializers, so a new kind of related record is one more
nested serializer on the detail serializer plus its prefetch in `views.IncidentViewSet`. Their
field lists are written out here rather than read from the postmortem's parts
(`incidents/parts.py`): what the public reads is decided here, so a field added for the authors
is never published by accident.
"""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.citation import absolute_url, permanent_url, revision_of
from incidents.models import (
    ActionItem,
    AgentAction,
    AISystem,
    CaseDocument,
    CaseSecondarySource,
    Control,
    ControlAssessment,
    Docket,
    Incident,
    IncidentOrganisation,
    LegalCase,
    LegalCaseIncident,
    Organisation,
    PerpetratorKind,
    PolicyChange,
    PolicyChangeIncident,
    PolicySource,
    RelatedIncident,
    Severity,
    Source,
    Tag,
    TimelineEvent,
)


def api_address(name, *args):
    return absolute_url(reverse(f"api:{name}", args=args))


# Vocabularies


class SeveritySerializer(serializers.ModelSerializer):
    class Meta:
        model = Severity
        fields = ["name", "label", "rank", "description"]


class PerpetratorSerializer(serializers.ModelSerializer):
    class Meta:
        model = PerpetratorKind
        fields = ["slug", "name", "description"]


class OrganisationSummarySerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The organisation's public page.")

    class Meta:
        model = Organisation
        fields = ["slug", "name", "url"]

    def get_url(self, organisation) -> str:
        return absolute_url(organisation.get_absolute_url())


class OrganisationSerializer(OrganisationSummarySerializer):
    api_url = serializers.SerializerMethodField()
    incidents_api_url = serializers.SerializerMethodField(
        help_text="Published incidents involving this organisation, in any role."
    )

    class Meta(OrganisationSummarySerializer.Meta):
        fields = [*OrganisationSummarySerializer.Meta.fields, "website", "description"] + [
            "api_url",
            "incidents_api_url",
        ]

    def get_api_url(self, organisation) -> str:
        return api_address("organisation-detail", organisation.slug)

    def get_incidents_api_url(self, organisation) -> str:
        return api_address("incident-list") + f"?organisation={organisation.slug}"


class TagSerializer(serializers.ModelSerializer):
    id = serializers.SerializerMethodField(help_text="`facet:slug`, as the `tag` filter takes it.")
    url = serializers.SerializerMethodField()
    incidents_api_url = serializers.SerializerMethodField()

    class Meta:
        model = Tag
        fields = ["id", "facet", "slug", "name", "description", "url", "incidents_api_url"]

    def get_id(self, tag) -> str:
        return f"{tag.facet}:{tag.slug}"

    def get_url(self, tag) -> str:
        return absolute_url(tag.get_absolute_url())

    def get_incidents_api_url(self, tag) -> str:
        return api_address("incident-list") + f"?tag={tag.facet}:{tag.slug}"


class TagSummarySerializer(TagSerializer):
    class Meta(TagSerializer.Meta):
        fields = ["id", "facet", "slug", "name"]


class AISystemSerializer(serializers.ModelSerializer):
    vendor = OrganisationSummarySerializer(allow_null=True)

    class Meta:
        model = AISystem
        fields = ["slug", "name", "vendor"]


# Incidents (public)


class OrganisationRoleSerializer(serializers.ModelSerializer):
    organisation = OrganisationSummarySerializer()

    class Meta:
        model = IncidentOrganisation
        fields = ["organisation", "role"]


class TimelineEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TimelineEvent
        fields = ["at", "description"]


class PublicActionItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActionItem
        fields = ["title", "owner", "due_on", "status"]


class SourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["url", "publisher", "title", "published_on", "stance"]


class AgentActionSerializer(serializers.ModelSerializer):
    ai_system = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = AgentAction
        fields = [
            "position",
            "at",
            "ai_system",
            "tool",
            "command",
            "target",
            "action_class",
            "reversible",
            "approval_gate",
            "outcome",
            "harmful",
        ]


class ControlSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Control
        fields = ["slug", "name", "type"]


class ControlAssessmentSerializer(serializers.ModelSerializer):
    control = ControlSummarySerializer()

    class Meta:
        model = ControlAssessment
        fields = ["control", "verdict", "rationale"]


class IncidentSummarySerializer(serializers.ModelSerializer):
    """What every list shows of an incident."""

    severity = SeveritySerializer(allow_null=True)
    perpetrator = PerpetratorSerializer(allow_null=True)
    tags = TagSummarySerializer(many=True)
    is_disputed = serializers.BooleanField(
        read_only=True, help_text="At least one source disputes the account."
    )
    url = serializers.SerializerMethodField(help_text="The incident's page.")
    permanent_url = serializers.SerializerMethodField(
        help_text="The address to cite: it never changes and redirects to the page."
    )
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "number",
            "slug",
            "title",
            "summary",
            "status",
            "kind",
            "severity",
            "perpetrator",
            "autonomy",
            "occurred_at",
            "occurred_precision",
            "published_at",
            "is_disputed",
            "tags",
            "url",
            "permanent_url",
            "api_url",
        ]

    def get_url(self, incident) -> str:
        return absolute_url(incident.get_absolute_url())

    def get_permanent_url(self, incident) -> str:
        return permanent_url(incident)

    def get_api_url(self, incident) -> str:
        return api_address("incident-detail", incident.number)


class PolicyLinkSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(source="policy_change.slug")
    title = serializers.CharField(source="policy_change.title")
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = PolicyChangeIncident
        fields = ["slug", "title", "relation", "api_url"]

    def get_api_url(self, link) -> str:
        return api_address("policy-change-detail", link.policy_change.slug)


class RevisionSerializer(serializers.Serializer):
    number = serializers.IntegerField(
        allow_null=True, help_text="The approved revision; null for imported records."
    )
    date = serializers.DateTimeField(help_text="When the content the public reads was written.")


class IncidentDetailSerializer(IncidentSummarySerializer):
    worst_credible_severity = SeveritySerializer(
        allow_null=True, help_text="What would have happened had nothing caught it."
    )
    agent_actions = AgentActionSerializer(
        many=True, help_text="What the AI systems did, step by step (secrets redacted)."
    )
    control_assessments = ControlAssessmentSerializer(many=True)
    ai_systems = AISystemSerializer(many=True)
    organisations = OrganisationRoleSerializer(many=True, source="organisation_roles")
    timeline = TimelineEventSerializer(many=True, source="timeline_events")
    action_items = PublicActionItemSerializer(many=True)
    sources = SourceSerializer(many=True)
    policy_changes = PolicyLinkSerializer(many=True, source="policy_links")
    revision = serializers.SerializerMethodField()
    merged_into = serializers.SlugRelatedField(
        slug_field="number",
        read_only=True,
        allow_null=True,
        help_text="The number of the surviving record.",
    )
    similar_api_url = serializers.SerializerMethodField()

    class Meta(IncidentSummarySerializer.Meta):
        fields = [
            *IncidentSummarySerializer.Meta.fields,
            "retraction_reason",
            "merged_into",
            "worst_credible_severity",
            "narrative",
            "narrative_html",
            "ai_systems",
            "access_held",
            "broader_permissions",
            "organisations",
            "detected_at",
            "mitigated_at",
            "resolved_at",
            "disclosed_on",
            "affected_services",
            "affected_regions",
            "users_affected",
            "lives_lost",
            "injuries",
            "outage_duration",
            "data_lost",
            "estimated_cost_usd",
            "blast_radius_notes",
            "remediation",
            "remediation_html",
            "timeline",
            "agent_actions",
            "control_assessments",
            "action_items",
            "sources",
            "policy_changes",
            "revision",
            "similar_api_url",
        ]

    @extend_schema_field(RevisionSerializer)
    def get_revision(self, incident):
        number, date = revision_of(incident)
        return RevisionSerializer({"number": number, "date": date}).data

    def get_similar_api_url(self, incident) -> str:
        return api_address("incident-similar", incident.number)


class SimilarIncidentSerializer(serializers.ModelSerializer):
    incident = IncidentSummarySerializer(source="related")

    class Meta:
        model = RelatedIncident
        fields = ["incident", "score", "shared_tags", "shared_organisations"]


# Policy changes


class PolicySourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = PolicySource
        fields = ["url", "publisher", "title", "published_on"]


class IncidentLinkSerializer(serializers.ModelSerializer):
    number = serializers.IntegerField(source="incident.number")
    title = serializers.CharField(source="incident.title")
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = PolicyChangeIncident
        fields = ["number", "title", "relation", "api_url"]

    def get_api_url(self, link) -> str:
        return api_address("incident-detail", link.incident.number)


class PolicyChangeSerializer(serializers.ModelSerializer):
    organisation = OrganisationSummarySerializer()
    sources = PolicySourceSerializer(many=True)
    incidents = IncidentLinkSerializer(
        many=True, source="public_incident_links", help_text="Published incidents only."
    )
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = PolicyChange
        fields = [
            "slug",
            "title",
            "organisation",
            "kind",
            "status",
            "announced_on",
            "effective_on",
            "description",
            "description_html",
            "sources",
            "incidents",
            "url",
            "api_url",
        ]

    def get_url(self, policy) -> str:
        return absolute_url(policy.get_absolute_url())

    def get_api_url(self, policy) -> str:
        return api_address("policy-change-detail", policy.slug)


class DocketSerializer(serializers.ModelSerializer):
    class Meta:
        model = Docket
        fields = ["court", "number", "link"]


class CaseDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseDocument
        fields = ["title", "court", "date", "dated_on", "citation", "link"]


class CaseSecondarySourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseSecondarySource
        fields = ["title", "link"]


class LegalCaseIncidentSerializer(serializers.ModelSerializer):
    number = serializers.IntegerField(source="incident.number")
    title = serializers.CharField(source="incident.title")
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = LegalCaseIncident
        fields = ["number", "title", "reason", "api_url"]

    def get_api_url(self, link) -> str:
        return api_address("incident-detail", link.incident.number)


class LegalCaseSerializer(serializers.ModelSerializer):
    """A lawsuit as the Database of AI Litigation records it; texts are the source's own."""

    dockets = DocketSerializer(many=True)
    documents = CaseDocumentSerializer(many=True)
    secondary_sources = CaseSecondarySourceSerializer(many=True)
    incidents = LegalCaseIncidentSerializer(
        many=True,
        source="public_incident_links",
        help_text="Published incidents the case followed, each with why it is linked.",
    )
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = LegalCase
        fields = [
            "slug",
            "record_number",
            "caption",
            "brief_description",
            "jurisdiction",
            "jurisdiction_level",
            "filed",
            "filed_on",
            "status",
            "status_group",
            "class_action",
            "areas_of_application",
            "causes_of_action",
            "issues",
            "algorithm_names",
            "parties",
            "summary_of_significance",
            "facts_to_date",
            "most_recent_activity",
            "most_recent_activity_on",
            "last_updated_on",
            "licence",
            "dockets",
            "documents",
            "secondary_sources",
            "incidents",
            "url",
            "api_url",
        ]

    def get_url(self, case) -> str:
        return absolute_url(case.get_absolute_url())

    def get_api_url(self, case) -> str:
        return api_address("legal-case-detail", case.slug)
