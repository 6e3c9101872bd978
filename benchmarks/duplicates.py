"""How well duplicate flags find the same incident told twice, on the real datasets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_DATABASE=bench_dups \\
        .venv/bin/python benchmarks/duplicates.py
    ... benchmarks/duplicates.py --fit   # also print the weights fitted on the tune half

Builds a scratch database (see _scratch.py) and imports Awesome Agent Failures, the AI Incident
Database snapshot of 2026-02, the AIAAIC sheet of 2025-12 and the Agent Incident Log, in that
order, so some stated links wait for the AIID and some find it imported already. Then it makes
the sentence embeddings once (when the model is installed) and flags the whole corpus, with
matching by meaning and without, and prints for each:

- recall and precision at the production threshold on the hand-labelled pairs
  (benchmarks/data/duplicate_pairs.csv; see the README beside it), for all of them and for the
  tune and held-out halves, and a table of thresholds;
- how many links the datasets state between imported records, and how many became flags;
- flags within one dataset, flags in all, and the time flagging took.
"""

import argparse
import csv
import math
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

PAIRS = Path(__file__).resolve().parent / "data" / "duplicate_pairs.csv"
IMPORTS = [
    ("awesome-agent-failures", "awesome-agent-failures"),
    ("aiid", "aiid-snapshot-2026-02"),
    ("aiaaic", "aiaaic-2025-12"),
    ("agent-incident-log", "agent-incident-log"),
]
THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
HALVES = ["all", "tune", "held-out"]


def read_pairs():
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def labelled(rows):
    """[(a pk, b pk, twin?, half, drawn)] of the labelled pairs whose records are imported."""
    from incidents.models import Provenance

    incident = {
        (dataset, external_id): pk
        for pk, dataset, external_id in Provenance.objects.values_list(
            "incident_id", "dataset", "external_id"
        )
    }
    found, missing = [], 0
    for row in rows:
        a = incident.get((row["dataset_a"], row["external_id_a"]))
        b = incident.get((row["dataset_b"], row["external_id_b"]))
        if a is None or b is None:
            missing += 1
            continue
        found.append((min(a, b), max(a, b), row["label"] == "twin", row["half"], row["drawn"]))
    if missing:
        print(f"{missing} labelled pairs name records that were not imported")
    return found


def recall_precision(pairs, flagged):
    twins = [p for p in pairs if p[2]]
    hits = [p for p in pairs if (p[0], p[1]) in flagged]
    right = sum(1 for p in hits if p[2])
    recall = right / len(twins) if twins else 0.0
    precision = right / len(hits) if hits else 0.0
    return recall, precision, len(twins), len(hits)


def in_half(pairs, half):
    return pairs if half == "all" else [p for p in pairs if p[3] == half]


def measure(pairs, meaning):
    """Flag the whole corpus afresh and print what was found."""
    from django.conf import settings

    from incidents import duplicates, semantic
    from incidents.models import DuplicateFlag, Incident, Provenance

    settings.SEMANTIC_MATCHING = meaning
    label = "with meaning" if meaning else "words only"
    DuplicateFlag.objects.all().delete()
    everyone = list(Incident.objects.values_list("pk", flat=True))
    started = time.monotonic()
    written = duplicates.flag_duplicates(everyone)
    seconds = time.monotonic() - started

    flags = list(DuplicateFlag.objects.values_list("incident_id", "candidate_id", "basis"))
    flagged = {(a, b) for a, b, _ in flags}
    datasets = {}
    for pk, dataset in Provenance.objects.values_list("incident_id", "dataset"):
        datasets.setdefault(pk, set()).add(dataset)
    within = sum(1 for a, b, _ in flags if datasets.get(a, set()) & datasets.get(b, set()))
    bases = Counter(basis for _, _, basis in flags)
    print(f"\n== {label} (threshold {duplicates.THRESHOLD})")
    print(
        f"{written} flags in {seconds:.1f} s: {bases['stated']} stated, {bases['scored']} scored; "
        f"{within} within one dataset, {len(flags) - within} across datasets"
    )
    stated = duplicates.stated_pairs()
    print(
        f"links the datasets state between imported incidents: {len(stated)}, "
        f"flagged as certain: {sum(1 for pair in stated if pair in flagged)}"
    )
    rows = []
    for half in HALVES:
        recall, precision, twins, hits = recall_precision(in_half(pairs, half), flagged)
        rows.append((half, twins, hits, f"{recall:.2f}", f"{precision:.2f}"))
    print(_scratch.table(rows, ["labelled pairs", "twins", "flagged", "recall", "precision"]))
    by_draw = []
    for drawn in sorted({p[4] for p in pairs}):
        group = [p for p in pairs if p[4] == drawn]
        recall, precision, twins, hits = recall_precision(group, flagged)
        by_draw.append((drawn, len(group), twins, hits, f"{precision:.2f}"))
    print(_scratch.table(by_draw, ["drawn as", "pairs", "twins", "flagged", "precision"]))

    # Scores of the labelled pairs among the scorer's candidates, for the threshold table.
    scorer = duplicates.Scorer()
    involved = {pk for p in pairs for pk in p[:2]}
    scores = {(a, b): c.score for a, b, c in scorer.scored_pairs(involved)}
    stated_pairs = set(stated)
    table = []
    for threshold in THRESHOLDS:
        found = {pair for pair, score in scores.items() if score >= threshold} | stated_pairs
        cells = [f"{threshold:.1f}"]
        for half in HALVES:
            recall, precision, _, _ = recall_precision(in_half(pairs, half), found)
            cells.append(f"{recall:.2f} / {precision:.2f}")
        cells.append(sum(1 for s in _corpus_scores(scorer).values() if s >= threshold))
        table.append(cells)
    print("recall / precision by threshold (stated links always count as flagged):")
    print(_scratch.table(table, ["threshold", *HALVES, "scored pairs in the corpus"]))
    if meaning and not semantic.enabled():
        print("(the model is not installed: matching by meaning was off)")
    return scorer


def _corpus_scores(scorer):
    if not hasattr(scorer, "_all_scores"):
        everyone = list(scorer.profiles)
        scorer._all_scores = {(a, b): c.score for a, b, c in scorer.scored_pairs(everyone)}
    return scorer._all_scores


# Fitting the weights (--fit): logistic regression by Newton's method, in numpy.


def fit_logistic(rows, labels, iterations=50, ridge=1.0):
    """Weights (intercept last) minimising the log loss plus a small L2 penalty, as
    scikit-learn's default LogisticRegression does."""
    import numpy

    x = numpy.hstack([numpy.asarray(rows, dtype=float), numpy.ones((len(rows), 1))])
    y = numpy.asarray(labels, dtype=float)
    w = numpy.zeros(x.shape[1])
    penalty = numpy.eye(x.shape[1]) / ridge
    penalty[-1, -1] = 0.0
    for _ in range(iterations):
        p = 1 / (1 + numpy.exp(-(x @ w)))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x.T * (p * (1 - p))) @ x + penalty
        w -= numpy.linalg.solve(hessian, gradient)
    return w


def fit(pairs, meaning):
    """Fit both stages on the tune half and print them as `Weights`."""
    from dataclasses import replace

    from django.conf import settings

    from incidents import duplicates

    settings.SEMANTIC_MATCHING = meaning
    tune = [p for p in pairs if p[3] == "tune"]
    names = ["meaning", "words", "title_words", "dates", "undated", "shared", "same_dataset"]
    if not meaning:
        names.remove("meaning")

    def components(c):
        values = {
            "meaning": c.meaning or 0.0,
            "words": c.words,
            "title_words": c.title_words,
            "dates": math.exp(-c.days / duplicates.DAYS_SCALE) if c.days is not None else 0.0,
            "undated": float(c.days is None),
            "shared": float(bool(c.organisations or c.systems)),
            "same_dataset": float(c.same_dataset),
        }
        return [values[n] for n in names]

    scorer = duplicates.Scorer()
    first = fit_logistic(
        [components(scorer.compare(scorer.profiles[a], scorer.profiles[b])) for a, b, *_ in tune],
        [twin for _, _, twin, *_ in tune],
    )
    weights = {"meaning": 0.0, **dict(zip(names, first[:-1], strict=True))}
    current = duplicates.WITH_MEANING if meaning else duplicates.WORDS_ONLY
    staged = replace(current, **weights, intercept=first[-1])
    attribute = "WITH_MEANING" if meaning else "WORDS_ONLY"
    setattr(duplicates, attribute, staged)
    scorer = duplicates.Scorer()
    scorer.neighbours({pk for p in tune for pk in p[:2]})
    second_rows = []
    for a, b, *_ in tune:
        comparison = scorer.score(a, b)
        second_rows.append([comparison.base, comparison.margin])
    second = fit_logistic(second_rows, [twin for _, _, twin, *_ in tune])
    fitted = replace(staged, base=second[0], margin=second[1], offset=second[2])
    setattr(duplicates, attribute, current)
    shown = ", ".join(f"{k}={getattr(fitted, k):.2f}" for k in fitted.__dataclass_fields__)
    print(f"{attribute} = Weights({shown})")
    return fitted


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit", action="store_true", help="print weights fitted on the tune half")
    options = parser.parse_args()
    shared = _scratch.require_shared_data()
    cleanup = _scratch.setup()
    try:
        run(shared, options)
    finally:
        cleanup()


def run(shared, options):
    from django.conf import settings

    from incidents import semantic

    # Imports flag with words only and inline; the runs below flag the whole corpus afresh.
    settings.SEMANTIC_MATCHING = False
    for source, folder in IMPORTS:
        summary = _scratch.import_dataset(source, shared / folder)
        print(f"{source}: {summary}")
    settings.SEMANTIC_MATCHING = True
    meaning = semantic.enabled()
    if meaning:
        started = time.monotonic()
        made = semantic.embeddings_update()
        print(f"{made} sentence embeddings made in {time.monotonic() - started:.1f} s")
    pairs = labelled(read_pairs())
    print(
        f"{len(pairs)} labelled pairs ({sum(p[2] for p in pairs)} twins), "
        f"{sum(p[3] == 'tune' for p in pairs)} in the tune half"
    )
    for with_meaning in [True, False] if meaning else [False]:
        if options.fit:
            fit(pairs, with_meaning)
        measure(pairs, with_meaning)


if __name__ == "__main__":
    main()
