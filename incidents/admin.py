from django.contrib import admin, messages
from django.db import models

from incidents import services
from incidents.models import (
    ActionItem,
    AISystem,
    Incident,
    IncidentOrganisation,
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

# Links typed without a scheme are taken as https, not http.
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Severity)
class SeverityAdmin(admin.ModelAdmin):
    list_display = ["rank", "name", "label", "description", "colour"]
    list_display_links = ["name"]


@admin.register(PerpetratorKind)
class PerpetratorKindAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "description"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["name", "slug", "website"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(AISystem)
class AISystemAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor"]
    list_select_related = ["vendor"]
    search_fields = ["name", "vendor__name"]
    autocomplete_fields = ["vendor"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "facet", "slug"]
    list_filter = ["facet"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class IncidentOrganisationInline(admin.TabularInline):
    model = IncidentOrganisation
    autocomplete_fields = ["organisation"]
    extra = 1


class TimelineEventInline(admin.TabularInline):
    model = TimelineEvent
    extra = 1


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 1


class SourceInline(admin.TabularInline):
    formfield_overrides = HTTPS_URLS
    model = Source
    extra = 1


class IncidentPolicyInline(admin.TabularInline):
    model = PolicyChangeIncident
    autocomplete_fields = ["policy_change"]
    extra = 0
    verbose_name = "linked policy change"


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "title",
        "severity",
        "perpetrator",
        "status",
        "visibility",
        "occurred_at",
    ]
    list_display_links = ["number", "title"]
    list_filter = ["status", "visibility", "severity", "perpetrator", "autonomy", "tags__facet"]
    list_select_related = ["severity", "perpetrator"]
    search_fields = ["title", "summary", "=number", "organisations__name", "ai_systems__name"]
    date_hierarchy = "occurred_at"
    readonly_fields = ["number", "slug", "published_at", "created_at", "updated_at"]
    autocomplete_fields = ["ai_systems", "tags"]
    inlines = [
        IncidentOrganisationInline,
        TimelineEventInline,
        ActionItemInline,
        SourceInline,
        IncidentPolicyInline,
    ]
    actions = ["publish"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "slug",
                    "title",
                    "summary",
                    "narrative",
                    "status",
                    "visibility",
                    "retraction_reason",
                    "merged_into",
                ]
            },
        ),
        (
            "Classification",
            {
                "fields": [
                    "severity",
                    "perpetrator",
                    "ai_systems",
                    "autonomy",
                    "access_held",
                    "broader_permissions",
                    "tags",
                ]
            },
        ),
        (
            "Dates",
            {
                "fields": [
                    "occurred_at",
                    "occurred_precision",
                    "detected_at",
                    "mitigated_at",
                    "resolved_at",
                    "disclosed_on",
                ]
            },
        ),
        (
            "Blast radius",
            {
                "fields": [
                    "affected_services",
                    "affected_regions",
                    "users_affected",
                    "outage_duration",
                    "data_lost",
                    "estimated_cost_usd",
                    "blast_radius_notes",
                ]
            },
        ),
        ("Remediation", {"fields": ["remediation"]}),
        ("Record", {"fields": ["published_at", "created_at", "updated_at"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        # Public numbers are cited from outside; an incident is retracted, never deleted.
        return False

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.incident_saved(incident=form.instance)

    @admin.action(description="Publish selected incidents")
    def publish(self, request, queryset):
        for incident in queryset:
            services.incident_publish(incident=incident)
        self.message_user(request, f"Published {queryset.count()} incidents.", messages.SUCCESS)


@admin.register(RelatedIncident)
class RelatedIncidentAdmin(admin.ModelAdmin):
    list_display = ["incident", "related", "score", "shared_tags", "shared_organisations"]
    list_select_related = ["incident", "related"]
    search_fields = ["incident__title", "related__title"]


class PolicySourceInline(admin.TabularInline):
    formfield_overrides = HTTPS_URLS
    model = PolicySource
    extra = 1


class PolicyIncidentInline(admin.TabularInline):
    model = PolicyChangeIncident
    autocomplete_fields = ["incident"]
    extra = 1


@admin.register(PolicyChange)
class PolicyChangeAdmin(admin.ModelAdmin):
    list_display = ["title", "organisation", "kind", "status", "announced_on", "effective_on"]
    list_filter = ["kind", "status"]
    list_select_related = ["organisation"]
    search_fields = ["title", "organisation__name", "description"]
    autocomplete_fields = ["organisation"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [PolicyIncidentInline, PolicySourceInline]


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "incident", "owner", "due_on", "status"]
    list_filter = ["status", "due_on"]
    list_select_related = ["incident"]
    search_fields = ["title", "owner", "incident__title"]
    autocomplete_fields = ["incident"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["title", "publisher", "stance", "published_on", "incident"]
    list_filter = ["stance", "publisher"]
    list_select_related = ["incident"]
    search_fields = ["title", "url", "publisher", "incident__title"]
    autocomplete_fields = ["incident"]
