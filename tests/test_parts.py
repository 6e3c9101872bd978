"""Every part of a postmortem declared in `incidents/parts.py` is filed, kept, shown and served
the same way. The sample rows are made from each part's own declaration, so a new part is
covered here by adding its entry."""

from datetime import UTC, date, datetime

import pytest
from django.db import models
from django.utils.html import escape
from factory.django import DjangoModelFactory

from incidents import revision_display, revisions
from incidents.parts import BY_API_NAME, PARTS, ROWS
from incidents.services import review as review_service

from . import factories
from .factories import signed_in, snapshot_of
from .test_api_postmortems import TokenClient, url
from .test_filing import edit_url, form_values
from .test_review_flow import review_url

pytestmark = pytest.mark.django_db

SAMPLE_VALUES = [
    # Most specific first: a URLField is a CharField, a DateTimeField a DateField.
    (models.URLField, "https://example.org/report"),
    (models.DateTimeField, datetime(2026, 3, 2, 9, 15, tzinfo=UTC)),
    (models.DateField, date(2026, 3, 2)),
    (models.BooleanField, True),
    (models.IntegerField, 1),
]


def record_of(model):
    """A record to link to: made by its factory, else one from the catalogue a migration ships."""
    for factory in vars(factories).values():
        if (
            isinstance(factory, type)
            and issubclass(factory, DjangoModelFactory)
            and factory._meta.model is model
        ):
            return factory()
    record = model.objects.first()
    assert record is not None, f"Add a factory for {model.__name__} to tests/factories.py."
    return record


def sample_value(field):
    if field.is_relation:
        return record_of(field.related_model)
    if field.choices:
        # Not the default, so a part that drops the value shows it.
        return field.choices[-1][0]
    for kind, value in SAMPLE_VALUES:
        if isinstance(field, kind):
            return value
    if isinstance(field, models.CharField | models.TextField):
        return f"Sample {field.name}"
    raise AssertionError(f"Give tests/test_parts.py a sample value for {field!r}.")


def sample_snapshot():
    """A postmortem holding one row or link of every part, with the records its rows name."""
    snapshot = snapshot_of(title="Agent rotated the wrong credentials")
    records = {}
    for part in PARTS:
        if part.links:
            record = record_of(part.model)
            snapshot[part.key] = [record.pk]
            records[part.key] = [record]
            continue
        values = {name: sample_value(part.model._meta.get_field(name)) for name in part.fields}
        snapshot[part.key] = revisions.child_rows(part.key, [values])
        records[part.key] = [value for value in values.values() if isinstance(value, models.Model)]
    return snapshot, records


@pytest.fixture
def filed(ada):
    """A draft filed with one row or link of every part: (incident, snapshot, linked records)."""
    snapshot, records = sample_snapshot()
    incident = review_service.incident_create(snapshot=snapshot, by=ada)
    return incident, snapshot, records


def test_every_part_is_written_onto_the_record_and_read_back(filed):
    incident, snapshot, _ = filed

    assert all(len(snapshot[part.key]) == 1 for part in PARTS)
    assert revisions.from_incident(incident) == snapshot
    assert incident.latest_revision().data == snapshot


def test_the_edit_form_shows_every_row_and_saving_it_unchanged_adds_no_revision(filed, ada):
    incident, snapshot, _ = filed
    reporter = signed_in(ada)
    response = reporter.get(edit_url(incident))
    html = response.content.decode()
    values = form_values(response)

    for part in ROWS:
        assert f'id="{part.key}-rows"' in html
        assert f"<legend>{part.label}</legend>" in html
        assert {f"{part.key}-0-{name}" for name in part.fields} <= set(values)
    data = {**values, "base_revision": "1"}
    assert reporter.post(edit_url(incident), data).status_code == 302
    assert incident.revisions.count() == 1
    assert revisions.from_incident(incident) == snapshot


def test_the_review_page_shows_every_part_with_names_for_its_records(filed, rui):
    incident, snapshot, records = filed
    names = revision_display.Names([snapshot])

    html = signed_in(rui).get(review_url(incident)).content.decode()

    for part in PARTS:
        [line] = names.items(part.key, snapshot[part.key])
        assert all(str(record) in line for record in records[part.key])
        assert f"<dt>{part.label}</dt>" in html
        assert f"<li><ins>{escape(line)}</ins></li>" in html  # what this first version adds
        assert f"<li>{escape(line)}</li>" in html  # the revision as it will be published


def test_the_comparison_of_two_versions_lists_every_part_that_differs(filed):
    _, snapshot, _ = filed
    names = revision_display.Names([snapshot])

    differences = revision_display.differences(snapshot_of(), snapshot)

    by_label = {difference.label: difference for difference in differences}
    for part in PARTS:
        [line] = names.items(part.key, snapshot[part.key])
        difference = by_label[part.label]
        assert (difference.removed, difference.added) == ([], [line])
        assert (difference.old_text, difference.new_text) == ("", line)


def test_the_drafts_api_serves_every_part_it_exposes_and_takes_it_back(filed, ada):
    incident, snapshot, _ = filed
    bot = TokenClient(ada)

    data = bot.get(url(incident.number)).json()

    assert all(len(data[name]) == 1 for name in BY_API_NAME)
    response = bot.put(url(incident.number), {**data, "base_revision": data["revision"]})
    assert response.status_code == 200
    assert response.json()["revision"] == 1
    assert revisions.from_incident(incident) == snapshot


@pytest.mark.parametrize("part", [part for part in ROWS if part.unique], ids=lambda p: p.key)
def test_a_row_the_database_allows_once_is_refused_twice_in_the_form(filed, ada, part):
    incident, _, _ = filed
    reporter = signed_in(ada)
    data = {**form_values(reporter.get(edit_url(incident))), "base_revision": "1"}
    for name in part.fields:
        data[f"{part.key}-1-{name}"] = data[f"{part.key}-0-{name}"]

    response = reporter.post(edit_url(incident), data)

    assert response.status_code == 400
    assert part.duplicate_row_message
    assert escape(part.duplicate_row_message) in response.content.decode()


@pytest.mark.parametrize(
    "part", [part for part in ROWS if part.unique and part.api_name], ids=lambda p: p.key
)
def test_a_row_the_database_allows_once_is_refused_twice_by_the_api(filed, ada, part):
    incident, _, _ = filed
    bot = TokenClient(ada)
    data = bot.get(url(incident.number)).json()
    data[part.api_name] *= 2

    response = bot.put(url(incident.number), {**data, "base_revision": data["revision"]})

    assert response.status_code == 400
    assert part.duplicate_api_message
    assert response.json()["errors"][part.api_name] == [part.duplicate_api_message]
