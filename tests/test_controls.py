"""The control catalogue: its defaults, suggestions from the action record, the controls pages
and controls adopted by policy changes."""

import pytest
from django.core.cache import cache

from incidents.models import (
    AgentAction,
    Control,
    ControlAssessment,
    Incident,
    IncidentOrganisation,
    PolicyControl,
    Severity,
)
from incidents.services import controls as control_services

from .factories import (
    IncidentFactory,
    IncidentOrganisationFactory,
    OrganisationFactory,
    PolicyChangeFactory,
    PolicyChangeIncidentFactory,
    assess,
    control,
)

pytestmark = pytest.mark.django_db

Verdict = ControlAssessment.Verdict
STOPPED = Verdict.WOULD_HAVE_STOPPED


def severity(name):
    return Severity.objects.get(name=name)


def suggested(*actions, **kwargs):
    return {
        s.control.slug: s.verdict
        for s in control_services.suggest_assessments(actions=actions, **kwargs)
    }


def action(action_class, gate="none", reversible="unknown", outcome="succeeded"):
    return {
        "action_class": action_class,
        "approval_gate": gate,
        "reversible": reversible,
        "outcome": outcome,
    }


# The default catalogue


def test_the_catalogue_ships_the_controls_agents_need():
    names = set(Control.objects.values_list("name", flat=True))
    assert {
        "Mandatory peer review of AI-initiated production changes",
        "Least-privilege scoped credentials for agents",
        "Confirmation before destructive actions",
        "Deletion protection on production resources",
        "Code-freeze enforcement",
        "Spend limits",
        "Sandboxed execution with an egress allowlist",
        "Point-in-time backups",
        "Human approval for irreversible actions",
        "Pre-release evaluation",
    } <= names
    assert len(names) >= 15
    assert set(Control.objects.values_list("type", flat=True)) == {
        "preventive",
        "detective",
        "corrective",
    }


def test_an_administrator_can_edit_a_control_in_the_admin(sue_client):
    peer_review = control("peer-review-ai-production-changes")
    url = f"/admin/incidents/control/{peer_review.pk}/change/"
    assert sue_client.get(url).status_code == 200
    response = sue_client.post(
        url,
        {
            "name": "Two-person review of agent changes",
            "slug": peer_review.slug,
            "description": "Reworded.",
            "type": "preventive",
        },
    )
    assert response.status_code == 302
    peer_review.refresh_from_db()
    assert peer_review.name == "Two-person review of agent changes"


# Suggestions from the action record


def test_an_ungated_destroy_suggests_deletion_protection_and_confirmation():
    suggestions = suggested(action("destroy"))
    assert suggestions["deletion-protection"] == STOPPED
    assert suggestions["confirmation-before-destructive-actions"] == STOPPED
    assert suggestions["point-in-time-backups"] == Verdict.WOULD_HAVE_REDUCED


def test_an_approved_destroy_suggests_backups_but_no_gate():
    suggestions = suggested(action("destroy", gate="approved"))
    assert "deletion-protection" not in suggestions
    assert "confirmation-before-destructive-actions" not in suggestions
    assert "point-in-time-backups" in suggestions


def test_a_bypassed_gate_counts_as_no_gate():
    assert "deletion-protection" in suggested(action("destroy", gate="bypassed"))


@pytest.mark.parametrize(
    ("action_class", "gate", "slug"),
    [
        ("permission_change", "approved", "least-privilege-agent-credentials"),
        ("spend", "none", "spend-limits"),
        ("deploy", "none", "peer-review-ai-production-changes"),
        ("send_data_out", "none", "sandboxed-execution-egress-allowlist"),
    ],
)
def test_each_action_class_suggests_its_control(action_class, gate, slug):
    assert slug in suggested(action(action_class, gate=gate))


def test_a_reviewed_deploy_does_not_suggest_peer_review():
    assert "peer-review-ai-production-changes" not in suggested(action("deploy", gate="approved"))


def test_an_irreversible_ungated_step_suggests_human_approval():
    assert "human-approval-irreversible-actions" in suggested(action("write", reversible="no"))
    assert "human-approval-irreversible-actions" not in suggested(action("write"))


def test_a_blocked_step_suggests_nothing():
    assert suggested(action("destroy", gate="blocked", outcome="blocked")) == {}


def test_broader_permissions_than_needed_suggest_least_privilege():
    assert suggested(broader_permissions="yes") == {"least-privilege-agent-credentials": STOPPED}
    assert suggested(broader_permissions="no") == {}


def test_controls_already_assessed_are_not_suggested_again():
    deletion = control("deletion-protection")
    suggestions = suggested(action("destroy"), assessed=[str(deletion.pk)])
    assert "deletion-protection" not in suggestions
    assert "confirmation-before-destructive-actions" in suggestions


def test_saved_action_rows_are_judged_like_typed_ones():
    incident = IncidentFactory()
    AgentAction.objects.create(
        incident=incident, position=1, action_class="destroy", approval_gate="none"
    )
    slugs = {
        s.control.slug
        for s in control_services.suggest_assessments(actions=incident.agent_actions.all())
    }
    assert "deletion-protection" in slugs


# The controls page


def ranked_names(response):
    return [control.name for control in response.context["ranked"]]


def test_controls_are_ranked_by_incidents_stopped_weighted_by_severity(reader):
    sev1, sev4 = severity("SEV1"), severity("SEV4")
    assess(IncidentFactory(severity=sev1), "deletion-protection", STOPPED)
    for _ in range(2):
        assess(IncidentFactory(severity=sev4), "spend-limits", STOPPED)
    response = reader.get("/controls/")
    assert response.status_code == 200
    names = ranked_names(response)
    # One critical incident outweighs two minor ones.
    assert names.index("Deletion protection on production resources") < names.index("Spend limits")
    rows = {c.slug: c for c in response.context["ranked"]}
    assert rows["spend-limits"].stopped == 2
    assert rows["deletion-protection"].stopped_weight > rows["spend-limits"].stopped_weight


def test_a_near_miss_weighs_by_its_worst_credible_severity(reader):
    near_miss = IncidentFactory(
        kind=Incident.Kind.NEAR_MISS,
        severity=severity("SEV5"),
        worst_credible_severity=severity("SEV1"),
    )
    assess(near_miss, "code-freeze-enforcement", STOPPED)
    assess(IncidentFactory(severity=severity("SEV3")), "spend-limits", STOPPED)
    names = ranked_names(reader.get("/controls/"))
    assert names[0] == "Code-freeze enforcement"


def test_the_public_controls_page_counts_only_published_public_incidents(reader, eve_client):
    assess(IncidentFactory(draft=True), "spend-limits", STOPPED)
    assess(IncidentFactory(internal=True), "spend-limits", STOPPED)
    assert "Spend limits" not in ranked_names(reader.get("/controls/"))
    assert "Spend limits" in ranked_names(eve_client.get("/controls/"))
    page = reader.get("/controls/spend-limits/")
    assert page.status_code == 200
    assert page.context["counts"] == []
    assert eve_client.get("/controls/spend-limits/").context["counts"] == [
        (STOPPED, "Absent; would have stopped it", 2)
    ]


def test_it_lists_controls_that_were_in_place_and_failed(reader):
    incident = IncidentFactory(title="Backups existed but restored nothing")
    assess(incident, "point-in-time-backups", Verdict.FAILED, "The restore was never tested.")
    response = reader.get("/controls/")
    assert [a.incident for a in response.context["failed"]] == [incident]
    assert "The restore was never tested." in response.content.decode()


def test_it_compares_what_an_organisations_incidents_called_for_with_what_it_adopted(reader):
    aws = OrganisationFactory(name="Amazon Web Services")
    outage = IncidentFactory(organisations=[aws])
    assess(outage, "peer-review-ai-production-changes", STOPPED)
    assess(outage, "least-privilege-agent-credentials", Verdict.WOULD_HAVE_REDUCED)
    assess(outage, "spend-limits", Verdict.NOT_RELEVANT)
    # An incident where AWS was only harmed calls for nothing of AWS.
    harmed = IncidentFactory()
    IncidentOrganisationFactory(incident=harmed, organisation=aws, role="harmed")
    assess(harmed, "pre-release-evaluation", STOPPED)
    policy = PolicyChangeFactory(organisation=aws, title="Peer review for production access")
    PolicyControl.objects.create(
        policy_change=policy, control=control("peer-review-ai-production-changes")
    )
    response = reader.get("/controls/", {"organisation": aws.slug})
    rows = {row.control.slug: row for row in response.context["comparison"]}
    assert set(rows) == {"peer-review-ai-production-changes", "least-privilege-agent-credentials"}
    assert rows["peer-review-ai-production-changes"].policies == [policy]
    assert rows["least-privilege-agent-credentials"].gap
    assert not rows["peer-review-ai-production-changes"].gap
    # Gaps come first.
    assert response.context["comparison"][0].control.slug == "least-privilege-agent-credentials"
    assert response.context["gaps"] == 1
    assert "Not adopted" in response.content.decode()


def test_an_unknown_organisation_gets_a_clear_message(reader):
    response = reader.get("/controls/", {"organisation": "no-such-org"})
    assert response.status_code == 200
    assert "There is no organisation “no-such-org”" in response.content.decode()


def test_the_controls_page_costs_a_fixed_number_of_queries(reader, django_assert_max_num_queries):
    aws = OrganisationFactory()

    def assessed_incidents(count):
        for n in range(count):
            incident = IncidentFactory(organisations=[aws])
            assess(incident, "deletion-protection", STOPPED)
            assess(incident, "point-in-time-backups", Verdict.FAILED)
            policy = PolicyChangeFactory(organisation=aws)
            PolicyControl.objects.create(
                policy_change=policy,
                control=control("spend-limits" if n % 2 else "code-freeze-enforcement"),
            )

    assessed_incidents(1)
    with django_assert_max_num_queries(12) as few:
        reader.get("/controls/", {"organisation": aws.slug})
    assessed_incidents(10)
    with django_assert_max_num_queries(12) as many:
        reader.get("/controls/", {"organisation": aws.slug})
    assert len(few) == len(many)
    with django_assert_max_num_queries(8) as detail_few:
        reader.get("/controls/deletion-protection/")
    assessed_incidents(5)
    with django_assert_max_num_queries(8) as detail_many:
        reader.get("/controls/deletion-protection/")
    assert len(detail_few) == len(detail_many)


def test_a_control_page_lists_incidents_by_verdict_and_the_policies_adopting_it(reader):
    stopped = IncidentFactory(title="Agent wiped the staging cluster")
    assess(stopped, "deletion-protection", STOPPED, "A lock would have refused it.")
    worked = IncidentFactory(title="Lock refused a drop")
    assess(worked, "deletion-protection", Verdict.WORKED)
    policy = PolicyChangeFactory(title="Deletion locks everywhere")
    PolicyControl.objects.create(policy_change=policy, control=control("deletion-protection"))
    page = reader.get("/controls/deletion-protection/").content.decode()
    assert "In place and worked: 1" in page
    assert "Lock refused a drop" in page  # the first verdict in catalogue order
    assert "Agent wiped the staging cluster" not in page
    assert "Deletion locks everywhere" in page
    page = reader.get("/controls/deletion-protection/", {"verdict": STOPPED}).content.decode()
    assert "Agent wiped the staging cluster" in page
    assert "A lock would have refused it." in page
    assert reader.get("/controls/no-such-control/").status_code == 404
    # An unknown verdict falls back to the first one given.
    assert reader.get("/controls/deletion-protection/", {"verdict": "nonsense"}).status_code == 200


def test_a_control_page_is_paginated(reader, settings):
    settings.PAGE_SIZE = 2
    for n in range(5):
        assess(IncidentFactory(title=f"Wipe {n}"), "deletion-protection", STOPPED)
    response = reader.get("/controls/deletion-protection/", {"page": 3})
    assert [a.incident.title for a in response.context["page"]] == ["Wipe 0"]
    assert "Page 3 of 3" in response.content.decode()


def test_an_organisation_row_lists_ten_incidents_and_counts_the_rest(reader):
    aws = OrganisationFactory()
    for _ in range(12):
        assess(IncidentFactory(organisations=[aws]), "spend-limits", STOPPED)
    response = reader.get("/controls/", {"organisation": aws.slug})
    row = response.context["comparison"][0]
    assert (len(row.incidents), row.incident_count) == (10, 12)
    assert "and 2 more" in response.content.decode()


# Policy changes adopt controls


def test_a_policy_page_links_its_control_to_the_incidents_it_would_have_stopped(reader):
    kiro = IncidentFactory(title="Agent recreated a production environment")
    draft = IncidentFactory(title="A draft nobody may read", draft=True)
    other = IncidentFactory(title="Reduced only")
    for incident in (kiro, draft):
        assess(incident, "peer-review-ai-production-changes", STOPPED)
    assess(other, "peer-review-ai-production-changes", Verdict.WOULD_HAVE_REDUCED)
    policy = PolicyChangeFactory(title="Mandatory peer review for production access")
    PolicyChangeIncidentFactory(policy_change=policy, incident=kiro)
    PolicyControl.objects.create(
        policy_change=policy, control=control("peer-review-ai-production-changes")
    )
    page = reader.get(policy.get_absolute_url()).content.decode()
    assert "Controls adopted" in page
    assert "Mandatory peer review of AI-initiated production changes" in page
    assert "Agent recreated a production environment" in page
    assert "A draft nobody may read" not in page
    assert "Reduced only" not in page


def test_the_policy_admin_offers_adopting_controls(sue_client):
    policy = PolicyChangeFactory()
    url = f"/admin/incidents/policychange/{policy.pk}/change/"
    page = sue_client.get(url)
    assert page.status_code == 200
    assert "Controls adopted" in page.content.decode()


# Assessments on the incident page


def test_the_incident_page_shows_its_assessments_with_rationale(reader):
    incident = IncidentFactory()
    assess(incident, "peer-review-ai-production-changes", STOPPED, "Nobody reviewed the change.")
    page = reader.get(incident.get_absolute_url()).content.decode()
    assert "Mandatory peer review of AI-initiated production changes" in page
    assert "Absent; would have stopped it" in page
    assert "Nobody reviewed the change." in page


def test_the_incident_page_query_count_does_not_grow_with_assessments(
    reader, django_assert_max_num_queries
):
    incident = IncidentFactory()
    assess(incident, "deletion-protection", STOPPED)
    with django_assert_max_num_queries(30) as one:
        reader.get(incident.get_absolute_url())
    for slug in ("spend-limits", "code-freeze-enforcement", "point-in-time-backups"):
        assess(incident, slug, Verdict.UNKNOWN)
    cache.clear()  # the anonymous page cache would answer without a query
    with django_assert_max_num_queries(30) as four:
        reader.get(incident.get_absolute_url())
    assert len(one) == len(four)


def test_responsible_roles_are_developers_and_deployers():
    assert set(control_services.RESPONSIBLE_ROLES) == {
        IncidentOrganisation.Role.DEVELOPER,
        IncidentOrganisation.Role.DEPLOYER,
    }


def test_the_ranking_follows_changes_to_the_data_and_the_catalogue(reader):
    assess(IncidentFactory(), "spend-limits", STOPPED)
    assert ranked_names(reader.get("/controls/")) == ["Spend limits"]
    # A new assessment arrives with its incident's save.
    incident = IncidentFactory()
    assess(incident, "spend-limits", STOPPED)
    incident.save()
    rows = {c.slug: c for c in reader.get("/controls/").context["ranked"]}
    assert rows["spend-limits"].stopped == 2
    # Renaming a control in the admin shows at once.
    spend_limits = control("spend-limits")
    spend_limits.name = "Hard spending caps"
    spend_limits.save()
    assert ranked_names(reader.get("/controls/")) == ["Hard spending caps"]


def test_anonymous_readers_get_the_controls_pages_from_the_cache_until_an_edit(
    reader, sue_client, django_assert_max_num_queries
):
    assess(IncidentFactory(), "spend-limits", STOPPED)
    for url in ("/controls/", "/controls/spend-limits/"):
        first = reader.get(url)
        with django_assert_max_num_queries(1):  # the data version, nothing else
            second = reader.get(url)
        assert second.content == first.content
    spend_limits = control("spend-limits")
    response = sue_client.post(
        f"/admin/incidents/control/{spend_limits.pk}/change/",
        {
            "name": "Hard spending caps",
            "slug": spend_limits.slug,
            "description": "Reworded.",
            "type": spend_limits.type,
        },
    )
    assert response.status_code == 302
    assert "Hard spending caps" in reader.get("/controls/").content.decode()
    assert "Hard spending caps" in reader.get("/controls/spend-limits/").content.decode()
    # A new assessment, written with its incident, shows too.
    assess(IncidentFactory(), "deletion-protection", STOPPED)
    page = reader.get("/controls/").content.decode()
    assert page.index("Deletion protection") < page.index("Not yet judged")


def test_the_incident_admin_shows_its_assessments_and_kind(sue_client):
    incident = IncidentFactory(kind=Incident.Kind.NEAR_MISS)
    assess(incident, "spend-limits", STOPPED, "No cap on the agent's card.")
    page = sue_client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert "No cap on the agent&#x27;s card." in page or "No cap on the agent's card." in page
    assert "Worst credible severity" in page
    changelist = sue_client.get("/admin/incidents/incident/", {"kind": "near_miss"})
    assert changelist.status_code == 200
    assert incident.title in changelist.content.decode()
