"""How well search and similar incidents find what they should, on the real datasets.

    .venv/bin/python benchmarks/relevance.py            # SQLite (a temporary file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/relevance.py

Builds a scratch database (see _scratch.py), imports the AI Incident Database snapshots of
2025-03 then 2026-02, then the AIAAIC sheet of 2025-12, and measures:

- search, as MRR and recall@10: (a) every 2025-03 title of an incident renamed in 2026-02 should
  find that incident; (b) for each pair in the AIID's duplicates.csv, the title of one should find
  the other (itself left out); (c) hand-written queries, typos and syntax included;
- similar incidents: for each duplicates.csv pair, and each AIID-AIAAIC pair flagged as likely
  duplicates at import (plus a few pairs checked by hand), is the other in the stored related list?
"""

import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

DEPTH = 10
# (query, AIID incident number) written by hand from the 2026-02 snapshot.
HAND_WRITTEN = [
    ("self-driving car killed pedestrian in Arizona", "4"),
    ("uber autonomous vehicle pedestrian death", "4"),
    ("Air Canada chatbot bereavement fare", "639"),
    ('"bereavement fare"', "639"),
    ("Replit agent deleted database during code freeze", "1152"),
    ("Tay chatbot racist tweets", "6"),
    ("Microsfot Tay", "6"),
    ("Amazon recruiting tool biased against women", "37"),
    ("Apple Card credit limit discrimination", "92"),
    ("Chevrolet dealer chatbot Tahoe for $1", "622"),
    ("DPD chatbot swore at customers", "631"),
    ("Zillow Offers pricing algorithm", "149"),
    ("Zilow home buying", "149"),
    ("Clearveiw GDPR fine", "781"),
    ("Character.ai teen suicide", "826"),
    ("Gemini threatening response", "845"),
    ("COMPAS recidivism -facial", "40"),
    ("Bing chat prompt injection initial prompts", "473"),
]
# (AIID number, AIAAIC id): the same real-world incident, checked by hand.
HAND_PAIRS = [("4", "AIAAIC0187")]


def read_titles(folder):
    with (folder / "incidents.csv").open(encoding="utf-8-sig", newline="") as handle:
        return {row["incident_id"]: row["title"].strip() for row in csv.DictReader(handle)}


def read_duplicates(folder):
    with (folder / "duplicates.csv").open(encoding="utf-8-sig", newline="") as handle:
        return [
            (row["duplicate_incident_number"], row["true_incident_number"])
            for row in csv.DictReader(handle)
        ]


def search_metrics(cases, ids):
    """cases: [(query, expected pk, pk left out or None)] -> (MRR, recall@10, n, seconds)."""
    from incidents import search
    from incidents.models import Incident

    reciprocal, found, started = 0.0, 0, time.monotonic()
    misses = []
    for query, expected, left_out in cases:
        results = search.search(Incident.objects.published(), query)
        if left_out is not None:
            results = results.exclude(pk=left_out)
        ranked = list(results.values_list("pk", flat=True)[:DEPTH])
        if expected in ranked:
            reciprocal += 1 / (ranked.index(expected) + 1)
            found += 1
        else:
            misses.append(query)
    seconds = time.monotonic() - started
    n = len(cases)
    return reciprocal / n, found / n, n, seconds, misses


def similar_metrics(pairs):
    """pairs: [(pk, pk)] -> share of directions where the other is in the stored related list,
    and MRR over those lists."""
    from incidents.models import RelatedIncident

    stored = {}
    for incident_id, related_id in RelatedIncident.objects.order_by(
        "incident_id", "-score", "related_id"
    ).values_list("incident_id", "related_id"):
        stored.setdefault(incident_id, []).append(related_id)
    hits, reciprocal, directions = 0, 0.0, 0
    for a, b in pairs:
        for mine, other in ((a, b), (b, a)):
            directions += 1
            related = stored.get(mine, [])[:DEPTH]
            if other in related:
                hits += 1
                reciprocal += 1 / (related.index(other) + 1)
    return reciprocal / max(directions, 1), hits / max(directions, 1), directions


def main():
    shared = _scratch.require_shared_data()
    cleanup = _scratch.setup()
    try:
        run(shared)
    finally:
        cleanup()


def run(shared):
    from django.db import connection

    from incidents.models import Dataset, DuplicateFlag, Provenance

    old, new = shared / "aiid-snapshot-2025-03", shared / "aiid-snapshot-2026-02"
    timings = []
    for source, path in (("aiid", old), ("aiid", new), ("aiaaic", shared / "aiaaic-2025-12")):
        started = time.monotonic()
        summary = _scratch.import_dataset(source, path)
        timings.append((f"import {source} {path.name}", f"{time.monotonic() - started:.1f} s"))
        print(f"{source} {path.name}: {summary}", flush=True)

    aiid = dict(
        Provenance.objects.filter(dataset=Dataset.AIID).values_list("external_id", "incident_id")
    )
    aiaaic = dict(
        Provenance.objects.filter(dataset=Dataset.AIAAIC).values_list("external_id", "incident_id")
    )
    old_titles, new_titles = read_titles(old), read_titles(new)
    retitled = [
        (old_titles[number], aiid[number], None)
        for number in sorted(old_titles, key=int)
        if number in new_titles and number in aiid and old_titles[number] != new_titles[number]
    ]
    duplicate_pairs = [
        (aiid[a], aiid[b]) for a, b in read_duplicates(new) if a in aiid and b in aiid
    ]
    twins = []
    for a, b in duplicate_pairs:
        twins += [(new_titles_of(a), b, a), (new_titles_of(b), a, b)]
    hand = [(query, aiid[number], None) for query, number in HAND_WRITTEN if number in aiid]

    rows = []
    all_cases = []
    for name, cases in (
        ("search: renamed AIID titles (a)", retitled),
        ("search: duplicates.csv twins (b)", twins),
        ("search: hand-written (c)", hand),
    ):
        mrr, recall, n, seconds, misses = search_metrics(cases, aiid)
        all_cases += cases
        rows.append((name, n, f"{mrr:.3f}", f"{recall:.3f}", f"{1000 * seconds / n:.1f}"))
        if misses:
            print(f"{name}: not in the top {DEPTH}: {misses[:8]}", flush=True)
    mrr, recall, n, seconds, _ = search_metrics(all_cases, aiid)
    rows.append(("search: all", n, f"{mrr:.3f}", f"{recall:.3f}", f"{1000 * seconds / n:.1f}"))

    flagged = list(
        DuplicateFlag.objects.filter(
            incident__provenances__dataset=Dataset.AIID,
            candidate__provenances__dataset=Dataset.AIAAIC,
        ).values_list("incident_id", "candidate_id")
    ) + list(
        DuplicateFlag.objects.filter(
            incident__provenances__dataset=Dataset.AIAAIC,
            candidate__provenances__dataset=Dataset.AIID,
        ).values_list("incident_id", "candidate_id")
    )
    hand_pairs = [(aiid[a], aiaaic[b]) for a, b in HAND_PAIRS if a in aiid and b in aiaaic]
    for name, pairs in (
        ("similar: duplicates.csv pairs", duplicate_pairs),
        ("similar: AIID-AIAAIC flagged pairs", flagged),
        ("similar: AIID-AIAAIC hand pairs", hand_pairs),
    ):
        mrr, recall, directions = similar_metrics(pairs)
        rows.append((name, directions, f"{mrr:.3f}", f"{recall:.3f}", ""))

    print()
    print(f"Database: {connection.vendor}; depth {DEPTH}")
    print(_scratch.table(rows, ["set", "n", "MRR", f"recall@{DEPTH}", "ms/query"]))
    print()
    print(_scratch.table(timings, ["step (with related-incident pass)", "time"]))


def new_titles_of(aiid_pk):
    from incidents.models import Incident

    return Incident.objects.get(pk=aiid_pk).title


if __name__ == "__main__":
    main()
