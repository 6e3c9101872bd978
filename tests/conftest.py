"""Personas shared by every test module: an anonymous reader and a staff editor."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client

from config.celery import app as celery_app

from .factories import UserFactory, person


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
def _quick_password_hashing(settings):
    # Tests create many accounts; the production hasher would make the suite take minutes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached exports and import progress must not leak from one test into the next."""
    cache.clear()
    yield


@pytest.fixture
def staff_user(db):
    """An editor: in the "editor" group, so they may read internal and unpublished incidents."""
    user = UserFactory(username="editor", is_staff=True)
    user.groups.add(Group.objects.get(name="editor"))
    return user


@pytest.fixture
def ada(db):
    """An author: files and edits postmortems."""
    return person("ada", "reporter")


@pytest.fixture
def rui(db):
    """A reviewer: approves or sends back what others wrote."""
    return person("rui", "reviewer")


@pytest.fixture
def reader(db):
    """Someone reading the site without an account."""
    return Client()


@pytest.fixture
def editor(staff_user):
    """A staff member, signed in."""
    client = Client()
    client.force_login(staff_user)
    return client
