"""Who may open what: anonymous readers see only public, published or retracted incidents."""

import pytest

from .factories import (
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    PolicyChangeIncidentFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

HIDDEN_STATES = {
    "draft": {"draft": True},
    "in-review": {"in_review": True},
    "internal": {"internal": True},
    "internal-draft": {"internal": True, "draft": True},
    "internal-retracted": {"internal": True, "retracted": True},
}


@pytest.fixture(params=HIDDEN_STATES.values(), ids=HIDDEN_STATES.keys())
def hidden(request):
    return IncidentFactory(title="Hush hush incident", **request.param)


@pytest.fixture
def shown():
    return IncidentFactory(title="Widely reported incident")


def test_it_hides_unpublished_incidents_from_anonymous_readers_with_404(reader, hidden):
    assert reader.get(f"/incidents/{hidden.number}/{hidden.slug}/").status_code == 404
    assert reader.get(f"/incidents/{hidden.number}/").status_code == 404
    assert reader.get(f"/incidents/{hidden.number}/wrong-slug/").status_code == 404


def test_it_opens_a_published_public_incident(reader, shown):
    response = reader.get(f"/incidents/{shown.number}/{shown.slug}/")

    assert response.status_code == 200
    assert shown.title in response.text


def test_it_redirects_a_bare_number_to_the_canonical_address(reader, shown):
    response = reader.get(f"/incidents/{shown.number}/")

    assert response.status_code == 301
    assert response["Location"] == f"/incidents/{shown.number}/{shown.slug}/"


def test_it_redirects_a_stale_slug_to_the_canonical_address(reader, shown):
    response = reader.get(f"/incidents/{shown.number}/an-old-title/")

    assert response.status_code == 301
    assert response["Location"] == shown.get_absolute_url()


def test_it_opens_a_retracted_public_incident_with_the_reason(reader):
    incident = IncidentFactory(retracted=True, retraction_reason="The video was staged.")

    response = reader.get(incident.get_absolute_url())

    assert response.status_code == 200
    assert "The video was staged." in response.text


def test_staff_can_open_a_draft(eve_client, hidden):
    assert eve_client.get(hidden.get_absolute_url()).status_code == 200
    assert eve_client.get(f"/incidents/{hidden.number}/").status_code == 301


def test_a_signed_in_non_staff_user_cannot_open_a_draft(olga_client):
    draft = IncidentFactory(draft=True)

    assert olga_client.get(draft.get_absolute_url()).status_code == 404


def test_hidden_incidents_are_left_off_every_public_listing(reader, hidden, shown):
    tag = TagFactory()
    organisation = OrganisationFactory()
    link = PolicyChangeIncidentFactory(incident=hidden)
    for incident in (hidden, shown):
        incident.tags.add(tag)
        IncidentOrganisationFactory(incident=incident, organisation=organisation)
    PolicyChangeIncidentFactory(policy_change=link.policy_change, incident=shown)

    for url in [
        "/",
        "/incidents/",
        tag.get_absolute_url(),
        organisation.get_absolute_url(),
        link.policy_change.get_absolute_url(),
    ]:
        response = reader.get(url)
        assert response.status_code == 200, url
        assert shown.title in response.text, url
        assert hidden.title not in response.text, url
        assert hidden.get_absolute_url() not in response.text, url


def test_staff_see_hidden_incidents_on_organisation_and_policy_pages(eve_client, hidden):
    organisation = OrganisationFactory()
    IncidentOrganisationFactory(incident=hidden, organisation=organisation)
    link = PolicyChangeIncidentFactory(incident=hidden)

    for url in [organisation.get_absolute_url(), link.policy_change.get_absolute_url()]:
        assert hidden.title in eve_client.get(url).text, url
