"""Settings read from the environment fail loudly on a value they do not understand."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.settings import env_bool, env_int, env_matching

VARIABLE = "BLAST_RADIUS_TEST_SETTING"


def start(command, **environment):
    """Run a Python command in a fresh process, as starting the site would."""
    return subprocess.run(
        [sys.executable, *command],
        cwd=settings.BASE_DIR,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_settings(*names, **environment):
    names_list = ", ".join(names)
    return start(
        ["-c", f"from config.settings import {names_list}; print({names_list})"], **environment
    )


@pytest.mark.parametrize("default", [True, False])
@pytest.mark.parametrize("value", [None, ""])
def test_env_bool_unset_or_empty_gives_the_default(monkeypatch, value, default):
    if value is None:
        monkeypatch.delenv(VARIABLE, raising=False)
    else:
        monkeypatch.setenv(VARIABLE, value)
    assert env_bool(VARIABLE, default=default) is default


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("True", True),
        ("YES", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("FALSE", False),
        ("No", False),
        ("off", False),
    ],
)
def test_env_bool_understands_the_usual_words_in_any_case(monkeypatch, value, expected):
    monkeypatch.setenv(VARIABLE, value)
    assert env_bool(VARIABLE, default=not expected) is expected


@pytest.mark.parametrize("value", ["ture", "yes ", " 1", "y", "2", "enabled", "none"])
def test_env_bool_refuses_anything_else_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(VARIABLE, value)
    with pytest.raises(ImproperlyConfigured) as error:
        env_bool(VARIABLE, default=True)
    message = str(error.value)
    assert VARIABLE in message
    assert repr(value) in message
    assert "1, true, yes, on, 0, false, no, off" in message


@pytest.mark.parametrize("value", [None, ""])
def test_env_int_unset_or_empty_gives_the_default(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(VARIABLE, raising=False)
    else:
        monkeypatch.setenv(VARIABLE, value)
    assert env_int(VARIABLE, 600) == 600


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("25", 25), ("31536000", 31536000)])
def test_env_int_reads_a_whole_number(monkeypatch, value, expected):
    monkeypatch.setenv(VARIABLE, value)
    assert env_int(VARIABLE, 600) == expected


@pytest.mark.parametrize("value", ["ten", "6OO", "1.5", "-1", " 25", "25 ", "1_000", "1e3"])
def test_env_int_refuses_anything_else_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(VARIABLE, value)
    with pytest.raises(ImproperlyConfigured) as error:
        env_int(VARIABLE, 600)
    message = str(error.value)
    assert VARIABLE in message
    assert repr(value) in message
    assert "whole number" in message


def test_env_matching_keeps_a_value_that_matches_whole(monkeypatch):
    monkeypatch.setenv(VARIABLE, "abc")
    assert env_matching(VARIABLE, "x", "[a-z]+", "letters") == "abc"
    monkeypatch.setenv(VARIABLE, "abc1")
    with pytest.raises(ImproperlyConfigured, match=rf"{VARIABLE}='abc1' is not letters\."):
        env_matching(VARIABLE, "x", "[a-z]+", "letters")
    monkeypatch.setenv(VARIABLE, "")
    assert env_matching(VARIABLE, "x", "[a-z]+", "letters") == "x"


def test_starting_django_with_debug_misspelt_fails_naming_debug():
    result = start(["manage.py", "check"], DEBUG="ture")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG='ture'" in result.stderr


def test_starting_django_with_good_values_passes_its_checks():
    result = start(["manage.py", "check"], DEBUG="Yes", EMAIL_PORT="587", LOG_LEVEL="warning")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECURE_SSL_REDIRECT", "ture"),
        ("SECURE_HSTS_SECONDS", "1 year"),
        ("CONN_MAX_AGE", "60s"),
        ("EMAIL_PORT", "smtp"),
        ("PAGE_CACHE_SECONDS", "10m"),
        ("LOG_LEVEL", "verbose"),
        ("CACHE_URL", "127.0.0.1:6379/1"),
        ("SITE_URL", "blast-radius.example"),
        ("API_THROTTLE_ANONYMOUS", "120/month"),
        ("API_THROTTLE_TOKEN", "600 per minute"),
        ("MAX_TRACE_BYTES", "2MB"),
        ("MAX_UNPACKED_BYTES", "-1"),
    ],
)
def test_a_misread_setting_stops_the_start_naming_it(name, value):
    result = read_settings("DEBUG", **{name: value})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name}={value!r}" in result.stderr


def test_settings_read_from_the_environment_take_effect():
    result = read_settings(
        "LOG_LEVEL",
        "SECURE_HSTS_SECONDS",
        "SITE_URL",
        "REST_FRAMEWORK",
        LOG_LEVEL="debug",
        SECURE_HSTS_SECONDS="31536000",
        SITE_URL="https://blast-radius.example",
        API_THROTTLE_TOKEN="1000/hour",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("DEBUG 31536000 https://blast-radius.example ")
    assert "'token': '1000/hour'" in result.stdout


def test_upload_limits_come_from_the_environment():
    names = ["MAX_TRACE_BYTES", "MAX_IMPORT_BYTES", "MAX_UNPACKED_BYTES", "MAX_COMPRESSION_RATIO"]
    defaults = read_settings(*names)
    chosen = read_settings(*names, **dict(zip(names, ["1000", "2000", "3000", "40"], strict=True)))

    assert defaults.stdout.split() == ["2097152", "52428800", "209715200", "100"]
    assert chosen.stdout.split() == ["1000", "2000", "3000", "40"]
