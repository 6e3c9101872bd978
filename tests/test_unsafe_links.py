"""Addresses that came from outside (imports, older records) become links only when they are web
addresses: a `javascript:` source must never run in a reader's browser. Pages show such an
address as text; imports refuse it, naming where it is, and write nothing."""

import json

import pytest
from django.utils import timezone

from incidents.importers import ImportFailed
from incidents.importers.base import Importer, Record, SourceRef, run_import
from incidents.models import Dataset, Incident, Organisation, PolicyChange, Provenance

from .factories import (
    IncidentFactory,
    OrganisationFactory,
    PolicySourceFactory,
    SourceFactory,
)
from .test_export import import_file, valid_document

pytestmark = pytest.mark.django_db

UNSAFE = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "https:no-host-here",
]


def hrefs(html):
    return [part.split('"', 1)[0] for part in html.split('href="')[1:]]


def assert_shown_but_not_linked(html, text):
    assert not any(
        href.strip().lower().replace("\t", "").startswith(("javascript", "data", "vbscript"))
        for href in hrefs(html)
    )
    assert 'href="https:no-host-here"' not in html
    if "<" not in text and "\t" not in text:
        assert text.strip() in html


@pytest.mark.parametrize("address", UNSAFE)
def test_an_incident_source_that_is_not_a_web_address_is_shown_as_text(reader, address):
    source = SourceFactory(url=address, title="")

    html = reader.get(source.incident.get_absolute_url()).content.decode()

    assert_shown_but_not_linked(html, address)


def test_a_web_address_source_is_still_a_link(reader):
    source = SourceFactory(url="https://news.example.com/agent-outage", title="The report")

    html = reader.get(source.incident.get_absolute_url()).content.decode()

    assert (
        '<a href="https://news.example.com/agent-outage" rel="nofollow noopener" '
        'target="_blank">The report</a>'
    ) in html


@pytest.mark.parametrize("address", UNSAFE[:2])
def test_an_organisation_website_that_is_not_a_web_address_is_shown_as_text(reader, address):
    organisation = OrganisationFactory(website=address)
    IncidentFactory(organisations=[organisation])

    html = reader.get(organisation.get_absolute_url()).content.decode()

    assert_shown_but_not_linked(html, address)


def test_an_organisation_website_is_still_a_link(reader):
    organisation = OrganisationFactory(website="https://example.com/")
    IncidentFactory(organisations=[organisation])

    html = reader.get(organisation.get_absolute_url()).content.decode()

    assert '<a href="https://example.com/" rel="nofollow noopener">https://example.com/</a>' in html


@pytest.mark.parametrize("address", UNSAFE[:2])
def test_a_policy_source_that_is_not_a_web_address_is_shown_as_text(reader, address):
    source = PolicySourceFactory(url=address, title="Announcement")

    html = reader.get(source.policy_change.get_absolute_url()).content.decode()

    assert_shown_but_not_linked(html, "Announcement")


def test_an_original_record_that_is_not_a_web_address_is_shown_as_text(reader):
    incident = IncidentFactory()
    Provenance.objects.create(
        incident=incident,
        dataset=Dataset.AIID,
        external_id="1",
        url="javascript:alert(1)",
        imported_at=timezone.now(),
    )

    html = reader.get(incident.get_absolute_url()).content.decode()

    assert_shown_but_not_linked(html, "original record")


# Imports refuse them.


def import_changed(tmp_path, change):
    document = valid_document()
    change(document)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    with pytest.raises(ImportFailed) as error:
        import_file(path)
    assert not Incident.objects.exists()
    assert not PolicyChange.objects.exists()
    assert not Organisation.objects.exists()
    return str(error.value)


@pytest.mark.parametrize("address", UNSAFE)
def test_an_export_with_a_source_that_is_not_a_web_address_is_refused(tmp_path, address):
    def change(document):
        document["incidents"][1]["sources"].append({"url": address})

    message = import_changed(tmp_path, change)

    assert "field 'incidents[1].sources[0].url': not a web address (http or https)" in message


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (
            lambda d: d["organisations"].append({"name": "Evil", "website": "javascript:x()"}),
            "organisations[0].website",
        ),
        (
            lambda d: d["incidents"][0]["provenances"].append(
                {
                    "dataset": "aiid",
                    "external_id": "9",
                    "url": "javascript:x()",
                    "imported_at": "2026-01-01T00:00:00Z",
                }
            ),
            "incidents[0].provenances[0].url",
        ),
        (
            lambda d: d["policy_changes"].append(
                {
                    "slug": "p",
                    "organisation": "O",
                    "title": "T",
                    "kind": "guardrail",
                    "status": "announced",
                    "sources": [{"url": "javascript:x()"}],
                }
            ),
            "policy_changes[0].sources[0].url",
        ),
    ],
)
def test_other_addresses_in_an_export_are_checked_too(tmp_path, change, where):
    message = import_changed(tmp_path, change)

    assert f"field '{where}': not a web address (http or https): 'javascript:x()'" in message


class ListedRecords(Importer):
    """Any importer: whatever its format, its records pass the same check before writing."""

    dataset = Dataset.AIID

    def __init__(self, records):
        super().__init__("listed.csv")
        self.listed = records

    def records(self):
        yield from self.listed


def test_every_importer_refuses_a_record_whose_source_is_not_a_web_address():
    records = [
        Record(external_id="1", line=2, title="Fine", sources=[SourceRef(url="https://a.example")]),
        Record(external_id="2", line=3, title="Bad", sources=[SourceRef(url="javascript:x()")]),
    ]

    with pytest.raises(ImportFailed) as error:
        run_import(ListedRecords(records))

    assert str(error.value) == (
        "listed.csv, line 3, field 'sources': not a web address (http or https): 'javascript:x()'"
    )
    assert not Incident.objects.exists()


def test_every_importer_refuses_a_record_whose_own_address_is_not_a_web_address():
    records = [Record(external_id="1", line=7, title="Bad", url="javascript:x()")]

    with pytest.raises(ImportFailed) as error:
        run_import(ListedRecords(records))

    assert "line 7, field 'url': not a web address (http or https)" in str(error.value)
