"""Search: ranking, web-search syntax, safe snippets, typos, hostile input, a current index."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from incidents import search
from incidents.importers import IMPORTERS, run_import
from incidents.models import Incident, Provenance
from incidents.search_index import search_index_update
from incidents.services import followups

from .factories import AISystemFactory, IncidentFactory, OrganisationFactory, TagFactory
from .test_import_datasets import AIAAIC, AIID_NEW, AIID_OLD

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text ranking and trigrams need PostgreSQL"
)
HOSTILE = [
    '"',
    '"unbalanced phrase',
    "'single' quotes' and \\ backslashes",
    "the and of a",
    "-",
    "- - OR OR",
    "OR",
    "!(&|:*)<->",
    "x" * 10_000,
    "robot " * 2_000,
    "nul\x00byte",
    "\x00",
    "\ud800 lone surrogate",
    "%_ LIKE wildcards %",
    "<script>alert(1)</script>",
    "DROP TABLE incidents_incident; --",
    "   ",
    None,
]


def found(query, *, refresh=True):
    if refresh:
        # Factories write rows directly; bring the index up to date as a save would.
        search_index_update()
    return list(search.search(Incident.objects.published(), query))


def numbers(query, *, refresh=True):
    return [incident.number for incident in found(query, refresh=refresh)]


def test_an_empty_query_leaves_the_list_as_it_was():
    IncidentFactory.create_batch(2)

    assert search.search(Incident.objects.all(), "  ").count() == 2


def test_it_finds_words_in_the_title_and_leaves_out_the_rest():
    hit = IncidentFactory(title="Coding agent deleted the production database")
    IncidentFactory(title="Chatbot invented a refund policy")

    assert numbers("production database") == [hit.number]


def test_it_never_shows_unpublished_incidents_through_search():
    IncidentFactory(title="Secret database wipe", draft=True)

    assert numbers("database wipe") == []


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_input_never_raises(query):
    IncidentFactory(title="Robot vacuum mapped the house")

    assert isinstance(found(query), list)
    assert isinstance(search.suggestions(query, reader=AnonymousUser()), list)


def test_fallback_syntax_phrase_exclude_and_or():
    refund = IncidentFactory(title="Chatbot invented a refund policy")
    wipe = IncidentFactory(title="Coding agent deleted the production database")
    both = IncidentFactory(title="Chatbot deleted a refund database")

    assert set(numbers('"refund policy"')) == {refund.number}
    assert set(numbers("chatbot -database")) == {refund.number}
    assert set(numbers("policy OR production")) == {refund.number, wipe.number}
    assert both.number in numbers("chatbot database")


def test_snippets_are_safe_html_even_when_the_incident_text_is_not():
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)> database'
    IncidentFactory(title=f"Agent wiped the database {payload}", summary=payload)

    [result] = found("database")

    assert "<script" not in result.snippet and "<img" not in result.snippet
    assert "&lt;script&gt;" in result.snippet
    assert set(re.findall(r"</?(\w+)", result.snippet)) <= {"mark"}


def test_suggestions_offer_a_close_organisation_name():
    IncidentFactory(organisations=[OrganisationFactory(name="Clearview AI")])
    OrganisationFactory(name="Anthropic")

    assert "Clearview AI" in search.suggestions("Clearveiw AI", reader=AnonymousUser())
    assert search.suggestions("", reader=AnonymousUser()) == []


def test_suggestions_never_leak_unpublished_titles():
    IncidentFactory(title="Confidential breach at Initech", internal=True)

    assert "Confidential breach at Initech" not in search.suggestions(
        "Confidential breach at Initec", reader=AnonymousUser()
    )


@postgres_only
def test_a_title_match_ranks_above_a_narrative_only_match():
    narrative_only = IncidentFactory(
        title="Agent incident",
        summary="Something went wrong.",
        narrative="Much later the kubernetes cluster was mentioned in passing.",
    )
    title_match = IncidentFactory(title="Agent scaled the kubernetes cluster to zero")
    search_index_update()

    assert numbers("kubernetes") == [title_match.number, narrative_only.number]
    ranks = [incident.rank for incident in found("kubernetes")]
    assert ranks[0] > ranks[1] > 0 and ranks[0] <= 1


@postgres_only
def test_websearch_syntax_phrase_exclude_and_or():
    refund = IncidentFactory(title="Chatbot invented a refund policy")
    wipe = IncidentFactory(title="Coding agent deleted the production database")
    reversed_words = IncidentFactory(title="Policy on refund requests ignored by chatbot")
    search_index_update()

    assert numbers('"refund policy"') == [refund.number]
    assert set(numbers("refund -invented")) == {reversed_words.number}
    assert set(numbers("invented OR production")) == {refund.number, wipe.number}


@postgres_only
def test_snippets_mark_the_matching_words():
    IncidentFactory(
        title="Agent deleted the production database",
        summary="The coding agent ran a destructive migration during a freeze.",
    )
    search_index_update()

    [result] = found("destructive migration")

    assert "<mark>destructive</mark>" in result.snippet
    assert "<mark>migration</mark>" in result.snippet


@postgres_only
def test_organisation_ai_system_and_tag_names_are_searchable():
    incident = IncidentFactory(
        title="Outage",
        organisations=[OrganisationFactory(name="Initech")],
        tags=[TagFactory(name="Prompt injection")],
    )
    incident.ai_systems.add(AISystemFactory(name="Kiro"))
    search_index_update([incident.pk])

    for query in ("Initech", "prompt injection", "kiro"):
        assert numbers(query) == [incident.number], query


@postgres_only
def test_a_typo_in_an_organisation_name_still_finds_its_incidents():
    incident = IncidentFactory(
        title="Facial recognition scraped photos without consent",
        organisations=[OrganisationFactory(name="Clearview AI")],
    )
    IncidentFactory(title="Chatbot invented a refund policy")
    search_index_update()

    assert numbers("Clearveiw") == [incident.number]
    assert incident.number in numbers("Clearveiw AI")


@postgres_only
def test_a_typo_in_a_title_word_still_finds_it():
    incident = IncidentFactory(title="Tesla Autopilot crash on the highway")
    search_index_update()

    assert incident.number in numbers("autopliot")


@postgres_only
def test_the_vector_is_updated_when_an_incident_is_saved(django_capture_on_commit_callbacks):
    incident = IncidentFactory(title="Chatbot invented a refund policy")
    search_index_update()
    assert numbers("hallucinated", refresh=False) == []

    incident.title = "Chatbot hallucinated a refund policy"
    incident.save()
    with django_capture_on_commit_callbacks(execute=True):
        followups.incident_saved(incident=incident)

    assert numbers("hallucinated", refresh=False) == [incident.number]


@postgres_only
def test_an_import_fills_and_refreshes_the_vectors():
    run_import(IMPORTERS["aiid"](AIID_OLD))
    run_import(IMPORTERS["aiaaic"](AIAAIC))
    assert not Incident.objects.filter(search_vector=None).exists()
    uber = Provenance.objects.get(dataset="aiid", external_id="4").incident
    assert uber.number in numbers("pedestrian Arizona", refresh=False)

    run_import(IMPORTERS["aiid"](AIID_NEW))

    renamed = Provenance.objects.get(dataset="aiid", external_id="6").incident
    new_word = "TayBot"
    assert new_word in renamed.title
    assert renamed.number in numbers(new_word, refresh=False)
