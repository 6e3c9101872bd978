"""Time to re-import a few changed records into a base holding the full public datasets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python benchmarks/import_speed.py

Builds a scratch database (see _scratch.py), imports the AIID 2026-02 snapshot and the AIAAIC
sheet, then re-imports 10 and 38 AIID records whose titles changed upstream, with the
follow-up work run inline as a worker would run it (similar incidents, dashboard summaries,
pattern clusters). Each size is timed three times: with the follow-ups an import sets off now
(similar incidents around the changed ones, and only the summary rows they reach), with the
summaries rebuilt whole instead, and with everything recomputed (every incident's similar
incidents and every summary row). Without DATABASE_URL it runs on SQLite.
"""

import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

SIZES = (10, 38)


def changed_snapshot(snapshot, folder, size, suffix):
    """A snapshot folder of `size` incidents from `snapshot`, retitled, beside its taxonomies."""
    folder.mkdir()
    for taxonomy in snapshot.glob("classifications_*.csv"):
        shutil.copy(taxonomy, folder)
    with (snapshot / "incidents.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [row for _, row in zip(range(size), reader, strict=False)]
        fields = reader.fieldnames
    for row in rows:
        row["title"] = f"{row['title']} ({suffix})"
    with (folder / "incidents.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return folder


def main():
    shared = _scratch.require_shared_data()
    cleanup = _scratch.setup()
    try:
        run(shared)
    finally:
        cleanup()


def run(shared):
    from incidents import queueing
    from incidents.importers.base import followups
    from incidents.models import Incident

    snapshot = shared / "aiid-snapshot-2026-02"
    for source, path in (("aiid", snapshot), ("aiaaic", shared / "aiaaic-2025-12")):
        started = time.monotonic()
        summary = _scratch.import_dataset(source, path)
        print(f"{source} {path.name}: {summary} ({time.monotonic() - started:.1f} s)", flush=True)
    print(f"{Incident.objects.count()} incidents in the base", flush=True)

    current = followups.incidents_imported

    def everything(*, incident_ids, summaries_change=None):
        queueing._queue_on_commit("recompute_all_related_incidents")
        queueing.summaries_rebuild()

    def summaries_rebuilt(*, incident_ids, summaries_change=None):
        current(incident_ids=incident_ids)

    rows = []
    with tempfile.TemporaryDirectory(prefix="import-speed-") as scratch:
        for size in SIZES:
            figures = []
            variants = (("all", everything), ("rebuilt", summaries_rebuilt), ("now", current))
            for label, follow_up in variants:
                folder = changed_snapshot(
                    snapshot, Path(scratch) / f"{size}-{label}-2026-03", size, label
                )
                followups.incidents_imported = follow_up
                started = time.monotonic()
                summary = _scratch.import_dataset("aiid", folder)
                figures.append(time.monotonic() - started)
                assert summary.updated == size, summary
            followups.incidents_imported = current
            rows.append((size, *(f"{figure:.1f}" for figure in figures)))
    print()
    headers = ["changed records", "everything (s)", "summaries rebuilt (s)", "now (s)"]
    print(_scratch.table(rows, headers))


if __name__ == "__main__":
    main()
