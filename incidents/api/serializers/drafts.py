"""Postmortems as their authors edit them through the API, with a reporter's token.

The API's field names are part of its contract (documented in the OpenAPI schema): rename
nothing, only add. Which parts of a postmortem (`incidents/parts.py`) the API exposes, and
under which names, is declared with each part.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils.module_loading import import_string
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents import revisions
from incidents.citation import absolute_url
from incidents.models import (
    ActionItem,
    AISystem,
    Incident,
    IncidentOrganisation,
    Organisation,
    PerpetratorKind,
    Severity,
    Source,
    Tag,
)
from incidents.parts import LINKS, ROWS

MAX_OUTAGE = timedelta(days=36500)

# The parts of a postmortem the API exposes: rows as lists of objects, links by name.
API_ROWS = tuple(part for part in ROWS if part.api_name)
API_LINKS = tuple(part for part in LINKS if part.api_name)


@extend_schema_field(OpenApiTypes.STR)
class TagReferenceField(serializers.RelatedField):
    """A tag named `facet:slug`."""

    default_error_messages = {
        "invalid": "Name a tag as facet:slug, e.g. failure-mode:data-deletion.",
        "does_not_exist": "No such tag: {value}.",
    }

    def to_representation(self, tag):
        return f"{tag.facet}:{tag.slug}"

    def to_internal_value(self, data):
        if not isinstance(data, str) or ":" not in data:
            self.fail("invalid")
        facet, slug = data.split(":", 1)
        tag = self.get_queryset().filter(facet=facet, slug=slug).first()
        if tag is None:
            self.fail("does_not_exist", value=data[:120])
        return tag


class DraftOrganisationSerializer(serializers.Serializer):
    organisation = serializers.SlugRelatedField(
        slug_field="slug", queryset=Organisation.objects.all()
    )
    role = serializers.ChoiceField(choices=IncidentOrganisation.Role.choices)


class DraftTimelineEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    description = serializers.CharField()


class DraftActionItemSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    owner = serializers.CharField(max_length=200, allow_blank=True, default="")
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        allow_null=True,
        default=None,
        help_text="The username of who tracks it here.",
    )
    due_on = serializers.DateField(allow_null=True, default=None)
    status = serializers.ChoiceField(choices=ActionItem.Status.choices, default="open")


class DraftSourceSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=1000)
    publisher = serializers.CharField(max_length=200, allow_blank=True, default="")
    title = serializers.CharField(max_length=400, allow_blank=True, default="")
    published_on = serializers.DateField(allow_null=True, default=None)
    stance = serializers.ChoiceField(choices=Source.Stance.choices, default="reports")


class PostmortemSerializer(serializers.ModelSerializer):
    """A postmortem as its authors edit it: the newest revision, which for a published incident
    may be ahead of what the public reads. Lists replace the whole list."""

    number = serializers.IntegerField(read_only=True)
    slug = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    revision = serializers.IntegerField(
        read_only=True, help_text="The newest revision: send it back as base_revision."
    )
    review_requested = serializers.BooleanField(read_only=True)
    url = serializers.CharField(read_only=True, help_text="The incident's page.")
    base_revision = serializers.IntegerField(
        write_only=True,
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        help_text="Required to update: the revision your change starts from. If someone saved "
        "a newer one since, the update is refused with 409 and nothing is overwritten.",
    )
    severity = serializers.SlugRelatedField(
        slug_field="name", queryset=Severity.objects.all(), allow_null=True, required=False
    )
    perpetrator = serializers.SlugRelatedField(
        slug_field="slug", queryset=PerpetratorKind.objects.all(), allow_null=True, required=False
    )
    worst_credible_severity = serializers.SlugRelatedField(
        slug_field="name", queryset=Severity.objects.all(), allow_null=True, required=False
    )
    outage_duration = serializers.DurationField(
        allow_null=True, required=False, min_value=timedelta(0), max_value=MAX_OUTAGE
    )
    # Links name their records each their own way, so each is declared here.
    tags = TagReferenceField(many=True, queryset=Tag.objects.all(), required=False)
    ai_systems = serializers.SlugRelatedField(
        slug_field="slug", queryset=AISystem.objects.all(), many=True, required=False
    )

    class Meta:
        model = Incident
        fields = [
            "number",
            "slug",
            "status",
            "revision",
            "review_requested",
            "url",
            "base_revision",
            *revisions.EDITABLE_FIELDS,
            *(part.api_name for part in API_LINKS),
        ]

    def get_fields(self):
        """The declared fields, then each exposed part's rows through its row serializer."""
        fields = super().get_fields()
        for part in API_ROWS:
            rows = import_string(part.api_serializer)
            fields[part.api_name] = rows(many=True, required=False)
        return fields

    def validate(self, data):
        errors = Incident.date_order_errors(data)
        for part in API_ROWS:
            if not part.unique:
                continue
            rows = [tuple(row[name] for name in part.unique) for row in data.get(part.api_name, [])]
            if len(rows) != len(set(rows)):
                errors[part.api_name] = [part.duplicate_api_message]
        if errors:
            raise serializers.ValidationError(errors)
        return data

    def snapshot(self, base=None):
        """The validated postmortem as a revision snapshot; absent fields take the defaults
        a new form starts with. Parts of `base` (the snapshot being edited) that the API does
        not expose are kept as they are."""
        data = self.validated_data
        blank = Incident()
        fields = {name: data.get(name, getattr(blank, name)) for name in revisions.EDITABLE_FIELDS}
        children = {part.key: data.get(part.api_name, []) for part in API_ROWS}
        many = {part.key: data.get(part.api_name, []) for part in API_LINKS}
        snapshot = revisions.from_values(fields, children, many)
        exposed = {"fields", *children, *many}
        for key, value in (base or {}).items():
            if key not in exposed:
                snapshot[key] = value
        return snapshot


def working_copy(incident):
    """The newest revision of a postmortem as PostmortemSerializer reads it."""
    latest = incident.latest_revision()
    snapshot = latest.data if latest else revisions.from_incident(incident)
    values = revisions.field_values(snapshot)
    copy = {}
    for name in revisions.EDITABLE_FIELDS:
        field = Incident._meta.get_field(name)
        value = values.get(field.attname)
        if field.is_relation and value is not None:
            # The snapshot holds the id; the serializer names the record it points to.
            value = field.related_model.objects.filter(pk=value).first()
        copy[name] = value
    for part in API_LINKS:
        copy[part.api_name] = list(part.model.objects.filter(pk__in=snapshot.get(part.key, [])))
    for part in API_ROWS:
        copy[part.api_name] = _with_records(part, revisions.child_values(snapshot, part.key))
    copy.update(
        number=incident.number,
        slug=incident.slug,
        status=incident.status,
        revision=latest.number if latest else 0,
        review_requested=incident.review_requested_at is not None,
        url=absolute_url(incident.get_absolute_url()),
    )
    return copy


def _with_records(part, rows):
    """Rows as child_values gives them (`organisation_id`), with the records in their place."""
    for name in part.fields:
        field = part.model._meta.get_field(name)
        if not field.is_relation:
            continue
        records = field.related_model.objects.in_bulk([row[field.attname] for row in rows])
        for row in rows:
            row[name] = records.get(row.pop(field.attname))
    return rows
