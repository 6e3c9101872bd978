"""Names of organisations, tags and AI systems that only drafts or internal incidents carry
stay private: no public page, feed, suggestion, filter or API answer shows them. A name is
public when a public incident carries it (or, for an organisation, a policy change names it or
it makes an AI system a public incident names), or when an editor marked it public."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from incidents import search
from incidents.models import AISystem, Organisation, Tag

from .factories import (
    AgentActionFactory,
    AISystemFactory,
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    PolicyChangeFactory,
    PolicyChangeIncidentFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

# The marker names, and a misspelling of each that finds no incident, so the list offers
# "did you mean". Their slugs share no word with them, so a slug echoed from the address is
# not mistaken for a leaked name.
ORGANISATION, ORGANISATION_TYPO = "Hushcorp Labs", "Hushcorb Labs"
TAG, TAG_TYPO = "Quietfail Mode", "Quietfall Mode"
AI_SYSTEM, AI_SYSTEM_TYPO = "Murmurbot", "Murmurbat"
MARKERS = [ORGANISATION, TAG, AI_SYSTEM]
ORGANISATION_PAGE = "/organisations/marker-org/"
TAG_PAGE = "/tags/failure-mode/marker-tag/"


@pytest.fixture
def names():
    """Marker names carried only by a draft and an internal incident, beside public ones."""
    known = OrganisationFactory(name="Openly Known Org")
    private = SimpleNamespace(
        organisation=OrganisationFactory(name=ORGANISATION, slug="marker-org"),
        tag=TagFactory(facet=Tag.Facet.FAILURE_MODE, name=TAG, slug="marker-tag"),
        # Made by a public organisation, whose page must not list it.
        ai_system=AISystemFactory(name=AI_SYSTEM, slug="marker-ai", vendor=known),
    )
    shown = IncidentFactory(
        title="Openly reported outage",
        organisations=[known],
        tags=[TagFactory(facet=Tag.Facet.FAILURE_MODE, name="Openly tagged")],
    )
    policy = PolicyChangeFactory(organisation=known, title="Openly adopted review")
    PolicyChangeIncidentFactory(policy_change=policy, incident=shown)
    for hidden in (IncidentFactory(draft=True), IncidentFactory(internal=True)):
        hidden.tags.add(private.tag)
        hidden.ai_systems.add(private.ai_system)
        IncidentOrganisationFactory(incident=hidden, organisation=private.organisation)
        AgentActionFactory(incident=hidden, ai_system=private.ai_system)
        # The hidden incident prompted the public policy: its factors are not the public's.
        PolicyChangeIncidentFactory(policy_change=policy, incident=hidden)
    return SimpleNamespace(**vars(private), known=known, shown=shown, policy=policy)


def public_surfaces(names):
    """{address: status} of every public surface that lists or echoes names."""
    org, tag, ai = "marker-org", "failure-mode:marker-tag", "marker-ai"
    return {
        "/": 200,
        "/incidents/": 200,
        f"/incidents/?q={ORGANISATION_TYPO}": 200,
        f"/incidents/?q={TAG_TYPO}": 200,
        f"/incidents/?q={AI_SYSTEM_TYPO}": 200,
        f"/incidents/?organisation={org}&role=deployer": 200,
        f"/incidents/?tag={tag}": 200,
        f"/incidents/?ai_system={ai}": 200,
        "/organisations/": 200,
        names.known.get_absolute_url(): 200,
        ORGANISATION_PAGE: 404,
        "/tags/": 200,
        TAG_PAGE: 404,
        "/policies/": 200,
        names.policy.get_absolute_url(): 200,
        names.shown.get_absolute_url(): 200,
        "/feeds/incidents/rss/": 200,
        f"/feeds{ORGANISATION_PAGE}rss/": 404,
        f"/feeds{ORGANISATION_PAGE}atom/": 404,
        f"/feeds{TAG_PAGE}rss/": 404,
        f"/feeds{TAG_PAGE}atom/": 404,
        "/dashboard/": 200,
        f"/dashboard/?organisation={org}": 200,
        f"/dashboard/?tag={tag}": 200,
        f"/dashboard/organisations-by-role.csv?organisation={org}": 200,
        f"/dashboard/top-factors.csv?tag={tag}": 200,
        "/controls/": 200,
        f"/controls/?organisation={org}": 200,
        "/patterns/": 200,
        "/patterns/gaps/": 200,
        "/sitemap.xml": 200,
        "/sitemap-organisations.xml": 200,
        "/sitemap-tags.xml": 200,
        "/data/": 200,
        "/data/blast-radius-v1.json": 200,
        "/api/v1/organisations/": 200,
        f"/api/v1{ORGANISATION_PAGE}": 404,
        "/api/v1/tags/": 200,
        f"/api/v1/tags/{tag}/": 404,
        "/api/v1/incidents/": 200,
        f"/api/v1/incidents/{names.shown.number}/": 200,
        f"/api/v1/incidents/?organisation={org}": 400,
        f"/api/v1/incidents/?tag={tag}": 400,
        f"/api/v1/incidents/?ai_system={ai}": 400,
        "/api/v1/policy-changes/": 200,
    }


def leaks(response):
    """The marker names found in a response, and links to their pages (a "not found" page
    may name the address that was asked for)."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode()
    found = [marker for marker in MARKERS if marker.lower() in text.lower()]
    if response.status_code != 404:
        found += [page for page in (ORGANISATION_PAGE, TAG_PAGE) if page in text]
    return found


@pytest.mark.parametrize("who", ["reader", "olga_client"], ids=["anonymous", "outsider"])
def test_no_public_surface_shows_a_name_only_hidden_incidents_carry(request, who, names):
    client = request.getfixturevalue(who)

    wrong = {}
    for address, status in public_surfaces(names).items():
        response = client.get(address)
        if response.status_code != status or leaks(response):
            wrong[address] = (response.status_code, leaks(response))

    assert wrong == {}


def test_staff_still_find_and_filter_by_private_names(eve_client, names):
    chosen = {
        ORGANISATION_PAGE: ORGANISATION,
        TAG_PAGE: TAG,
        f"/feeds{ORGANISATION_PAGE}rss/": ORGANISATION,
        f"/feeds{TAG_PAGE}atom/": TAG,
        "/incidents/?organisation=marker-org": f"Organisation: {ORGANISATION}",
        "/incidents/?tag=failure-mode:marker-tag": f"Failure mode: {TAG}",
        "/incidents/?ai_system=marker-ai": f"AI system: {AI_SYSTEM}",
        "/dashboard/?organisation=marker-org": ORGANISATION,
        "/dashboard/?tag=failure-mode:marker-tag": TAG,
        "/controls/?organisation=marker-org": ORGANISATION,
        names.known.get_absolute_url(): AI_SYSTEM,
    }
    for address, name in chosen.items():
        response = eve_client.get(address)
        assert response.status_code == 200, address
        assert name in response.content.decode(), address


def test_a_viewer_reads_private_names_too(vic_client, names):
    response = vic_client.get(ORGANISATION_PAGE)

    assert response.status_code == 200
    assert ORGANISATION in response.text


def admin_change(client, record, **fields):
    """Save a record's admin change form with these fields changed, as an editor would."""
    meta = record._meta
    address = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])
    page = client.get(address).context
    form = page["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    for inline in page["inline_admin_formsets"]:  # aliases: left as they are
        management = inline.formset.management_form
        data.update(
            {management[name].html_name: management[name].value() for name in management.fields}
        )
    data = {name: "" if value is None else value for name, value in data.items()}
    data.update(fields)
    data = {name: value for name, value in data.items() if value is not False}
    response = client.post(address, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_an_editor_makes_a_name_public_in_the_admin(eve_client, reader, names):
    assert reader.get(ORGANISATION_PAGE).status_code == 404

    admin_change(eve_client, names.organisation, shown_publicly="on")
    admin_change(eve_client, names.tag, shown_publicly="on")
    admin_change(eve_client, names.ai_system, shown_publicly="on")

    assert Organisation.objects.public().filter(pk=names.organisation.pk).exists()
    page = reader.get(ORGANISATION_PAGE)
    assert page.status_code == 200
    assert ORGANISATION in page.text
    assert AI_SYSTEM in reader.get(names.known.get_absolute_url()).text
    assert TAG in reader.get(TAG_PAGE).text
    assert reader.get(f"/api/v1{ORGANISATION_PAGE}").json()["name"] == ORGANISATION
    assert ORGANISATION in reader.get(f"/incidents/?q={ORGANISATION_TYPO}").text
    assert f"AI system: {AI_SYSTEM}" in reader.get("/incidents/?ai_system=marker-ai").text
    assert ORGANISATION_PAGE in reader.get("/sitemap-organisations.xml").text


def test_suggestions_are_drawn_from_the_names_the_reader_may_see(eve, olga, names):
    assert search.suggestions(ORGANISATION_TYPO, reader=AnonymousUser()) == []
    assert search.suggestions(TAG_TYPO, reader=olga) == []
    assert search.suggestions(ORGANISATION_TYPO, reader=eve) == [ORGANISATION]
    assert search.suggestions(TAG_TYPO, reader=eve) == [TAG]
    assert search.suggestions("Openly Known Orgs", reader=AnonymousUser()) == ["Openly Known Org"]


# The one definition, queryset by queryset.


def test_a_name_is_public_when_a_published_or_retracted_public_incident_carries_it():
    published, retracted, draft, internal = (
        OrganisationFactory(name=name) for name in ("Published", "Retracted", "Draft", "Internal")
    )
    IncidentFactory(organisations=[published])
    IncidentFactory(retracted=True, organisations=[retracted])
    IncidentFactory(draft=True, organisations=[draft])
    IncidentFactory(internal=True, organisations=[internal])

    assert set(Organisation.objects.public()) == {published, retracted}


def test_an_organisation_named_by_a_policy_change_or_making_a_public_ai_system_is_public():
    adopter = PolicyChangeFactory().organisation
    maker = OrganisationFactory(name="Maker")
    IncidentFactory().ai_systems.add(AISystemFactory(vendor=maker))
    hidden_maker = OrganisationFactory(name="Hidden maker")
    IncidentFactory(draft=True).ai_systems.add(AISystemFactory(vendor=hidden_maker))

    assert set(Organisation.objects.public()) == {adopter, maker}


def test_a_tag_is_public_when_a_public_incident_carries_it():
    public, hidden = TagFactory(), TagFactory()
    IncidentFactory(tags=[public])
    IncidentFactory(internal=True, retracted=True, tags=[hidden])

    assert list(Tag.objects.public()) == [public]


def test_an_ai_system_is_public_when_a_public_incident_names_it_or_its_action_record_does():
    named, acting, hidden = AISystemFactory(), AISystemFactory(), AISystemFactory()
    IncidentFactory().ai_systems.add(named)
    AgentActionFactory(ai_system=acting)
    IncidentFactory(in_review=True).ai_systems.add(hidden)
    AgentActionFactory(incident=IncidentFactory(internal=True), ai_system=hidden)

    assert set(AISystem.objects.public()) == {named, acting}


@pytest.mark.parametrize(
    "make", [OrganisationFactory, TagFactory, AISystemFactory], ids=["organisation", "tag", "ai"]
)
def test_a_name_marked_public_is_public_without_an_incident(make):
    shown, unmarked = make(shown_publicly=True), make()
    model = type(shown)

    assert shown in model.objects.public()
    assert unmarked not in model.objects.public()


@pytest.mark.parametrize(
    "make", [OrganisationFactory, TagFactory, AISystemFactory], ids=["organisation", "tag", "ai"]
)
def test_staff_may_read_every_name_and_others_only_the_public_ones(make, vic, olga):
    hidden = make()
    model = type(hidden)

    assert hidden in model.objects.visible_to(vic)
    assert hidden not in model.objects.visible_to(olga)
    assert hidden not in model.objects.visible_to(AnonymousUser())
