"""System checks the project adds: `manage.py check` warns about a production setup that would
quietly misbehave."""

import pytest
from django.core import checks

from incidents import semantic

LOCAL_MEMORY = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
    }
}


def warnings_about_the_cache():
    return [message for message in checks.run_checks() if message.id == "incidents.W001"]


def test_production_without_a_shared_cache_is_warned_about(settings):
    settings.DEBUG = False
    settings.CACHES = LOCAL_MEMORY

    [warning] = warnings_about_the_cache()

    assert warning.level == checks.WARNING
    assert "API rate limits are counted per process" in warning.msg
    assert "CACHE_URL" in warning.hint


@pytest.mark.parametrize(("debug", "caches"), [(False, REDIS), (True, LOCAL_MEMORY)])
def test_a_shared_cache_or_development_needs_no_warning(settings, debug, caches):
    settings.DEBUG = debug
    settings.CACHES = caches

    assert warnings_about_the_cache() == []


def warnings_about_matching_by_meaning():
    return [message for message in checks.run_checks() if message.id == "incidents.W002"]


def test_matching_by_meaning_asked_for_but_not_installed_is_warned_about(settings, monkeypatch):
    settings.SEMANTIC_MATCHING = True
    monkeypatch.setattr(semantic, "REQUIRED_MODULES", ("a_module_nobody_installed",))

    [warning] = warnings_about_matching_by_meaning()

    assert "match words only" in warning.msg
    assert "make semantic" in warning.hint


@pytest.mark.parametrize("setting", [None, False])
def test_matching_by_meaning_left_unset_or_off_needs_no_warning(settings, monkeypatch, setting):
    settings.SEMANTIC_MATCHING = setting
    monkeypatch.setattr(semantic, "REQUIRED_MODULES", ("a_module_nobody_installed",))

    assert warnings_about_matching_by_meaning() == []
