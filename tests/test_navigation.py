"""The main navigation marks the section the reader is in, and only that one."""

import re

import pytest
from django.urls import reverse

from incidents.models import Control

from .factories import IncidentFactory, PolicyChangeFactory, TagFactory

pytestmark = pytest.mark.django_db

SECTIONS = {
    "Incidents": "incident_list",
    "Policy changes": "policy_list",
    "Legal cases": "legal_case_list",
    "Organisations": "organisation_list",
    "Controls": "control_list",
    "Tags": "tag_list",
    "Dashboard": "dashboard",
    "Patterns": "patterns",
    "Data": "data",
}


def current_sections(response):
    assert response.status_code == 200
    nav = response.text.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav)
    assert [label for _, _, label in links] == list(SECTIONS)
    return [label for _, current, label in links if current]


@pytest.mark.parametrize("section", SECTIONS)
def test_each_section_page_marks_its_own_link(reader, section):
    assert current_sections(reader.get(reverse(SECTIONS[section]))) == [section]


def test_pages_inside_a_section_mark_it(reader):
    incident = IncidentFactory(tags=[TagFactory()])
    policy = PolicyChangeFactory()
    inside = {
        "Incidents": incident.get_absolute_url(),
        "Policy changes": policy.get_absolute_url(),
        "Organisations": policy.organisation.get_absolute_url(),
        "Controls": reverse("control_detail", args=[Control.objects.first().slug]),
        "Tags": incident.tags.get().get_absolute_url(),
        "Patterns": reverse("pattern_gaps"),
        "Data": reverse("data_coverage"),
    }
    for section, url in inside.items():
        assert current_sections(reader.get(url)) == [section], url


def test_pages_outside_every_section_mark_none(reader):
    assert current_sections(reader.get("/")) == []
    assert current_sections(reader.get(reverse("login"))) == []
