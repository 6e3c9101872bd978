"""Data coverage: per dataset, how many records carry each field, in the source's own
vocabularies (before the crosswalk) and in the house fields (after it), so a reader sees what
the dashboards' numbers stand on."""

from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q

from incidents.importers import IMPORTERS
from incidents.models import (
    CrosswalkEntry,
    Dataset,
    Derivation,
    Incident,
    IncidentOrganisation,
    Provenance,
    Source,
    Tag,
)

# The house fields, each with what "carries it" means for an incident.
HOUSE_FIELDS = [
    ("severity", "Severity", Q(severity__isnull=False)),
    ("perpetrator", "What acted", Q(perpetrator__isnull=False)),
    ("autonomy", "Autonomy", ~Q(autonomy=Incident.Autonomy.UNKNOWN)),
    # Kind has no "unknown": an incident is what a record is unless a source says otherwise.
    ("kind", "Kind: near miss or hazard", ~Q(kind=Incident.Kind.INCIDENT)),
    ("lives_lost", "Lives lost", Q(lives_lost__isnull=False)),
    ("injuries", "Injuries", Q(injuries__isnull=False)),
]


@dataclass
class FieldCoverage:
    label: str
    carried: int  # incidents of the dataset with a value here
    derived: int | None = None  # of which the crosswalk set (None: not a crosswalk target)
    mapped_to: list[str] = field(default_factory=list)  # house fields it derives


@dataclass
class DatasetCoverageReport:
    dataset: str
    label: str
    incidents: int
    basics: list[FieldCoverage] = field(default_factory=list)
    source_fields: list[FieldCoverage] = field(default_factory=list)
    house_fields: list[FieldCoverage] = field(default_factory=list)


def _has(model, **lookups):
    return Exists(model.objects.filter(incident=OuterRef("pk"), **lookups))


def _tag_facet(facet):
    return Exists(Tag.incidents.through.objects.filter(incident=OuterRef("pk"), tag__facet=facet))


def _dataset_incidents(dataset):
    return Incident.objects.public().filter(
        Exists(Provenance.objects.filter(incident=OuterRef("pk"), dataset=dataset))
    )


def _counts(incidents):
    """Every per-incident count of one dataset, in one query."""
    conditions = {
        "summary": ~Q(summary=""),
        "occurred": Q(occurred_at__isnull=False),
        "parties": Q(_has(IncidentOrganisation)),
        "systems": Q(Exists(Incident.ai_systems.through.objects.filter(incident=OuterRef("pk")))),
        "sources": Q(_has(Source)),
        **{name: condition for name, _, condition in HOUSE_FIELDS},
        **{f"tag:{facet}": Q(_tag_facet(facet)) for facet in Tag.Facet.values},
    }
    return incidents.order_by().aggregate(
        incidents=Count("pk"),
        **{name: Count("pk", filter=condition) for name, condition in conditions.items()},
    )


def _terms_by_vocabulary():
    """{vocabulary: public incidents carrying one of its values}."""
    through = Incident.source_terms.through.objects.filter(incident__in=Incident.objects.public())
    rows = through.values("sourceterm__vocabulary").annotate(n=Count("incident_id", distinct=True))
    return {row["sourceterm__vocabulary"]: row["n"] for row in rows.order_by()}


def _derivations():
    """{(vocabulary, target): public incidents with that field derived from it}."""
    rows = (
        Derivation.objects.filter(incident__in=Incident.objects.public())
        .values("source_term__vocabulary", "target")
        .annotate(n=Count("incident_id", distinct=True))
        .order_by()
    )
    return {(row["source_term__vocabulary"], row["target"]): row["n"] for row in rows}


def dataset_vocabularies(dataset):
    """The vocabularies the importers of a dataset keep (ATLAS's importer reads AVID's)."""
    vocabularies = {}
    for importer in IMPORTERS.values():
        if importer.dataset == dataset:
            vocabularies.update((v.key, v) for v in importer.vocabularies)
    return list(vocabularies.values())


def _derived_per_dataset(dataset, incidents):
    """{target: incidents of the dataset with that field derived}, in one query."""
    vocabularies = [v.key for v in dataset_vocabularies(dataset)]
    rows = (
        Derivation.objects.filter(incident__in=incidents, source_term__vocabulary__in=vocabularies)
        # The kind row counts near misses and hazards; a derived "incident" is not one.
        .exclude(target="kind", value=Incident.Kind.INCIDENT)
        .values("target")
        .annotate(n=Count("incident_id", distinct=True))
        .order_by()
    )
    return {row["target"]: row["n"] for row in rows}


def dataset_coverage():
    """A report per dataset that public incidents come from, in the order of the importers."""
    kept = _terms_by_vocabulary()
    derived_from = _derivations()
    target_labels = dict(CrosswalkEntry.Target.choices)
    present = set(
        Provenance.objects.filter(incident__in=Incident.objects.public())
        .values_list("dataset", flat=True)
        .distinct()
        .order_by()
    )
    order = list(dict.fromkeys(importer.dataset for importer in IMPORTERS.values()))
    reports = []
    for dataset in [d for d in order if d in present]:
        incidents = _dataset_incidents(dataset)
        counts = _counts(incidents)
        derived = _derived_per_dataset(dataset, incidents)
        report = DatasetCoverageReport(
            dataset=dataset,
            label=Dataset(dataset).label,
            incidents=counts["incidents"],
        )
        report.basics = [
            FieldCoverage("Summary", counts["summary"]),
            FieldCoverage("Date it happened", counts["occurred"]),
            FieldCoverage("Parties (developer, deployer, harmed)", counts["parties"]),
            FieldCoverage("AI systems", counts["systems"]),
            FieldCoverage("Sources", counts["sources"]),
        ]
        for vocabulary in dataset_vocabularies(dataset):
            key = vocabulary.key
            report.source_fields.append(
                FieldCoverage(
                    vocabulary.label,
                    kept.get(key, 0),
                    mapped_to=[
                        f"{target_labels.get(target, target)} ({n:,})"
                        for (vocabulary_key, target), n in sorted(derived_from.items())
                        if vocabulary_key == key
                    ],
                )
            )
        for name, label, _ in HOUSE_FIELDS:
            report.house_fields.append(FieldCoverage(label, counts[name], derived.get(name, 0)))
        for facet, facet_label in Tag.Facet.choices:
            target = f"tag:{facet}"
            label = f"Tags: {facet_label.lower()}"
            report.house_fields.append(FieldCoverage(label, counts[target], derived.get(target, 0)))
        reports.append(report)
    return reports
