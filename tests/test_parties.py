"""Parties, not only organisations: kinds, canonical names, aliases and merging."""

from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from incidents.dashboards.summaries import summaries_rebuild
from incidents.models import (
    IncidentOrganisation,
    Organisation,
    OrganisationAlias,
    PatternCluster,
)
from incidents.parties import party_key
from incidents.services.parties import party_merge
from incidents.services.patterns import clusters_recompute

from .factories import (
    AISystemFactory,
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    PolicyChangeFactory,
    import_,
    incident_for,
)

pytestmark = pytest.mark.django_db

HERE = Path(__file__).parent / "data"
AIID = HERE / "aiid" / "2026-02"
AIID_PARTIES = HERE / "aiid" / "parties"
AIAAIC = HERE / "aiaaic"
AIAAIC_CSV = AIAAIC / "AIAAIC Repository - Incidents.csv"
Kind = Organisation.Kind
Role = IncidentOrganisation.Role


def party(name):
    return Organisation.objects.get(name=name)


def openai_parties():
    return [o for o in Organisation.objects.all() if party_key(o.name) == "openai"]


def aiaaic_with(tmp_path, old, new):
    """The committed AIAAIC excerpt with one name spelt differently."""
    folder = tmp_path / "aiaaic"
    folder.mkdir()
    (folder / AIAAIC_CSV.name).write_text(AIAAIC_CSV.read_text().replace(old, new))
    return folder


def edit_in_admin(client, organisation, aliases=(), **changes):
    """Save the party's admin form as an editor would, with these fields changed."""
    data = {
        "name": organisation.name,
        "slug": organisation.slug,
        "kind": organisation.kind,
        "website": organisation.website,
        "description": organisation.description,
        "aliases-TOTAL_FORMS": len(aliases),
        "aliases-INITIAL_FORMS": 0,
        "aliases-MIN_NUM_FORMS": 0,
        "aliases-MAX_NUM_FORMS": 1000,
        **{f"aliases-{i}-name": alias for i, alias in enumerate(aliases)},
        **changes,
    }
    url = reverse("admin:incidents_organisation_change", args=[organisation.pk])
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    organisation.refresh_from_db()
    return organisation


def test_aiid_people_groups_and_placeholders_get_their_kind():
    import_("aiid", AIID)
    import_("aiid", AIID_PARTIES)

    kinds = {
        "Elaine Herzberg": Kind.PERSON,
        "John Absmeier": Kind.PERSON,
        "Joe Biden": Kind.PERSON,
        "Whoopi Goldberg": Kind.PERSON,
        "Pedestrians": Kind.GROUP,
        "Bus Passengers": Kind.GROUP,
        "Children": Kind.GROUP,
        "Chatgpt Users": Kind.GROUP,
        "Fans Of Whoopi Goldberg": Kind.GROUP,
        "General Public": Kind.GROUP,
        "Unknown Deepfake Technology Developers": Kind.UNKNOWN,
        "Unknown Deepfake Creators": Kind.UNKNOWN,
        "Unnamed Generative Ai Companies": Kind.UNKNOWN,
        # Named as developer or deployer: an organisation, even where also harmed.
        "Uber": Kind.ORGANISATION,
        "Youtube": Kind.ORGANISATION,
        "Keolis North America": Kind.ORGANISATION,
        "Delphi Technologies": Kind.ORGANISATION,
        "Linux Weekly News": Kind.ORGANISATION,
    }
    assert {name: party(name).kind for name in kinds} == kinds


def test_people_and_placeholders_are_not_ranked_but_stay_on_the_incident_page(reader):
    import_("aiid", AIID)
    import_("aiid", AIID_PARTIES)
    summaries_rebuild()

    chart = reader.get(reverse("dashboard_csv", args=["organisations-by-role"])).text
    listing = reader.get(reverse("organisation_list")).text
    for ranked in ("Uber", "Youtube", "Openai"):
        assert ranked in chart and ranked in listing
    for unranked in ("Elaine Herzberg", "General Public", "Unknown Deepfake Technology"):
        assert unranked not in chart and unranked not in listing

    page = reader.get(incident_for("aiid", "4").get_absolute_url()).text
    assert 'Elaine Herzberg</a> <span class="muted">(person)</span>' in page
    assert 'Pedestrians</a> <span class="muted">(group of people)</span>' in page
    person = reader.get(party("Elaine Herzberg").get_absolute_url()).text
    assert "Person, named as a party to incidents; not counted among organisations." in person


def test_a_spelling_from_a_slug_gives_way_to_the_sources_spelling():
    import_("aiid", AIID_PARTIES)
    assert party("Openai").name_source == Organisation.NameSource.SLUG

    import_("aiaaic", AIAAIC)

    [openai] = openai_parties()
    assert openai.name == "OpenAI"
    assert set(openai.incident_roles.values_list("incident__provenances__dataset", flat=True)) == {
        "aiid",
        "aiaaic",
    }


def test_a_spelling_from_a_slug_never_replaces_the_sources_spelling():
    import_("aiaaic", AIAAIC)
    import_("aiid", AIID_PARTIES)

    [openai] = openai_parties()
    assert openai.name == "OpenAI"
    assert openai.incident_roles.filter(incident=incident_for("aiid", "464")).exists()


def test_names_written_apart_meet(tmp_path):
    import_("aiid", AIID_PARTIES)
    import_("aiaaic", aiaaic_with(tmp_path, "OpenAI", "Open AI"))

    [openai] = openai_parties()
    assert openai.name == "Open AI"
    assert openai.incident_roles.filter(incident=incident_for("aiaaic", "AIAAIC2151")).exists()


def test_an_editors_name_and_kind_survive_reimports(tmp_path, eve_client):
    import_("aiid", AIID_PARTIES)
    edit_in_admin(eve_client, party("Openai"), name="OpenAI, L.L.C.")
    edit_in_admin(eve_client, party("Joe Biden"), kind=Kind.ORGANISATION)

    import_("aiaaic", AIAAIC)
    import_("aiid", AIID_PARTIES)
    # A changed upstream record is written again: still the editor's name and kind.
    changed = tmp_path / "aiid"
    changed.mkdir()
    text = (AIID_PARTIES / "incidents.csv").read_text()
    (changed / "incidents.csv").write_text(text.replace("ChatGPT Provided", "ChatGPT Gave"))
    assert import_("aiid", changed).updated == 1

    assert party("OpenAI, L.L.C.").name_source == Organisation.NameSource.EDITOR
    assert not Organisation.objects.filter(name__in=["OpenAI", "Openai"]).exists()
    assert party("Joe Biden").kind == Kind.ORGANISATION


def test_an_alias_an_editor_adds_takes_in_that_name(tmp_path, eve_client):
    import_("aiid", AIID_PARTIES)
    openai = edit_in_admin(eve_client, party("Openai"), aliases=["OpenAI Incorporated"])
    assert list(openai.aliases.values_list("slug", flat=True)) == ["openai-incorporated"]

    import_("aiaaic", aiaaic_with(tmp_path, "OpenAI", "OpenAI Incorporated"))

    assert not Organisation.objects.filter(name="OpenAI Incorporated").exists()
    assert openai.incident_roles.filter(incident=incident_for("aiaaic", "AIAAIC2151")).exists()
    page = eve_client.get(openai.get_absolute_url()).text
    assert "Also known as: OpenAI Incorporated" in page


def test_merging_keeps_every_role_moves_what_pointed_at_the_duplicate_and_leaves_an_alias(
    eve, eve_client, tmp_path
):
    openai = OrganisationFactory(name="OpenAI")
    duplicate = OrganisationFactory(name="OpenAI Incorporated")
    both = IncidentFactory(title="Named by both")
    IncidentOrganisationFactory(incident=both, organisation=openai, role=Role.DEVELOPER)
    IncidentOrganisationFactory(incident=both, organisation=duplicate, role=Role.DEVELOPER)
    IncidentOrganisationFactory(incident=both, organisation=duplicate, role=Role.DEPLOYER)
    only_duplicate = IncidentFactory(title="Named by the duplicate")
    IncidentOrganisationFactory(incident=only_duplicate, organisation=duplicate, role=Role.HARMED)
    policy = PolicyChangeFactory(organisation=duplicate)
    AISystemFactory(name="ChatGPT", vendor=openai)
    twin = AISystemFactory(name="ChatGPT", vendor=duplicate)
    twin.incidents.add(only_duplicate)
    other_system = AISystemFactory(name="Whisper", vendor=duplicate)

    changelist = reverse("admin:incidents_organisation_changelist")
    selected = {"action": "merge_into", "_selected_action": [openai.pk, duplicate.pk]}
    asked = eve_client.post(changelist, selected)
    assert "Merge parties" in asked.text
    done = eve_client.post(changelist, {**selected, "apply": "1", "into": openai.pk})
    assert done.status_code == 302

    assert not Organisation.objects.filter(pk=duplicate.pk).exists()
    assert set(openai.incident_roles.values_list("incident__title", "role")) == {
        ("Named by both", Role.DEVELOPER),
        ("Named by both", Role.DEPLOYER),
        ("Named by the duplicate", Role.HARMED),
    }
    policy.refresh_from_db()
    other_system.refresh_from_db()
    assert policy.organisation == openai and other_system.vendor == openai
    [chatgpt] = openai.ai_systems.filter(name="ChatGPT")
    assert list(chatgpt.incidents.all()) == [only_duplicate]
    assert list(openai.aliases.values_list("name", flat=True)) == ["OpenAI Incorporated"]
    assert LogEntry.objects.filter(object_id=str(openai.pk), user=eve).exists()

    # The merged name, imported later, finds the survivor.
    import_("aiaaic", aiaaic_with(tmp_path, "OpenAI", "OpenAI Incorporated"))
    assert not Organisation.objects.filter(name="OpenAI Incorporated").exists()
    assert openai.incident_roles.filter(incident=incident_for("aiaaic", "AIAAIC2151")).exists()


def test_only_editors_merge_parties(ada):
    openai, duplicate = OrganisationFactory(name="OpenAI"), OrganisationFactory(name="Open-AI")
    with pytest.raises(PermissionDenied):
        party_merge(duplicate=duplicate, into=openai, by=ada)
    assert Organisation.objects.filter(pk=duplicate.pk).exists()


def test_an_alias_cannot_be_another_partys_name(eve_client):
    openai, anthropic = OrganisationFactory(name="OpenAI"), OrganisationFactory(name="Anthropic")
    url = reverse("admin:incidents_organisation_change", args=[openai.pk])
    response = eve_client.post(
        url,
        {
            "name": openai.name,
            "slug": openai.slug,
            "kind": openai.kind,
            "aliases-TOTAL_FORMS": 1,
            "aliases-INITIAL_FORMS": 0,
            "aliases-0-name": "anthropic",
        },
    )
    assert response.status_code == 200
    assert "This is the name of another party, Anthropic." in response.text
    assert not OrganisationAlias.objects.exists() and anthropic.aliases.count() == 0


def test_reimporting_the_same_files_changes_nothing():
    import_("aiid", AIID_PARTIES)
    import_("aiaaic", AIAAIC)
    before = list(Organisation.objects.values_list("name", "kind", "name_source"))

    again = [import_("aiid", AIID_PARTIES), import_("aiaaic", AIAAIC)]

    assert [(s.created, s.updated) for s in again] == [(0, 0), (0, 0)]
    assert list(Organisation.objects.values_list("name", "kind", "name_source")) == before


def test_a_pattern_is_not_seen_at_the_people_it_harmed(db):
    company = OrganisationFactory(name="Acme Robotics")
    person = OrganisationFactory(name="Jane Roe", kind=Organisation.Kind.PERSON)
    group = OrganisationFactory(name="Bus passengers", kind=Organisation.Kind.GROUP)
    title = "Delivery robot steers into a bus lane"
    for organisations in ([company, person], [company, group], [company]):
        IncidentFactory(title=title, organisations=organisations)
    IncidentFactory(title="Hiring model penalises women", summary="Unrelated.")

    clusters_recompute()
    # One organisation is not "several": the people and groups harmed do not count.
    assert not PatternCluster.objects.exists()

    person.kind = Organisation.Kind.ORGANISATION  # an editor says it is a company after all
    person.save()
    clusters_recompute()
    assert PatternCluster.objects.count() == 1
