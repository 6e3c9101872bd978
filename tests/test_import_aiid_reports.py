"""AIID report files beside incidents.csv: every report URL becomes a source of its incident."""

import json
import shutil
from pathlib import Path

import pytest

from incidents.importers import ImportFailed
from incidents.models import Source

from .factories import import_, incident_for

pytestmark = pytest.mark.django_db

AIID = Path(__file__).parent / "data" / "aiid"
REPORTS = AIID / "reports"


def snapshot_with_reports(folder, *names):
    """The 2026-02 excerpt plus incident 3 (the full incident document's), with report files
    copied beside incidents.csv."""
    shutil.copytree(AIID / "2026-02", folder)
    row = (REPORTS / "incident-3.csv").read_text().splitlines(keepends=True)[1]
    with (folder / "incidents.csv").open("a") as handle:
        handle.write(row)
    for name in names:
        shutil.copy(REPORTS / name, folder)
    return folder


def test_full_reports_become_sources_with_title_publisher_and_date(tmp_path, reader):
    import_("aiid", snapshot_with_reports(tmp_path / "2026-02", "fullIncident10.json"))

    mcas = incident_for("aiid", "3")
    sources = {source.url: source for source in mcas.sources.all()}
    assert len(sources) == 4  # its AIID page and three reports
    assert sources["https://incidentdatabase.ai/cite/3/"].publisher == "AI Incident Database"
    medium = sources[
        "https://medium.com/intuitionmachine/ai-safety-leaking-abstractions-and-boeings-737-max-8-5d4b3b9bf0c3"
    ]
    assert medium.title == "AI Safety, Leaking Abstractions and Boeing’s 737 Max 8"
    assert medium.publisher == "medium.com"
    assert medium.published_on.isoformat() == "2019-03-14"
    assert medium.stance == Source.Stance.REPORTS

    page = reader.get(mcas.get_absolute_url()).text
    assert "AI Safety, Leaking Abstractions and Boeing’s 737 Max 8" in page
    assert "· courthousenews.com · 29 Nov 2018" in page


def test_the_lookup_index_adds_report_urls_without_inventing_titles(tmp_path):
    import_("aiid", snapshot_with_reports(tmp_path / "2026-02", "lookupIndex.json"))

    tay = incident_for("aiid", "6")
    reports = tay.sources.exclude(publisher="AI Incident Database")
    assert set(reports.values_list("url", "title", "publisher")) == {
        (
            "https://spectrum.ieee.org/in-2016-microsofts-racist-chatbot-revealed-the-dangers-of-online-conversation",
            "",
            "spectrum.ieee.org",
        ),
        (
            "https://blogs.microsoft.com/blog/2016/03/25/learning-tays-introduction/",
            "",
            "blogs.microsoft.com",
        ),
        (
            "https://www.cbsnews.com/news/microsoft-shuts-down-ai-chatbot-after-it-turned-into-racist-nazi/",
            "",
            "cbsnews.com",
        ),
    }
    assert incident_for("aiid", "1001").sources.count() == 1  # the index does not list it


def test_an_unlinked_submission_names_a_linked_report_but_adds_no_source(tmp_path):
    folder = snapshot_with_reports(tmp_path / "2026-02", "lookupIndex.json")
    url = "https://blogs.microsoft.com/blog/2016/03/25/learning-tays-introduction/"
    (folder / "submissions.csv").write_text(
        "incident_id,url,title,date_published,source_domain\n"
        f",{url},Learning from Tay's introduction,2016-03-25,blogs.microsoft.com\n"
        ",https://example.com/unlinked,Some other story,2016-03-25,example.com\n"
    )

    import_("aiid", folder)

    source = incident_for("aiid", "6").sources.get(url=url)
    assert (source.title, str(source.published_on)) == (
        "Learning from Tay's introduction",
        "2016-03-25",
    )
    assert not Source.objects.filter(url="https://example.com/unlinked").exists()


def test_re_importing_with_the_report_files_is_unchanged(tmp_path):
    folder = snapshot_with_reports(tmp_path / "2026-02", "lookupIndex.json", "fullIncident10.json")
    import_("aiid", folder)

    summary = import_("aiid", folder)

    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 6)


def test_a_bad_report_date_is_refused_naming_the_file_and_field(tmp_path):
    folder = snapshot_with_reports(tmp_path / "2026-02")
    document = json.loads((REPORTS / "fullIncident10.json").read_text())
    document["data"]["incident"]["reports"][1]["date_published"] = "late 2018"
    (folder / "fullIncident10.json").write_text(json.dumps(document))

    with pytest.raises(ImportFailed) as error:
        import_("aiid", folder)

    assert str(error.value) == (
        "fullIncident10.json, field 'data.incident.reports[1].date_published': "
        "not a date: 'late 2018'"
    )
    assert not Source.objects.exists()
