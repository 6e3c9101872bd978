"""Whether recurring patterns are patterns, on the demo and the real datasets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_DATABASE=bench_patterns \\
        .venv/bin/python benchmarks/patterns.py [--meaning]

Builds a scratch database (see _scratch.py), loads the demo incidents and recomputes the
patterns, then imports the AI Incident Database snapshot of 2026-02 (and, with --more, the
AIAAIC sheet and the Agent Incident Log) and recomputes again. For each base it prints the
number of clusters, the largest one's share of the incidents, the median size, the mean
coherence, whether each known recurring pattern came out as its own cluster (all its
incidents together, with no other known pattern's), and the time the recompute took. With
--meaning, and the semantic set installed, the incidents are embedded and grouped by
meaning too.

Last, how well placement (what a save does beyond GROUPING_LIMIT) agrees with the regroup:
a fifth of the grouped incidents, and as many ungrouped, are taken out and placed again, for
several PLACEMENT_VOTES. It prints the share placed back in their own cluster, how many went
to another, and the share of ungrouped ones that joined one.
"""

import argparse
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

# Found by title, in the demo and in the AIID alike.
KNOWN = {
    "coding agents destroying production data": r"Kiro|Replit|Gemini CLI|PocketOS",
    "support chatbots inventing policy": r"Air Canada|Cursor.*polic|Support Bot for Cursor",
    "self-driving cars striking pedestrians": (
        r"Uber.*(pedestrian|Herzberg)|Cruise.*(struck|drags).*pedestrian"
    ),
}
MORE = [("aiaaic", "aiaaic-2025-12"), ("agent-incident-log", "agent-incident-log")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meaning", action="store_true", help="also group by meaning")
    parser.add_argument("--more", action="store_true", help="also import AIAAIC and the log")
    options = parser.parse_args()
    shared = _scratch.require_shared_data()
    cleanup = _scratch.setup()
    try:
        run(shared, options)
    finally:
        cleanup()


def known_patterns():
    """{pattern: {incident ids}} of the known recurring patterns."""
    from incidents.models import Incident

    titles = Incident.objects.reviewed().values_list("pk", "title")
    return {
        name: {pk for pk, title in titles if re.search(pattern, title, re.IGNORECASE)}
        for name, pattern in KNOWN.items()
    }


def own_cluster(members, cluster_of, everyone_known):
    """'yes' when every incident of the pattern sits in one cluster holding no other known
    pattern's incident, else what went wrong."""
    if not members:
        return "not imported"
    clusters = Counter(cluster_of.get(pk) for pk in members)
    if None in clusters:
        return f"{clusters[None]} of {len(members)} in no cluster"
    if len(clusters) > 1:
        return f"split over {len(clusters)} clusters"
    (cluster_id,) = clusters
    intruders = [pk for pk in everyone_known - members if cluster_of.get(pk) == cluster_id]
    return f"shares a cluster with {len(intruders)} of another" if intruders else "yes"


def measure(label, meaning):
    from django.conf import settings

    from incidents.models import Incident, PatternCluster, PatternClusterMember
    from incidents.services.patterns import clusters_recompute

    settings.SEMANTIC_MATCHING = meaning
    started = time.monotonic()
    clusters_recompute()
    seconds = time.monotonic() - started
    incidents = Incident.objects.reviewed().count()
    cluster_of = dict(PatternClusterMember.objects.values_list("incident_id", "cluster_id"))
    sizes = sorted(Counter(cluster_of.values()).values(), reverse=True)
    coherences = [
        c for c in PatternCluster.objects.values_list("coherence", flat=True) if c is not None
    ]
    known = known_patterns()
    everyone = set().union(*known.values())
    print(f"\n{label} ({'by meaning' if meaning else 'by words'}): {incidents} incidents")
    rows = [
        ("clusters", len(sizes)),
        ("incidents in a cluster", sum(sizes)),
        ("largest cluster", f"{sizes[0] if sizes else 0} ({_share(sizes, incidents)})"),
        ("median size", statistics.median(sizes) if sizes else 0),
        ("mean coherence", f"{statistics.mean(coherences):.3f}" if coherences else "n/a"),
        ("recompute", f"{seconds:.2f} s"),
    ]
    rows += [
        (f"own cluster: {name} ({len(members)})", own_cluster(members, cluster_of, everyone))
        for name, members in known.items()
    ]
    print(_scratch.table(rows, ["figure", "value"]))
    largest = max(Counter(cluster_of.values()).items(), key=lambda item: item[1], default=None)
    if largest:
        print(f"largest: {PatternCluster.objects.get(pk=largest[0]).name}")


def placement():
    from django.db import transaction

    from incidents.models import Incident, PatternClusterMember
    from incidents.services import patterns

    grouped = dict(PatternClusterMember.objects.values_list("incident_id", "cluster_id"))
    published = Incident.objects.reviewed().values_list("pk", flat=True)
    ungrouped = sorted(set(published) - grouped.keys())
    rng = random.Random(7)
    held = rng.sample(sorted(grouped), len(grouped) // 5)
    others = rng.sample(ungrouped, min(len(held), len(ungrouped)))
    rows = []
    for votes in (1, 2, 3, 4):
        patterns.PLACEMENT_VOTES = votes
        with transaction.atomic():
            savepoint = transaction.savepoint()
            PatternClusterMember.objects.filter(incident__in=held).delete()
            started = time.monotonic()
            patterns.clusters_place(held + others)
            seconds = time.monotonic() - started
            placed = dict(
                PatternClusterMember.objects.filter(incident__in=held + others).values_list(
                    "incident_id", "cluster_id"
                )
            )
            transaction.savepoint_rollback(savepoint)
        back = sum(placed.get(pk) == grouped[pk] for pk in held)
        elsewhere = sum(pk in placed and placed[pk] != grouped[pk] for pk in held)
        joined = sum(pk in placed for pk in others)
        rows.append(
            (
                votes,
                f"{back / len(held):.0%}",
                elsewhere,
                f"{joined / max(len(others), 1):.0%}",
                f"{seconds:.2f} s",
            )
        )
    print(f"\nplacement of {len(held)} grouped and {len(others)} ungrouped incidents")
    print(
        _scratch.table(rows, ["votes needed", "back in own", "elsewhere", "strays joined", "time"])
    )


def _share(sizes, incidents):
    return f"{100 * sizes[0] / incidents:.1f}%" if sizes and incidents else "0%"


def run(shared, options):
    from django.conf import settings
    from django.core.management import call_command

    from incidents import semantic
    from incidents.services.related import related_incidents_recompute_all

    settings.SEMANTIC_MATCHING = False
    call_command("load_demo", verbosity=0)
    # The related lists, as a worker keeps them after each save.
    related_incidents_recompute_all()
    passes = [False]
    if options.meaning:
        settings.SEMANTIC_MATCHING = True
        if semantic.enabled():
            semantic.embeddings_update()
            passes.append(True)
        else:
            print("The semantic set is not installed: grouping by words only.")
    for meaning in passes:
        measure("demo", meaning)

    settings.SEMANTIC_MATCHING = False
    imports = [("aiid", "aiid-snapshot-2026-02")] + (MORE if options.more else [])
    for source, folder in imports:
        print(f"{source}: {_scratch.import_dataset(source, shared / folder)}")
    related_incidents_recompute_all()
    if True in passes:
        started = time.monotonic()
        made = semantic.embeddings_update()
        print(f"{made} sentence embeddings made in {time.monotonic() - started:.1f} s")
    for meaning in passes:
        measure("demo and " + " and ".join(source for source, _ in imports), meaning)
    placement()


if __name__ == "__main__":
    main()
