"""DAIL AI litigation imported as legal cases, linked to incidents on evidence, and shown."""

import shutil
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse

from incidents.importers import ImportFailed
from incidents.models import LegalCase, LegalCaseIncident
from incidents.services.legal_links import legal_case_links_find

from .factories import (
    AISystemFactory,
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    SourceFactory,
    import_,
)
from .shared_data import SHARED

pytestmark = pytest.mark.django_db

DAIL = Path(__file__).parent / "data" / "dail"
CASES = "Case_Table_2023-Aug-07_1439.csv"
DOCKETS = "Docket_Table_2023-Aug-07_1439.csv"
LOOMIS_REVIEW = "https://harvardlawreview.org/2017/03/state-v-loomis/"


@pytest.fixture
def dail_copy(tmp_path):
    folder = tmp_path / "dail"
    shutil.copytree(DAIL, folder)
    return folder


def loomis():
    return LegalCase.objects.get(record_number="1")


def test_import_creates_cases_with_their_dockets_documents_and_sources():
    summary = import_("dail", DAIL)

    assert (summary.created, summary.updated, summary.unchanged) == (5, 0, 0)
    case = loomis()
    assert case.caption == "Loomis v. Wisconsin"
    assert case.jurisdiction == "State: Wisconsin"
    assert case.jurisdiction_level == "State"
    assert case.status == "Inactive: Judgement for D"
    assert case.status_group == "Inactive"
    assert case.filed_on == date(2013, 2, 13)
    assert case.class_action is False
    assert case.licence == "public research data, licence unstated"
    assert [d.number for d in case.dockets.all()] == ["2015AP157–CR", "No. 16-6387"]
    certiorari = case.documents.get(title="Supreme Court denial of certiorari")
    assert certiorari.dated_on == date(2017, 6, 26)
    assert certiorari.citation == "137 S.Ct. 2290 (2017)"
    assert LOOMIS_REVIEW in case.secondary_sources.values_list("link", flat=True)


def test_multi_value_columns_are_read_from_either_syntax():
    import_("dail", DAIL)

    assert loomis().algorithm_names == ["COMPAS"]
    github = LegalCase.objects.get(record_number="89")
    assert github.algorithm_names == ["Copilot", "Codex"]  # 'Copilot','Codex', not the text's comma
    parsa = LegalCase.objects.get(record_number="9")
    assert parsa.issues == ["Facial Recognition", "Hate Speech", "Misinformation", "Misuse of AI"]
    assert "18 U.S.C. §1038 False Information and Hoaxes" in parsa.causes_of_action
    # Only the text version gives this case's algorithm: it is split at semicolons.
    assert LegalCase.objects.get(record_number="55").algorithm_names == ["TrueAllele"]


def test_embedded_newlines_are_kept_and_the_bom_does_not_hide_the_first_column():
    import_("dail", DAIL)

    parsa = LegalCase.objects.get(record_number="9")
    assert "\n" in parsa.facts_to_date
    assert parsa.parties == "AI Foundation; Google; Facebook"
    assert LegalCase.objects.filter(record_number="9").exists()


def test_dates_given_in_part_stay_as_written_without_a_date(dail_copy):
    path = dail_copy / CASES
    path.write_text(
        path.read_text(encoding="utf-8-sig").replace('"2/13/2013"', '"2013"'), encoding="utf-8-sig"
    )

    import_("dail", dail_copy)

    assert (loomis().filed, loomis().filed_on) == ("2013", None)


def test_reimporting_the_same_tables_changes_nothing():
    import_("dail", DAIL)
    before = loomis().updated_at

    summary = import_("dail", DAIL)

    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 5)
    assert loomis().updated_at == before


def test_a_changed_case_is_updated_in_place(dail_copy):
    import_("dail", DAIL)
    path = dail_copy / CASES
    text = path.read_text(encoding="utf-8-sig")
    path.write_text(
        text.replace('"Inactive: Judgement for D"', '"Inactive: cert denied"'), encoding="utf-8-sig"
    )

    summary = import_("dail", dail_copy)

    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 4)
    assert loomis().status == "Inactive: cert denied"
    assert loomis().dockets.count() == 2


def test_a_docket_of_an_unknown_case_is_refused_naming_file_and_line(dail_copy):
    path = dail_copy / DOCKETS
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[2] = lines[2].replace('"1","2"', '"999","2"', 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")

    with pytest.raises(ImportFailed) as error:
        import_("dail", dail_copy)

    assert str(error.value) == (
        f"{DOCKETS}, line 3, field 'Case_Number': no case with record number '999'"
    )
    assert not LegalCase.objects.exists()


def test_a_broken_list_cell_is_refused(dail_copy):
    path = dail_copy / CASES
    text = path.read_text(encoding="utf-8-sig")
    path.write_text(text.replace("\"'COMPAS'\"", '"\'COMPAS"'), encoding="utf-8-sig")

    with pytest.raises(ImportFailed) as error:
        import_("dail", dail_copy)

    assert error.value.field_name == "Name_of_Algorithm_List"
    assert error.value.line is not None
    assert not LegalCase.objects.exists()


def test_a_missing_table_is_named(dail_copy):
    (dail_copy / DOCKETS).unlink()

    with pytest.raises(ImportFailed, match=r"no file named Docket_Table\*\.csv"):
        import_("dail", dail_copy)


def test_a_source_url_equal_to_a_secondary_source_links_with_its_reason():
    incident = IncidentFactory(title="COMPAS used in sentencing")
    SourceFactory(incident=incident, url="http://www.harvardlawreview.org/2017/03/state-v-loomis")

    summary = import_("dail", DAIL)

    link = LegalCaseIncident.objects.get(case=loomis(), incident=incident)
    assert link.status == LegalCaseIncident.Status.LINKED
    assert link.linked_by is None
    assert "harvardlawreview.org/2017/03/state-v-loomis" in link.reason
    assert "secondary source" in link.reason
    assert any("linked to incidents on evidence: 1" in note for note in summary.notes)


def test_a_source_citing_the_docket_number_links():
    incident = IncidentFactory()
    SourceFactory(incident=incident, title="Certiorari denied, No. 16-6387")

    import_("dail", DAIL)

    link = LegalCaseIncident.objects.get(incident=incident)
    assert link.case == loomis()
    assert link.status == LegalCaseIncident.Status.LINKED
    assert "16-6387" in link.reason


def test_no_evidence_means_no_link():
    IncidentFactory(title="Loomis v. Wisconsin")  # a similar title is no evidence
    SourceFactory(url="https://news.example.com/compas")

    import_("dail", DAIL)

    assert not LegalCaseIncident.objects.exists()


def test_an_algorithm_named_as_an_ai_system_is_only_suggested():
    incident = IncidentFactory()
    incident.ai_systems.add(AISystemFactory(name="COMPAS"))

    import_("dail", DAIL)

    link = LegalCaseIncident.objects.get(incident=incident)
    assert link.status == LegalCaseIncident.Status.SUGGESTED
    assert "COMPAS" in link.reason
    assert list(LegalCase.objects.linked_to(incident)) == []


def test_a_party_named_on_an_incident_near_the_filing_is_suggested():
    google = OrganisationFactory(name="Google")
    near = IncidentOrganisationFactory(
        organisation=google, incident__occurred_at="2019-06-01T00:00:00Z"
    ).incident
    far = IncidentOrganisationFactory(
        organisation=google, incident__occurred_at="2010-06-01T00:00:00Z"
    ).incident

    import_("dail", DAIL)

    parsa = LegalCase.objects.get(record_number="9")
    assert LegalCaseIncident.objects.get(incident=near).case == parsa
    assert not LegalCaseIncident.objects.filter(incident=far).exists()


def test_an_editor_confirms_a_suggestion_and_the_incident_page_shows_what_followed(
    eve, eve_client, reader
):
    incident = IncidentFactory()
    incident.ai_systems.add(AISystemFactory(name="COMPAS"))
    import_("dail", DAIL)
    suggestion = LegalCaseIncident.objects.get(incident=incident)
    assert "What followed" in reader.get(incident.get_absolute_url()).content.decode()
    assert "Loomis v. Wisconsin" not in reader.get(incident.get_absolute_url()).content.decode()

    response = eve_client.post(
        reverse("admin:incidents_legalcaseincident_changelist"),
        {"action": "confirm", "_selected_action": [suggestion.pk]},
    )

    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.linked_by) == (LegalCaseIncident.Status.LINKED, eve)
    page = reader.get(incident.get_absolute_url()).content.decode()
    assert "Loomis v. Wisconsin" in page
    assert loomis().get_absolute_url() in page
    assert "State: Wisconsin" in page


def test_a_dismissed_suggestion_is_not_made_again(eve, eve_client):
    incident = IncidentFactory()
    incident.ai_systems.add(AISystemFactory(name="COMPAS"))
    import_("dail", DAIL)
    suggestion = LegalCaseIncident.objects.get(incident=incident)

    eve_client.post(
        reverse("admin:incidents_legalcaseincident_changelist"),
        {"action": "dismiss", "_selected_action": [suggestion.pk]},
    )
    legal_case_links_find()

    assert list(LegalCaseIncident.objects.values_list("status", flat=True)) == ["dismissed"]


def test_a_reporter_cannot_confirm_links(ada_client):
    response = ada_client.get(reverse("admin:incidents_legalcaseincident_changelist"))

    assert response.status_code == 302  # sent to the admin's sign-in: not staff


def test_the_public_list_filters_searches_and_pages(reader, settings):
    import_("dail", DAIL)

    page = reader.get(reverse("legal_case_list")).content.decode()
    assert "Loomis v. Wisconsin" in page and "Parsa et al v. Google L.L.C. et al" in page

    active = reader.get(reverse("legal_case_list"), {"status": "Active"}).content.decode()
    assert "Thaler v. Perlmutter" in active and "Loomis v. Wisconsin" not in active

    state = reader.get(reverse("legal_case_list"), {"jurisdiction": "State"}).content.decode()
    assert "Loomis v. Wisconsin" in state and "Thaler v. Perlmutter" not in state

    found = reader.get(reverse("legal_case_list"), {"q": "loomis"}).content.decode()
    assert "Loomis v. Wisconsin" in found and "Parsa" not in found

    nothing = reader.get(reverse("legal_case_list"), {"q": "no such caption"}).content.decode()
    assert "No legal case matches these filters." in nothing

    settings.PAGE_SIZE = 2
    first = reader.get(reverse("legal_case_list"), {"status": "Inactive"}).content.decode()
    assert "Page 1 of 2" in first
    assert 'href="?status=Inactive&amp;page=2"' in first  # the filter is kept from page to page


def test_the_list_says_when_there_is_no_case_yet(reader):
    page = reader.get(reverse("legal_case_list")).content.decode()

    assert "No legal cases recorded yet." in page


def test_the_detail_page_shows_court_parties_dockets_documents_and_sources(reader):
    incident = IncidentFactory(title="COMPAS risk scores in sentencing")
    SourceFactory(incident=incident, url=LOOMIS_REVIEW)
    hidden = IncidentFactory(title="An internal one", internal=True)
    SourceFactory(incident=hidden, url=LOOMIS_REVIEW)
    import_("dail", DAIL)

    response = reader.get(loomis().get_absolute_url())

    page = response.content.decode()
    assert response.status_code == 200
    assert "State: Wisconsin" in page
    assert "Inactive: Judgement for D" in page
    assert "No. 16-6387" in page
    assert "Supreme Court denial of certiorari" in page
    assert LOOMIS_REVIEW in page
    assert "COMPAS risk scores in sentencing" in page
    assert "An internal one" not in page
    assert "Database of AI Litigation (DAIL), record 1" in page


def test_a_case_without_dockets_or_incidents_says_so(reader):
    import_("dail", DAIL)
    parsa = LegalCase.objects.get(record_number="9")
    parsa.dockets.all().delete()

    page = reader.get(parsa.get_absolute_url()).content.decode()

    assert "No docket recorded." in page
    assert "No incident is linked to this case yet." in page


def test_an_unknown_case_is_not_found(reader):
    assert reader.get(reverse("legal_case_detail", args=["no-such-case"])).status_code == 404


@pytest.mark.skipif(not SHARED.exists(), reason=f"the full public datasets are not at {SHARED}")
def test_the_full_dail_tables_import_93_cases_and_again_unchanged():
    folder = SHARED / "dail-ai-litigation-2023-08"

    first = import_("dail", folder)
    second = import_("dail", folder)

    assert first.created == 93
    assert (second.created, second.updated, second.unchanged) == (0, 0, 93)
    assert LegalCase.objects.filter(dockets__isnull=False).distinct().count() == 71
    assert sum(case.documents.count() for case in LegalCase.objects.all()) == 224


def test_the_api_reads_cases_with_their_public_links_only(reader):
    shown = IncidentFactory(title="COMPAS risk scores in sentencing")
    SourceFactory(incident=shown, url=LOOMIS_REVIEW)
    hidden = IncidentFactory(internal=True)
    SourceFactory(incident=hidden, url=LOOMIS_REVIEW)
    suggested = IncidentFactory()
    suggested.ai_systems.add(AISystemFactory(name="COMPAS"))
    import_("dail", DAIL)

    listed = reader.get("/api/v1/legal-cases/").json()["results"]
    detail = reader.get(f"/api/v1/legal-cases/{loomis().slug}/").json()

    assert len(listed) == 5
    assert detail["caption"] == "Loomis v. Wisconsin"
    assert detail["algorithm_names"] == ["COMPAS"]
    assert [d["number"] for d in detail["dockets"]] == ["2015AP157–CR", "No. 16-6387"]
    assert [link["number"] for link in detail["incidents"]] == [shown.number]
    assert "secondary source" in detail["incidents"][0]["reason"]


def test_the_pages_cost_a_few_queries_however_many_rows(reader, django_assert_max_num_queries):
    for _ in range(5):
        SourceFactory(url=LOOMIS_REVIEW)
    import_("dail", DAIL)
    assert LegalCaseIncident.objects.count() == 5

    with django_assert_max_num_queries(8):
        assert reader.get(reverse("legal_case_list")).status_code == 200
    with django_assert_max_num_queries(8):
        assert reader.get(loomis().get_absolute_url()).status_code == 200


def test_an_editor_links_a_case_by_hand_and_reads_it_in_the_admin(eve, eve_client, reader):
    import_("dail", DAIL)
    incident = IncidentFactory()

    response = eve_client.post(
        reverse("admin:incidents_legalcaseincident_add"),
        {
            "case": loomis().pk,
            "incident": incident.pk,
            "status": LegalCaseIncident.Status.LINKED,
            "reason": "The court's opinion discusses this incident.",
        },
    )

    assert response.status_code == 302
    link = LegalCaseIncident.objects.get(incident=incident)
    assert link.linked_by == eve
    assert "Loomis v. Wisconsin" in reader.get(incident.get_absolute_url()).content.decode()
    page = eve_client.get(reverse("admin:incidents_legalcase_change", args=[loomis().pk]))
    assert page.status_code == 200
    assert "The court&#x27;s opinion discusses this incident." in page.content.decode()
