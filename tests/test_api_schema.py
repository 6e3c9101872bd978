"""The API's OpenAPI schema: valid, served with its documentation page, and kept by the API.

The contract test generates requests from the schema for every operation (as an anonymous
client and as a reporter's token) and sends them through the WSGI application: no answer may be
a server error, and every answer must be documented and match its documented shape.
"""

import pytest
import schemathesis
import yaml
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from incidents.api.authentication import issue_token
from incidents.models import Docket, LegalCase, LegalCaseIncident

from .factories import (
    IncidentFactory,
    OrganisationFactory,
    PolicyChangeIncidentFactory,
    SourceFactory,
    TagFactory,
    TimelineEventFactory,
)

# Each operation gets this many generated requests per persona; the suite runs in CI twice.
EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_schema_is_valid_openapi_3(db):
    response = Client().get("/api/v1/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/incidents/", "/api/v1/postmortems/{number}/submit/"} <= set(schema["paths"])


def test_the_documentation_page_loads_its_scripts_from_this_site(db):
    response = Client().get("/api/v1/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Requests sent to the WSGI application close the database connection when they finish,
    which would end the test's transaction; Django's test client avoids it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def records(db, settings, wsgi_keeps_the_test_connection):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anonymous": "100000/minute", "token": "100000/minute"},
    }
    tag = TagFactory()
    organisation = OrganisationFactory()
    for _ in range(3):
        incident = IncidentFactory(tags=[tag], organisations=[organisation])
        SourceFactory(incident=incident)
        TimelineEventFactory(incident=incident)
        PolicyChangeIncidentFactory(incident=incident, policy_change__organisation=organisation)
    IncidentFactory(retracted=True)
    IncidentFactory(draft=True)
    case = LegalCase.objects.create(
        record_number="1", slug="loomis-v-wisconsin", caption="Loomis v. Wisconsin"
    )
    Docket.objects.create(case=case, external_id="1", court="Federal: Supreme Court")
    LegalCaseIncident.objects.create(
        case=case, incident=incident, status=LegalCaseIncident.Status.LINKED, reason="A test."
    )


# Building the schema reads no database, so it can be loaded while tests are collected.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_the_api_keeps_its_contract(case, records, ada):
    case.call_and_validate(checks=CHECKS)
    if case.method != "GET" or "postmortems" in case.path:
        headers = {"Authorization": f"Token {issue_token(user=ada)}"}
        case.call_and_validate(checks=CHECKS, headers=headers)
