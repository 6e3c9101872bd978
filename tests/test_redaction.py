"""Secrets in an agent's commands never reach the database, logs or error messages."""

import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from incidents.importers.agent_trace import TraceError, parse_trace
from incidents.models import AgentAction, IncidentRevision
from incidents.redaction import MASK, RULES, redact
from incidents.services import review as review_services
from incidents.services.agent_trace import agent_trace_import

from .factories import otlp_trace, signed_in, snapshot_of
from .test_filing import form_values

PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi7KZ5H0bT8LzvvJvOxVoCZmBfp\n"
    "-----END RSA PRIVATE KEY-----"
)
# kind -> (a command as an agent might run it, the secret in it)
SECRETS = {
    "AWS access key id": (
        "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE",
        "AKIAIOSFODNN7EXAMPLE",
    ),
    "AWS secret access key": (
        "aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    "GitHub token": (
        "git clone https://ghp_R2d2C3poBb8Yoda0Luke1Leia2Han3Solo4Chewie@github.com/acme/app",
        "ghp_R2d2C3poBb8Yoda0Luke1Leia2Han3Solo4Chewie",
    ),
    "GitHub fine-grained token": (
        "gh auth login --with-token github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789",
    ),
    "Slack token": (
        "slack-cli chat send --as xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    "Slack webhook": (
        "curl -X POST https://hooks.slack.com/services/T0AAAA1/B0BBBB2/c3CCcccCCCccccCCCC",
        "hooks.slack.com/services/T0AAAA1/B0BBBB2/c3CCcccCCCccccCCCC",
    ),
    "JSON web token": (
        "kubectl --token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.dozjgNryP4J3jVmNHl0w5N get pods",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9",
    ),
    "password in a connection string": (
        "psql postgres://admin:Tr0ub4dor&3@prod-db.internal:5432/app -c 'select 1'",
        "Tr0ub4dor&3",
    ),
    "password in a MySQL URL": (
        "mysqldump mysql://root:correcthorsebattery@db/app > dump.sql",
        "correcthorsebattery",
    ),
    "exported secret": (
        "export PAYMENTS_WEBHOOK_SECRET=whsec_9f8e7d6c5b4a && ./deploy.sh",
        "whsec_9f8e7d6c5b4a",
    ),
    "API key assignment": ("API_KEY=abcd1234efgh5678 ./run-evals.sh", "abcd1234efgh5678"),
    "password option": ("mysql -u root --password s3cretpw db", "s3cretpw"),
    "secret in JSON arguments": ('{"db_password": "pa55w0rd!"}', "pa55w0rd!"),
    "Authorization header": (
        'curl -H "Authorization: Basic dXNlcjpodW50ZXIy" https://api.example.com/v1/export',
        "dXNlcjpodW50ZXIy",
    ),
    "Bearer token": (
        "http GET api.example.com/users 'Authorization:Bearer 7f3a9c1e5b2d4f6a8c0e'",
        "7f3a9c1e5b2d4f6a8c0e",
    ),
    "private key block": (f"cat > id_rsa <<'EOF'\n{PRIVATE_KEY}\nEOF", "MIIEpAIBAAKCAQEA3Tz2mr7"),
    "OpenAI key": (
        "llm -m gpt-4o --key sk-proj-Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Ab3De5Gh7 'hello'",
        "sk-proj-Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Ab3De5Gh7",
    ),
    "Stripe key": (
        "stripe charges create --amount 500 --api-key sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    ),
    # Formats only detect-secrets knows: the library layer is doing the work here.
    "SendGrid key (detect-secrets)": (
        "sendgrid send 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",
        "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",
    ),
    "Twilio key (detect-secrets)": (
        "twilio api:core:messages:create --key SK0123456789abcdef0123456789abcdef",
        "SK0123456789abcdef0123456789abcdef",
    ),
}
KINDS = list(SECRETS)


@pytest.fixture
def draft(ada):
    return review_services.incident_create(
        snapshot=snapshot_of(title="Agent leaks credentials"), by=ada
    )


def with_secret_in_kind(command):
    """A trace whose second span has the text as its kind, so the parser's error quotes it."""
    document = otlp_trace({"tool": "run_shell", "arguments": {"command": "ls"}})
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["kind"] = command
    return json.dumps(document)


@pytest.mark.parametrize("kind", KINDS)
def test_redact_removes_each_kind_of_secret(kind):
    command, secret = SECRETS[kind]

    redacted = redact(command)

    assert secret not in redacted
    assert MASK in redacted


def test_the_detect_secrets_only_formats_are_not_caught_by_our_own_rules():
    for kind in ("SendGrid key (detect-secrets)", "Twilio key (detect-secrets)"):
        command, secret = SECRETS[kind]
        assert not any(pattern.search(command) for _, pattern, _ in RULES), kind
        assert secret not in redact(command)


def test_our_own_rules_catch_what_detect_secrets_reports_only_in_part():
    # detect-secrets reports "ghp" for a GitHub token and a JWT without its signature.
    command, secret = SECRETS["GitHub token"]
    assert any(pattern.search(command) for _, pattern, _ in RULES)
    assert redact("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl") == f"token {MASK}"


def test_ordinary_commands_are_left_alone():
    for command in [
        "rm -rf /var/lib/postgresql/data",
        "kubectl delete namespace payments-staging",
        "SELECT id, email FROM customers ORDER BY id LIMIT 10",
        "terraform apply -auto-approve -target=module.db",
        "git push origin main",
    ]:
        assert redact(command) == command


@pytest.mark.parametrize("kind", KINDS)
def test_a_secret_in_a_tool_call_is_never_stored(draft, ada, kind):
    command, secret = SECRETS[kind]
    trace = otlp_trace(
        {"tool": "run_shell", "arguments": {"command": command, "target": command}},
        {"tool": "run_shell", "arguments": command},
    )

    agent_trace_import(incident=draft, data=json.dumps(trace), by=ada, base_revision_number=1)

    steps = AgentAction.objects.filter(incident=draft)
    assert steps.count() == 2
    for step in steps:
        assert secret not in f"{step.tool} {step.command} {step.target}"
        assert MASK in step.command
    revision = IncidentRevision.objects.get(incident=draft, number=2)
    assert secret not in json.dumps(revision.data)


@pytest.mark.parametrize("kind", KINDS)
def test_a_secret_quoted_by_a_refused_trace_is_not_in_the_error(kind):
    command, secret = SECRETS[kind]

    with pytest.raises(TraceError) as error:
        parse_trace(with_secret_in_kind(command))

    assert "Span 2" in str(error.value)
    assert secret not in str(error.value)


def test_the_command_and_the_upload_show_errors_without_secrets(draft, ada, tmp_path, caplog):
    command, secret = SECRETS["password in a connection string"]
    path = tmp_path / "trace.json"
    path.write_text(with_secret_in_kind(command))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(CommandError) as error:
        call_command("import_agent_trace", str(draft.number), str(path), user="ada", verbosity=0)
    response = signed_in(ada).post(
        reverse("agent_trace_upload", args=[draft.number]),
        {"trace": SimpleUploadedFile("t.json", path.read_bytes()), "based_on": 1},
        follow=True,
    )

    assert "Invalid enum value psql postgres://admin:[REDACTED]@prod-db" in str(error.value)
    assert "postgres://admin:[REDACTED]@prod-db" in response.text
    assert secret not in str(error.value)
    assert secret not in response.text
    assert secret not in caplog.text


def test_a_secret_typed_into_the_filing_form_is_stored_redacted(draft, ada):
    client = signed_in(ada)
    url = reverse("incident_edit", args=[draft.number])
    data = form_values(client.get(url))
    command, secret = SECRETS["exported secret"]
    data.update({"agent_actions-0-tool": "run_shell", "agent_actions-0-command": command})

    response = client.post(url, data)

    assert response.status_code == 302
    (step,) = AgentAction.objects.filter(incident=draft)
    assert step.command == "export PAYMENTS_WEBHOOK_SECRET=[REDACTED] && ./deploy.sh"
    assert secret not in json.dumps(draft.latest_revision().data)


def test_a_secret_at_the_end_of_a_long_target_is_redacted_before_it_is_shortened(draft, ada):
    target = "x" * 490 + " AKIAIOSFODNN7EXAMPLE"
    trace = otlp_trace({"tool": "s3", "arguments": {"command": "aws s3 ls", "target": target}})

    agent_trace_import(incident=draft, data=json.dumps(trace), by=ada, base_revision_number=1)

    stored = AgentAction.objects.get(incident=draft).target
    assert len(stored) == 500
    assert "AKIA" not in stored
