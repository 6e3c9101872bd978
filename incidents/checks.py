"""System checks (`manage.py check`) for production setups that would quietly misbehave."""

from django.conf import settings
from django.core import checks

# Backends whose entries live in one process: each web worker keeps counts of its own.
PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def shared_cache_in_production(app_configs, **kwargs):
    """API throttling counts requests in the default cache, as do import progress and the page
    cache: with a per-process cache, N web workers allow N times the configured rate."""
    if settings.DEBUG or settings.CACHES["default"]["BACKEND"] not in PER_PROCESS_CACHES:
        return []
    return [
        checks.Warning(
            "No shared cache is configured: API rate limits are counted per process, so each "
            "web worker allows the full rate, and import progress is not seen across processes.",
            hint="Set CACHE_URL to a Redis server, e.g. redis://127.0.0.1:6379/1.",
            id="incidents.W001",
        )
    ]


def semantic_matching_installed(app_configs, **kwargs):
    """SEMANTIC_MATCHING set on says matching by meaning is expected: without its packages,
    search, duplicates and similar incidents quietly keep to matching words. Left unset, it is
    used when installed and nothing is said when it is not."""
    # Imported here: the app config imports this module before the models are ready.
    from incidents import semantic

    if settings.SEMANTIC_MATCHING is not True or semantic.installed():
        return []
    return [
        checks.Warning(
            "SEMANTIC_MATCHING is on but its packages are not installed: search, duplicates "
            "and similar incidents match words only.",
            hint="Run `make semantic` (requirements-semantic.txt), or unset SEMANTIC_MATCHING.",
            id="incidents.W002",
        )
    ]
