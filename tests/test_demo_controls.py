"""The demo set's control assessments, near misses and adopted controls."""

import pytest
from django.core.management import call_command

from incidents.models import ControlAssessment, Incident, PolicyChange

pytestmark = pytest.mark.django_db

KIRO = "kiro-aws-cost-explorer-outage"
REPLIT = "replit-agent-deletes-production-database"
STOPPED = ControlAssessment.Verdict.WOULD_HAVE_STOPPED


@pytest.fixture
def demo():
    call_command("load_demo", stdout=None)


def verdicts(slug):
    return dict(
        Incident.objects.get(slug=slug).control_assessments.values_list("control__slug", "verdict")
    )


def test_kiro_is_assessed_as_a_missing_peer_review_and_least_privilege(demo):
    kiro = verdicts(KIRO)
    assert kiro["peer-review-ai-production-changes"] == STOPPED
    assert kiro["least-privilege-agent-credentials"] == STOPPED


def test_the_policy_after_kiro_adopts_peer_review_and_links_back_to_kiro(demo, reader):
    policy = PolicyChange.objects.get(slug="aws-peer-review-ai-production-changes")
    assert list(policy.controls.values_list("slug", flat=True)) == [
        "peer-review-ai-production-changes"
    ]
    page = reader.get(policy.get_absolute_url()).content.decode()
    assert "Mandatory peer review of AI-initiated production changes" in page
    assert Incident.objects.get(slug=KIRO).title in page


def test_replit_calls_for_freeze_enforcement_separation_and_had_working_backups(demo):
    replit = verdicts(REPLIT)
    assert replit["code-freeze-enforcement"] == STOPPED
    assert replit["separate-prod-dev-environments"] == STOPPED
    assert replit["point-in-time-backups"] == ControlAssessment.Verdict.WORKED


def test_every_demo_incident_has_an_assessment_and_near_misses_a_worst_case(demo):
    assert not Incident.objects.filter(control_assessments=None).exists()
    near_misses = Incident.objects.filter(kind=Incident.Kind.NEAR_MISS)
    assert near_misses.exists()
    assert not near_misses.filter(worst_credible_severity=None).exists()


def test_reloading_the_demo_changes_no_assessment(demo):
    before = sorted(ControlAssessment.objects.values_list("incident__slug", "control__slug"))
    call_command("load_demo", stdout=None)
    assert (
        sorted(ControlAssessment.objects.values_list("incident__slug", "control__slug")) == before
    )


def test_the_controls_page_ranks_the_demo_and_compares_aws(demo, reader):
    response = reader.get("/controls/", {"organisation": "amazon-web-services"})
    assert response.status_code == 200
    ranked = [control.slug for control in response.context["ranked"]]
    assert "peer-review-ai-production-changes" in ranked
    rows = {row.control.slug: row for row in response.context["comparison"]}
    assert not rows["peer-review-ai-production-changes"].gap
    assert rows["least-privilege-agent-credentials"].gap
