"""The one FilterSet behind the incident list (and, later, dashboards and the API).

Every many-valued condition (tags, organisations, AI systems, datasets, policies) is an EXISTS
subquery rather than a join, so a filtered queryset never repeats an incident and facet counts
can group it without DISTINCT.
"""

from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_

import django_filters
from django import forms
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone
from django.utils.text import capfirst
from django_filters.filters import QuerySetRequestMixin

from config.db_routers import reading_connection
from incidents import facet_counts, search
from incidents.models import (
    AISystem,
    Dataset,
    FacetCount,
    Incident,
    IncidentOrganisation,
    Organisation,
    PerpetratorKind,
    PolicyChangeIncident,
    Provenance,
    Severity,
    SourceTerm,
    Tag,
)
from incidents.permissions import can_read_internal

SORTS = {
    "relevance": "Relevance",
    "newest": "Newest first",
    "oldest": "Oldest first",
    "severity": "Most severe first",
    "outage": "Longest outage first",
}
# Sorts a keyset cursor can page through: their key is (sort_date, number), both never null.
KEYSET_SORTS = {"newest", "oldest"}
TAG_MATCH = [("any", "Any of the tags"), ("all", "All of the tags")]
YES_NO = [("yes", "Yes"), ("no", "No")]


def names_the_reader_may_see(model):
    """The organisations (tags, AI systems) a filter may name: for a reader who may not see
    internal records, the public ones, so that another name is as unknown as a misspelt one.
    Without a request the caller is code choosing for itself (the dashboards' figures)."""

    def names(request):
        if request is None:
            return model.objects.all()
        return model.objects.visible_to(request.user)

    return names


class TagField(forms.Field):
    """`facet:slug` values, each naming a tag among `queryset`; cleans to a list of Tags."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, queryset, **kwargs):
        self.queryset = queryset
        super().__init__(**kwargs)

    def to_python(self, value):
        if not value:
            return []
        return [value] if isinstance(value, str) else list(value)

    def validate(self, value):
        super().validate(value)
        facets = dict(Tag.Facet.choices)
        malformed = [v for v in value if v.partition(":")[0] not in facets or ":" not in v]
        if malformed:
            raise forms.ValidationError(
                "%(values)s: use facet:slug, with a facet among %(facets)s.",
                params={"values": ", ".join(malformed), "facets": ", ".join(facets)},
            )

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return []
        pairs = {tuple(v.split(":", 1)) for v in value}
        tags = list(self.queryset.filter(reduce(or_, (Q(facet=f, slug=s) for f, s in pairs))))
        unknown = pairs - {(tag.facet, tag.slug) for tag in tags}
        if unknown:
            raise forms.ValidationError(
                "No such tag: %(values)s.",
                params={"values": ", ".join(sorted(f"{f}:{s}" for f, s in unknown))},
            )
        return tags


class TagFilter(QuerySetRequestMixin, django_filters.Filter):
    field_class = TagField


def _start_of(day):
    return timezone.make_aware(datetime.combine(day, time.min))


# Lists that combine filters (or search) count their facets over this many matches at most.
MATCHES_COUNTED = 10_000
# A filtered list with at most this many matches is found through the filters' own indexes and
# then sorted (about 10 µs a match at a million incidents); a larger one is read in list order
# until a page is full (about 5 µs a row read, and 20 matches spread evenly over a million
# incidents take a million / matches * 20 rows).
FOUND_THEN_SORTED = 3_000
# Filters whose single value has maintained counts (besides organisation and has_policy).
SINGLE_FILTERS = {"severity", "perpetrator", "autonomy", "kind", "tag", "dataset", "status"}
# A century; larger numbers would overflow a timedelta.
MAX_OUTAGE_MINUTES = 100 * 366 * 24 * 60


class IncidentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search", method="filter_search")
    # Chosen by name or slug in the URL, filtered by id: a join on the name would hide from
    # PostgreSQL's planner how rare the choice is.
    severity = django_filters.ModelMultipleChoiceFilter(
        queryset=Severity.objects.all(),
        to_field_name="name",
        method="filter_by_objects",
    )
    perpetrator = django_filters.ModelMultipleChoiceFilter(
        label="What acted",
        queryset=PerpetratorKind.objects.all(),
        to_field_name="slug",
        method="filter_by_objects",
    )
    autonomy = django_filters.MultipleChoiceFilter(
        choices=Incident.Autonomy.choices, distinct=False
    )
    kind = django_filters.MultipleChoiceFilter(choices=Incident.Kind.choices, distinct=False)
    organisation = django_filters.ModelChoiceFilter(
        queryset=names_the_reader_may_see(Organisation),
        to_field_name="slug",
        method="filter_organisation",
    )
    role = django_filters.ChoiceFilter(
        label="As", choices=IncidentOrganisation.Role.choices, method="filter_nothing"
    )
    ai_system = django_filters.ModelChoiceFilter(
        label="AI system",
        queryset=names_the_reader_may_see(AISystem),
        to_field_name="slug",
        method="filter_ai_system",
    )
    tag = TagFilter(queryset=names_the_reader_may_see(Tag), method="filter_tags")
    tag_match = django_filters.ChoiceFilter(
        label="Match", choices=TAG_MATCH, method="filter_nothing"
    )
    occurred_after = django_filters.DateFilter(label="From", method="filter_occurred_after")
    occurred_before = django_filters.DateFilter(label="To", method="filter_occurred_before")
    has_policy = django_filters.ChoiceFilter(
        label="Prompted a policy change", choices=YES_NO, method="filter_has_policy"
    )
    outage_min = django_filters.NumberFilter(
        label="Outage at least (minutes)",
        method="filter_outage_min",
        min_value=0,
        max_value=MAX_OUTAGE_MINUTES,
    )
    outage_max = django_filters.NumberFilter(
        label="Outage at most (minutes)",
        method="filter_outage_max",
        min_value=0,
        max_value=MAX_OUTAGE_MINUTES,
    )
    dataset = django_filters.MultipleChoiceFilter(
        label="Imported from", choices=Dataset.choices, method="filter_dataset"
    )
    status = django_filters.MultipleChoiceFilter(choices=Incident.Status.choices, distinct=False)
    # A source's own value, as `<vocabulary>:<slug>`: the MIT risk domain exactly as AIID has it.
    source_term = django_filters.CharFilter(
        label="Source value", method="filter_source_term", max_length=400
    )
    sort = django_filters.ChoiceFilter(
        choices=list(SORTS.items()), method="filter_nothing", empty_label=None
    )

    class Meta:
        model = Incident
        fields = []

    def __init__(self, data=None, queryset=None, *, request=None, **kwargs):
        user = getattr(request, "user", None)
        self.internal = user is not None and can_read_internal(user)
        # Maintained counts are of the whole list a reader may see, not of another queryset.
        self._maintained = queryset is None
        if queryset is None:
            queryset = Incident.objects.visible_to(user) if self.internal else None
            queryset = queryset if queryset is not None else Incident.objects.published()
            queryset = queryset.for_list()
        super().__init__(data, queryset, request=request, **kwargs)
        # Set by the search: it lists only the best of more matches.
        self.search_limited = False
        if not self.internal:
            # The public may not even ask about drafts: the parameter is dropped, not refused.
            self.filters.pop("status", None)

    # Filters

    def filter_nothing(self, queryset, name, value):
        """Parameters that shape another filter (role, tag_match) or the order (sort)."""
        return queryset

    def filter_search(self, queryset, name, value):
        results = search.matching(queryset, value)
        self.search_limited = results.limited
        return results.incidents

    def filter_organisation(self, queryset, name, organisation):
        roles = IncidentOrganisation.objects.filter(
            incident=OuterRef("pk"), organisation=organisation
        )
        role = self.form.cleaned_data.get("role")
        if role:
            roles = roles.filter(role=role)
        return queryset.filter(Exists(roles))

    def filter_ai_system(self, queryset, name, ai_system):
        through = Incident.ai_systems.through.objects.filter(
            incident=OuterRef("pk"), aisystem=ai_system
        )
        return queryset.filter(Exists(through))

    def filter_tags(self, queryset, name, tags):
        through = Incident.tags.through.objects.filter(incident=OuterRef("pk"))
        if self.form.cleaned_data.get("tag_match") == "all":
            for tag in tags:
                queryset = queryset.filter(Exists(through.filter(tag=tag)))
            return queryset
        return queryset.filter(Exists(through.filter(tag__in=tags)))

    def filter_source_term(self, queryset, name, value):
        vocabulary, _, slug = value.partition(":")
        carried = SourceTerm.incidents.through.objects.filter(
            incident=OuterRef("pk"), sourceterm__vocabulary=vocabulary, sourceterm__slug=slug
        )
        return queryset.filter(Exists(carried))

    def filter_occurred_after(self, queryset, name, day):
        return queryset.filter(occurred_at__gte=_start_of(day))

    def filter_occurred_before(self, queryset, name, day):
        if day == date.max:
            return queryset  # nothing occurred after the last representable day
        return queryset.filter(occurred_at__lt=_start_of(day + timedelta(days=1)))

    def filter_has_policy(self, queryset, name, value):
        linked = Exists(PolicyChangeIncident.objects.filter(incident=OuterRef("pk")))
        return queryset.filter(linked if value == "yes" else ~linked)

    def filter_outage_min(self, queryset, name, minutes):
        return queryset.filter(outage_duration__gte=timedelta(minutes=float(minutes)))

    def filter_outage_max(self, queryset, name, minutes):
        return queryset.filter(outage_duration__lte=timedelta(minutes=float(minutes)))

    def filter_dataset(self, queryset, name, datasets):
        provenances = Provenance.objects.filter(incident=OuterRef("pk"), dataset__in=datasets)
        return queryset.filter(Exists(provenances))

    def filter_queryset(self, queryset):
        # The search goes last: what it ranks by meaning must be what the other filters kept.
        cleaned = self.form.cleaned_data
        for name, value in cleaned.items():
            if name != "q":
                queryset = self.filters[name].filter(queryset, value)
        if "q" in cleaned:
            queryset = self.filters["q"].filter(queryset, cleaned["q"])
        return self.order(queryset)

    # Ordering

    @property
    def chosen_sort(self):
        """The sort in force: the one asked for, else relevance for a search, else newest."""
        cleaned = self._cleaned()
        searching = bool(cleaned.get("q"))
        asked = cleaned.get("sort")
        if asked == "relevance" and not searching:
            asked = None
        return asked or ("relevance" if searching else "newest")

    def order(self, queryset):
        recent = ("-sort_date", "-number")
        orderings = {
            "newest": recent,
            "oldest": ("sort_date", "number"),
            "severity": (F("severity__rank").asc(nulls_last=True), *recent),
            "outage": (F("outage_duration").desc(nulls_last=True), *recent),
            "relevance": ("-rank", *recent),
        }
        return queryset.order_by(*orderings[self.chosen_sort])

    def in_order_for(self, total, estimated):
        """The matches in the chosen order, read the cheaper way for `total` of them (a lower
        bound when `estimated`). PostgreSQL reads newest first down the list's sort index,
        testing each incident against the filters: a filter that keeps a few thousand of a
        million, or a combination whose incidents are all old, has it read most of the base
        for one page. Sorting by an expression no index provides makes it find those few
        through the filters' own indexes first."""
        queryset = self.qs
        few = bool(self.applied) and not estimated and 0 < total <= FOUND_THEN_SORTED
        if not few or self.chosen_sort not in KEYSET_SORTS or connection.vendor != "postgresql":
            return queryset
        return queryset.found_then_sorted(descending=self.chosen_sort == "newest")

    def page_narrowing(self):
        """For `listing.keyset_page`: how to narrow a page's query, or None. A public list of
        one organisation's incidents in date order is read down that organisation's links on
        PostgreSQL (they carry the list order): down the list's own index, an organisation
        whose incidents all happened in other years has it test most of the base for a page."""
        if self.internal or self.chosen_sort not in KEYSET_SORTS:
            return None
        if connection.vendor != "postgresql" or set(self.applied) != {"organisation"}:
            return None
        organisation = self.applied["organisation"]
        role = self.form.cleaned_data.get("role") or None

        def narrow(queryset, after, descending, count):
            return queryset.among_next_links_of(
                organisation, role=role, descending=descending, after=after, count=count
            )

        return narrow

    # What the reader asked for

    def _cleaned(self):
        if not self.is_bound:
            return {}
        self.form.is_valid()  # validates once; invalid parameters are left out of cleaned_data
        return self.form.cleaned_data

    @property
    def ignored(self):
        """(parameter, values given, why) for each parameter that could not be used."""
        if not self.is_bound:
            return []
        ignored = [
            (name, ", ".join(self.data.getlist(name)), " ".join(errors))
            for name, errors in self.form.errors.items()
        ]
        cleaned = self._cleaned()
        if cleaned.get("role") and not cleaned.get("organisation"):
            ignored.append(("role", cleaned["role"], "It only applies with an organisation."))
        return ignored

    @property
    def applied(self):
        """The cleaned value of each parameter that narrows the list, in declaration order."""
        shaping = {"sort", "tag_match", "role"}
        return {
            name: value
            for name, value in self._cleaned().items()
            if name not in shaping and _given(value)
        }

    # Facet counts: one aggregate query per facet, whatever the number of choices.

    def filter_by_objects(self, queryset, name, value):
        return queryset.filter(**{f"{name}__in": value}) if value else queryset

    def single_filter_key(self):
        """The key of the maintained counts that answer this list ("" unfiltered), or None
        when it combines filters (or searches) and its counts must be counted."""
        applied = self.applied
        if not applied:
            return ""
        if len(applied) > 1:
            return None
        ((name, value),) = applied.items()
        if name == "organisation":
            return None if self.form.cleaned_data.get("role") else f"organisation:{value.pk}"
        if name == "has_policy":
            return f"has_policy:{value}"
        if name not in SINGLE_FILTERS or len(value) != 1:
            return None
        (one,) = value
        return f"{name}:{one.pk}" if name in ("severity", "perpetrator", "tag") else f"{name}:{one}"

    def facet_counts(self, top_tags=8):
        """Per facet, (parameter value, label, number of matching incidents), most common
        tags first and at most `top_tags` per tag facet; plus the total, and whether the
        numbers are estimates: lower bounds counted over the first matches only."""
        counts, estimated = None, False
        filter_key = self.single_filter_key() if self._maintained else None
        if filter_key is not None:
            scope = FacetCount.Scope.INTERNAL if self.internal else FacetCount.Scope.PUBLIC
            kept = facet_counts.maintained(scope, filter_key)
            counts = None if kept is None else _counts_from_keys(kept)
        if counts is None:
            counts = _count_facets(self._first_matches())
            estimated = counts["total"] > MATCHES_COUNTED
        severities = Severity.objects.filter(pk__in=counts["severity"]).order_by("rank")
        perpetrators = PerpetratorKind.objects.filter(pk__in=counts["perpetrator"]).order_by(
            "position", "name"
        )
        tags = {}
        tag_rows = sorted(
            Tag.objects.filter(pk__in=counts["tag"]).values_list("pk", "facet", "slug", "name"),
            key=lambda tag: (tag[1], -counts["tag"][tag[0]], tag[3]),
        )
        for pk, facet, slug, name in tag_rows:
            rows = tags.setdefault(facet, [])
            if len(rows) < top_tags:
                rows.append((f"{facet}:{slug}", name, counts["tag"][pk]))
        autonomy = dict(Incident.Autonomy.choices)
        kinds = dict(Incident.Kind.choices)
        datasets = dict(Dataset.choices)
        total, with_policy = counts["total"], counts["with_policy"]
        return {
            "total": total,
            "estimated": estimated,
            "counted": MATCHES_COUNTED,
            "severity": [
                (s.name, f"{s.name} {s.label}", counts["severity"][s.pk]) for s in severities
            ],
            "perpetrator": [(p.slug, p.name, counts["perpetrator"][p.pk]) for p in perpetrators],
            "autonomy": [
                (value, autonomy.get(value, value), count)
                for value, count in sorted(counts["autonomy"].items(), key=lambda r: (-r[1], r[0]))
            ],
            "kind": [
                (value, label, counts["kind"][value])
                for value, label in kinds.items()
                if value in counts["kind"]
            ],
            "dataset": [
                (value, capfirst(datasets.get(value, value)), count)
                for value, count in sorted(counts["dataset"].items(), key=lambda r: (-r[1], r[0]))
            ],
            "has_policy": [("yes", "Yes", with_policy), ("no", "No", total - with_policy)],
            "tags": tags,
        }

    def _first_matches(self):
        """At most MATCHES_COUNTED + 1 matches, the newest (a search's in any order: ranking
        them all is the cost this avoids), so counting them is bounded however many match."""
        incidents = self.qs.order_by()
        if not self.form.cleaned_data.get("q"):
            incidents = incidents.order_by("-sort_date", "-number")
        first = incidents.values("pk")[: MATCHES_COUNTED + 1]
        return Incident.objects.filter(pk__in=first).order_by()


def _counts_from_keys(kept):
    """Maintained counts ({"severity:3": n, ...}) in the shape `_count_facets` returns."""
    counts = {
        facet: {} for facet in ("severity", "perpetrator", "autonomy", "kind", "tag", "dataset")
    }
    counts["total"] = kept.get(facet_counts.TOTAL, 0)
    counts["with_policy"] = kept.get("has_policy:yes", 0)
    for key, count in kept.items():
        facet, _, value = key.partition(":")
        if facet in ("severity", "perpetrator", "tag"):
            counts[facet][int(value)] = count
        elif facet in counts and facet not in ("total", "with_policy"):
            counts[facet][value] = count
    return counts


def _count_facets(incidents):
    """Every facet count of `incidents` in one statement that finds the matches once.

    Counting facet by facet repeated the filtering (an organisation's EXISTS semi-join, say) in
    every query; here the matches are a CTE, which PostgreSQL materialises because it is used
    more than once, and SQLite evaluates the same SQL.
    """
    counts = {
        facet: {} for facet in ("severity", "perpetrator", "autonomy", "kind", "tag", "dataset")
    }
    policy = Exists(PolicyChangeIncident.objects.filter(incident=OuterRef("pk")))
    try:
        matches_sql, params = (
            incidents.annotate(has_policy=policy)
            .values_list("pk", "severity_id", "perpetrator_id", "autonomy", "kind", "has_policy")
            .query.sql_with_params()
        )
    except EmptyResultSet:  # e.g. a search that matched nothing
        return {**counts, "total": 0, "with_policy": 0}
    tags = Incident.tags.through._meta.db_table
    provenances = Provenance._meta.db_table
    sql = f"""
        WITH m (id, severity_id, perpetrator_id, autonomy, kind, has_policy) AS ({matches_sql})
        SELECT 'total', '', COUNT(*) FROM m
        UNION ALL
        SELECT 'with_policy', '', COUNT(*) FROM m WHERE has_policy
        UNION ALL
        SELECT 'severity', CAST(severity_id AS TEXT), COUNT(*) FROM m
        WHERE severity_id IS NOT NULL GROUP BY severity_id
        UNION ALL
        SELECT 'perpetrator', CAST(perpetrator_id AS TEXT), COUNT(*) FROM m
        WHERE perpetrator_id IS NOT NULL GROUP BY perpetrator_id
        UNION ALL
        SELECT 'autonomy', autonomy, COUNT(*) FROM m GROUP BY autonomy
        UNION ALL
        SELECT 'kind', kind, COUNT(*) FROM m GROUP BY kind
        UNION ALL
        SELECT 'tag', CAST(t.tag_id AS TEXT), COUNT(*) FROM {tags} t
        JOIN m ON m.id = t.incident_id GROUP BY t.tag_id
        UNION ALL
        SELECT 'dataset', p.dataset, COUNT(DISTINCT p.incident_id) FROM {provenances} p
        JOIN m ON m.id = p.incident_id GROUP BY p.dataset
    """
    with reading_connection().cursor() as cursor:
        cursor.execute(sql, params)
        for facet, key, count in cursor.fetchall():
            if facet in ("total", "with_policy"):
                counts[facet] = count
            elif facet in ("severity", "perpetrator", "tag"):
                counts[facet][int(key)] = count
            else:
                counts[facet][key] = count
    return counts


def _given(value):
    if isinstance(value, list | tuple | QuerySet):
        return len(value) > 0  # a cleaned queryset is already evaluated: no query
    return value not in (None, "")
