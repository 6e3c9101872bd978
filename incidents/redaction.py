"""Secrets never reach storage, logs or error messages: every text taken from an agent's trace
or typed as a command goes through `redact` before anything is written.

Two layers: our own patterns, which replace the whole secret (detect-secrets reports some
secrets only in part, such as the first characters of a GitHub token or a JWT without its
signature), then detect-secrets' detectors for the many vendor formats it knows. Its entropy
detectors are left out: on shell commands and SQL they flag ordinary words.
"""

import re
from functools import lru_cache

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.settings import get_plugins, transient_settings

MASK = "[REDACTED]"

# Detectors that report things which are not secrets, or that flag every other word.
SKIPPED_DETECTORS = {"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"}

_SECRET_NAME = (
    r"[A-Za-z0-9_.-]*"
    r"(?:SECRET|TOKEN|PASSWORD|PASSWD|PASS|PWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)"
    r"[A-Za-z0-9_.-]*"
)

# (name, pattern, replacement). Replacements keep what says what the value was for.
RULES = [
    (
        "private key block",
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
        MASK,
    ),
    (
        "authorization header",
        re.compile(
            r"(?i)\b((?:proxy-)?authorization\s*[:=]\s*)(?:(basic|bearer|token|digest)\s+)?[^\s'\",;]+"
        ),
        lambda m: f"{m[1]}{m[2] + ' ' if m[2] else ''}{MASK}",
    ),
    ("bearer token", re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\g<1>{MASK}"),
    (
        "password in a connection string",
        re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/?#@\s'\"]*:)([^@/\s'\"]+)(@)"),
        rf"\g<1>{MASK}\g<3>",
    ),
    (
        "JSON web token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        MASK,
    ),
    (
        "AWS access key id",
        re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"),
        MASK,
    ),
    (
        "AWS secret access key",
        re.compile(
            r"(?i)(aws_?secret_?(?:access_?)?key(?:_id)?\W{0,5}|secret_?access_?key\W{0,5})[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
        ),
        rf"\g<1>{MASK}",
    ),
    (
        "GitHub token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
        MASK,
    ),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), MASK),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), MASK),
    ("Slack webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+"), MASK),
    ("OpenAI or Anthropic key", re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}"), MASK),
    ("Stripe key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"), MASK),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), MASK),
    ("npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), MASK),
    (
        "secret assignment",
        # export X_SECRET=..., API_KEY=..., --password=..., "api_key": "...", password: ...
        re.compile(
            rf"(?i)((?:\bexport\s+|\bset\s+|--)?\b{_SECRET_NAME}\b[\"']?\s*(?:=|:)\s*)"
            r"(?!\[REDACTED\])(?!(?:basic|bearer|token|digest)\s)"
            r"(?:\"[^\"]*\"|'[^']*'|[^\s'\",;&|)]+)"
        ),
        rf"\g<1>{MASK}",
    ),
    (
        "secret option",
        # --password hunter2, -p'hunter2' as in mysql, --token abc
        re.compile(r"(?i)(\s--?(?:password|passwd|token|secret|api-key|apikey)\s+)(?!-)[^\s'\"]+"),
        rf"\g<1>{MASK}",
    ),
]


@lru_cache(maxsize=1)
def _detector_settings():
    names = [cls.__name__ for cls in get_mapping_from_secret_type_to_class().values()]
    return {
        "plugins_used": [{"name": name} for name in names if name not in SKIPPED_DETECTORS],
        "filters_used": [],
    }


def redact(text):
    """The text with every secret replaced by [REDACTED]."""
    return redact_many([text])[0]


def redact_many(texts):
    """`redact` for many texts at once: detect-secrets is set up once for all of them, and a
    text that repeats (a tool name, an agent) is looked at once."""
    done = {}
    with transient_settings(_detector_settings()):
        plugins = get_plugins()
        for text in texts:
            if text not in done:
                done[text] = _redact(text, plugins)
    return [done[text] for text in texts]


def _redact(text, plugins):
    if not text:
        return text
    for _name, pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    found = set()
    for line in text.splitlines():
        # Each detector is asked directly: detect-secrets' own scan_line spends most of its
        # time inspecting call signatures, which matters for a trace of 10,000 commands.
        for secret in _scan(line, plugins):
            value = secret.secret_value
            # Short values are fragments (e.g. "ghp"); our own rules cover those formats.
            if value and len(value) >= 6 and MASK not in value:
                found.add(value)
    for value in sorted(found, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def _scan(line, plugins):
    for plugin in plugins:
        yield from plugin.analyze_line(filename="adhoc-string-scan", line=line, line_number=0)
