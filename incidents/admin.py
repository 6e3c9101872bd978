from django import forms
from django.contrib import admin, messages
from django.contrib.postgres.search import SearchQuery
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from incidents import queueing, search
from incidents.importers import IMPORTERS, VOCABULARIES
from incidents.importers.jobs import (
    import_job_can_retry,
    import_job_create,
    import_job_progress,
    import_job_retry,
    import_upload_checked,
)
from incidents.models import (
    ActionClassRule,
    ActionItem,
    AgentAction,
    AISystem,
    AuditEvent,
    CaseDocument,
    CaseSecondarySource,
    Control,
    ControlAssessment,
    CrosswalkEntry,
    Docket,
    DuplicateFlag,
    ImportJob,
    Incident,
    IncidentOrganisation,
    IncidentRevision,
    LegalCase,
    LegalCaseIncident,
    Notification,
    Organisation,
    OrganisationAlias,
    PerpetratorKind,
    PolicyChange,
    PolicyChangeIncident,
    PolicyControl,
    PolicySource,
    Provenance,
    RelatedIncident,
    ReportingRegime,
    ReportingStage,
    ReportingTrigger,
    Review,
    Severity,
    Source,
    SourceTerm,
    Tag,
    TimelineEvent,
)
from incidents.permissions import can_curate
from incidents.services import followups
from incidents.services.crosswalk import crosswalk_result_problem
from incidents.services.legal_links import (
    legal_case_link_confirm,
    legal_case_link_dismiss,
    legal_case_links_find,
)
from incidents.services.merge import MergeRefused, incident_merge
from incidents.services.parties import party_merge

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


class OrganisationAliasInline(admin.TabularInline):
    model = OrganisationAlias
    fields = ["name", "slug"]
    readonly_fields = ["slug"]
    extra = 1


class PartyMergeForm(forms.Form):
    into = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        widget=forms.RadioSelect,
        label="Keep",
        help_text="The others are folded into it and their names become its aliases.",
    )

    def __init__(self, *args, parties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = parties


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["name", "kind", "slug", "name_source", "shown_publicly"]
    list_filter = ["kind", "kind_set_by_editor", "name_source", "shown_publicly"]
    search_fields = ["name", "aliases__name"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["name_source"]
    fields = [
        "name",
        "slug",
        "name_source",
        "kind",
        "kind_set_by_editor",
        "website",
        "description",
        "shown_publicly",
    ]
    inlines = [OrganisationAliasInline]
    actions = ["merge_into"]

    def save_model(self, request, obj, form, change):
        # What an editor writes here stands against later imports.
        if "name" in form.changed_data or not change:
            obj.name_source = Organisation.NameSource.EDITOR
        if "kind" in form.changed_data:
            obj.kind_set_by_editor = True
        super().save_model(request, obj, form, change)
        if change and {"name", "kind"} & set(form.changed_data):
            followups.parties_changed(
                incident_ids=obj.incident_roles.values_list("incident_id", flat=True)
            )

    def has_curate_permission(self, request):
        return can_curate(request.user)

    @admin.action(
        description="Merge the selected parties into one of them...", permissions=["curate"]
    )
    def merge_into(self, request, queryset):
        if queryset.count() < 2:
            self.message_user(
                request, "Select the parties to merge, two or more.", messages.WARNING
            )
            return None
        form = PartyMergeForm(request.POST if "apply" in request.POST else None, parties=queryset)
        if form.is_valid():
            into = form.cleaned_data["into"]
            for duplicate in queryset.exclude(pk=into.pk):
                done = party_merge(duplicate=duplicate, into=into, by=request.user)
                self.log_change(request, into, done)
                self.message_user(request, done, messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/incidents/organisation/merge.html",
            {
                **self.admin_site.each_context(request),
                "title": "Merge parties",
                "opts": self.model._meta,
                "form": form,
                "parties": queryset,
                "action": "merge_into",
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(AISystem)
class AISystemAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor", "shown_publicly"]
    list_filter = ["shown_publicly"]
    list_select_related = ["vendor"]
    search_fields = ["name", "vendor__name"]
    autocomplete_fields = ["vendor"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "facet", "slug", "shown_publicly"]
    list_filter = ["facet", "shown_publicly"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class CrosswalkEntryForm(forms.ModelForm):
    vocabulary = forms.ChoiceField()

    class Meta:
        model = CrosswalkEntry
        fields = ["vocabulary", "value", "target", "result", "rule"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vocabulary"].choices = [(key, v.label) for key, v in VOCABULARIES.items()]

    def clean(self):
        cleaned = super().clean()
        target, result = cleaned.get("target"), cleaned.get("result", "")
        if target and (problem := crosswalk_result_problem(target, result)):
            self.add_error("result", problem)
        return cleaned


@admin.register(CrosswalkEntry)
class CrosswalkEntryAdmin(admin.ModelAdmin):
    """Editors correct the crosswalk here; a change derives the incidents it reaches again."""

    form = CrosswalkEntryForm
    list_display = ["vocabulary", "value", "target", "result", "edited_by", "updated_at"]
    list_filter = ["vocabulary", "target"]
    search_fields = ["value", "result", "rule"]
    readonly_fields = ["edited_by", "updated_at"]

    def save_model(self, request, obj, form, change):
        obj.edited_by = request.user
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
        queueing.crosswalk_entry_rederive(obj.pk)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        queueing.crosswalk_entry_rederive(None)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        queueing.crosswalk_entry_rederive(None)


@admin.register(SourceTerm)
class SourceTermAdmin(admin.ModelAdmin):
    """What the sources say, as they say it: read-only, with how many incidents carry each."""

    list_display = ["value", "vocabulary", "incident_count"]
    list_filter = ["vocabulary"]
    search_fields = ["value"]
    readonly_fields = ["vocabulary", "value", "slug"]
    exclude = ["incidents"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(incident_count=models.Count("incidents"))

    @admin.display(ordering="incident_count", description="incidents")
    def incident_count(self, term):
        return term.incident_count

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


class AgentActionInline(admin.TabularInline):
    model = AgentAction
    fields = ["position", "at", "ai_system", "tool", "command", "target", "action_class",
              "reversible", "approval_gate", "outcome", "harmful"]  # fmt: skip
    autocomplete_fields = ["ai_system"]
    extra = 0


class IncidentPolicyInline(admin.TabularInline):
    model = PolicyChangeIncident
    autocomplete_fields = ["policy_change"]
    extra = 0
    verbose_name = "linked policy change"


class ProvenanceInline(admin.TabularInline):
    model = Provenance
    extra = 0
    fields = ["dataset", "external_id", "url", "licence", "imported_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written elsewhere (the review flow, imports): browse and search only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CappedPaginator(Paginator):
    """Counts at most COUNTED_AT_MOST matches: counting a hundred thousand to number pages
    nobody reads cost seconds."""

    COUNTED_AT_MOST = 10_000

    @cached_property
    def count(self):
        return self.object_list.order_by()[: self.COUNTED_AT_MOST].count()


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
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
    list_filter = [
        "status",
        "visibility",
        "severity",
        "perpetrator",
        "autonomy",
        "provenances__dataset",
        "tags__facet",
    ]
    list_select_related = ["severity", "perpetrator"]
    search_fields = ["title", "summary", "=number", "organisations__name", "ai_systems__name"]
    # A COUNT of every incident beside each filtered count: slow on a large base.
    show_full_result_count = False
    paginator = CappedPaginator
    date_hierarchy = "occurred_at"
    readonly_fields = ["number", "slug", "published_at", "created_at", "updated_at"]
    autocomplete_fields = ["ai_systems", "tags"]

    def get_search_results(self, request, queryset, search_term):
        """On PostgreSQL the stored search vector answers, by its index: it holds the title,
        the summary and the names of organisations, AI systems and tags. Matching the names
        by joins took a DISTINCT over the whole base."""
        term = search.clean_query(search_term)
        if not term or not search.is_postgres():
            return super().get_search_results(request, queryset, search_term)
        if term.isdigit():
            return queryset.filter(number=int(term)), False
        matches = Q(search_vector=SearchQuery(term, search_type="websearch", config="english"))
        return queryset.filter(matches), False

    inlines = [
        IncidentOrganisationInline,
        TimelineEventInline,
        ActionItemInline,
        SourceInline,
        AgentActionInline,
        IncidentPolicyInline,
        ProvenanceInline,
    ]
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

    # Postmortems change only through the review flow (the filing form and its services), and
    # public numbers are cited from outside: an incident is retracted, never deleted.


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

    # Open action items are counted on the dashboards.
    def save_model(self, request, obj, form, change):
        previous = ActionItem.objects.filter(pk=obj.pk).values_list("incident_id", flat=True)
        incident_ids = {obj.incident_id, *previous}
        super().save_model(request, obj, form, change)
        queueing.summaries_apply(incident_ids)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        queueing.summaries_apply([obj.incident_id])

    def delete_queryset(self, request, queryset):
        incident_ids = set(queryset.values_list("incident_id", flat=True))
        super().delete_queryset(request, queryset)
        queueing.summaries_apply(incident_ids)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["title", "publisher", "stance", "published_on", "incident"]
    list_filter = ["stance", "publisher"]
    list_select_related = ["incident"]
    search_fields = ["title", "url", "publisher", "incident__title"]
    autocomplete_fields = ["incident"]


@admin.register(Provenance)
class ProvenanceAdmin(admin.ModelAdmin):
    list_display = ["external_id", "dataset", "incident", "licence", "imported_at"]
    list_filter = ["dataset", "licence"]
    list_select_related = ["incident"]
    search_fields = ["=external_id", "incident__title", "url"]
    readonly_fields = ["incident", "dataset", "external_id", "url", "licence", "imported_at",
                       "content_hash"]  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# How each component of a flag's evidence is shown to the editor reviewing it.
EVIDENCE_COMPONENTS = [
    ("meaning", "Meaning alike (cosine of the sentence embeddings)"),
    ("words", "Wording alike (TF-IDF cosine of title and summary)"),
    ("title_words", "Title words found in the other (weighted by rarity)"),
    ("dates", "Days apart"),
    ("undated", "A date is missing"),
    ("shared", "Organisations and AI systems both name"),
    ("same_dataset", "One dataset holds both"),
    ("margin", "Lead over each one's runner-up in the other's dataset"),
    ("constant", "Constant of the model"),
]


def evidence_rows(evidence):
    """[(component, value, what it added to the score)] of a flag's evidence, for people."""
    text = evidence.get("text", {})
    days = evidence.get("days_apart")
    values = {
        "meaning": text.get("meaning"),
        "words": text.get("words"),
        "title_words": f"{text['title_words']:.0%}" if "title_words" in text else None,
        "dates": "same dates" if days == 0 else days,
        "undated": "yes" if days is None and "text" in evidence else None,
        "shared": ", ".join(evidence.get("organisations", []) + evidence.get("systems", [])),
        "same_dataset": "yes" if evidence.get("same_dataset") else None,
        "margin": evidence.get("closest_match_margin"),
        "constant": None,
    }
    added = evidence.get("contributions", {})
    return [
        (label, values[key], added.get(key))
        for key, label in EVIDENCE_COMPONENTS
        if values[key] not in (None, "") or key in added
    ]


@admin.register(DuplicateFlag)
class DuplicateFlagAdmin(admin.ModelAdmin):
    list_display = ["incident", "candidate", "score", "basis", "reason", "status"]
    list_filter = ["status", "basis"]
    list_select_related = ["incident", "candidate"]
    search_fields = ["incident__title", "candidate__title"]
    fields = [
        "incident", "candidate", "score", "basis", "reason", "why", "the_two_records",
        "status", "created_at", "resolved_at",
    ]  # fmt: skip
    readonly_fields = [name for name in fields if name != "status"]
    actions = ["merge_candidate_into_incident", "merge_incident_into_candidate", "dismiss"]

    @admin.display(description="Why it was flagged")
    def why(self, flag):
        return render_to_string(
            "admin/incidents/duplicateflag/_why.html",
            {
                "flag": flag,
                "stated": flag.evidence.get("stated"),
                "rows": evidence_rows(flag.evidence),
                "scored": flag.evidence.get("score"),
                "threshold": flag.evidence.get("threshold"),
            },
        )

    @admin.display(description="The two records")
    def the_two_records(self, flag):
        pair = list(
            Incident.objects.filter(pk__in=[flag.incident_id, flag.candidate_id])
            .prefetch_related("provenances", "ai_systems", "organisation_roles__organisation")
            .order_by("pk")
        )
        return render_to_string("admin/incidents/duplicateflag/_records.html", {"pair": pair})

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _merge(self, request, queryset, *, keep):
        merged = 0
        for flag in queryset.filter(status=DuplicateFlag.Status.OPEN):
            primary, duplicate = (
                (flag.incident, flag.candidate)
                if keep == "incident"
                else (flag.candidate, flag.incident)
            )
            try:
                incident_merge(primary=primary, duplicate=duplicate, by=request.user)
                merged += 1
            except MergeRefused as error:
                self.message_user(request, str(error), messages.WARNING)
        self.message_user(
            request,
            ngettext(
                "Merged %(n)d pair; both provenances kept.",
                "Merged %(n)d pairs; both provenances kept.",
                merged,
            )
            % {"n": merged},
            messages.SUCCESS,
        )

    @admin.action(description="Merge: keep the first incident, fold the candidate into it")
    def merge_candidate_into_incident(self, request, queryset):
        self._merge(request, queryset, keep="incident")

    @admin.action(description="Merge: keep the candidate, fold the first incident into it")
    def merge_incident_into_candidate(self, request, queryset):
        self._merge(request, queryset, keep="candidate")

    @admin.action(description="Not duplicates: dismiss")
    def dismiss(self, request, queryset):
        count = queryset.filter(status=DuplicateFlag.Status.OPEN).update(
            status=DuplicateFlag.Status.DISMISSED, resolved_at=timezone.now()
        )
        dismissed = ngettext("Dismissed %(n)d flag.", "Dismissed %(n)d flags.", count)
        self.message_user(request, dismissed % {"n": count}, messages.SUCCESS)


class ImportJobForm(forms.ModelForm):
    source = forms.ChoiceField(choices=[])
    upload = forms.FileField(
        help_text="The dataset file: a CSV or JSON file, or a .zip of a dataset folder "
        "(for the AI Incident Database, zip incidents.csv with its classifications_*.csv)."
    )

    class Meta:
        model = ImportJob
        fields = ["source", "upload", "dry_run"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "source" in self.fields:  # only on the upload form; a finished job is read-only
            self.fields["source"].choices = [
                (name, f"{name}: {importer.description}") for name, importer in IMPORTERS.items()
            ]

    def clean_upload(self):
        return import_upload_checked(self.cleaned_data["upload"])


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    form = ImportJobForm
    list_display = ["created_at", "source", "filename", "dry_run", "status", "created_by"]
    list_filter = ["status", "source"]
    list_select_related = ["created_by"]
    readonly_fields = ["source", "filename", "dry_run", "status", "progress", "result", "error",
                       "created_by", "created_at", "started_at", "finished_at"]  # fmt: skip
    change_form_template = "admin/incidents/importjob/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj else ["source", "upload", "dry_run"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        job = import_job_create(
            source=form.cleaned_data["source"],
            upload=form.cleaned_data["upload"],
            dry_run=form.cleaned_data["dry_run"],
            by=request.user,
        )
        obj.pk = job.pk

    def save_related(self, request, form, formsets, change):
        pass

    def get_urls(self):
        retry = self.admin_site.admin_view(require_POST(self.retry_view))
        name = f"{self.opts.app_label}_{self.opts.model_name}_retry"
        return [path("<int:object_id>/retry/", retry, name=name), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        can_retry = job is not None and import_job_can_retry(job)
        extra_context = {**(extra_context or {}), "can_retry": can_retry}
        return super().change_view(request, object_id, form_url, extra_context)

    def retry_view(self, request, object_id):
        """Queue again a job whose worker stopped, for whoever may start imports."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        job = get_object_or_404(ImportJob, pk=object_id)
        change_page = redirect("admin:incidents_importjob_change", job.pk)
        if not import_job_can_retry(job):
            self.message_user(
                request, "This import cannot be retried: upload the file again.", messages.ERROR
            )
            return change_page
        import_job_retry(job=job)
        self.message_user(request, "The import is queued again.", messages.SUCCESS)
        return change_page

    @admin.display(description="Progress")
    def progress(self, job):
        if job.status != ImportJob.Status.RUNNING:
            return "-"
        progress = import_job_progress(job)
        if not progress or progress["total"] is None:
            return "Reading and checking the file..."
        # Every record is written in one transaction that commits at the end.
        counts = f"{progress['done']:,} of {progress['total']:,}"
        return f"{counts} incidents read; none is saved until all are"

    @admin.display(description="Result")
    def result(self, job):
        return (job.summary or {}).get("text", "-")


@admin.register(IncidentRevision)
class IncidentRevisionAdmin(ReadOnlyAdmin):
    list_display = ["incident", "number", "author", "created_at", "note"]
    list_select_related = ["incident", "author"]
    search_fields = ["incident__title", "author__username"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["revision", "reviewer", "decision", "created_at"]
    list_filter = ["decision"]
    list_select_related = ["revision__incident", "reviewer"]
    search_fields = ["revision__incident__title", "reviewer__username", "comment"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "actor", "incident", "detail"]
    list_filter = ["action"]
    list_select_related = ["incident", "actor"]
    search_fields = ["incident__title", "actor__username", "detail"]
    date_hierarchy = "at"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "subject", "sent_at", "attempts"]
    list_filter = ["sent_at"]
    search_fields = ["recipient", "subject"]


@admin.register(ActionClassRule)
class ActionClassRuleAdmin(admin.ModelAdmin):
    """Editors correct how tool calls are classified; the first enabled rule that matches wins."""

    list_display = ["position", "pattern", "action_class", "note", "enabled"]
    list_display_links = ["pattern"]
    list_editable = ["position", "action_class", "enabled"]
    list_filter = ["action_class", "enabled"]
    search_fields = ["pattern", "note"]


# The control catalogue, assessments, near misses and reporting obligations.


@admin.register(Control)
class ControlAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "slug"]
    list_filter = ["type"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}


class ControlAssessmentInline(admin.TabularInline):
    """Shown with the incident; assessments change through the filing form and its review."""

    model = ControlAssessment
    fields = ["control", "verdict", "rationale"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class PolicyControlInline(admin.TabularInline):
    model = PolicyControl
    autocomplete_fields = ["control"]
    extra = 1
    verbose_name = "control adopted"
    verbose_name_plural = "controls adopted"


IncidentAdmin.inlines = [*IncidentAdmin.inlines, ControlAssessmentInline]
IncidentAdmin.list_filter = [*IncidentAdmin.list_filter, "kind"]
IncidentAdmin.fieldsets[1][1]["fields"] += ["kind", "worst_credible_severity"]
PolicyChangeAdmin.inlines = [*PolicyChangeAdmin.inlines, PolicyControlInline]


class ReportingStageInline(admin.TabularInline):
    model = ReportingStage
    extra = 0


@admin.register(ReportingTrigger)
class ReportingTriggerAdmin(admin.ModelAdmin):
    list_display = ["name", "regime", "position"]
    list_filter = ["regime"]
    list_select_related = ["regime"]
    inlines = [ReportingStageInline]


class ReportingTriggerInline(admin.TabularInline):
    model = ReportingTrigger
    fields = ["position", "name", "slug"]
    show_change_link = True
    extra = 0


@admin.register(ReportingRegime)
class ReportingRegimeAdmin(admin.ModelAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["name", "citation"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ReportingTriggerInline]


class DocketInline(admin.TabularInline):
    formfield_overrides = HTTPS_URLS
    model = Docket
    extra = 0


class CaseDocumentInline(admin.TabularInline):
    formfield_overrides = HTTPS_URLS
    model = CaseDocument
    extra = 0


class CaseSecondarySourceInline(admin.TabularInline):
    formfield_overrides = HTTPS_URLS
    model = CaseSecondarySource
    extra = 0


class LegalCaseIncidentInline(admin.TabularInline):
    """Shown for reading: links are made, confirmed and dismissed under Legal case incidents,
    which records who decided."""

    model = LegalCaseIncident
    fields = readonly_fields = ["incident", "status", "reason", "linked_by", "decided_at"]
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False


def _decide_links(modeladmin, request, queryset, decide, done):
    decided = 0
    for link in queryset.select_related("case"):
        try:
            decide(link=link, by=request.user)
        except PermissionDenied as error:
            modeladmin.message_user(request, str(error), messages.ERROR)
            return
        decided += 1
    modeladmin.message_user(request, done % {"n": decided}, messages.SUCCESS)


@admin.register(LegalCaseIncident)
class LegalCaseIncidentAdmin(admin.ModelAdmin):
    """Links between legal cases and incidents, and the suggestions waiting for an editor."""

    list_display = ["case", "incident", "status", "reason", "linked_by", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["case", "incident", "linked_by"]
    search_fields = ["case__caption", "incident__title", "reason"]
    autocomplete_fields = ["case", "incident"]
    readonly_fields = ["linked_by", "decided_at", "created_at"]
    actions = ["confirm", "dismiss"]

    def save_model(self, request, obj, form, change):
        if not change or "status" in form.changed_data:
            obj.linked_by, obj.decided_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)
        obj.case.save(update_fields=["updated_at"])  # the case and incident pages change

    @admin.action(description="Confirm: the case followed the incident")
    def confirm(self, request, queryset):
        _decide_links(
            self, request, queryset, legal_case_link_confirm, "Linked %(n)d case(s) to incidents."
        )

    @admin.action(description="Dismiss: the case is not about the incident")
    def dismiss(self, request, queryset):
        _decide_links(
            self, request, queryset, legal_case_link_dismiss, "Dismissed %(n)d suggestion(s)."
        )


@admin.register(LegalCase)
class LegalCaseAdmin(admin.ModelAdmin):
    list_display = ["caption", "record_number", "jurisdiction_level", "status", "filed_on"]
    list_filter = ["status_group", "jurisdiction_level", "class_action"]
    search_fields = ["caption", "=record_number", "parties"]
    readonly_fields = ["record_number", "licence", "imported_at", "created_at", "updated_at"]
    inlines = [
        LegalCaseIncidentInline,
        DocketInline,
        CaseDocumentInline,
        CaseSecondarySourceInline,
    ]
    actions = ["find_incidents"]

    @admin.action(description="Look again for incidents these cases followed")
    def find_incidents(self, request, queryset):
        linked, suggested = legal_case_links_find(cases=queryset)
        self.message_user(
            request,
            f"Linked on evidence: {linked}; new suggestions for an editor: {suggested}.",
            messages.SUCCESS,
        )
