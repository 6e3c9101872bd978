"""A Content-Security-Policy on every answer: browsers run only this site's own script files and
stylesheets, so markup slipped into a record cannot run or restyle anything. Nothing the site
itself sends relies on inline scripts, event-handler attributes or style attributes."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from incidents.models import Incident, Organisation, PolicyChange, Severity, Tag

pytestmark = pytest.mark.django_db

# Data blocks are not run, so the policy does not cover them.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class InlineCode(HTMLParser):
    """Collects what a strict policy would block: inline scripts, on* handlers, style=""."""

    def __init__(self):
        super().__init__()
        self.found = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        for name in names:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}=...>")
        if tag == "script" and "src" not in names and names.get("type") not in DATA_SCRIPT_TYPES:
            self._in_inline_script = True
        if tag == "style":
            self.found.append("<style>")

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.found.append(f"<script>{data.strip()[:40]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False


def inline_code(html):
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def directives(response):
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


TEMPLATES = Path(settings.BASE_DIR, "templates")


@pytest.mark.parametrize(
    "name", sorted(str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html"))
)
def test_no_template_holds_inline_script_handlers_or_styles(name):
    # Template tags are blanked out so the parser reads plain markup.
    text = re.sub(r"{%.*?%}|{{.*?}}|{#.*?#}", "x", (TEMPLATES / name).read_text(), flags=re.S)

    assert inline_code(text) == []


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)


def main_pages():
    incident = Incident.objects.filter(status=Incident.Status.PUBLISHED).first()
    return [
        "/",
        "/incidents/",
        "/incidents/?q=agent&severity=SEV1",
        incident.get_absolute_url(),
        "/policies/",
        PolicyChange.objects.first().get_absolute_url(),
        "/organisations/",
        Organisation.objects.filter(incident_roles__isnull=False).first().get_absolute_url(),
        "/tags/",
        Tag.objects.filter(incidents__isnull=False).first().get_absolute_url(),
        "/controls/",
        "/dashboard/",
        "/patterns/",
        "/data/",
        "/accounts/login/",
        "/accounts/password-reset/",
        "/no-such-page/",
    ]


def test_every_main_page_has_a_strict_policy_and_no_inline_code(reader, demo):
    for path in main_pages():
        response = reader.get(path)
        policy = directives(response)

        assert policy["script-src"] == ["'self'"], path
        assert policy["style-src"] == ["'self'"], path
        assert policy["object-src"] == ["'none'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        assert inline_code(response.content.decode()) == [], path


def test_signed_in_pages_have_no_inline_code_either(eve_client, demo):
    incident = Incident.objects.filter(status=Incident.Status.PUBLISHED).first()
    for path in [
        "/my/",
        "/postmortems/new/",
        f"/postmortems/{incident.number}/edit/",
        f"/postmortems/{incident.number}/history/",
        f"/postmortems/{incident.number}/reporting/",
        "/reporting/",
        "/my/api-token/",
        "/dashboard/?scope=internal",
        "/audit/",
    ]:
        response = eve_client.get(path)

        assert response.status_code == 200, path
        assert "script-src 'self'" in response["Content-Security-Policy"], path
        assert inline_code(response.content.decode()) == [], path


def test_the_api_answers_carry_the_policy_too(reader, demo):
    response = reader.get("/api/v1/incidents/")

    assert directives(response)["default-src"] == ["'self'"]


def test_severity_colours_come_from_the_scale_through_a_stylesheet(reader, demo):
    Severity.objects.filter(name="SEV1").update(colour="#123456")
    sev1 = Severity.objects.get(name="SEV1")

    response = reader.get("/severities.css")
    incident_page = reader.get("/incidents/").content.decode()

    assert response["Content-Type"].startswith("text/css")
    assert f".severity-{sev1.pk} {{ --badge: #123456; }}" in response.content.decode()
    assert "/severities.css" in incident_page
    assert f"severity-{sev1.pk}" in incident_page
