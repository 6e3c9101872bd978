"""Data quality on the public datasets: what each source gives, what we keep, what the crosswalk
derives from it, and how long each import takes.

    .venv/bin/python benchmarks/data_quality.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python benchmarks/data_quality.py

Builds a scratch database (see _scratch.py) and imports every supported dataset from the shared
data folder (SHARED_DATA, or ../shared/data), the AI Incident Database snapshot with the report
files of its code repository beside it. Then prints, per source:

- the import time and counts;
- per source field: records that give a value (as the importer read them, before anything is
  stored), incidents that keep it, and the house fields the crosswalk derives from it;
- per house field: incidents with a value, and how many of those the crosswalk set.

And overall: fragment tags (a tag named after a piece of a value split at a comma, such as
"and targeted manipulation": must be 0), and the share of AIID incidents with autonomy, kind and
severity set, beside how many the CSET classifications give a value for. Nothing is timed by the
test suite; this script is run on purpose.
"""

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

AIID_REPORT_FILES = ["lookupIndex.json", "fullIncident10.json", "newsArticles.json"]
# (source, folder in the shared data); imported in this order, as a newcomer would.
DATASETS = [
    ("aiid", "aiid-snapshot-2026-02"),
    ("aiaaic", "aiaaic-2025-12"),
    ("genai-incidents", "genai-incidents"),
    ("avid", "avid-db"),
    ("atlas", "avid-db"),
    ("ai-escape-log", "ai-escape-log"),
    ("agent-incident-log", "agent-incident-log"),
    ("ai-agent-incident-register", "ai-agent-incident-register"),
    ("agent-spending-incidents", "agent-spending-incidents"),
    ("awesome-agent-failures", "awesome-agent-failures"),
    ("dail", "dail-ai-litigation-2023-08"),
]
# CSET fields that give each house field, for "at least what CSET gives".
CSET_GIVES = {
    "autonomy": ["aiid-csetv1-autonomy-level", "aiid-csetv0-level-of-autonomy"],
    "kind": ["aiid-csetv1-tangible-harm", "aiid-csetv0-near-miss"],
    "severity": [
        "aiid-csetv1-ai-harm-level",
        "aiid-csetv1-lives-lost",
        "aiid-csetv0-severity",
        "aiid-csetv0-lives-lost",
    ],
}


def aiid_folder(shared, scratch):
    """The snapshot's files with the code repository's report files beside them."""
    folder = Path(scratch) / "aiid-2026-02"
    folder.mkdir()
    for path in (shared / "aiid-snapshot-2026-02").iterdir():
        if path.is_file():
            (folder / path.name).symlink_to(path)
    for name in AIID_REPORT_FILES:
        (folder / name).symlink_to(shared / "aiid-repo-fixtures" / name)
    return folder


def main():
    shared = _scratch.require_shared_data()
    cleanup = _scratch.setup()
    try:
        with tempfile.TemporaryDirectory(prefix="blast-radius-quality-") as scratch:
            run(shared, scratch)
    finally:
        cleanup()


def read_counts(importer_class, path):
    """Records the importer reads, and per vocabulary how many give a value."""
    from incidents.importers.base import read_all

    records = read_all(importer_class(path))
    given = Counter(key for r in records for key in {key for key, _ in r.source_values})
    return len(records), given


def run(shared, scratch):
    from django.db import connection

    from incidents.importers import IMPORTERS, run_import
    from incidents.models import CrosswalkEntry, Incident, SourceTerm, Tag
    from incidents.services.coverage import dataset_coverage, dataset_vocabularies

    print(f"Database: {connection.vendor}; shared data: {shared}\n")
    timings, read = [], {}
    for source, folder in DATASETS:
        path = shared / folder
        if not path.exists():
            print(f"skipped {source}: {path} not found")
            continue
        if source == "aiid":
            path = aiid_folder(shared, scratch)
        read[source] = read_counts(IMPORTERS[source], path)
        started = time.monotonic()
        summary = run_import(IMPORTERS[source](path))
        seconds = time.monotonic() - started
        timings.append(
            (source, read[source][0], summary.created, summary.skipped, f"{seconds:.1f}")
        )
    print("Imports")
    print(_scratch.table(timings, ["source", "read", "created", "skipped", "seconds"]))

    for report in dataset_coverage():
        print(f"\n{report.label} ({report.dataset}): {report.incidents:,} public incidents")
        records, given = read.get(report.dataset, (0, Counter()))
        rows = []
        for row, (key, vocabulary) in zip(
            report.source_fields,
            [(v.key, v) for v in dataset_vocabularies(report.dataset)],
            strict=True,
        ):
            rows.append(
                (
                    vocabulary.label[:50],
                    given.get(key, 0),
                    row.carried,
                    ", ".join(row.mapped_to)[:70] or "-",
                )
            )
        if rows:
            print(
                _scratch.table(rows, ["source field", "source has it", "we keep it", "we derive"])
            )
        house = [(row.label, row.carried, row.derived) for row in report.house_fields]
        print(_scratch.table(house, ["house field", "incidents with it", "set by crosswalk"]))

    fragments = fragment_tags(SourceTerm, Tag, CrosswalkEntry)
    print(
        f"\nFragment tags: {len(fragments)}"
        + (f" ({', '.join(fragments[:5])})" if fragments else "")
    )

    aiid = Incident.objects.filter(provenances__dataset="aiid").distinct()
    total = aiid.count()
    if total:
        set_counts = {
            "autonomy": aiid.exclude(autonomy=Incident.Autonomy.UNKNOWN).count(),
            "kind": aiid.filter(derivations__target="kind").distinct().count(),
            "severity": aiid.filter(severity__isnull=False).count(),
        }
        rows = []
        for name, vocabularies in CSET_GIVES.items():
            given = mapped_cset_incidents(aiid, name, vocabularies, SourceTerm, CrosswalkEntry)
            rows.append(
                (
                    name,
                    given,
                    set_counts[name],
                    f"{100 * set_counts[name] / total:.1f}%",
                    "yes" if set_counts[name] >= given else "NO",
                )
            )
        print(f"\nAIID incidents ({total:,}): house fields against what CSET gives")
        print(
            _scratch.table(
                rows,
                [
                    "field",
                    "CSET gives a usable value",
                    "set here",
                    "share of AIID",
                    "at least CSET",
                ],
            )
        )
        print(
            "(A usable value is one the crosswalk maps for that field: 'unclear' is not. Kind "
            "counts incidents whose kind the crosswalk set, an incident included.)"
        )


def mapped_cset_incidents(incidents, target, vocabularies, SourceTerm, CrosswalkEntry):
    """Incidents carrying a CSET value that the crosswalk maps to `target`."""
    entries = CrosswalkEntry.objects.filter(vocabulary__in=vocabularies, target=target)
    mapped = set(entries.values_list("vocabulary", "value"))
    any_value = {vocabulary for vocabulary, value in mapped if value == CrosswalkEntry.ANY}
    terms = [
        term.pk
        for term in SourceTerm.objects.filter(vocabulary__in=vocabularies)
        if term.vocabulary in any_value or (term.vocabulary, term.value) in mapped
    ]
    return incidents.filter(source_terms__in=terms).distinct().count()


def fragment_tags(SourceTerm, Tag, CrosswalkEntry):
    """Tags named after a piece of a multi-value cell split at its commas."""
    wholes = {name.lower() for name in CrosswalkEntry.objects.values_list("result", flat=True)}
    pieces = set()
    for value in SourceTerm.objects.filter(value__contains=",").values_list("value", flat=True):
        for piece in value.split(",")[1:]:
            piece = piece.strip().lower()
            if piece and piece not in wholes:
                pieces.add(piece)
    names = Tag.objects.values_list("name", flat=True)
    return sorted(
        name for name in names if name.lower() in pieces or name.lower().startswith("and ")
    )


if __name__ == "__main__":
    main()
