"""The crosswalk: source values kept as the sources give them, house fields derived from them
by editable rules, each derived fact naming its rule (to staff), editors' values respected."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from incidents.models import (
    CrosswalkEntry,
    Derivation,
    Incident,
    Severity,
    SourceTerm,
    Tag,
)
from incidents.services.crosswalk import SEED_FOLDER, CrosswalkFileError, crosswalk_seed_rows

from .factories import import_, incident_for
from .shared_data import SHARED

pytestmark = pytest.mark.django_db

AIID = Path(__file__).parent / "data" / "aiid" / "2026-02"
AIAAIC = Path(__file__).parent / "data" / "aiaaic"
needs_shared_data = pytest.mark.skipif(
    not SHARED.exists(), reason=f"the full public datasets are not at {SHARED}"
)


def aiid(number):
    return incident_for("aiid", str(number))


def fragments():
    """Tags that are a piece of a value cut at a comma."""
    return Tag.objects.filter(name__regex=r"^(and|or) |^[a-z]")


def test_values_holding_commas_stay_whole_and_make_no_fragment_tags():
    import_("aiid", AIID)

    domain = SourceTerm.objects.get(vocabulary="aiid-mit-risk-domain", incidents=aiid(4))
    assert domain.value == "7. AI system safety, failures, and limitations"
    assert not SourceTerm.objects.filter(value__in=["failures", "and limitations"]).exists()
    assert not fragments().exists()
    assert (
        aiid(4)
        .tags.filter(facet=Tag.Facet.HARM_TYPE, name="Lack of capability or robustness")
        .exists()
    )


def test_cset_gives_autonomy_kind_severity_and_lives_lost_each_with_its_rule():
    import_("aiid", AIID)

    first = aiid(4)
    assert first.autonomy == Incident.Autonomy.AUTONOMOUS  # CSET v1 "Autonomy2"
    assert first.lives_lost == 1 and first.injuries == 0
    # One life lost is SEV1; CSET v0's "Severe" for it is an unpublished row, not used.
    assert first.severity.name == "SEV1"
    severity = first.derivations.get(target="severity")
    assert severity.source_term.vocabulary == "aiid-csetv1-lives-lost"
    assert "loss of life is SEV1" in severity.rule
    autonomy = first.derivations.get(target="autonomy")
    assert autonomy.source_term.value == "Autonomy2" and "Autonomy2" in autonomy.rule

    near_miss = aiid(25)  # CSET v1 says no harm, CSET v0 says near miss
    assert near_miss.kind == Incident.Kind.NEAR_MISS
    assert near_miss.severity.name == "SEV5"
    assert near_miss.derivations.get(target="kind").source_term.value == "Near miss"
    assert aiid(23).severity.name == "SEV4"  # CSET v0 "Minor"


def test_an_incident_without_cset_data_stays_unknown():
    import_("aiid", AIID)

    untold = aiid(1001)
    assert untold.autonomy == Incident.Autonomy.UNKNOWN
    assert untold.severity is None and untold.perpetrator is None
    assert untold.lives_lost is None and untold.injuries is None
    assert not untold.derivations.exclude(target__startswith="tag:").exists()


def test_importing_the_same_files_again_writes_nothing():
    import_("aiid", AIID)
    derivations = list(Derivation.objects.values_list("pk", "value"))

    again = import_("aiid", AIID)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert list(Derivation.objects.values_list("pk", "value")) == derivations


def test_an_editor_set_field_survives_a_reimport_of_changed_data(tmp_path):
    import_("aiid", AIID)
    incident = aiid(23)
    incident.severity = Severity.objects.get(name="SEV2")
    incident.save()
    changed = tmp_path / "aiid"
    changed.mkdir()
    for path in AIID.iterdir():
        text = path.read_text(encoding="utf-8")
        (changed / path.name).write_text(text.replace("Minor", "Moderate"), encoding="utf-8")

    summary = import_("aiid", changed)

    assert summary.updated >= 1
    incident.refresh_from_db()
    assert incident.severity.name == "SEV2"
    assert not incident.derivations.filter(target="severity").exists()
    assert aiid(6).severity.name == "SEV3"  # derived, so it follows the source


def test_an_editor_changing_an_entry_rederives_the_incidents_carrying_it(
    eve_client, eve, django_capture_on_commit_callbacks
):
    import_("aiid", AIID)
    entry = CrosswalkEntry.objects.get(
        vocabulary="aiid-csetv1-autonomy-level", value="Autonomy1", target="autonomy"
    )
    url = reverse("admin:incidents_crosswalkentry_change", args=[entry.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = eve_client.post(
            url,
            {
                "vocabulary": entry.vocabulary,
                "value": entry.value,
                "target": entry.target,
                "result": "approved",
                "rule": "Autonomy1 read as acting after approval, for this test.",
            },
        )

    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.edited_by == eve
    assert aiid(6).autonomy == Incident.Autonomy.APPROVED
    assert aiid(6).derivations.get(target="autonomy").rule.startswith("Autonomy1 read as")
    assert aiid(4).autonomy == Incident.Autonomy.AUTONOMOUS  # Autonomy2: not this entry

    call_command("load_crosswalk")  # the seed file never overwrites an editor's row
    entry.refresh_from_db()
    assert entry.result == "approved"


def test_an_entry_with_a_result_the_house_does_not_know_is_refused(eve_client):
    response = eve_client.post(
        reverse("admin:incidents_crosswalkentry_add"),
        {
            "vocabulary": "aiid-csetv0-severity",
            "value": "Minor",
            "target": "severity",
            "result": "SEV9",
            "rule": "No such step.",
        },
    )
    assert response.status_code == 200
    assert "not a severity name" in response.content.decode()


def test_staff_see_the_rules_and_readers_see_only_the_facts(client, eve_client):
    import_("aiid", AIID)
    page = aiid(4).get_absolute_url()

    public = client.get(page).content.decode()
    staff = eve_client.get(page).content.decode()

    assert "Lives lost" in public and "Where these facts come from" not in public
    assert "loss of life is SEV1" not in public
    assert "Where these facts come from" in staff and "loss of life is SEV1" in staff


def test_the_sources_own_values_link_to_every_incident_carrying_them(client):
    import_("aiid", AIID)
    term = SourceTerm.objects.get(
        vocabulary="aiid-mit-risk-subdomain", value="7.3. Lack of capability or robustness"
    )

    page = client.get(aiid(4).get_absolute_url()).content.decode()
    listed = client.get(reverse("incident_list"), {"source_term": term.filter_value})

    assert "MIT: Risk Subdomain" in page and term.get_absolute_url().replace("&", "&amp;") in page
    listed = listed.content.decode()
    assert all(aiid(n).get_absolute_url() in listed for n in (4, 23, 25))
    assert not any(aiid(n).get_absolute_url() in listed for n in (6, 1001))


def test_aiaaic_issues_and_external_harms_map_to_separate_facets():
    import_("aiaaic", AIAAIC)

    terms = SourceTerm.objects.values_list("vocabulary", flat=True).distinct()
    assert "aiaaic-issue" in terms and "aiaaic-external-harm-individual" in terms
    for term in SourceTerm.objects.filter(vocabulary="aiaaic-issue"):
        for incident in term.incidents.all():
            assert incident.tags.filter(facet=Tag.Facet.CONTRIBUTING_FACTOR).exists()
    assert not fragments().exists()


def test_the_seed_files_name_known_vocabularies_and_every_row_has_a_rule():
    from incidents.importers import IMPORTERS

    for path in SEED_FOLDER.glob("*.csv"):
        importer = IMPORTERS[path.stem]
        rows = crosswalk_seed_rows(path, {v.key for v in importer.vocabularies})
        assert rows and all(row["rule"].endswith(".") for row in rows)


def test_a_seed_row_naming_an_unknown_vocabulary_is_refused_with_its_line(tmp_path):
    seed = tmp_path / "aiid.csv"
    seed.write_text(
        "vocabulary,value,target,result,rule\nnope,x,kind,hazard,Rule.\n", encoding="utf-8"
    )
    with pytest.raises(CrosswalkFileError, match=r"aiid.csv, line 2, field 'vocabulary'"):
        crosswalk_seed_rows(seed, {"aiid-mit-entity"})


@needs_shared_data
def test_the_full_snapshot_gets_cset_coverage_and_no_fragment_tags(capsys):
    import_("aiid", SHARED / "aiid-snapshot-2026-02")

    incidents = Incident.objects.filter(provenances__dataset="aiid")
    total = incidents.count()
    cset = SourceTerm.objects.filter(vocabulary__startswith="aiid-cset")
    autonomy = incidents.exclude(autonomy=Incident.Autonomy.UNKNOWN).count()
    kind = incidents.filter(derivations__target="kind").distinct().count()
    severity = incidents.exclude(severity=None).count()
    with capsys.disabled():
        print(
            f"\nAIID {total}: autonomy {autonomy}, kind {kind}, severity {severity}, "
            f"lives lost {incidents.exclude(lives_lost=None).count()}"
        )
    assert not fragments().exists()
    with_level = cset.filter(
        vocabulary="aiid-csetv1-autonomy-level", value__startswith="Autonomy"
    ).values_list("incidents", flat=True)
    assert autonomy >= len(set(with_level))
    with_v0_severity = cset.filter(vocabulary="aiid-csetv0-severity").exclude(
        value="Unclear/unknown"
    )
    assert severity >= len(set(with_v0_severity.values_list("incidents", flat=True)))
    assert kind >= 100
