"""Importing an agent's OTLP JSON trace into the action record: command, upload and service."""

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from incidents.importers.agent_trace import TraceError, parse_trace
from incidents.models import AgentAction, AISystem, Incident, IncidentRevision
from incidents.services import review as review_services
from incidents.services.agent_trace import agent_trace_import

from .factories import (
    AgentActionFactory,
    otlp_trace,
    signed_in,
    snapshot_of,
)

pytestmark = pytest.mark.django_db

STATUS_ERROR = {"code": "STATUS_CODE_ERROR", "message": "connection reset"}
DELETE_CALL = {"tool": "run_shell", "arguments": {"command": "kubectl delete namespace prod"}}


@pytest.fixture
def draft(ada):
    return review_services.incident_create(
        snapshot=snapshot_of(title="Agent deletes the production namespace"), by=ada
    )


def trace_bytes(*calls, **options):
    return json.dumps(otlp_trace(*calls, **options), indent=2).encode()


def import_(incident, data, by, **options):
    latest = incident.latest_revision()
    return agent_trace_import(
        incident=incident,
        data=data,
        by=by,
        base_revision_number=latest.number if latest else 0,
        **options,
    )


def steps_of(incident):
    return list(AgentAction.objects.filter(incident=incident).order_by("position"))


# The service


def test_it_turns_each_tool_call_into_a_step_in_start_order(draft, ada):
    data = trace_bytes(
        {"tool": "read_file", "arguments": {"path": "config/db.yml"}, "second": 30},
        {"tool": "run_shell", "arguments": {"command": "psql -c 'DROP TABLE customers'"}},
        {"tool": "list_databases", "arguments": {"environment": "prod"}, "second": 2},
    )

    result = import_(draft, data, ada)

    steps = steps_of(draft)
    assert [step.tool for step in steps] == ["run_shell", "list_databases", "read_file"]
    assert [step.position for step in steps] == [1, 2, 3]
    assert steps[0].command == "psql -c 'DROP TABLE customers'"
    assert steps[0].action_class == AgentAction.ActionClass.DESTROY
    assert steps[2].target == "config/db.yml"
    assert steps[1].at == datetime(2025, 12, 1, 9, 0, 2, tzinfo=UTC)
    assert result.imported == 3 and result.revision.number == 2
    assert result.revision.author == ada
    assert "Imported 3 steps" in result.revision.note


def test_it_takes_the_agent_from_the_invoke_agent_span_above(draft, ada):
    import_(draft, trace_bytes(DELETE_CALL, agent="kiro"), ada)

    step = steps_of(draft)[0]
    assert step.ai_system.name == "kiro"
    assert AISystem.objects.filter(name="kiro").count() == 1


def test_it_matches_an_agent_to_the_incidents_own_ai_system(draft, ada):
    existing = AISystem.objects.create(name="Replit Agent")
    draft.ai_systems.add(existing)

    import_(draft, trace_bytes(DELETE_CALL, agent="replit agent"), ada)

    assert steps_of(draft)[0].ai_system == existing


def test_span_status_becomes_the_outcome(draft, ada):
    blocked = {"code": 2, "message": "Denied: deletion protection is on"}
    import_(
        draft,
        trace_bytes(
            {"tool": "read_file", "arguments": {"path": "a"}},
            {"tool": "run_shell", "arguments": {"command": "ls /nope"}, "status": STATUS_ERROR},
            {**DELETE_CALL, "status": blocked},
        ),
        ada,
    )

    outcomes = [(step.outcome, step.approval_gate) for step in steps_of(draft)]
    assert outcomes == [
        ("succeeded", "none"),
        ("failed", "none"),
        ("blocked", "blocked"),
    ]


def test_it_reads_the_one_document_per_line_form(draft, ada):
    # Two agent runs, so two traces: span ids need only be unique within their trace.
    lines = "\n".join(
        json.dumps(otlp_trace({"tool": tool, "arguments": {"path": tool}}, trace_id=trace_id))
        for tool, trace_id in [("read_file", "1" * 32), ("write_file", "2" * 32)]
    )

    result = import_(draft, lines.encode(), ada)

    assert result.imported == 2


def test_it_replaces_the_action_record_unless_asked_to_append(draft, ada):
    import_(draft, trace_bytes({"tool": "read_file", "arguments": {"path": "a"}}), ada)

    import_(draft, trace_bytes(DELETE_CALL), ada, append=True)
    assert [step.tool for step in steps_of(draft)] == ["read_file", "run_shell"]

    result = import_(draft, trace_bytes(DELETE_CALL), ada)
    assert [step.tool for step in steps_of(draft)] == ["run_shell"]
    assert result.replaced == 2


def test_importing_the_same_trace_again_adds_no_revision(draft, ada):
    import_(draft, trace_bytes(DELETE_CALL), ada)

    again = import_(draft, trace_bytes(DELETE_CALL), ada)

    assert not again.changed
    assert IncidentRevision.objects.filter(incident=draft).count() == 2


def test_it_never_publishes_and_the_public_page_waits_for_review(draft, ada, rui, olga_client):
    incident = draft
    review_services.review_submit(incident=incident, by=ada)
    review_services.review_approve_and_publish(incident=incident, by=rui)

    import_(incident, trace_bytes(DELETE_CALL), ada)

    incident.refresh_from_db()
    assert incident.status == Incident.Status.PUBLISHED
    assert incident.has_unpublished_changes()
    assert steps_of(incident) == []  # the public still reads the approved revision
    page = olga_client.get(incident.get_absolute_url()).text
    assert "kubectl delete namespace prod" not in page


def test_a_stale_starting_point_is_refused_as_a_conflict(draft, ada):
    with pytest.raises(review_services.Conflict):
        agent_trace_import(
            incident=draft, data=trace_bytes(DELETE_CALL), by=ada, base_revision_number=0
        )
    assert steps_of(draft) == []


def test_only_reporters_may_import(draft, vic):
    with pytest.raises(review_services.NotAllowed):
        import_(draft, trace_bytes(DELETE_CALL), vic)


# Refused files: a clear error naming the place, and nothing written


def refused(draft, ada, data):
    revisions_before = IncidentRevision.objects.count()
    systems_before = AISystem.objects.count()
    with pytest.raises(TraceError) as error:
        import_(draft, data, ada)
    assert IncidentRevision.objects.count() == revisions_before
    assert AISystem.objects.count() == systems_before
    assert steps_of(draft) == []
    return str(error.value)


def test_a_truncated_file_is_refused_as_truncated(draft, ada):
    data = trace_bytes(DELETE_CALL, {"tool": "read_file", "arguments": {"path": "x"}})

    message = refused(draft, ada, data[: len(data) // 2])

    assert "truncated" in message
    assert "line" in message and "column" in message


def test_malformed_json_is_refused_with_line_and_column(draft, ada):
    text = trace_bytes(DELETE_CALL).decode()
    broken = text.index('"name": "execute_tool')
    line = text.count("\n", 0, broken) + 1
    column = broken - text.rindex("\n", 0, broken) + len('"name" ')  # where ":" was expected
    text = text[:broken] + text[broken:].replace('"name": ', '"name" ', 1)

    message = refused(draft, ada, text.encode())

    assert f"Not valid JSON at line {line}, column {column}: Expecting ':' delimiter." in message


def test_a_span_that_breaks_the_otlp_schema_is_named_by_its_index(draft, ada):
    document = otlp_trace(DELETE_CALL, {"tool": "read_file", "arguments": {"path": "x"}})
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][2]["kind"] = "SPAN_KIND_SIDEWAYS"

    message = refused(draft, ada, json.dumps(document).encode())

    assert message.startswith("Span 3 (resourceSpans[0].scopeSpans[0].spans[2])")
    assert "SPAN_KIND_SIDEWAYS" in message


def test_ids_must_be_hex_as_otlp_json_writes_them(draft, ada):
    document = otlp_trace(DELETE_CALL)
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    span["spanId"] = "AAAAAAAAAAE="  # base64, as the plain protobuf JSON mapping would have it

    message = refused(draft, ada, json.dumps(document).encode())

    assert "Span 2" in message and "spanId must be 16 hexadecimal digits" in message


def test_a_trace_without_tool_calls_is_refused(draft, ada):
    document = otlp_trace()

    message = refused(draft, ada, json.dumps(document).encode())

    assert "None of the 1 spans is a tool call" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The file is empty."),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "'resourceSpans' list"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": "none"}]}]}', "scopeSpans[0]"),
    ],
)
def test_files_that_are_not_otlp_traces_are_refused(draft, ada, data, expected):
    assert expected in refused(draft, ada, data)


def test_enum_values_may_be_given_as_numbers():
    document = otlp_trace({**DELETE_CALL, "status": {"code": 2}})
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["kind"] = 3

    (step,) = parse_trace(json.dumps(document))

    assert step.outcome == "failed"


# The command


def test_the_command_imports_by_number_or_slug_and_prints_a_summary(draft, ada, tmp_path, capsys):
    path = tmp_path / "trace.json"
    path.write_bytes(trace_bytes(DELETE_CALL, {"tool": "read_file", "arguments": {"path": "x"}}))
    out, err = StringIO(), StringIO()

    call_command(
        "import_agent_trace", str(draft.number), str(path), user="ada", stdout=out, stderr=err
    )
    call_command("import_agent_trace", draft.slug, str(path), user="ada", stdout=out, stderr=err)

    assert "Imported 2 steps (1 destroy, 1 read) as revision 2." in out.getvalue()
    assert "already holds these 2 steps" in out.getvalue()
    assert "3/3" in capsys.readouterr().err  # the progress bar, counting every span
    assert len(steps_of(draft)) == 2


def test_the_command_refuses_a_broken_file_and_writes_nothing(draft, ada, tmp_path):
    path = tmp_path / "trace.json"
    path.write_text('{"resourceSpans": [')

    with pytest.raises(CommandError, match="truncated"):
        call_command("import_agent_trace", str(draft.number), str(path), user="ada", verbosity=0)
    assert IncidentRevision.objects.filter(incident=draft).count() == 1


@pytest.mark.parametrize(
    ("incident", "user", "message"),
    [("9999", "ada", "No incident '9999'"), (None, "nobody", "No user named 'nobody'")],
)
def test_the_command_names_what_it_cannot_find(draft, ada, tmp_path, incident, user, message):
    path = tmp_path / "trace.json"
    path.write_bytes(trace_bytes(DELETE_CALL))
    with pytest.raises(CommandError, match=message):
        call_command(
            "import_agent_trace", incident or str(draft.number), str(path), user=user, verbosity=0
        )


# The upload on the edit page


def upload(client, incident, data, **fields):
    latest = incident.latest_revision()
    return client.post(
        reverse("agent_trace_upload", args=[incident.number]),
        {
            "trace": SimpleUploadedFile("trace.json", data, content_type="application/json"),
            "based_on": latest.number if latest else 0,
            **fields,
        },
        follow=True,
    )


def test_the_edit_page_offers_the_trace_upload(draft, ada):
    page = signed_in(ada).get(reverse("incident_edit", args=[draft.number])).text

    assert 'enctype="multipart/form-data"' in page
    assert reverse("agent_trace_upload", args=[draft.number]) in page
    assert '<label for="id_trace">OTLP JSON trace file</label>' in page


def test_uploading_a_trace_saves_a_revision_and_says_so(draft, ada):
    response = upload(signed_in(ada), draft, trace_bytes(DELETE_CALL))

    assert response.redirect_chain[-1][0].endswith(
        f"/postmortems/{draft.number}/edit/#trace-import"
    )
    assert "Imported 1 step (1 destroy) as revision 2." in response.text
    assert steps_of(draft)[0].command == "kubectl delete namespace prod"
    # The edit form now starts from the imported steps.
    assert "kubectl delete namespace prod</textarea>" in response.text


def test_uploading_a_broken_trace_shows_where_it_broke(draft, ada):
    response = upload(signed_in(ada), draft, b'{"resourceSpans": [{"scopeSpans": [')

    assert response.status_code == 200
    assert "The trace was not imported: The file ends too early at line 1" in response.text
    assert steps_of(draft) == []


def test_uploading_after_someone_else_saved_is_refused(draft, ada):
    client = signed_in(ada)
    response = client.post(
        reverse("agent_trace_upload", args=[draft.number]),
        {"trace": SimpleUploadedFile("t.json", trace_bytes(DELETE_CALL)), "based_on": 0},
        follow=True,
    )

    assert "revision 1 was saved while you were on this page" in response.text
    assert steps_of(draft) == []


def test_uploading_needs_a_file(draft, ada):
    response = signed_in(ada).post(
        reverse("agent_trace_upload", args=[draft.number]), {"based_on": 1}, follow=True
    )

    assert "The trace was not imported: This field is required." in response.text


def test_only_reporters_can_upload(draft, reader, vic_client):
    url = reverse("agent_trace_upload", args=[draft.number])

    assert vic_client.post(url, {}).status_code == 403
    assert reader.post(url, {}).status_code == 302  # to the sign-in page
    assert AgentActionFactory._meta.model.objects.count() == 0


def test_the_uploaded_file_is_not_kept(draft, ada, settings, tmp_path):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload goes through a temporary file
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.MEDIA_ROOT = str(tmp_path / "media")

    response = upload(signed_in(ada), draft, trace_bytes(DELETE_CALL))

    assert "Imported 1 step" in response.text
    assert list(tmp_path.iterdir()) == []


def test_json_nested_too_deeply_is_refused_not_a_crash(draft, ada):
    data = b'{"resourceSpans": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    message = refused(draft, ada, data)

    assert "nested more than 64 levels deep" in message


def test_json_nested_a_little_too_deeply_is_refused_too(draft, ada):
    document = otlp_trace(DELETE_CALL)
    value = {"stringValue": "bottom"}
    for _ in range(30):  # each kvlist level is three levels of JSON
        value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    span["attributes"].append({"key": "deep", "value": value})

    message = refused(draft, ada, json.dumps(document).encode())

    assert "nested more than 64 levels deep" in message


def test_tool_arguments_nested_too_deeply_are_kept_as_text(draft, ada):
    arguments = "[" * 30_000 + "]" * 30_000

    import_(draft, trace_bytes({"tool": "run_shell", "arguments": arguments}), ada)

    assert steps_of(draft)[0].command == arguments


def test_a_repeated_span_id_is_refused_naming_both_spans(draft, ada):
    document = otlp_trace(DELETE_CALL, {"tool": "read_file", "arguments": {"path": "x"}})
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[2]["spanId"] = spans[1]["spanId"]

    message = refused(draft, ada, json.dumps(document).encode())

    assert message.startswith("Span 3 (resourceSpans[0].scopeSpans[0].spans[2])")
    assert f"spanId {spans[1]['spanId']} is also the id of span 2" in message


@pytest.mark.parametrize(
    ("call", "field", "limit"),
    [
        ({"tool": "run_shell", "arguments": {"command": "x" * 10_000_000}}, "command", "100,000"),
        ({"tool": "t" * 201, "arguments": {"command": "ls"}}, "gen_ai.tool.name", "200"),
    ],
    ids=["10mb-command", "long-tool-name"],
)
def test_a_field_longer_than_the_record_holds_is_refused_naming_the_span(
    draft, ada, call, field, limit
):
    message = refused(draft, ada, trace_bytes(call))

    assert message.startswith("Span 2 (")
    assert field in message and f"at most {limit}" in message


def test_a_file_that_is_not_utf8_names_the_line_and_column(draft, ada):
    text = trace_bytes(DELETE_CALL, {"tool": "read_file", "arguments": {"path": "menu"}})
    broken = text.replace(b"menu", "menù".encode("latin-1"))  # saved by a Latin-1 editor
    line = broken[: broken.index(b"\xf9")].count(b"\n") + 1
    column = len(broken[: broken.index(b"\xf9")].rsplit(b"\n", 1)[-1]) + 1

    message = refused(draft, ada, broken)

    assert f"not UTF-8 text: line {line}, column {column}" in message


def test_uploading_a_trace_larger_than_the_web_allows_names_the_command(draft, ada, settings):
    data = trace_bytes(DELETE_CALL)
    settings.MAX_TRACE_BYTES = len(data) - 1

    response = upload(signed_in(ada), draft, data)

    assert "The trace was not imported: The file is larger than" in response.text
    assert "manage.py import_agent_trace" in response.text
    assert steps_of(draft) == []


def test_a_large_trace_never_reaches_the_parser(draft, ada, settings, monkeypatch):
    settings.MAX_TRACE_BYTES = 1000
    read = []
    monkeypatch.setattr(
        "incidents.services.agent_trace.parse_trace",
        lambda data, progress=None: read.append(len(data)),
    )

    upload(signed_in(ada), draft, b" " * 1001)

    assert read == []
