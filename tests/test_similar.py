"""Similar incidents: wording, tags, organisations and perpetrator together, across datasets."""

import pytest

from incidents.importers import IMPORTERS, run_import
from incidents.models import Provenance, RelatedIncident, Tag
from incidents.services.related import (
    TEXT_MIN_SIMILARITY,
    related_candidates,
    related_incidents_recompute,
)

from .factories import IncidentFactory, OrganisationFactory, TagFactory
from .test_import_datasets import AIAAIC, AIID_OLD

pytestmark = pytest.mark.django_db


def related(incident):
    return list(
        RelatedIncident.objects.filter(incident=incident).values_list("related_id", flat=True)
    )


def test_the_same_incident_in_aiid_and_aiaaic_are_each_others_closest(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        run_import(IMPORTERS["aiid"](AIID_OLD))
        run_import(IMPORTERS["aiaaic"](AIAAIC))
    uber_aiid = Provenance.objects.get(dataset="aiid", external_id="4").incident
    uber_aiaaic = Provenance.objects.get(dataset="aiaaic", external_id="AIAAIC0187").incident

    assert related(uber_aiid)[0] == uber_aiaaic.pk
    assert related(uber_aiaaic)[0] == uber_aiid.pk


def test_incidents_of_different_organisations_sharing_failure_tags_are_related():
    injection = TagFactory(facet=Tag.Facet.FAILURE_MODE, name="Prompt injection")
    exfiltration = TagFactory(facet=Tag.Facet.FAILURE_MODE, name="Data exfiltration")
    incident = IncidentFactory(
        title="Support bot leaked customer records after a prompt injection",
        organisations=[OrganisationFactory()],
        tags=[injection, exfiltration],
    )
    elsewhere = IncidentFactory(
        title="Email assistant forwarded private mail after a prompt injection",
        organisations=[OrganisationFactory()],
        tags=[injection, exfiltration],
    )
    IncidentFactory(title="Robot vacuum mapped the house", organisations=[OrganisationFactory()])

    related_incidents_recompute(incident=incident)

    assert related(incident) == [elsewhere.pk]
    assert related(elsewhere) == [incident.pk]


def test_shared_wording_alone_relates_incidents_and_ranks_above_a_shared_tag():
    tag = TagFactory()
    incident = IncidentFactory(
        title="Autonomous taxi dragged a pedestrian in San Francisco", tags=[tag]
    )
    retold = IncidentFactory(title="Robotaxi dragged pedestrian after San Francisco collision")
    same_tag = IncidentFactory(title="Chatbot invented a refund policy", tags=[tag])
    IncidentFactory(title="Spreadsheet macro emailed the wrong list")

    [(best, row), (second, other)] = related_candidates(incident)

    assert (row["pk"], other["pk"]) == (retold.pk, same_tag.pk)
    assert row["text_similarity"] > TEXT_MIN_SIMILARITY
    assert best > second


def test_words_every_incident_shares_do_not_make_them_similar():
    incident = IncidentFactory(title="Agent incident one")
    IncidentFactory(title="Agent incident two")

    assert related_candidates(incident) == []
