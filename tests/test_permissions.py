"""Who may open what: every signed-in page, for every role.

The rule is the one in `incidents.permissions`: anonymous visitors are sent to sign in;
signed-in people without the capability get 403; everyone else gets the page (200) or, after a
write, a redirect (302). Every route of the site is either checked here or listed as public.
"""

import pytest
from django.contrib.auth.models import Permission
from django.urls import URLPattern, URLResolver, reverse
from django.urls.converters import IntConverter

from incidents import urls
from incidents.feeds import feed_urls
from incidents.models import Incident, PatternCluster
from incidents.services import review as review_service

from .factories import person, signed_in, snapshot_of

# Who plays each role: the client fixture of a persona from conftest.
PLAYED_BY = {
    "anonymous": "reader",
    "reporter": "ada_client",
    "reviewer": "rui_client",
    "editor": "eve_client",
    "viewer": "vic_client",
    "outsider": "olga_client",
}
ROLES = list(PLAYED_BY)
LOGIN = "login"
FILERS = {"reporter", "editor"}
REVIEWERS = {"reviewer", "editor"}
EDITORS = {"editor"}
READERS = {"reporter", "reviewer", "editor", "viewer"}
EVERYONE = {"reporter", "reviewer", "editor", "viewer", "outsider"}

# What the URL takes: nothing, the incident's number, its number and revision 1, or a pattern.
NONE, NUMBER, REVISION, CLUSTER = (), ("number",), ("number", "revision"), ("cluster",)

# (name, method, route name, URL arguments, POST data, roles allowed, status)
VIEWS = [
    ("my postmortems", "get", "my_postmortems", NONE, None, EVERYONE, 200),
    (
        "digest subscription",
        "post",
        "digest_subscription",
        NONE,
        {"subscribed": "1"},
        EVERYONE,
        302,
    ),
    ("new postmortem form", "get", "incident_new", NONE, None, FILERS, 200),
    ("markdown preview", "post", "markdown_preview", NONE, {"text": "*hi*"}, FILERS, 200),
    ("similar incidents", "get", "duplicate_suggestions", NONE, None, FILERS, 200),
    ("control suggestions", "post", "control_suggestions", NONE, {}, FILERS, 200),
    ("edit form", "get", "incident_edit", NUMBER, None, FILERS, 200),
    ("agent trace upload", "post", "agent_trace_upload", NUMBER, {}, FILERS, 302),
    ("submit for review", "post", "incident_submit", NUMBER, {}, FILERS, 302),
    ("API token page", "get", "api_token", NONE, None, FILERS, 200),
    ("create an API token", "post", "api_token", NONE, {"action": "create"}, FILERS, 200),
    ("review page", "get", "incident_review", NUMBER, None, REVIEWERS, 200),
    ("approve", "post", "incident_review", NUMBER, {"decision": "approve"}, REVIEWERS, 302),
    (
        "request changes",
        "post",
        "incident_review",
        NUMBER,
        {"decision": "request_changes", "comment": "Add a source."},
        REVIEWERS,
        302,
    ),
    ("history", "get", "incident_history", NUMBER, None, READERS, 200),
    ("diff", "get", "incident_diff", NUMBER, None, READERS, 200),
    ("reporting obligations", "get", "incident_reporting", NUMBER, None, READERS, 200),
    (
        "change reporting obligations",
        "post",
        "incident_reporting",
        NUMBER,
        {"action": "none"},
        FILERS,
        302,
    ),
    ("reporting deadlines", "get", "reporting_due", NONE, None, READERS, 200),
    ("restore", "post", "revision_restore", REVISION, {}, EDITORS, 302),
    ("retraction form", "get", "incident_retract", NUMBER, None, EDITORS, 200),
    (
        "ask for retraction",
        "post",
        "incident_retract",
        NUMBER,
        {"action": "request", "reason": "Satire."},
        EDITORS,
        302,
    ),
    ("audit log", "get", "audit_log", NONE, None, EDITORS, 200),
    ("rename a pattern", "post", "pattern_rename", CLUSTER, {"name": "Disk wipes"}, EDITORS, 302),
    ("merge patterns", "post", "pattern_merge", CLUSTER, {}, EDITORS, 302),
    ("split a pattern", "post", "pattern_split", CLUSTER, {}, EDITORS, 302),
]

# Pages anyone may open, signed in or not; what they show may depend on who reads them.
PUBLIC_ROUTES = {
    "home",
    "incident_list",
    "incident_redirect",
    "incident_detail",
    "policy_list",
    "policy_detail",
    "legal_case_list",
    "legal_case_detail",
    "organisation_list",
    "organisation_detail",
    "tag_list",
    "tag_detail",
    "control_list",
    "control_detail",
    "data",
    "data_coverage",
    "data_json",
    "data_csv",
    "data_json_v1",
    "data_csv_v1",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "dashboard",
    "dashboard_csv",
    "dashboard_png",
    "dashboard_svg",
    "patterns",
    "pattern_gaps",
    "pattern_detail",
    "robots_txt",
    "severity_styles",
    "sitemap_index",
    "sitemap_section",
    # A feed reader cannot sign in: every feed is public.
    *(name for _route, _feed, name in feed_urls()),
}

CASES = [
    pytest.param(view, role, id=f"{view[0]}-{view[1]}-{role}") for view in VIEWS for role in ROLES
]


@pytest.fixture
def client_for(request):
    """The client of the persona who plays a role: `client_for("viewer")`."""
    return lambda role: request.getfixturevalue(PLAYED_BY[role])


@pytest.fixture
def waiting(grace):
    """A postmortem with two revisions by Grace, waiting for review. Ada plays the reporter,
    so no role is played by its author."""
    incident = review_service.incident_create(
        snapshot=snapshot_of(title="Agent wiped a disk"), by=grace
    )
    review_service.incident_save(
        incident=incident,
        snapshot=snapshot_of(title="Agent wiped a production disk"),
        by=grace,
        base_revision_number=1,
    )
    review_service.review_submit(incident=incident, by=grace)
    return incident


@pytest.fixture
def cluster(db):
    return PatternCluster.objects.create(name="Agents wiping disks")


def url_for(route, arguments, incident, cluster=None):
    values = {"number": incident.number, "revision": 1, "cluster": cluster and cluster.pk}
    return reverse(route, args=[values[name] for name in arguments])


@pytest.mark.parametrize(("view", "role"), CASES)
def test_each_role_gets_what_its_permissions_allow(view, role, client_for, waiting, cluster):
    _name, method, route, arguments, data, allowed, status = view
    url = url_for(route, arguments, waiting, cluster)

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
def test_write_only_pages_refuse_get_even_for_editors(route, client_for, waiting):
    url = url_for(route, REVISION if route == "revision_restore" else NUMBER, waiting)

    assert client_for("editor").get(url).status_code == 405


def test_a_refused_write_changes_nothing(client_for, waiting):
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


def test_the_public_page_of_a_draft_is_404_for_anonymous_and_outsiders(client_for, waiting):
    url = waiting.get_absolute_url()

    assert client_for("anonymous").get(url).status_code == 404
    assert client_for("outsider").get(url).status_code == 404
    assert client_for("viewer").get(url).status_code == 200


@pytest.mark.parametrize("codename", ["file_incident", "review_incident", "retract_incident"])
def test_whoever_may_work_on_postmortems_may_read_drafts(codename, waiting):
    # Not a persona: one raw permission and no group, which nobody in the cast has.
    helper = person("helper")
    helper.user_permissions.add(Permission.objects.get(codename=codename))

    assert signed_in(helper).get(waiting.get_absolute_url()).status_code == 200


def test_the_header_offers_only_the_links_a_role_can_use(client_for, waiting):
    anonymous = client_for("anonymous").get("/").text
    reporter = client_for("reporter").get("/").text
    viewer = client_for("viewer").get("/").text
    editor = client_for("editor").get("/").text
    outsider = client_for("outsider").get("/").text

    assert "Sign in" in anonymous and "Sign out" not in anonymous
    assert "My postmortems" not in anonymous
    assert "File a postmortem" in reporter and "Audit log" not in reporter
    assert "File a postmortem" not in viewer and "My postmortems" in viewer
    assert "Audit log" in editor and "Sign out" in editor
    assert "Reporting deadlines" in viewer and "Reporting deadlines" not in outsider
    assert "File a postmortem" not in outsider and "My postmortems" in outsider


def route_patterns(patterns):
    """Every named route under these URL patterns, by name."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from route_patterns(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            yield entry.name, entry


ROUTES = dict(route_patterns(urls.urlpatterns))


def test_every_route_is_either_public_or_checked_for_every_role():
    checked = {view[2] for view in VIEWS}

    assert set(ROUTES) - checked - PUBLIC_ROUTES == set(), "add these to VIEWS or PUBLIC_ROUTES"
    assert (checked | PUBLIC_ROUTES) - set(ROUTES) == set(), "no such routes any more"
    assert checked & PUBLIC_ROUTES == set()


@pytest.mark.parametrize("route", sorted(PUBLIC_ROUTES))
def test_a_public_route_never_asks_an_anonymous_visitor_to_sign_in(route, reader):
    pattern = ROUTES[route].pattern
    arguments = {
        name: 1 if isinstance(converter, IntConverter) else "x"
        for name, converter in pattern.converters.items()
    }

    response = reader.get(reverse(route, kwargs=arguments))

    assert response.status_code != 403
    assert not response.get("Location", "").startswith(reverse(LOGIN) + "?next=")
