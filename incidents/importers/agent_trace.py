"""An agent's trace in OTLP JSON, read into the steps of an action record.

The file is what an OpenTelemetry exporter writes: one `{"resourceSpans": [...]}` document
(an ExportTraceServiceRequest), or one such document per line. Each span is validated against
the OpenTelemetry protobuf definitions. Tool calls are the spans of the GenAI semantic
conventions: `execute_tool` spans carry `gen_ai.tool.name` and `gen_ai.tool.call.arguments`;
the agent is `gen_ai.agent.name` on the span or on the `invoke_agent` span above it.

Everything read from the file is redacted before it leaves this module, error messages too.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf import json_format
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from incidents.models import AgentAction, AISystem
from incidents.redaction import redact, redact_many
from incidents.untrusted import Unreadable, decode, field_limit, load_json

EXECUTE_TOOL = "execute_tool"
INVOKE_AGENT = "invoke_agent"
# Argument keys holding the command as executed, and the resource it acted on, in order of trust.
COMMAND_KEYS = ["command", "cmd", "query", "sql", "script", "code", "input"]
TARGET_KEYS = ["target", "resource", "path", "file_path", "file", "filename", "table",
               "database", "bucket", "namespace", "volume", "volume_id", "volumeId", "url",
               "host", "to", "recipient", "id"]  # fmt: skip
BLOCKED = re.compile(r"(?i)\b(blocked|denied|not permitted|forbidden|refused|requires approval)\b")
ID_LENGTHS = {"traceId": 32, "spanId": 16, "parentSpanId": 16}
MAX_EXCERPT = 120


class TraceError(ValueError):
    """The file is not a readable OTLP JSON trace; the message says where, secrets removed."""

    def __init__(self, message):
        super().__init__(redact(message))


@dataclass
class Step:
    at: datetime | None
    agent: str
    tool: str
    command: str
    target: str
    outcome: str  # AgentAction.Outcome values


def parse_trace(data, progress=None):
    """The tool calls of an OTLP JSON trace as steps, ordered by start time.

    `data` is bytes or text; `progress(done, total)` is called as spans are validated.
    Raises TraceError naming the line and column, or the span, where the file is wrong.
    """
    documents = _documents(_text(data))
    spans = list(_span_dicts(documents))
    if not spans:
        raise TraceError("The trace holds no spans.")
    parsed, by_id, position = [], {}, {}
    for index, (where, raw) in enumerate(spans):
        span = _span(index, where, raw)
        key = (span.trace_id, span.span_id)
        if key in position:
            # A repeated id makes a child's parentSpanId ambiguous, and guessing which of the
            # two is real could drop a tool call or count one twice.
            raise TraceError(
                f"Span {index + 1} ({where}): spanId {span.span_id.hex()} is also the id of "
                f"span {position[key] + 1} of the same trace; every span needs an id of its own."
            )
        position[key] = index
        parsed.append((span, _attributes(span.attributes)))
        by_id[key] = parsed[-1]
        if progress:
            progress(index + 1, len(spans))
    steps = [
        (span.start_time_unix_nano, index, _step(index, span, attributes, by_id))
        for index, (span, attributes) in enumerate(parsed)
        if _operation(span, attributes) == EXECUTE_TOOL
    ]
    if not steps:
        raise TraceError(
            f"None of the {len(parsed)} spans is a tool call: expected `execute_tool` spans "
            "with a gen_ai.tool.name attribute (OpenTelemetry GenAI semantic conventions)."
        )
    steps.sort(key=lambda item: (item[0], item[1]))
    ordered = [step for _, _, step in steps]
    texts = redact_many([text for s in ordered for text in (s.agent, s.tool, s.command, s.target)])
    for number, step in enumerate(ordered):
        agent, tool, step.command, target = texts[number * 4 : number * 4 + 4]
        # The target is an excerpt of the arguments, shortened to its field only now, so no
        # cut hides half a secret. Names too long were refused above; their cut only guards
        # against a redaction marker lengthening one.
        step.agent, step.tool, step.target = agent[:200], tool[:200], target[:500]
    return ordered


def _text(data):
    if isinstance(data, bytes):
        try:
            data = decode(data)
        except Unreadable as error:
            raise TraceError(
                f"The file is not UTF-8 text: line {error.line}, column {error.column}: "
                f"{error.problem}."
            ) from None
    if not data.strip():
        raise TraceError("The file is empty.")
    return data


def _documents(text):
    try:
        return [(0, _load(text))]
    except json.JSONDecodeError as error:
        if error.msg != "Extra data":
            raise TraceError(_json_problem(text, error, 0)) from None
    # One document per line, as the OpenTelemetry Collector's file exporter writes.
    documents = []
    for offset, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            documents.append((offset, _load(line, offset)))
        except json.JSONDecodeError as error:
            raise TraceError(_json_problem(line, error, offset)) from None
    return documents


def _load(text, line_offset=None):
    try:
        return load_json(text)
    except Unreadable as error:
        line = f" (document on line {line_offset + 1})" if line_offset is not None else ""
        raise TraceError(f"{error}{line}. Nothing was imported.") from None


def _json_problem(text, error, line_offset):
    line, column = error.lineno + line_offset, error.colno
    ends_early = error.pos >= len(text.rstrip())
    if ends_early:
        return (
            f"The file ends too early at line {line}, column {column} ({error.msg}): "
            "it looks truncated. Nothing was imported."
        )
    return f"Not valid JSON at line {line}, column {column}: {error.msg}. Nothing was imported."


def _span_dicts(documents):
    """(where, span dict) for every span of every document, in file order."""
    for line_offset, document in documents:
        line = f" (document on line {line_offset + 1})" if len(documents) > 1 else ""
        if not isinstance(document, dict) or not isinstance(document.get("resourceSpans"), list):
            raise TraceError(
                f"Expected an OTLP JSON object with a 'resourceSpans' list{line}. "
                "Export traces with an OTLP JSON exporter."
            )
        for r, resource_spans in enumerate(document["resourceSpans"]):
            where = f"resourceSpans[{r}]"
            if not isinstance(resource_spans, dict):
                raise TraceError(f"{where}{line}: expected an object.")
            _validate(Resource(), resource_spans.get("resource") or {}, f"{where}.resource{line}")
            scope_spans = resource_spans.get("scopeSpans", [])
            if not isinstance(scope_spans, list):
                raise TraceError(f"{where}.scopeSpans{line}: expected a list.")
            for s, scope in enumerate(scope_spans):
                spans = scope.get("spans", []) if isinstance(scope, dict) else None
                if not isinstance(spans, list):
                    raise TraceError(
                        f"{where}.scopeSpans[{s}]{line}: expected an object with a 'spans' list."
                    )
                for n, span in enumerate(spans):
                    yield f"{where}.scopeSpans[{s}].spans[{n}]{line}", span


def _validate(message, value, where):
    try:
        json_format.ParseDict(value, message)
    except (json_format.ParseError, TypeError, ValueError) as error:
        # Redacted before shortening, so no cut can leave half a secret unrecognisable.
        raise TraceError(f"{where}: {_short(redact(str(error)))}") from None
    return message


def _short(text):
    return text if len(text) <= MAX_EXCERPT * 2 else text[: MAX_EXCERPT * 2] + "…"


def _span(index, where, raw):
    """One span validated as an OTLP Span, with its hex ids read as the protobuf bytes."""
    label = f"Span {index + 1} ({where})"
    if not isinstance(raw, dict):
        raise TraceError(f"{label}: expected an object.")
    value = dict(raw)
    for key, length in ID_LENGTHS.items():
        value[key] = _id(value.get(key), key, length, label)
    if isinstance(value.get("links"), list):
        value["links"] = [_link(link, f"{label} link") for link in value["links"]]
    span = _validate(Span(), value, label)
    if not span.span_id:
        raise TraceError(f"{label}: spanId is missing.")
    return span


def _link(link, label):
    if not isinstance(link, dict):
        return link
    return {**link, **{key: _id(link.get(key), key, ID_LENGTHS[key], label) for key in ID_LENGTHS}}


def _id(value, key, length, label):
    """OTLP JSON writes ids as hex; protobuf's JSON mapping reads bytes as base64."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) != length:
        raise TraceError(f"{label}: {key} must be {length} hexadecimal digits.")
    try:
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    except ValueError:
        raise TraceError(f"{label}: {key} must be {length} hexadecimal digits.") from None


def _attributes(key_values):
    return {kv.key: _any(kv.value) for kv in key_values}


def _any(value):
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_any(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return binascii.hexlify(value.bytes_value).decode()
    return getattr(value, kind) if kind else None


def _operation(span, attributes):
    return attributes.get("gen_ai.operation.name") or span.name.split(" ", 1)[0]


def _step(index, span, attributes, by_id):
    tool = attributes.get("gen_ai.tool.name") or span.name.removeprefix(EXECUTE_TOOL).strip()
    if not isinstance(tool, str) or not tool:
        raise TraceError(
            f"Span {index + 1} ({span.name!r}): an execute_tool span needs gen_ai.tool.name."
        )
    command, target = _command_and_target(attributes.get("gen_ai.tool.call.arguments"))
    agent = str(attributes.get("gen_ai.agent.name") or _agent_above(span, by_id))
    for text, name, limit in [
        (tool, "gen_ai.tool.name", field_limit(AgentAction, "tool")),
        (agent, "gen_ai.agent.name", field_limit(AISystem, "name")),
        (command, "the command in gen_ai.tool.call.arguments", field_limit(AgentAction, "command")),
    ]:
        if len(text) > limit:
            raise TraceError(
                f"Span {index + 1} ({_short(span.name)!r}): {name} is {len(text):,} characters; "
                f"at most {limit:,} fit in the action record."
            )
    started = span.start_time_unix_nano
    at = datetime.fromtimestamp(started / 1e9, tz=UTC) if started else None
    return Step(
        at=at,
        agent=agent,
        tool=tool,
        command=command,
        target=target,
        outcome=_outcome(span, attributes),
    )


def _command_and_target(arguments):
    if isinstance(arguments, str):
        try:
            arguments = load_json(arguments)
        except (json.JSONDecodeError, Unreadable):
            return arguments, ""
    if not isinstance(arguments, dict):
        return ("" if arguments is None else json.dumps(arguments)), ""
    command = next(
        (str(arguments[key]) for key in COMMAND_KEYS if isinstance(arguments.get(key), str | int)),
        None,
    )
    if command is None:
        command = json.dumps(arguments, sort_keys=True, ensure_ascii=False)
    target = next((str(arguments[key]) for key in TARGET_KEYS if arguments.get(key)), "")
    return command, target


def _agent_above(span, by_id):
    """The agent named by the nearest invoke_agent span above, within the span's trace."""
    seen = set()
    parent, attributes = by_id.get((span.trace_id, span.parent_span_id), (None, None))
    while parent is not None and parent.span_id not in seen:
        seen.add(parent.span_id)
        if _operation(parent, attributes) == INVOKE_AGENT and attributes.get("gen_ai.agent.name"):
            return attributes["gen_ai.agent.name"]
        parent, attributes = by_id.get((span.trace_id, parent.parent_span_id), (None, None))
    return ""


def _outcome(span, attributes):
    if span.status.code != Status.STATUS_CODE_ERROR:
        return "succeeded"
    reason = f"{span.status.message} {attributes.get('error.type') or ''}"
    return "blocked" if BLOCKED.search(reason) else "failed"
