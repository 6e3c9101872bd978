"""The incident record: one AI-related incident as a structured postmortem."""

from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import (
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OrderBy,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.text import slugify

from incidents.markdown import render_markdown
from incidents.permissions import can_read_internal

from .taxonomy import AISystem, Organisation, PerpetratorKind, Severity, Tag


class Tristate(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Unknown"


# The date-order check constraints name no field; each error belongs next to the later date.
DATE_ORDER_CONSTRAINTS = {
    "incident_detected_after_occurred": "detected_at",
    "incident_mitigated_after_occurred": "mitigated_at",
    "incident_resolved_after_occurred": "resolved_at",
    "incident_resolved_after_mitigated": "resolved_at",
}
DATE_ORDER_FIELDS = ["occurred_at", "detected_at", "mitigated_at", "resolved_at"]


class IncidentQuerySet(models.QuerySet):
    def public(self):
        """Everything an anonymous reader may open: public, and published or retracted."""
        return self.filter(
            visibility=Incident.Visibility.PUBLIC,
            status__in=[Incident.Status.PUBLISHED, Incident.Status.RETRACTED],
        )

    def published(self):
        """What public lists show: public and currently published."""
        return self.filter(visibility=Incident.Visibility.PUBLIC, status=Incident.Status.PUBLISHED)

    def reviewed(self):
        """Published, whatever the visibility: what internal dashboards count."""
        return self.filter(status=Incident.Status.PUBLISHED)

    def published_of(self, organisation, newest=None):
        """Published incidents `organisation` took part in; given `newest`, narrowed to a few
        that include the `newest` published last, for a caller that takes those. PostgreSQL
        finds them down the organisation's links, which carry the order (migration 0036):
        down the incidents' own order, an organisation whose incidents were all published long
        ago has it test most of the base first."""
        roles = IncidentOrganisation.objects.filter(
            incident=OuterRef("pk"), organisation=organisation
        )
        found = self.published().filter(Exists(roles))
        if newest is not None and connection.vendor == "postgresql":
            # An incident has a link per role it played, so this many links hold `newest`.
            newest_links = RawSQL(
                "SELECT incident_id FROM incidents_incidentorganisation"
                " WHERE organisation_id = %s AND incident_listed"
                " AND incident_published_at IS NOT NULL"
                " ORDER BY incident_published_at DESC, incident_number DESC LIMIT %s",
                [organisation.pk, newest * len(IncidentOrganisation.Role)],
            )
            found = found.filter(published_at__isnull=False, pk__in=newest_links)
        return found

    def among_next_links_of(self, organisation, *, role, descending, after, count):
        """PostgreSQL: narrowed to a few that include the next `count` listed incidents of
        `organisation` (in `role`, if given) in list order, after the (sort date, number)
        `after` when given. Found down the organisation's links, which carry the list order
        (migration 0036), for a caller that keeps its own filters and order and takes those."""
        order, beyond = ("DESC", "<") if descending else ("ASC", ">")
        sql = (
            "SELECT incident_id FROM incidents_incidentorganisation"
            " WHERE organisation_id = %s AND incident_listed"
        )
        params = [organisation.pk]
        if role:
            sql += " AND role = %s"
            params.append(role)
        if after:
            sql += f" AND (incident_sort_date, incident_number) {beyond} (%s, %s)"
            params += list(after)
        sql += f" ORDER BY incident_sort_date {order}, incident_number {order} LIMIT %s"
        # Without a role, an incident has a link per role it played.
        params.append(count if role else count * len(IncidentOrganisation.Role))
        return self.filter(pk__in=RawSQL(sql, params))

    def more_than(self, count):
        """Whether more than `count` incidents match, reading no further than one more: a
        COUNT of a large base costs seconds."""
        return self.order_by().values("pk")[count : count + 1].exists()

    def visible_to(self, user):
        if can_read_internal(user):
            return self.all()
        return self.public()

    def with_newest_revision(self):
        """Annotate `newest_revision_id`, so `has_unpublished_changes` on a list costs no query
        per incident."""
        revisions = apps.get_model("incidents", "IncidentRevision").objects
        newest = revisions.filter(incident=OuterRef("pk")).order_by("-number").values("pk")[:1]
        return self.annotate(newest_revision_id=Subquery(newest))

    def awaiting_review_by(self, user):
        """Waiting for review, and not written by `user` since the last publication: a second
        person must review what someone wrote."""
        revisions = apps.get_model("incidents", "IncidentRevision").objects
        mine = revisions.unpublished().filter(incident=OuterRef("pk"), author=user)
        return self.filter(review_requested_at__isnull=False).exclude(Exists(mine))

    def with_disputed(self):
        disputing = Source.objects.filter(incident=OuterRef("pk"), stance=Source.Stance.DISPUTES)
        return self.annotate(is_disputed=Exists(disputing))

    def newest_first(self):
        # Some incidents are only known to the month and have no occurrence date; they sort by
        # when they became public instead of sinking to the end.
        return self.annotate(
            sort_date=Coalesce("occurred_at", "published_at", "created_at")
        ).order_by("-sort_date", "-number")

    def found_then_sorted(self, descending=True):
        """In list order, by an expression no index provides: PostgreSQL then finds the
        matches through the filters' own indexes and sorts them, instead of reading the list's
        sort index until enough match (the cheaper way when few match)."""
        found_date = ExpressionWrapper(
            Coalesce("occurred_at", "published_at", "created_at") + Value(timedelta(0)),
            output_field=models.DateTimeField(),
        )
        return self.order_by(
            OrderBy(found_date, descending=descending), OrderBy(F("number"), descending=descending)
        )

    def for_list(self):
        return self.select_related("severity", "perpetrator").with_disputed().newest_first()

    def kind_counts(self):
        """How many incidents, near misses and hazards, and near misses per incident (None
        when there is no incident to divide by), in one query."""
        kinds = Incident.Kind
        counts = self.order_by().aggregate(
            **{kind.value: models.Count("pk", filter=Q(kind=kind)) for kind in kinds}
        )
        incidents = counts[kinds.INCIDENT]
        counts["near_miss_ratio"] = (
            round(counts[kinds.NEAR_MISS] / incidents, 2) if incidents else None
        )
        return counts

    def for_detail(self):
        """An incident with everything it shows, the `optional_parts` included."""
        return self._shown_always().prefetch_related(*optional_parts())

    def for_page(self):
        """An incident with what its page always shows, and whether it has each of the
        `optional_parts` (for `Incident.fetch_parts`)."""
        return self._shown_always().with_parts_present(
            part.prefetch_to for part in optional_parts()
        )

    def _shown_always(self):
        return (
            self.select_related("severity", "perpetrator", "worst_credible_severity")
            .prefetch_related(
                "tags",
                models.Prefetch(
                    "organisation_roles",
                    queryset=IncidentOrganisation.objects.select_related("organisation"),
                ),
                "sources",
                "provenances",
            )
            .select_related("merged_into")
        )

    def with_parts_present(self, relations):
        """Annotate `has_<relation>` for each of these relations of an incident to rows of its
        own: whether it has any, an index probe each."""
        annotations = {}
        for relation in relations:
            field = Incident._meta.get_field(relation)
            rows = field.remote_field.through if field.many_to_many else field.related_model
            rows = rows.objects.order_by().filter(incident=OuterRef("pk"))
            annotations[f"has_{relation}"] = Exists(rows)
        return self.annotate(**annotations)


def optional_parts():
    """Prefetches of the parts of a postmortem most incidents lack (imported ones above all),
    each with the rows its page shows."""
    model = apps.get_model
    return [
        models.Prefetch("ai_systems", queryset=AISystem.objects.select_related("vendor")),
        models.Prefetch(
            "timeline_events", queryset=model("incidents", "TimelineEvent").objects.all()
        ),
        models.Prefetch("action_items", queryset=model("incidents", "ActionItem").objects.all()),
        models.Prefetch(
            "cross_references", queryset=model("incidents", "CrossReference").objects.all()
        ),
        models.Prefetch(
            "agent_actions",
            queryset=model("incidents", "AgentAction").objects.select_related("ai_system"),
        ),
    ]


class Incident(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        PUBLISHED = "published", "Published"
        RETRACTED = "retracted", "Retracted"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        INTERNAL = "internal", "Internal only"

    class Precision(models.TextChoices):
        DAY = "day", "Day"
        MONTH = "month", "Month"
        YEAR = "year", "Year"

    class Autonomy(models.TextChoices):
        SUGGESTED = "suggested", "Suggested only"
        APPROVED = "approved", "Acted after human approval"
        AUTONOMOUS = "autonomous", "Acted autonomously"
        UNKNOWN = "unknown", "Unknown"

    class Kind(models.TextChoices):
        INCIDENT = "incident", "Incident"
        NEAR_MISS = "near_miss", "Near miss"
        HAZARD = "hazard", "Hazard"

    number = models.PositiveIntegerField(unique=True, editable=False)
    slug = models.SlugField(max_length=120, unique=True, editable=False)
    title = models.CharField(max_length=200)
    summary = models.TextField(
        blank=True, help_text="One paragraph: what happened and why it matters."
    )
    narrative = models.TextField(
        blank=True,
        help_text="Markdown: what happened, root cause, contributing factors, lessons.",
    )
    narrative_html = models.TextField(blank=True, editable=False)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    visibility = models.CharField(
        max_length=20, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    retraction_reason = models.TextField(blank=True)
    published_revision = models.ForeignKey(
        "IncidentRevision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="The approved revision the public reads.",
    )
    review_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    retraction_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_duplicates"
    )

    severity = models.ForeignKey(
        Severity, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    kind = models.CharField(
        max_length=10,
        choices=Kind.choices,
        default=Kind.INCIDENT,
        db_index=True,
        help_text="Incident: harm happened. Near miss: caught before harm. "
        "Hazard: a credible risk, with no event yet.",
    )
    worst_credible_severity = models.ForeignKey(
        Severity,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="worst_case_incidents",
        help_text="What would have happened had nothing caught it.",
    )
    perpetrator = models.ForeignKey(
        PerpetratorKind, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    ai_systems = models.ManyToManyField(
        AISystem, blank=True, related_name="incidents", verbose_name="AI systems"
    )
    autonomy = models.CharField(
        max_length=20, choices=Autonomy.choices, default=Autonomy.UNKNOWN, db_index=True
    )
    access_held = models.TextField(blank=True, help_text="The access the AI system held.")
    broader_permissions = models.CharField(
        "permissions broader than needed",
        max_length=10,
        choices=Tristate.choices,
        default=Tristate.UNKNOWN,
    )
    organisations = models.ManyToManyField(
        Organisation, through="IncidentOrganisation", related_name="incidents", blank=True
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="incidents")

    occurred_at = models.DateTimeField(null=True, blank=True, db_index=True)
    occurred_precision = models.CharField(
        max_length=5,
        choices=Precision.choices,
        default=Precision.DAY,
        help_text="How much of the occurrence date is known; the rest is not.",
    )
    detected_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    disclosed_on = models.DateField("publicly disclosed", null=True, blank=True)

    affected_services = models.TextField(blank=True)
    affected_regions = models.TextField(blank=True)
    users_affected = models.PositiveBigIntegerField(
        "users or customers affected", null=True, blank=True
    )
    outage_duration = models.DurationField(null=True, blank=True)
    lives_lost = models.PositiveIntegerField(
        null=True, blank=True, help_text="People killed; empty when not known."
    )
    injuries = models.PositiveIntegerField(
        null=True, blank=True, help_text="People injured; empty when not known."
    )
    data_lost = models.CharField(max_length=10, choices=Tristate.choices, default=Tristate.UNKNOWN)
    estimated_cost_usd = models.DecimalField(
        "estimated cost (USD)", max_digits=16, decimal_places=2, null=True, blank=True
    )
    blast_radius_notes = models.TextField("blast radius", blank=True)

    remediation = models.TextField(blank=True, help_text="Markdown: what was done afterwards.")
    remediation_html = models.TextField(blank=True, editable=False)

    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Kept current by `services.search_index_update`; only filled on PostgreSQL.
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        permissions = [
            ("file_incident", "Can file and edit postmortems"),
            ("review_incident", "Can approve postmortems or request changes"),
            ("retract_incident", "Can retract incidents, merge them and restore revisions"),
            ("view_internal", "Can read internal and unpublished postmortems"),
        ]
        indexes = [
            models.Index(fields=["status", "visibility", "-occurred_at"], name="incident_listing"),
            models.Index(fields=["-published_at"], name="incident_published_at"),
            # The public list's newest/oldest order (see newest_first), walked by keyset pages.
            models.Index(
                Coalesce("occurred_at", "published_at", "created_at").desc(),
                F("number").desc(),
                name="incident_public_sort",
                condition=Q(status="published", visibility="public"),
            ),
            # The same order over every incident, for staff, whose lists show drafts too.
            models.Index(
                Coalesce("occurred_at", "published_at", "created_at").desc(),
                F("number").desc(),
                name="incident_sort",
            ),
            # Facet counts of the public list read these columns from the index alone
            # (PostgreSQL; other databases skip covering indexes).
            models.Index(
                fields=["id"],
                include=["autonomy", "kind", "severity", "perpetrator"],
                name="incident_public_facets",
                condition=Q(status="published", visibility="public"),
            ),
            # The newest change names the data's version (incidents.caching).
            models.Index(fields=["updated_at"], name="incident_updated_at"),
            # Feeds of newly published incidents; imports publish many at the same moment.
            models.Index(
                F("published_at").desc(),
                F("number").desc(),
                name="incident_published_feed",
                condition=Q(status="published", visibility="public", published_at__isnull=False),
            ),
            # PostgreSQL only: the migration skips these elsewhere.
            GinIndex(fields=["search_vector"], name="incident_search_vector"),
            GinIndex(OpClass("title", name="gin_trgm_ops"), name="incident_title_trigram"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(detected_at__isnull=True)
                | Q(occurred_at__isnull=True)
                | Q(detected_at__gte=F("occurred_at")),
                name="incident_detected_after_occurred",
                violation_error_message="Detected cannot be before it occurred.",
            ),
            models.CheckConstraint(
                condition=Q(mitigated_at__isnull=True)
                | Q(occurred_at__isnull=True)
                | Q(mitigated_at__gte=F("occurred_at")),
                name="incident_mitigated_after_occurred",
                violation_error_message="Mitigated cannot be before it occurred.",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True)
                | Q(occurred_at__isnull=True)
                | Q(resolved_at__gte=F("occurred_at")),
                name="incident_resolved_after_occurred",
                violation_error_message="Resolved cannot be before it occurred.",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True)
                | Q(mitigated_at__isnull=True)
                | Q(resolved_at__gte=F("mitigated_at")),
                name="incident_resolved_after_mitigated",
                violation_error_message="Resolved cannot be before it was mitigated.",
            ),
            models.CheckConstraint(
                condition=Q(status="retracted", retraction_reason__gt="") | ~Q(status="retracted"),
                name="incident_retraction_has_reason",
                violation_error_message="A retracted incident needs a reason.",
            ),
        ]

    def __str__(self):
        return f"#{self.number} {self.title}"

    def save(self, *args, **kwargs):
        self.narrative_html = render_markdown(self.narrative)
        self.remediation_html = render_markdown(self.remediation)
        if self.pk:
            return super().save(*args, **kwargs)
        # Numbers are public and cited from outside (incidents are retracted, not deleted):
        # take the next one, and retry if another writer took it first.
        given_slug = self.slug
        for attempt in range(5):
            self.number = (Incident.objects.aggregate(n=Max("number"))["n"] or 0) + 1
            self.slug = given_slug or self._free_slug()
            try:
                with transaction.atomic():
                    return super().save(*args, **kwargs)
            except IntegrityError:
                if attempt == 4:
                    raise

    def get_absolute_url(self):
        return reverse("incident_detail", args=[self.number, self.slug])

    def _free_slug(self):
        base = slugify(self.title)[:100] or "incident"
        candidates = [base, f"{base}-{self.number}"]
        # Another title can own "<base>-<number>": "Outage 3" saved before the third "Outage".
        candidates += (f"{base}-{self.number}-{n}" for n in range(2, 100))
        taken = set(Incident.objects.filter(slug__startswith=base).values_list("slug", flat=True))
        return next(slug for slug in candidates if slug not in taken)

    @classmethod
    def date_order_errors(cls, values):
        """{field: [message]} where the times in `values` (occurred, detected, mitigated,
        resolved) break the date-order constraints, so a form or the API can refuse them next
        to the right field before the database does."""
        dates = cls(**{name: values.get(name) for name in DATE_ORDER_FIELDS})
        errors = {}
        for constraint in cls._meta.constraints:
            field = DATE_ORDER_CONSTRAINTS.get(constraint.name)
            if field is None or field in errors:
                continue
            try:
                constraint.validate(cls, dates)
            except ValidationError as error:
                errors[field] = error.messages
        return errors

    def latest_revision(self):
        """The newest revision; None for a record that arrived by import or demo load and was
        never edited here."""
        return self.revisions.order_by("-number").first()

    def authors_since_publication(self):
        """Ids of everyone who wrote a revision that the public has not seen yet."""
        return set(
            self.revisions.unpublished().exclude(author=None).values_list("author_id", flat=True)
        )

    def fetch_parts(self, *more):
        """Fetch the `optional_parts` and these more prefetches of an incident from
        `IncidentQuerySet.for_page` (`has_<relation>` annotated for each) where it has rows, and
        record the others as empty without asking the database."""
        models.prefetch_related_objects(
            [self],
            *(
                prefetch
                if getattr(self, f"has_{prefetch.prefetch_to}")
                else models.Prefetch(prefetch.prefetch_through, queryset=prefetch.queryset.none())
                for prefetch in [*optional_parts(), *more]
            ),
        )

    def has_unpublished_changes(self):
        """Whether the newest revision is not the one the public reads."""
        if hasattr(self, "newest_revision_id"):  # see IncidentQuerySet.with_newest_revision
            newest_id = self.newest_revision_id
        else:
            newest = self.latest_revision()
            newest_id = newest and newest.pk
        return newest_id is not None and newest_id != self.published_revision_id

    def may_be_submitted(self):
        """Whether there is something new for a reviewer: a draft, a postmortem sent back with
        changes requested, or unpublished edits of a published one; not while a review is
        already asked for."""
        if self.review_requested_at is not None:
            return False
        if self.status in (self.Status.DRAFT, self.Status.CHANGES_REQUESTED):
            return True
        return self.status == self.Status.PUBLISHED and self.has_unpublished_changes()

    @property
    def public_number(self):
        return f"#{self.number}"

    @property
    def _occurred_to_the_day(self):
        return self.occurred_at is not None and self.occurred_precision == self.Precision.DAY

    @property
    def occurred_display(self):
        """The occurrence date to the precision the sources give, e.g. "Dec 2025"."""
        if self.occurred_at is None:
            return ""
        formats = {self.Precision.YEAR: "%Y", self.Precision.MONTH: "%b %Y"}
        return self.occurred_at.strftime(formats.get(self.occurred_precision, "%-d %b %Y"))

    @property
    def time_to_detect(self):
        if self._occurred_to_the_day and self.detected_at:
            return self.detected_at - self.occurred_at
        return None

    @property
    def time_to_resolve(self):
        if self._occurred_to_the_day and self.resolved_at:
            return self.resolved_at - self.occurred_at
        return None

    @property
    def is_public(self):
        return self.visibility == self.Visibility.PUBLIC and self.status in (
            self.Status.PUBLISHED,
            self.Status.RETRACTED,
        )


class IncidentOrganisation(models.Model):
    """An organisation's part in an incident, using the AI Incident Database's roles."""

    class Role(models.TextChoices):
        DEVELOPER = "developer", "Developer"
        DEPLOYER = "deployer", "Deployer"
        HARMED = "harmed", "Harmed party"
        NEARLY_HARMED = "nearly_harmed", "Nearly harmed party"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="organisation_roles"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="incident_roles"
    )
    role = models.CharField(max_length=20, choices=Role.choices, db_index=True)

    class Meta:
        ordering = ["role", "organisation__name"]
        verbose_name = "organisation role"
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "organisation", "role"], name="unique_incident_org_role"
            )
        ]

    def __str__(self):
        return f"{self.organisation} ({self.get_role_display()})"


class TimelineEvent(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline_events")
    at = models.DateTimeField()
    description = models.TextField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.description[:60]}"


class ActionItem(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=300)
    owner = models.CharField(max_length=200, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
        help_text="The person who tracks it here, if they have an account.",
    )
    due_on = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )

    class Meta:
        ordering = ["status", F("due_on").asc(nulls_last=True), "pk"]

    def __str__(self):
        return self.title


class SourceFields(models.Model):
    url = models.URLField("URL", max_length=1000)
    publisher = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=400, blank=True)
    published_on = models.DateField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = [F("published_on").asc(nulls_last=True), "pk"]

    def __str__(self):
        return self.title or self.url


class Source(SourceFields):
    class Stance(models.TextChoices):
        REPORTS = "reports", "Reports it"
        OFFICIAL = "official", "Official statement"
        DISPUTES = "disputes", "Disputes the account"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="sources")
    stance = models.CharField(max_length=10, choices=Stance.choices, default=Stance.REPORTS)

    class Meta(SourceFields.Meta):
        constraints = [
            models.UniqueConstraint(fields=["incident", "url"], name="unique_incident_source_url")
        ]


class RelatedIncident(models.Model):
    """Incidents that share tags, organisations or perpetrator, recomputed by a task."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="related_links")
    related = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    shared_tags = models.PositiveSmallIntegerField(default=0)
    shared_organisations = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-score", "related__number"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "related"], name="unique_related_pair"),
            models.CheckConstraint(
                condition=~Q(incident=F("related")), name="related_is_another_incident"
            ),
        ]

    def __str__(self):
        return f"{self.incident_id} ~ {self.related_id} ({self.score:.1f})"
