"""The review flow through its pages: submit, review, publish, edit, retract, restore, audit.

Personas: Ada the author (a reporter), Rui the reviewer, Eve and Ed the editors, and Sam, who
both writes and reviews.
"""

from datetime import timedelta

from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone

from incidents.models import ActionItem, AuditEvent, Incident, IncidentRevision, Review
from incidents.services import review as review_service

from .factories import TagFactory, signed_in, snapshot_of


def file(by, **fields):
    fields.setdefault("title", "Coding agent deleted the production database")
    fields.setdefault("summary", "An agent ran a destructive migration during a code freeze.")
    return review_service.incident_create(snapshot=snapshot_of(**fields), by=by)


def submitted(by, **fields):
    incident = file(by, **fields)
    review_service.review_submit(incident=incident, by=by)
    return incident


def published(author, reviewer, **fields):
    incident = submitted(author, **fields)
    review_service.review_approve_and_publish(incident=incident, by=reviewer)
    incident.refresh_from_db()
    return incident


def edit(incident, by, **fields):
    incident.refresh_from_db()
    latest = incident.latest_revision()
    snapshot = {**latest.data, "fields": {**latest.data["fields"], **fields}}
    return review_service.incident_save(
        incident=incident, snapshot=snapshot, by=by, base_revision_number=latest.number
    )[1]


def review_url(incident):
    return reverse("incident_review", args=[incident.number])


def test_it_rejects_self_approval_even_from_an_author_who_is_a_reviewer(sam):
    incident = submitted(sam)

    response = signed_in(sam).post(review_url(incident), {"decision": "approve"})

    assert response.status_code == 403
    assert "a second person must review it" in response.text
    incident.refresh_from_db()
    assert incident.status == Incident.Status.IN_REVIEW
    assert incident.published_revision is None
    assert not Review.objects.exists()
    assert Client().get(incident.get_absolute_url()).status_code == 404


def test_it_offers_no_decision_buttons_to_an_author(sam):
    incident = submitted(sam)

    page = signed_in(sam).get(review_url(incident)).text

    assert "Approve and publish" not in page
    assert "a second person must review it" in page


def test_requesting_changes_keeps_the_comment_with_that_revision(ada, rui):
    incident = submitted(ada)

    response = signed_in(rui).post(
        review_url(incident),
        {"decision": "request_changes", "comment": "Cite the vendor's statement."},
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CHANGES_REQUESTED
    assert incident.review_requested_at is None
    review = Review.objects.get()
    assert review.revision == incident.latest_revision()
    assert (review.reviewer, review.comment) == (rui, "Cite the vendor's statement.")
    # The author finds it on their own page and in the history.
    author = signed_in(ada)
    assert "Cite the vendor&#x27;s statement." in author.get(reverse("my_postmortems")).text
    history = author.get(reverse("incident_history", args=[incident.number])).text
    assert "Cite the vendor&#x27;s statement." in history and "Changes requested" in history


def test_it_refuses_to_approve_a_revision_saved_after_the_reviewer_loaded_the_page(ada, rui):
    incident = submitted(ada, title="What the reviewer read")
    edit(incident, ada, title="Saved while the reviewer was reading")

    response = signed_in(rui).post(review_url(incident), {"decision": "approve", "revision": 1})

    assert response.status_code == 409
    assert "Revision 2 was saved by ada in the meantime." in response.text
    assert 'name="revision" value="2"' in response.text
    incident.refresh_from_db()
    assert incident.published_revision is None
    assert not Review.objects.exists()


def test_requesting_changes_without_a_comment_is_refused(ada, rui):
    incident = submitted(ada)

    response = signed_in(rui).post(review_url(incident), {"decision": "request_changes"})

    assert response.status_code == 400
    assert "Say what needs to change." in response.text
    incident.refresh_from_db()
    assert incident.status == Incident.Status.IN_REVIEW


def test_a_fixed_and_resubmitted_draft_shows_the_earlier_comment_to_the_reviewer(ada, rui):
    incident = submitted(ada)
    review_service.review_request_changes(incident=incident, by=rui, comment="Add the timeline.")
    edit(incident, ada, summary="Now with a timeline.")
    review_service.review_submit(incident=incident, by=ada)

    page = signed_in(rui).get(review_url(incident)).text

    assert "Add the timeline." in page
    assert "Approve and publish" in page


def test_approval_by_a_second_person_publishes_it(ada, rui):
    incident = submitted(ada, title="Support bot invented a refund policy")

    response = signed_in(rui).post(review_url(incident), {"decision": "approve"})

    incident.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()
    assert incident.status == Incident.Status.PUBLISHED
    assert incident.published_revision == incident.latest_revision()
    public = Client().get(incident.get_absolute_url())
    assert public.status_code == 200
    assert "Support bot invented a refund policy" in public.text
    assert "Support bot invented a refund policy" in Client().get("/incidents/").text


def test_a_second_reviewer_with_the_page_still_open_is_told_who_published_it(ada, rui, eve):
    incident = submitted(ada)
    signed_in(rui).post(review_url(incident), {"decision": "approve", "revision": 1})

    late = signed_in(eve).post(review_url(incident), {"decision": "approve", "revision": 1})

    assert late.status_code == 403
    assert f"{incident.public_number} was already approved and published by rui." in late.text
    assert Review.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PUBLISHED).count() == 1


def test_a_reviewer_who_clicks_twice_is_told_it_is_done(ada, rui):
    incident = submitted(ada)
    reviewer, decision = signed_in(rui), {"decision": "request_changes", "comment": "Dates?"}
    reviewer.post(review_url(incident), decision)

    again = reviewer.post(review_url(incident), decision)

    assert again.status_code == 403
    assert "already sent back with changes requested by you." in again.text
    assert Review.objects.count() == 1


def test_the_review_page_shows_the_revision_and_its_changes_with_names(ada, rui):
    tag = TagFactory(name="Destructive action")
    incident = published(ada, rui, narrative="## Root cause\n\nNo **guard rails**.")
    edit(incident, ada, title="A clearer title")
    latest = incident.latest_revision()
    review_service.incident_save(
        incident=incident,
        snapshot={**latest.data, "tags": [tag.pk]},
        by=ada,
        base_revision_number=latest.number,
    )
    review_service.review_submit(incident=incident, by=ada)

    page = signed_in(rui).get(review_url(incident)).text

    assert "Changes since the published revision 1" in page
    assert "A clearer title" in page and "Coding agent deleted the production database" in page
    assert "Destructive action" in page
    assert f">{tag.pk}<" not in page
    assert "<strong>guard rails</strong>" in page


def test_an_edit_to_a_published_incident_waits_for_approval(ada, rui):
    incident = published(ada, rui, title="Original title")
    edit(incident, ada, title="Corrected title")

    assert "Original title" in Client().get(incident.get_absolute_url()).text
    staff_view = signed_in(rui).get(incident.get_absolute_url()).text
    assert "Unpublished changes waiting for review" in staff_view
    assert "Original title" in staff_view

    review_service.review_submit(incident=incident, by=ada)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.PUBLISHED  # still readable while in review
    signed_in(rui).post(review_url(incident), {"decision": "approve"})

    public = Client().get(incident.get_absolute_url()).text
    assert "Corrected title" in public
    assert "Original title" not in public


def test_anonymous_readers_see_no_staff_bar(ada, rui):
    incident = published(ada, rui)
    edit(incident, ada, title="Pending change")

    page = Client().get(incident.get_absolute_url()).text

    assert "staff-bar" not in page
    assert "Unpublished changes" not in page
    assert "Pending change" not in page


def retract_url(incident):
    return reverse("incident_retract", args=[incident.number])


def test_a_retraction_needs_a_reason(ada, rui, eve):
    incident = published(ada, rui)

    response = signed_in(eve).post(retract_url(incident), {"action": "request", "reason": "  "})

    assert response.status_code == 400
    assert "A retraction needs a reason." in response.text
    incident.refresh_from_db()
    assert incident.retraction_requested_by is None


def test_a_retraction_needs_a_second_editor(ada, rui, eve, ed):
    incident = published(ada, rui)
    asker = signed_in(eve)
    asker.post(retract_url(incident), {"action": "request", "reason": "The video was staged."})

    refused = asker.post(retract_url(incident), {"action": "confirm"})

    assert refused.status_code == 403
    incident.refresh_from_db()
    assert incident.status == Incident.Status.PUBLISHED
    assert "A second editor must confirm" in asker.get(retract_url(incident)).text

    confirmed = signed_in(ed).post(retract_url(incident), {"action": "confirm"})

    assert confirmed.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RETRACTED
    public = Client().get(incident.get_absolute_url())
    assert public.status_code == 200
    assert "The video was staged." in public.text


def test_a_second_confirmation_of_a_retraction_is_refused(ada, rui, eve, ed, sue):
    incident = published(ada, rui)
    review_service.retraction_request(incident=incident, by=eve, reason="The video was staged.")
    signed_in(ed).post(retract_url(incident), {"action": "confirm"})

    late = signed_in(sue).post(retract_url(incident), {"action": "confirm"})

    assert late.status_code == 403
    assert f"{incident.public_number} was already retracted by ed." in late.text
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RETRACTED).count() == 1


def test_asking_again_for_a_retraction_another_editor_asked_for_is_refused(ada, rui, eve, ed):
    incident = published(ada, rui)
    review_service.retraction_request(incident=incident, by=eve, reason="The video was staged.")

    # Ed's page still showed the request form.
    late = signed_in(ed).post(retract_url(incident), {"action": "request", "reason": "Hoax."})

    assert late.status_code == 403
    assert "eve already asked for this incident to be retracted; confirm it" in late.text
    incident.refresh_from_db()
    assert (incident.retraction_requested_by, incident.retraction_reason) == (
        eve,
        "The video was staged.",
    )


def test_approving_an_edit_that_waited_while_the_incident_was_retracted_is_refused(
    ada, rui, eve, ed
):
    incident = published(ada, rui, title="As published")
    edit(incident, ada, title="Edited afterwards")
    review_service.review_submit(incident=incident, by=ada)
    review_service.retraction_request(incident=incident, by=eve, reason="Hoax.")
    review_service.retraction_confirm(incident=incident, by=ed)

    response = signed_in(rui).post(review_url(incident), {"decision": "approve"})

    assert response.status_code == 403
    assert "is retracted" in response.text
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RETRACTED
    assert incident.title == "As published"
    assert incident.review_requested_at is None  # off the reviewers' list


def test_restoring_makes_a_new_revision_equal_to_the_old_one(ada, eve):
    incident = file(ada, title="First wording")
    edit(incident, ada, title="Second wording")

    response = signed_in(eve).post(reverse("revision_restore", args=[incident.number, 1]))

    assert response.status_code == 302
    first, newest = (
        IncidentRevision.objects.get(incident=incident, number=1),
        (incident.latest_revision()),
    )
    assert newest.number == 3
    assert newest.data == first.data
    assert newest.author == eve
    assert newest.note == "Restored from revision 1"
    assert IncidentRevision.objects.filter(incident=incident).count() == 3
    incident.refresh_from_db()
    assert incident.title == "First wording"


def test_restoring_a_revision_equal_to_the_latest_records_nothing(ada, eve):
    incident = file(ada, title="First wording")
    edit(incident, ada, title="Second wording")
    review_service.revision_restore(
        incident=incident, revision=incident.revisions.get(number=1), by=eve
    )
    before = AuditEvent.objects.count()

    response = signed_in(eve).post(reverse("revision_restore", args=[incident.number, 1]))

    assert response.status_code == 302
    assert incident.revisions.count() == 3
    assert AuditEvent.objects.count() == before
    assert incident.revisions.get(number=3).note == "Restored from revision 1"


def test_editing_a_retracted_incident_does_not_change_what_the_public_reads(ada, rui, eve, ed):
    incident = published(ada, rui, title="As published")
    review_service.retraction_request(incident=incident, by=eve, reason="Hoax.")
    review_service.retraction_confirm(incident=incident, by=ed)

    edit(incident, ada, title="Quietly rewritten")

    assert "As published" in Client().get(incident.get_absolute_url()).text
    assert incident.latest_revision().data["fields"]["title"] == "Quietly rewritten"


def test_history_shows_who_changed_what_and_when(ada, rui):
    incident = file(ada, title="First wording")
    edit(incident, ada, title="Second wording", summary="More.")

    page = signed_in(rui).get(reverse("incident_history", args=[incident.number])).text

    assert "Revision 2" in page and "Revision 1" in page
    assert "by <strong>ada</strong>" in page
    assert "Changed: Title, Summary" in page
    assert "Filed" in page
    assert timezone.localtime(incident.latest_revision().created_at).strftime("%-d %b %Y") in page


def test_the_diff_compares_any_two_revisions_field_by_field(ada, rui):
    tag = TagFactory(name="Prompt injection")
    incident = file(ada, title="First wording")
    edit(incident, ada, title="Second wording")
    latest = incident.latest_revision()
    review_service.incident_save(
        incident=incident,
        snapshot={**latest.data, "tags": [tag.pk]},
        by=ada,
        base_revision_number=latest.number,
    )
    client = signed_in(rui)
    url = reverse("incident_diff", args=[incident.number])

    both = client.get(url, {"from": 1, "to": 3}).text
    last = client.get(url).text

    assert "First wording" in both and "Second wording" in both and "Prompt injection" in both
    assert "Prompt injection" in last and "First wording" not in last
    assert client.get(url, {"from": 1, "to": 9}).status_code == 404
    assert client.get(url, {"from": "x"}).status_code == 404


def test_the_audit_log_lists_every_state_change_with_its_actor(ada, rui, eve, ed):
    incident = published(ada, rui)
    edit(incident, ada, title="Another wording")
    review_service.revision_restore(
        incident=incident,
        revision=IncidentRevision.objects.get(incident=incident, number=1),
        by=eve,
    )
    review_service.retraction_request(incident=incident, by=eve, reason="Duplicate report.")
    review_service.retraction_confirm(incident=incident, by=ed)
    client = signed_in(eve)

    page = client.get(reverse("audit_log")).text

    Action = AuditEvent.Action
    for action, actor in [
        (Action.SUBMITTED, "ada"),
        (Action.APPROVED, "rui"),
        (Action.PUBLISHED, "rui"),
        (Action.RESTORED, "eve"),
        (Action.RETRACTION_REQUESTED, "eve"),
        (Action.RETRACTED, "ed"),
    ]:
        row = f'<td>{actor}</td>\n            <td><span class="pill action-{action}">{action.label}'
        assert row in page
    only_retracted = client.get(reverse("audit_log"), {"action": "retracted"}).text
    assert "Retracted" in only_retracted and "Restored a revision</span>" not in only_retracted


def test_the_audit_log_is_paginated(ada, eve, settings):
    settings.PAGE_SIZE = 3
    for number in range(4):
        file(ada, title=f"Incident {number}")

    client = signed_in(eve)
    first, second = client.get(reverse("audit_log")), client.get(reverse("audit_log"), {"page": 2})

    assert "Page 1 of 2" in first.text
    assert "Incident 0" in second.text and "Incident 3" not in second.text


def test_nothing_is_hard_deleted(ada, rui, eve, ed):
    names = [name for name in get_resolver().reverse_dict if isinstance(name, str)]
    assert not [name for name in names if "delete" in name]
    incident = published(ada, rui)
    review_service.retraction_request(incident=incident, by=eve, reason="Hoax.")
    review_service.retraction_confirm(incident=incident, by=ed)

    for route in ["incident_review", "incident_retract", "incident_history"]:
        response = signed_in(eve).delete(reverse(route, args=[incident.number]))
        assert response.status_code == 405

    assert Incident.objects.filter(pk=incident.pk).exists()
    assert incident.revisions.count() == 1
    assert incident.audit_events.count() >= 5


def test_my_postmortems_lists_drafts_reviews_and_overdue_action_items(ada, rui, sam):
    mine = submitted(ada, title="Mine to fix")
    theirs = submitted(sam, title="Written by Sam")
    today = timezone.localdate()
    ActionItem.objects.create(
        incident=mine, title="Rotate the keys", assignee=ada, due_on=today - timedelta(days=2)
    )
    ActionItem.objects.create(
        incident=mine, title="Add a dry-run mode", assignee=ada, due_on=today + timedelta(days=9)
    )
    ActionItem.objects.create(
        incident=mine, title="Already done", assignee=ada, status=ActionItem.Status.DONE
    )

    for_ada = signed_in(ada).get(reverse("my_postmortems")).text
    for_sam = signed_in(sam).get(reverse("my_postmortems")).text
    for_rui = signed_in(rui).get(reverse("my_postmortems")).text

    assert "Mine to fix" in for_ada and "Written by Sam" not in for_ada
    assert "Waiting for my review" not in for_ada  # Ada cannot review
    assert '<tr class="overdue">\n              <td>Rotate the keys' in for_ada
    assert "Add a dry-run mode" in for_ada and "Already done" not in for_ada
    # Sam reviews, but not what Sam wrote.
    assert f'href="{review_url(mine)}"' in for_sam
    assert f'href="{review_url(theirs)}"' not in for_sam
    assert f'href="{review_url(theirs)}"' in for_rui and f'href="{review_url(mine)}"' in for_rui


def test_my_postmortems_offers_to_submit_a_draft(ada):
    draft = file(ada, title="Not yet submitted")
    client = signed_in(ada)

    assert f"Submit {draft.public_number} for review" in client.get(reverse("my_postmortems")).text
    response = client.post(reverse("incident_submit", args=[draft.number]))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Incident.Status.IN_REVIEW
    assert draft.review_requested_at is not None
    assert "Waiting for review" in client.get(reverse("my_postmortems")).text


def test_submitting_with_nothing_new_to_review_explains_why(ada, rui):
    incident = published(ada, rui)
    client = signed_in(ada)

    response = client.post(reverse("incident_submit", args=[incident.number]), follow=True)

    assert "was not submitted: There is nothing new to review." in response.text
    incident.refresh_from_db()
    assert incident.review_requested_at is None


def test_the_staff_bar_keeps_the_incident_page_query_count_bounded(
    ada, rui, django_assert_max_num_queries
):
    incident = published(ada, rui)
    edit(incident, ada, title="Pending change")
    client = signed_in(rui)

    # The anonymous page's bound (12, plus its control assessments, cross-references and
    # legal cases) plus the session, the user, their permissions, the latest revision and the
    # internal reporting clocks (two): constant, whatever the data.
    with django_assert_max_num_queries(21):
        response = client.get(incident.get_absolute_url())

    assert "Unpublished changes waiting for review" in response.text
