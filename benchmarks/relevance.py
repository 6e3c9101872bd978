"""How well search and similar incidents find what they should, on the real datasets.

    .venv/bin/python benchmarks/relevance.py            # SQLite (a temporary file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/relevance.py

Builds a scratch database (see _scratch.py), imports the AI Incident Database snapshots of
2025-03 then 2026-02, then the AIAAIC sheet of 2025-12, and measures:

- search, as MRR@20, top-1 and recall@10, through the web list's filters (what the incident list
  shows) and through the API's incident list, with matching by meaning off and, when the model
  is installed, on. Queries written by us: (a) every 2025-03 title of an incident renamed in
  2026-02 should find that incident; (b) for each pair in the AIID's duplicates.csv, the title of
  one should find the other (itself left out); (c) hand-written queries, typos and syntax
  included. Text written by others, for an incident the datasets name: (d) the 2019 AIID seed
  descriptions, matched to an incident by the report links they share with the AIID's lookup
  index; (e) news headlines of one incident's reports (the AIID's report fixtures, and the
  sources agent-incident-log lists beside its `aiid_incident`); (f) AIAAIC headlines of the
  AIID incidents in `AIAAIC_TWINS` (their own record left out); (g) other datasets' titles of
  the AIID incident they cite (agent-incident-log, awesome-agent-failures);
- similar incidents: for each duplicates.csv pair, and each AIID-AIAAIC pair flagged as likely
  duplicates at import (plus a few pairs checked by hand), is the other in the stored related list?

BENCH_REUSE=1 with BENCH_KEEP=1 measures again on the database an earlier run left, without
importing again.
"""

import csv
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

# The API is asked through Django's test client, hundreds of times a minute.
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("API_THROTTLE_ANONYMOUS", "1000000/minute")

DEPTH = 10
RANKS = 20  # MRR@20: a result below the twentieth counts as not found
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
# (AIAAIC id, AIID number): the same event, labelled by reading both records. Drawn from every
# 20th AIAAIC row dated 2015-2025 (97 rows), each shown beside the AIID incidents closest to it
# by TF-IDF, by sentence embedding and by shared organisation within a year; 30 had a twin.
AIAAIC_TWINS = [
    ("AIAAIC2046", "728"),  # Lovo copies voice actors' voices
    ("AIAAIC2026", "1191"),  # Trevis Williams, NYPD face match
    ("AIAAIC1986", "1118"),  # North Korean IT workers with made-up identities
    ("AIAAIC1945", "1017"),  # six arrested in Spain, EUR 19m deepfake investment scam
    ("AIAAIC1925", "981"),  # Apple voicemail transcript insults a Scottish grandmother
    ("AIAAIC1843", "855"),  # ChatGPT refuses the name "David Mayer"
    ("AIAAIC1781", "826"),  # Sewell Setzer III and Character.AI
    ("AIAAIC1674", "60"),  # FaceApp ethnicity filters
    ("AIAAIC1524", "696"),  # Meta Advantage+ overspends budgets
    ("AIAAIC1483", "983"),  # WPP chief executive voice clone
    ("AIAAIC1463", "675"),  # Pikesville athletic director's fake audio of the principal
    ("AIAAIC1359", "429"),  # Rochester ShotSpotter conviction overturned
    ("AIAAIC1339", "639"),  # Air Canada bereavement fare chatbot
    ("AIAAIC1279", "623"),  # Michael Cohen's fake citations from Bard
    ("AIAAIC1096", "565"),  # Chinese campaign on the Maui wildfires
    ("AIAAIC1026", "556"),  # FTC: Alexa kept children's voice recordings
    ("AIAAIC1006", "492"),  # Canadian parents lose CAD 21,000 to their son's cloned voice
    ("AIAAIC0983", "510"),  # Pope Francis in a puffer jacket
    ("AIAAIC0885", "385"),  # Edmonton police DNA phenotyping image
    ("AIAAIC0851", "187"),  # John Bernal's FSD beta video, bollard, fired
    ("AIAAIC0808", "151"),  # Pony.ai car hits a divider, permit suspended
    ("AIAAIC0616", "402"),  # AI Dungeon sexual content involving children
    ("AIAAIC0591", "232"),  # Tesla Model X kills a motorcyclist in Kanagawa
    ("AIAAIC0542", "425"),  # State Farm claims and Black homeowners
    ("AIAAIC0434", "76"),  # Buenos Aires facial recognition of children
    ("AIAAIC0329", "275"),  # Facebook blocks the photo of Aboriginal men in chains
    ("AIAAIC0187", "4"),  # Uber self-driving car kills Elaine Herzberg
    ("AIAAIC0142", "35"),  # engineer fired by an automated HR system
    ("AIAAIC0121", "23"),  # Las Vegas self-driving shuttle collision
    ("AIAAIC033", "1"),  # YouTube Kids shows adult content
]
# A seed description belongs to the incident sharing most of its report links, if that is at
# least this many and more than twice as many as any other incident shares.
SEED_MIN_SHARED_LINKS = 2


def read_titles(folder):
    with (folder / "incidents.csv").open(encoding="utf-8-sig", newline="") as handle:
        return {row["incident_id"]: row["title"].strip() for row in csv.DictReader(handle)}


def read_duplicates(folder):
    with (folder / "duplicates.csv").open(encoding="utf-8-sig", newline="") as handle:
        return [
            (row["duplicate_incident_number"], row["true_incident_number"])
            for row in csv.DictReader(handle)
        ]


def _address(url):
    url = url.strip().lower().split("://", 1)[-1].removeprefix("www.")
    return url.rstrip("/")


def seed_descriptions(fixtures):
    """[(description, AIID number)] from the 2019 seed sheet, matched by shared report links."""
    incidents_of = defaultdict(set)
    with (fixtures / "lookupIndex.json").open(encoding="utf-8") as handle:
        for entry in json.load(handle):
            for report in entry["r"]:
                incidents_of[_address(report["u"])].add(str(entry["i"]))
    queries = []
    with (fixtures / "seed_data.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            description = row["Short description of scenario"].strip()
            links = [row[f"Link {i}"] for i in range(1, 31) if (row.get(f"Link {i}") or "").strip()]
            shared = Counter(n for link in links for n in incidents_of.get(_address(link), ()))
            (number, count), (_, runner_up) = (shared.most_common(2) + [(None, 0)] * 2)[:2]
            if description and count >= SEED_MIN_SHARED_LINKS and count > 2 * runner_up:
                queries.append((description, number))
    return queries


def report_headlines(shared):
    """[(headline, AIID number)]: the titles of an incident's reports."""
    queries = []
    for path in sorted((shared / "aiid-repo-fixtures").glob("fullIncident*.json")):
        incident = json.loads(path.read_text(encoding="utf-8"))["data"]["incident"]
        number = str(incident["incident_id"])
        queries += [(r["title"].strip(), number) for r in incident["reports"] if r.get("title")]
    for incident in _agent_log(shared):
        queries += [(s["title"].strip(), incident["aiid_incident"]) for s in incident["sources"]]
    return queries


def _agent_log(shared):
    bundle = shared / "agent-incident-log" / "dist" / "incidents.json"
    incidents = json.loads(bundle.read_text(encoding="utf-8"))["incidents"]
    cited = [incident for incident in incidents if incident["aiid_incident"]]
    return [{**incident, "aiid_incident": str(incident["aiid_incident"])} for incident in cited]


def cited_titles(shared):
    """[(title, AIID number)]: other datasets' titles of an AIID incident they cite."""
    queries = [(i["title"], i["aiid_incident"]) for i in _agent_log(shared)]
    cases = shared / "awesome-agent-failures" / "docs" / "case-studies"
    for path in sorted(cases.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        cited = set(re.findall(r"incidentdatabase\.ai/cite/(\d+)", text))
        heading = re.search(r"^# (.+)$", text, re.MULTILINE)
        if len(cited) == 1 and heading:
            queries.append((heading.group(1).strip(), cited.pop()))
    return queries


def aiaaic_headlines(shared):
    """{AIAAIC id: headline} from the raw sheet (two header lines after a banner)."""
    path = shared / "aiaaic-2025-12" / "AIAAIC Repository - Incidents.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[1]
    return {
        row[0].strip(): dict(zip(header, row, strict=False))["Headline"].strip()
        for row in rows[3:]
        if row and row[0].strip()
    }


class Ranker:
    """The first RANKS incident ids a query finds, through the web list or the API."""

    def __init__(self, numbers):
        from django.test import Client

        self.client = Client()
        self.numbers = numbers  # pk -> incident number
        self.pks = {number: pk for pk, number in numbers.items()}

    def web(self, query, left_out):
        from incidents.filters import IncidentFilter

        results = IncidentFilter({"q": query}).qs
        if left_out is not None:
            results = results.exclude(pk=left_out)
        return list(results.values_list("pk", flat=True)[:RANKS])

    def api(self, query, left_out):
        response = self.client.get("/api/v1/incidents/", {"q": query, "page_size": RANKS + 1})
        if response.status_code != 200:
            return []
        found = [self.pks[row["number"]] for row in response.json()["results"]]
        return [pk for pk in found if pk != left_out][:RANKS]


def search_metrics(cases, rank):
    """cases: [(query, expected pk, pk left out or None)] -> MRR@20, top-1, recall@10, ms per
    query and the queries whose incident was not in the top 10."""
    reciprocal, first, found, misses = 0.0, 0, 0, []
    started = time.monotonic()
    for query, expected, left_out in cases:
        ranked = rank(query, left_out)
        position = ranked.index(expected) + 1 if expected in ranked else None
        if position:
            reciprocal += 1 / position
            first += position == 1
        if position and position <= DEPTH:
            found += 1
        else:
            misses.append(query)
    n = max(len(cases), 1)
    milliseconds = 1000 * (time.monotonic() - started) / n
    return reciprocal / n, first / n, found / n, milliseconds, misses


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
    from django.conf import settings
    from django.db import connection

    from incidents import semantic
    from incidents.models import Dataset, DuplicateFlag, Incident, Provenance

    old, new = shared / "aiid-snapshot-2025-03", shared / "aiid-snapshot-2026-02"
    timings = []
    reuse = os.environ.get("BENCH_REUSE") and Provenance.objects.filter(dataset=Dataset.AIAAIC)
    for source, path in (("aiid", old), ("aiid", new), ("aiaaic", shared / "aiaaic-2025-12")):
        if reuse:
            break
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
    headlines = aiaaic_headlines(shared)

    def of_aiid(queries):
        return [(query, aiid[number], None) for query, number in queries if number in aiid]

    query_sets = [
        ("(a) renamed AIID titles", retitled),
        ("(b) duplicates.csv twins", twins),
        ("(c) hand-written", hand),
        ("(d) 2019 seed descriptions", of_aiid(seed_descriptions(shared / "aiid-repo-fixtures"))),
        ("(e) report headlines", of_aiid(report_headlines(shared))),
        (
            "(f) AIAAIC headlines",
            [
                (headlines[a], aiid[n], aiaaic[a])
                for a, n in AIAAIC_TWINS
                if a in aiaaic and n in aiid and a in headlines
            ],
        ),
        ("(g) other datasets' titles", of_aiid(cited_titles(shared))),
    ]
    ours = [case for name, cases in query_sets[:3] for case in cases]
    others = [case for name, cases in query_sets[3:] for case in cases]
    query_sets += [("ours: (a)-(c)", ours), ("others: (d)-(g)", others)]

    ranker = Ranker(dict(Incident.objects.values_list("pk", "number")))
    modes = [("lexical", False)] + ([("semantic", True)] if semantic.installed() else [])
    headers = ["set", "n"]
    for mode, _ in modes:
        for where in ("web", "api"):
            metrics = (f"MRR@{RANKS}", "top-1", f"R@{DEPTH}", "ms")
            headers += [f"{where} {mode} {metric}" for metric in metrics]
    rows = {name: [name, len(cases)] for name, cases in query_sets}
    for mode, on in modes:
        settings.SEMANTIC_MATCHING = on
        for name, cases in query_sets:
            for where in ("web", "api"):
                mrr, top, recall, ms, misses = search_metrics(cases, getattr(ranker, where))
                rows[name] += [f"{mrr:.3f}", f"{top:.3f}", f"{recall:.3f}", f"{ms:.0f}"]
                if where == "web" and misses and not name.startswith(("ours", "others")):
                    print(f"{mode} {name}: not in the top {DEPTH}: {misses[:6]}", flush=True)

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
    similar_rows = []
    for name, pairs in (
        ("similar: duplicates.csv pairs", duplicate_pairs),
        ("similar: AIID-AIAAIC flagged pairs", flagged),
        ("similar: AIID-AIAAIC hand pairs", hand_pairs),
    ):
        mrr, recall, directions = similar_metrics(pairs)
        similar_rows.append((name, directions, f"{mrr:.3f}", f"{recall:.3f}"))

    print()
    print(f"Database: {connection.vendor}; search: MRR@{RANKS}, top-1, recall@{DEPTH}")
    for mode, _ in modes:
        columns = [0, 1] + [i for i, h in enumerate(headers) if f" {mode} " in h]
        print()
        print(
            _scratch.table(
                [[row[i] for i in columns] for row in rows.values()],
                [headers[i] for i in columns],
            )
        )
    print()
    print(_scratch.table(similar_rows, ["set", "n", "MRR", f"recall@{DEPTH}"]))
    if timings:
        print()
        print(_scratch.table(timings, ["step (with related-incident pass)", "time"]))


def new_titles_of(aiid_pk):
    from incidents.models import Incident

    return Incident.objects.get(pk=aiid_pk).title


if __name__ == "__main__":
    main()
