"""The cache is an optimisation: with its Redis unreachable, public pages, the API and filing
answer normally, uncached, and the outage is logged."""

import logging

import pytest
from django.core.cache import cache
from django.urls import reverse

from config import settings as project_settings
from incidents.models import Incident, SummaryCount

from .factories import IncidentFactory, signed_in
from .outages import PrivateRedis, needs_redis_server
from .test_filing import NEW_URL, new_form_data


@pytest.fixture
def cache_redis(settings):
    """The site's cache on a private Redis, which the test stops."""
    needs_redis_server()
    redis = PrivateRedis().start()
    settings.CACHES = {"default": project_settings.redis_cache(redis.url(db=1))}
    yield redis
    redis.stop()


@pytest.mark.django_db
def test_public_pages_and_the_api_answer_without_the_cache(reader, cache_redis, caplog):
    incident = IncidentFactory(title="Served while the cache was down")
    assert reader.get(reverse("home")).status_code == 200  # cached while Redis is up

    cache_redis.stop()
    pages = [
        reverse("home"),
        reverse("incident_list"),
        incident.get_absolute_url(),
        reverse("organisation_list"),
        reverse("tag_list"),
        reverse("dashboard"),
        reverse("feed_incidents_rss"),
        reverse("data"),
        "/api/v1/incidents/",
        f"/api/v1/incidents/{incident.number}/",
    ]
    with caplog.at_level(logging.WARNING):
        answers = {page: reader.get(page) for page in pages}

    assert {page: answer.status_code for page, answer in answers.items()} == dict.fromkeys(
        pages, 200
    )
    assert "Served while the cache was down" in answers[reverse("incident_list")].text
    assert any("ignored" in record.getMessage().lower() for record in caplog.records)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_filing_and_publishing_without_the_cache_reach_the_dashboard(ada_client, rui, cache_redis):
    form = new_form_data(ada_client, title="Filed while the cache was down")
    cache_redis.stop()

    response = ada_client.post(NEW_URL, form)
    assert response.status_code == 302
    incident = Incident.objects.get(title="Filed while the cache was down")
    submit = ada_client.post(reverse("incident_submit", args=[incident.number]))
    approve = signed_in(rui).post(
        reverse("incident_review", args=[incident.number]), {"decision": "approve"}
    )

    assert (submit.status_code, approve.status_code) == (302, 302)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.PUBLISHED
    # The cache being down loses none of the dashboard work the publication queued.
    published = SummaryCount.objects.filter(scope="public", series="total", dimension="all")
    assert sum(published.values_list("count", flat=True)) == 1


@pytest.mark.django_db
def test_the_site_uses_the_cache_again_once_redis_is_back(reader, cache_redis):
    cache_redis.stop()
    assert reader.get(reverse("home")).status_code == 200
    cache_redis.start()

    assert reader.get(reverse("home")).status_code == 200
    assert cache.keys("public-page:*")
