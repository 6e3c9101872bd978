"""Search: ranking, web-search syntax, safe snippets, typos, hostile input, a current index."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from incidents import search, semantic
from incidents.importers import IMPORTERS, run_import
from incidents.models import Incident, Provenance, Severity
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


# Text people paste: headlines and sentences written by others.

# Real headlines and summaries, shortened, of three incidents that share common words.
AIR_CANADA = {
    "title": "Air Canada chatbot gave a grieving passenger wrong bereavement fare advice",
    "summary": "The airline's support chatbot told a customer he could claim a bereavement "
    "discount after flying; a tribunal held the airline to its chatbot's answer.",
}
DECOYS = [
    {
        "title": "Airline chatbot leaked customer booking details",
        "summary": "A support chatbot showed one customer another passenger's booking.",
    },
    {
        "title": "Delivery firm chatbot swore at a customer",
        "summary": "The customer asked the support chatbot to write a poem about the firm.",
    },
]


def titles_listed(client, query, **filters):
    """The titles the incident list shows for the query, in order, and the count it states."""
    html = client.get("/incidents/", {"q": query, **filters}).text
    titles = re.findall(r'<h3 class="card-title"><a href="[^"]+">([^<]+)</a>', html)
    total = re.search(r'<p class="muted result-count">(\d+) incidents?</p>', html)
    return [title.replace("&#x27;", "'") for title in titles], int(total.group(1)) if total else 0


@pytest.fixture
def airlines():
    incident = IncidentFactory(**AIR_CANADA)
    for decoy in DECOYS:
        IncidentFactory(**decoy)
    search_index_update()
    return incident


@pytest.mark.parametrize(
    "headline",
    [
        'Air Canada must pay after its "lying" chatbot invented a bereavement refund',
        # Short enough to be read as syntax first: the phrase is in no incident.
        'Air Canada "lying" chatbot',
    ],
)
def test_a_pasted_headline_with_quotes_finds_its_incident(reader, airlines, headline):
    titles, total = titles_listed(reader, headline)

    assert titles[0] == airlines.title
    assert total == len(titles)


def test_a_long_natural_query_ranks_the_right_incident_first_among_decoys(reader, airlines):
    pasted = (
        "A man whose grandmother died asked the airline's chatbot about bereavement fares; it "
        "said he could apply for the discount within 90 days of travel, which was not the "
        "airline's policy, and a tribunal ordered Air Canada to pay the difference."
    )

    titles, total = titles_listed(reader, pasted)

    assert titles[0] == airlines.title
    assert set(titles) == {airlines.title, *(decoy["title"] for decoy in DECOYS)}
    assert total == 3


def test_typed_syntax_is_still_strict(reader, airlines):
    titles, _ = titles_listed(reader, '"support chatbot" -airline')

    assert titles == [DECOYS[1]["title"]]


@postgres_only
def test_rare_words_count_more_than_common_ones():
    for n in range(6):
        IncidentFactory(title=f"Chatbot gave customers wrong answers, case {n}")
    kronos = IncidentFactory(
        title="Scheduling software cut baristas' hours",
        summary="Kronos shift planning gave Starbucks staff erratic hours.",
    )
    search_index_update()

    assert numbers("chatbot chatbot Kronos scheduling for customers")[0] == kronos.number


@postgres_only
def test_ranks_stay_between_zero_and_one_best_first():
    IncidentFactory(title="Tesla Autopilot crash on the highway")
    IncidentFactory(title="Autopilot disengaged before a crash", summary="A Tesla hit a barrier.")
    search_index_update()

    ranks = [incident.rank for incident in found("Tesla autopilot highway crash killed driver")]

    assert len(ranks) == 2
    assert 1 >= ranks[0] > ranks[1] > 0


def _harbour_incidents():
    """An old incident a headline names, and newer ones sharing its common words."""
    headline = "Rotterdam port crane sensor misread the container load"
    target = IncidentFactory(
        title="Port crane sensor misread a container load in Rotterdam",
        occurred_at=datetime(2019, 3, 1, tzinfo=UTC),
    )
    newer = [
        IncidentFactory(
            title=f"{words} at a port, case {n}", occurred_at=datetime(2025, 1, 1 + n, tzinfo=UTC)
        )
        for n, words in enumerate(
            ["Crane sensor fault", "Container crane stopped", "Sensor misread cargo"] * 3
        )
    ]
    search_index_update()
    return headline, target, newer


@postgres_only
def test_a_pasted_headline_finds_its_old_incident_first_when_more_match_than_are_ranked(
    monkeypatch,
):
    headline, target, newer = _harbour_incidents()
    ranked_in_full = numbers(headline, refresh=False)
    monkeypatch.setattr(search, "RANKED_MATCHES", 3)

    bounded = numbers(headline, refresh=False)

    assert bounded[0] == ranked_in_full[0] == target.number
    # Those listed rank as they did among every match.
    assert bounded == [n for n in ranked_in_full if n in bounded]


@postgres_only
def test_when_more_match_than_are_ranked_the_list_shows_the_best_and_says_so(monkeypatch, client):
    headline, target, newer = _harbour_incidents()
    monkeypatch.setattr(search, "RANKED_MATCHES", 3)

    page = client.get("/incidents/", {"q": headline}).text
    listed = [int(n) for n in re.findall(r'class="number">#(\d+)<', page)]

    assert listed[0] == target.number
    assert len(listed) < 1 + len(newer)
    assert "the best matches of the many that use these words" in page
    narrow = client.get("/incidents/", {"q": "Rotterdam"}).text
    assert "the many that use these words" not in narrow


# Matching by meaning


UBER = "Self-driving Uber SUV killed a woman crossing the street in Tempe"
PARAPHRASE = "driverless car death of a pedestrian"


def test_meaning_finds_an_incident_that_shares_no_word_with_the_query(meaning, reader):
    uber = IncidentFactory(title=UBER, summary="")
    IncidentFactory(title="Coding agent deleted the production database", summary="")
    IncidentFactory(title="Chatbot invented a refund policy", summary="")
    search_index_update()
    semantic.embeddings_update()

    titles, total = titles_listed(reader, PARAPHRASE)

    assert titles[0] == uber.title
    assert total == len(titles)


def test_meaning_keeps_to_what_the_filters_and_the_reader_allow(meaning, reader):
    sev1 = Severity.objects.get(name="SEV1")
    IncidentFactory(title=UBER, summary="", draft=True)
    IncidentFactory(title=f"{UBER}, again", summary="")
    IncidentFactory(title="Robot vacuum mapped a flat", summary="", severity=sev1)
    search_index_update()
    semantic.embeddings_update()

    assert f"{UBER}, again" in titles_listed(reader, PARAPHRASE)[0]
    assert UBER not in titles_listed(reader, PARAPHRASE)[0]
    titles, total = titles_listed(reader, PARAPHRASE, severity="SEV1")
    assert f"{UBER}, again" not in titles
    assert total == len(titles)


def test_without_stored_vectors_search_stays_lexical(meaning, reader):
    IncidentFactory(title=UBER, summary="")
    search_index_update()

    assert titles_listed(reader, PARAPHRASE) == ([], 0)
    assert titles_listed(reader, "Uber Tempe")[0] == [UBER]
