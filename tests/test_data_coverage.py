"""The public data coverage page: per dataset, how many records carry each field, in the
source's own vocabularies and in the house fields the crosswalk fills."""

from pathlib import Path

import pytest
from django.urls import reverse

from incidents.importers import IMPORTERS
from incidents.models import CrosswalkEntry, Incident
from incidents.services.crosswalk import incidents_rederive

from .factories import IncidentFactory, import_, incident_for

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
AIID = DATA / "aiid" / "2026-02"
ESCAPE_LOG = DATA / "ai-escape-log" / "incidents.json"
AGENT_LOG = DATA / "agent-logs" / "agent-incident-log"


def section(page, dataset):
    """The part of the page about one dataset."""
    start = page.index(f'<h2 id="{dataset}">')
    end = page.find("<h2 ", start + 1)
    return page[start : end if end > 0 else None]


def row(text, label):
    """The cells of the table row headed `label`, as text."""
    start = text.index(f'<th scope="row">{label}</th>')
    cells = text[start : text.index("</tr>", start)].split("<td")[1:]
    return [cell.split(">", 1)[1].split("</td>")[0].strip() for cell in cells]


def test_each_dataset_shows_its_source_fields_and_what_the_crosswalk_made_of_them(client):
    import_("aiid", AIID)
    records = Incident.objects.filter(provenances__dataset="aiid").count()
    autonomy_set = Incident.objects.filter(provenances__dataset="aiid").exclude(
        autonomy=Incident.Autonomy.UNKNOWN
    )

    page = client.get(reverse("data_coverage")).text

    aiid = section(page, "aiid")
    assert f"{records} public incidents from this dataset" in aiid
    # Before the crosswalk: the source's own field, as it names it, and where it maps.
    level = row(aiid, "CSET v1: Autonomy Level")
    carrying = Incident.objects.filter(source_terms__vocabulary="aiid-csetv1-autonomy-level")
    assert level[0] == str(carrying.distinct().count()) and level[0] != "0"
    assert "Autonomy (" in level[2]
    # After it: the house field, with how many the crosswalk set.
    autonomy = row(aiid, "Autonomy")
    assert autonomy[0] == str(autonomy_set.count()) and autonomy[2] == autonomy[0]
    # A field the source gives no incident here is counted as none, not hidden.
    assert row(aiid, "Injuries")[0] == str(
        Incident.objects.filter(provenances__dataset="aiid", injuries__isnull=False).count()
    )


def test_an_entry_taken_out_of_the_crosswalk_leaves_the_figures_after_it(client):
    import_("aiid", AIID)
    before = row(section(client.get(reverse("data_coverage")).text, "aiid"), "Autonomy")

    CrosswalkEntry.objects.filter(target=CrosswalkEntry.Target.AUTONOMY).delete()
    incidents_rederive(
        incident_ids=list(Incident.objects.values_list("pk", flat=True)),
        vocabulary_order=[v.key for v in IMPORTERS["aiid"].vocabularies],
    )

    page = section(client.get(reverse("data_coverage")).text, "aiid")
    assert before[2] != "0" and row(page, "Autonomy")[2] == "0"
    # The source's own values stay: only what the house made of them went.
    assert row(page, "CSET v1: Autonomy Level")[0] != "0"
    assert row(page, "CSET v1: Autonomy Level")[2] == "kept as given only"


def test_hazards_by_rule_and_a_dataset_in_house_fields_are_shown_as_such(client):
    import_("ai-escape-log", ESCAPE_LOG)
    import_("agent-incident-log", AGENT_LOG)
    import_("aiid", AIID)

    page = client.get(reverse("data_coverage")).text

    escape = section(page, "ai-escape-log")
    hazards = Incident.objects.filter(
        provenances__dataset="ai-escape-log", kind=Incident.Kind.HAZARD
    ).count()
    # Every record is a hazard by the crosswalk's rule for the log, so all were set by it.
    assert hazards and row(escape, "Kind: near miss or hazard") == [
        str(hazards),
        "100%",
        str(hazards),
    ]
    agents = section(page, "agent-incident-log")
    assert "structured in Blast Radius's own fields" in agents
    assert row(agents, "Autonomy")[2] == "0"  # set by the log itself, not derived
    assert page.index('id="aiid"') < page.index('id="ai-escape-log"')  # the importers' order


def test_only_public_incidents_are_counted(client):
    import_("aiid", AIID)
    hidden = incident_for("aiid", "4")
    hidden.visibility = Incident.Visibility.INTERNAL
    hidden.save()
    public = Incident.objects.public().filter(provenances__dataset="aiid").count()

    page = client.get(reverse("data_coverage")).text

    assert f"{public} public incidents from this dataset" in section(page, "aiid")


def test_with_nothing_imported_the_page_says_so(client):
    IncidentFactory()  # written here, not imported

    page = client.get(reverse("data_coverage"))

    assert page.status_code == 200
    assert "No public incident was imported from another dataset yet" in page.text


def test_the_page_costs_a_few_queries_per_dataset(client, django_assert_max_num_queries):
    import_("aiid", AIID)
    import_("ai-escape-log", ESCAPE_LOG)

    with django_assert_max_num_queries(16):
        assert client.get(reverse("data_coverage")).status_code == 200
