"""Time to import a 10,000-span agent trace into an incident's action record.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python benchmarks/trace_import.py

Builds a scratch database (see _scratch.py; BENCH_DATABASE names it), files one postmortem,
generates an OTLP JSON trace of one invoke_agent span and BENCH_SPANS - 1 execute_tool spans
(shell, SQL, file and HTTP calls, some carrying secrets), and imports it the way
`manage.py import_agent_trace` does: parse and validate every span with the OpenTelemetry
protobuf definitions, redact, classify, save a revision and write the steps. Prints the time
of each part and of the whole. Without DATABASE_URL it runs on a temporary SQLite file.
"""

import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402

SPANS = int(os.environ.get("BENCH_SPANS", "10000"))
START_NS = 1_764_579_600_000_000_000
COMMANDS = [
    ("run_shell", {"command": "kubectl get pods -n payments-{n}"}),
    ("run_shell", {"command": "rm -rf /srv/cache/{n}"}),
    ("execute_sql", {"query": "SELECT id, email FROM customers WHERE id = {n}"}),
    ("execute_sql", {"query": "DELETE FROM sessions WHERE id = {n}"}),
    ("read_file", {"path": "src/module_{n}.py"}),
    ("write_file", {"path": "src/module_{n}.py", "content": "print({n})"}),
    ("run_shell", {"command": "export API_TOKEN=tok_{n}abcdef123456 && ./deploy.sh"}),
    ("http_request", {"command": "curl -X POST https://api.example.com/upload -d @dump{n}.sql"}),
    ("run_shell", {"command": "psql postgres://app:Secret{n}Pw@db.internal/app -c 'select 1'"}),
    ("run_shell", {"command": "terraform apply -auto-approve -target=module.env{n}"}),
]


def trace(spans):
    def attribute(key, value):
        return {"key": key, "value": {"stringValue": value}}

    root = "a1" * 8
    rows = [
        {
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": root,
            "name": "invoke_agent bench-agent",
            "kind": 1,
            "startTimeUnixNano": str(START_NS),
            "endTimeUnixNano": str(START_NS + 86_400 * 10**9),
            "attributes": [
                attribute("gen_ai.operation.name", "invoke_agent"),
                attribute("gen_ai.agent.name", "bench-agent"),
            ],
        }
    ]
    random.seed(9)
    for n in range(1, spans):
        tool, arguments = random.choice(COMMANDS)
        arguments = {key: value.format(n=n) for key, value in arguments.items()}
        start = START_NS + n * 10**9
        rows.append(
            {
                "traceId": "5b8efff798038103d269b633813fc60c",
                "spanId": f"{n:016x}",
                "parentSpanId": root,
                "name": f"execute_tool {tool}",
                "kind": "SPAN_KIND_INTERNAL",
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + 5 * 10**8),
                "attributes": [
                    attribute("gen_ai.operation.name", "execute_tool"),
                    attribute("gen_ai.tool.name", tool),
                    attribute("gen_ai.tool.call.arguments", json.dumps(arguments)),
                ],
                "status": {"code": 2 if n % 50 == 0 else 0},
            }
        )
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": rows}]}]}


def main():
    cleanup = _scratch.setup()
    try:
        from django.contrib.auth.models import Group, User

        from incidents import revisions
        from incidents.importers.agent_trace import parse_trace
        from incidents.models import AgentAction, Incident
        from incidents.services import review
        from incidents.services.agent_trace import agent_trace_import

        reporter = User.objects.create(username="bench-reporter")
        reporter.groups.add(Group.objects.get(name="reporter"))
        blank = Incident()
        fields = {
            name: getattr(blank, Incident._meta.get_field(name).attname)
            for name in revisions.EDITABLE_FIELDS
        }
        fields["title"] = "Benchmark: an agent's long trace"
        incident = review.incident_create(
            snapshot=revisions.from_values(fields, {}, {}), by=reporter
        )
        data = json.dumps(trace(SPANS)).encode()
        database = "PostgreSQL" if "postgres" in os.environ["DATABASE_URL"] else "SQLite"
        print(f"{SPANS:,} spans, {len(data) / 1e6:.1f} MB of OTLP JSON, on {database}")

        started = time.perf_counter()
        steps = parse_trace(data)
        parsed = time.perf_counter() - started

        started = time.perf_counter()
        result = agent_trace_import(
            incident=incident, data=data, by=reporter, base_revision_number=1
        )
        total = time.perf_counter() - started

        stored = AgentAction.objects.filter(incident=incident).count()
        redacted = AgentAction.objects.filter(incident=incident, command__contains="[REDACTED]")
        print(_scratch.table(
            [
                ["parse, validate and redact", f"{parsed:.2f}", f"{len(steps) / parsed:,.0f}"],
                ["whole import (again parsing)", f"{total:.2f}", f"{stored / total:,.0f}"],
            ],
            ["step", "seconds", "steps per second"],
        ))  # fmt: skip
        print(f"{stored:,} steps stored as revision {result.revision.number}; "
              f"{redacted.count():,} commands had a secret redacted.")  # fmt: skip
    finally:
        cleanup()


if __name__ == "__main__":
    main()
