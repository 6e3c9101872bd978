"""Who may open what: every signed-in page of the review flow, for every role.

Anonymous visitors are sent to sign in; signed-in people without the permission get 403;
everyone else gets the page (200) or, after a write, a redirect (302).
"""

import pytest
from django.test import Client
from django.urls import reverse

from incidents.models import Incident
from incidents.services import review as review_service

from .factories import person, snapshot_of

ROLES = ["anonymous", "reporter", "reviewer", "editor", "viewer", "outsider"]
LOGIN = "login"
FILERS = {"reporter", "editor"}
REVIEWERS = {"reviewer", "editor"}
EDITORS = {"editor"}
READERS = {"reporter", "reviewer", "editor", "viewer"}
EVERYONE = {"reporter", "reviewer", "editor", "viewer", "outsider"}

# (name, method, route name, takes the incident's number, POST data, roles allowed, status)
VIEWS = [
    ("my postmortems", "get", "my_postmortems", False, None, EVERYONE, 200),
    ("new postmortem form", "get", "incident_new", False, None, FILERS, 200),
    ("markdown preview", "post", "markdown_preview", False, {"text": "*hi*"}, FILERS, 200),
    ("similar incidents", "get", "duplicate_suggestions", False, None, FILERS, 200),
    ("edit form", "get", "incident_edit", True, None, FILERS, 200),
    ("submit for review", "post", "incident_submit", True, {}, FILERS, 302),
    ("review page", "get", "incident_review", True, None, REVIEWERS, 200),
    ("approve", "post", "incident_review", True, {"decision": "approve"}, REVIEWERS, 302),
    (
        "request changes",
        "post",
        "incident_review",
        True,
        {"decision": "request_changes", "comment": "Add a source."},
        REVIEWERS,
        302,
    ),
    ("history", "get", "incident_history", True, None, READERS, 200),
    ("diff", "get", "incident_diff", True, None, READERS, 200),
    ("restore", "post", "revision_restore", True, {}, EDITORS, 302),
    ("retraction form", "get", "incident_retract", True, None, EDITORS, 200),
    (
        "ask for retraction",
        "post",
        "incident_retract",
        True,
        {"action": "request", "reason": "Satire."},
        EDITORS,
        302,
    ),
    ("audit log", "get", "audit_log", False, None, EDITORS, 200),
]

CASES = [
    pytest.param(view, role, id=f"{view[0]}-{view[1]}-{role}") for view in VIEWS for role in ROLES
]


def client_for(role):
    client = Client()
    if role == "anonymous":
        return client
    client.force_login(person(role, *([] if role == "outsider" else [role])))
    return client


@pytest.fixture
def waiting(db):
    """A postmortem with two revisions by its author, waiting for review."""
    author = person("author", "reporter")
    incident = review_service.incident_create(
        snapshot=snapshot_of(title="Agent wiped a disk"), by=author
    )
    review_service.incident_save(
        incident=incident,
        snapshot=snapshot_of(title="Agent wiped a production disk"),
        by=author,
        base_revision_number=1,
    )
    review_service.review_submit(incident=incident, by=author)
    return incident


def url_for(route, incident, needs_number):
    if route == "revision_restore":
        return reverse(route, args=[incident.number, 1])
    return reverse(route, args=[incident.number] if needs_number else [])


@pytest.mark.parametrize(("view", "role"), CASES)
def test_each_role_gets_what_its_permissions_allow(view, role, waiting):
    _name, method, route, needs_number, data, allowed, status = view
    url = url_for(route, waiting, needs_number)

    response = getattr(client_for(role), method)(url, data or {})

    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse(LOGIN) + "?next=")
    elif role in allowed:
        assert response.status_code == status, response.content[:500]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(
    "route", ["incident_submit", "revision_restore"], ids=["submit", "restore"]
)
def test_write_only_pages_refuse_get_even_for_editors(route, waiting):
    url = url_for(route, waiting, True)

    assert client_for("editor").get(url).status_code == 405


def test_a_refused_write_changes_nothing(waiting):
    client_for("viewer").post(
        reverse("incident_review", args=[waiting.number]), {"decision": "approve"}
    )
    client_for("reporter").post(
        reverse("incident_retract", args=[waiting.number]), {"action": "request", "reason": "No."}
    )

    waiting.refresh_from_db()
    assert waiting.status == Incident.Status.IN_REVIEW
    assert waiting.published_revision is None
    assert waiting.retraction_requested_by is None
    assert not waiting.revisions.filter(reviews__isnull=False).exists()


def test_the_public_page_of_a_draft_is_404_for_anonymous_and_outsiders(waiting):
    url = waiting.get_absolute_url()

    assert client_for("anonymous").get(url).status_code == 404
    assert client_for("outsider").get(url).status_code == 404
    assert client_for("viewer").get(url).status_code == 200


def test_the_header_offers_only_the_links_a_role_can_use(waiting):
    anonymous = client_for("anonymous").get("/").text
    reporter = client_for("reporter").get("/").text
    viewer = client_for("viewer").get("/").text
    editor = client_for("editor").get("/").text

    assert "Sign in" in anonymous and "Sign out" not in anonymous
    assert "My postmortems" not in anonymous
    assert "File a postmortem" in reporter and "Audit log" not in reporter
    assert "File a postmortem" not in viewer and "My postmortems" in viewer
    assert "Audit log" in editor and "Sign out" in editor
