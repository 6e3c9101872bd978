"""Matching by meaning: vectors kept by the worker as incidents change, nearest incidents by
meaning, similar incidents that share no word, a cold process that never makes a request
wait for the model, and a site that works without it.

Tests that need the model skip when it is not installed, unless REQUIRE_SEMANTIC is set (CI),
and then fail saying how to install it."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from incidents import queueing, semantic
from incidents.importers import IMPORTERS, run_import
from incidents.models import IncidentEmbedding, RelatedIncident
from incidents.services import related, review

from .factories import IncidentFactory
from .test_import_datasets import AIID_OLD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
# Real AI Incident Database titles (2026-02 snapshot), and a headline-like retelling of one
# of them that shares none of its words.
AIID_TITLES = [
    "Uber AV Killed Pedestrian in Arizona",
    "Microsoft's TayBot Allegedly Posts Racist, Sexist, and Anti-Semitic Content to Twitter",
    "Las Vegas Self-Driving Bus Involved in Accident",
    "Amazon’s Experimental Hiring Tool Allegedly Displayed Gender Bias in Candidate Rankings",
    "Apple Card's Credit Assessment Algorithm Allegedly Discriminated against Women",
    "Air Canada Chatbot Reportedly Provides Inaccurate Bereavement Fare Information, Leading to "
    "Customer Overpayment",
    "Chevrolet Dealer Chatbot Agrees to Sell Tahoe for $1",
    "Zillow Shut Down Zillow Offers Division Allegedly Due to Predictive Pricing Tool's "
    "Insufficient Accuracy",
    "Character.ai Chatbot Allegedly Influenced Teen User Toward Suicide Amid Claims of Missing "
    "Guardrails",
    "A Collection of Tesla Autopilot-Involved Crashes",
]
DPD = "Chatbot for DPD Malfunctioned and Swore at Customers and Criticized Its Own Company"
RETOLD = (
    "Parcel delivery firm's support bot cursed at a shopper and wrote a poem mocking its employer"
)


def incidents_titled(*titles):
    # Each its own summary: the factory's shared one would make them all alike.
    return [IncidentFactory(title=title, summary="") for title in titles]


def edit(incident, by, **changes):
    latest = incident.latest_revision()
    snapshot = review.working_snapshot(incident)
    review.incident_save(
        incident=incident,
        snapshot={**snapshot, "fields": {**snapshot["fields"], **changes}},
        by=by,
        base_revision_number=latest.number if latest else 0,
    )


def similar_to(incident):
    return [link.related for link in RelatedIncident.objects.filter(incident=incident)]


def stored(incident):
    return IncidentEmbedding.objects.get(incident=incident)


def test_a_save_gets_a_vector_from_the_worker_kept_while_title_and_summary_stay(
    meaning, ada, django_capture_on_commit_callbacks
):
    incident = IncidentFactory(draft=True, title="Agent deleted the production database")
    with django_capture_on_commit_callbacks(execute=True):
        edit(incident, ada, summary="It ran a destructive command during a code freeze.")
    first = stored(incident)
    assert first.model == semantic.MODEL_NAME
    assert len(bytes(first.vector)) == semantic.DIMENSIONS * 2

    with django_capture_on_commit_callbacks(execute=True):
        edit(incident, ada, narrative="## What happened\n\nThe agent ignored the freeze.")

    assert stored(incident).updated_at == first.updated_at

    with django_capture_on_commit_callbacks(execute=True):
        edit(incident, ada, title="Agent wiped the customer database")

    renamed = stored(incident)
    assert renamed.text_hash != first.text_hash
    assert bytes(renamed.vector) != bytes(first.vector)


def test_an_import_gets_vectors_from_the_worker(meaning, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_import(IMPORTERS["aiid"](AIID_OLD))

    assert IncidentEmbedding.objects.count() == 4


def test_nearest_finds_a_retelling_of_a_dataset_title_among_others(meaning):
    *others, dpd = incidents_titled(*AIID_TITLES, DPD)
    assert semantic.embeddings_update() == len(AIID_TITLES) + 1
    [query] = semantic.encode([RETOLD])

    [(best, cosine), *_] = semantic.nearest(query, limit=3)

    assert best == dpd.pk
    assert cosine > max(score for _, score in semantic.nearest(query, among={o.pk for o in others}))


def test_similar_incidents_include_the_same_event_told_in_other_words(
    meaning, django_capture_on_commit_callbacks
):
    dpd, retold, *_ = incidents_titled(DPD, RETOLD, *AIID_TITLES)

    with django_capture_on_commit_callbacks(execute=True):
        queueing.related_incidents_all()

    assert retold in similar_to(dpd)
    assert dpd in similar_to(retold)


def test_without_meaning_the_retelling_shares_nothing_to_relate_it():
    dpd, retold, *_ = incidents_titled(DPD, RETOLD, *AIID_TITLES)
    semantic.embeddings_update()

    assert retold.pk not in [row["pk"] for _, row in related.related_candidates(dpd)]
    assert not IncidentEmbedding.objects.exists()


def test_embed_incidents_fills_the_vectors_and_redoes_them_all_on_request(meaning):
    incidents_titled(DPD, RETOLD)

    call_command("embed_incidents", stdout=(first := StringIO()))
    call_command("embed_incidents", stdout=(again := StringIO()))
    call_command("embed_incidents", "--all", stdout=(everything := StringIO()))

    assert "Embedded 2 incident(s)" in first.getvalue()
    assert "up to date" in again.getvalue()
    assert "Embedded 2 incident(s)" in everything.getvalue()
    assert IncidentEmbedding.objects.count() == 2


def test_embed_incidents_says_when_matching_by_meaning_is_off(settings):
    settings.SEMANTIC_MATCHING = False

    with pytest.raises(CommandError, match="SEMANTIC_MATCHING is off"):
        call_command("embed_incidents")


def test_embed_incidents_says_how_to_install_the_model(settings, monkeypatch):
    settings.SEMANTIC_MATCHING = None  # unset: used when installed
    monkeypatch.setattr(semantic, "REQUIRED_MODULES", ("a_module_nobody_installed",))

    with pytest.raises(CommandError, match="make semantic"):
        call_command("embed_incidents")


def start(code, tmp_path, **environment):
    """Python code in a fresh process with the site's settings, on an SQLite file of its own."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "CACHE_URL")}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **inherited,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
            "DEBUG": "1",  # static files from the finders: no collectstatic run
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


SITE_WITHOUT_MEANING = """
import sys, django
django.setup()
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from incidents.models import Incident, IncidentEmbedding, RelatedIncident
setup_test_environment()
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
client = Client()
detail = Incident.objects.published().first().get_absolute_url()
for path in ("/incidents/?q=agent+deleted+the+database", detail, "/api/v1/incidents/?q=chatbot"):
    print(path, client.get(path).status_code)
print("related", RelatedIncident.objects.exists(), "vectors", IncidentEmbedding.objects.count())
print("loaded", "torch" in sys.modules or "sentence_transformers" in sys.modules)
"""


def test_with_matching_by_meaning_off_nothing_loads_and_the_site_works(tmp_path):
    run = start(SITE_WITHOUT_MEANING, tmp_path, SEMANTIC_MATCHING="0")

    assert run.returncode == 0, run.stderr
    assert run.stdout.count(" 200\n") == 3, run.stdout
    assert "related True vectors 0" in run.stdout
    assert "loaded False" in run.stdout


COLD_PROCESS = """
import sys, django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
from incidents import semantic
setup_test_environment()
print("at start", "torch" in sys.modules, semantic._Model.loader is not None)
print("first request", Client().get("/robots.txt").status_code)
semantic._Model.loader.join()
print("then", semantic.ready())
"""


def test_a_cold_process_loads_the_model_in_the_background_after_its_first_request(
    model_installed, tmp_path
):
    run = start(COLD_PROCESS, tmp_path, SEMANTIC_MATCHING="1")

    assert run.returncode == 0, run.stderr
    # Not at start, and not making the first request wait; ready once loaded.
    assert "at start False False" in run.stdout
    assert "first request 200" in run.stdout
    assert "then True" in run.stdout
