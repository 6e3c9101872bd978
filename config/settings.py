"""Blast Radius settings: every value comes from the environment, with safe defaults.

With no environment at all the site runs on SQLite with Celery tasks executed eagerly,
so a newcomer needs nothing installed but Python. An unset or empty variable gives the default;
a value that cannot be understood stops the start with ImproperlyConfigured naming the variable,
so that `DEBUG=ture`, or `DEBUG=yes ` with a stray space, never quietly means False.
"""

import logging
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
import sentry_sdk
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    words = {"1": True, "true": True, "yes": True, "on": True}
    words |= {"0": False, "false": False, "no": False, "off": False}
    value = os.environ.get(name, "")
    if value == "":
        return default
    if value.lower() not in words:
        accepted = ", ".join(words)
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {accepted} (any case).")
    return words[value.lower()]


def env_int(name, default):
    """Seconds, bytes or a port number: never negative, in plain digits."""
    return int(env_matching(name, str(default), r"[0-9]+", "a whole number such as 0 or 600"))


def env_matching(name, default, pattern, expected):
    value = os.environ.get(name, "")
    if value == "":
        return default
    if not re.fullmatch(pattern, value):
        raise ImproperlyConfigured(f"{name}={value!r} is not {expected}.")
    return value


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
# The fallback key only exists so that a fresh clone starts; production must set SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-development-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_NAME = "Blast Radius"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_filters",
    "rest_framework",
    "incidents",
    "django.contrib.sitemaps",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "health_check",
    "django_prometheus",
    "axes",
    "csp",
]

MIDDLEWARE = [
    # First and last, so that /metrics times the whole request.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Early, so that every answer gets the policy, the lockout page and error pages included.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: only anonymous reads may go to the replica.
    "config.db_routers.ReplicaReadsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last but for the metrics, as django-axes requires: it answers for a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "incidents.permissions.capabilities",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 0),
        # A persistent connection is checked before a request reuses it, so the first request
        # after a database restart reconnects instead of failing.
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", default=True),
    )
}
# The same backends, with their queries counted and timed for /metrics.
METERED_ENGINES = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
DATABASES["default"]["ENGINE"] = METERED_ENGINES.get(
    DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"]
)
# A streaming replica for anonymous reads (config.db_routers); unset, everything uses the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=env_int("CONN_MAX_AGE", 0),
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", default=True),
    )
    DATABASES["replica"]["ENGINE"] = METERED_ENGINES.get(
        DATABASES["replica"]["ENGINE"], DATABASES["replica"]["ENGINE"]
    )
    # Tests read the replica's tables from the primary's test database.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.db_routers.ReplicaRouter"]
# After a write, the same browser reads from the primary this long, so it sees its own change
# while the replica catches up.
REPLICA_STICKY_SECONDS = env_int("REPLICA_STICKY_SECONDS", 15)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A covering index only pays off on PostgreSQL; on SQLite it is a plain index, as intended.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# Shared between web and worker processes when CACHE_URL names a Redis server (import progress
# is reported through it); a per-process memory cache otherwise.
CACHE_URL = env_matching(
    "CACHE_URL", "", r"(rediss?|unix)://\S+", "a Redis URL such as redis://127.0.0.1:6379/1"
)


def redis_cache(url):
    """The cache is an optimisation: when its Redis cannot be reached, reads miss and writes are
    dropped (each logged), so pages and the API are served uncached rather than failing. The
    short timeouts keep an unreachable host from holding up every request."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }


CACHES = {
    "default": (
        redis_cache(CACHE_URL)
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-ins (site and admin alike) go through django-axes first: after LOGIN_FAILURE_LIMIT wrong
# passwords for one username from one address, that pair is refused for LOGIN_LOCKOUT_MINUTES,
# even with the right password. Counting by the pair means an attacker elsewhere cannot lock the
# owner out. Attempts are kept in the database, so an emptied cache does not lift a lockout.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Failed attempts are what a lockout needs; a log of every successful sign-in is not.
AXES_DISABLE_ACCESS_LOG = True
# Its start-up banner would print on every command.
AXES_VERBOSE = False

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
# Load balancers probe the health check over plain HTTP, from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Every page runs only the site's own scripts and styles: no inline <script>, no style=""
# attributes, no other host. The API reference pages add what their bundles need
# (incidents/api/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"

# Matching by meaning (incidents.semantic). Unset: used when requirements-semantic.txt is
# installed; on: expected, so `manage.py check` warns when it is not installed; off: never.
SEMANTIC_MATCHING = env_bool("SEMANTIC_MATCHING", default=None)

# Celery: without a broker, tasks run inline so the zero-setup default needs no Redis.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
# In eager mode nothing is sent; the in-memory transport just keeps kombu from looking for a host.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = True
# A separate queue name lets a CI run or a second checkout share one Redis without
# workers taking each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "blast-radius")
# Imports, summary rebuilds and mail have queues of their own, so each can get its own workers;
# their names derive from the default queue's so that separate deployments stay apart too.
# A worker started without -Q consumes them all.
IMPORTS_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-imports"
SUMMARIES_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-summaries"
MAIL_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-mail"
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in [
        CELERY_TASK_DEFAULT_QUEUE,
        IMPORTS_QUEUE,
        SUMMARIES_QUEUE,
        MAIL_QUEUE,
    ]
]
CELERY_TASK_ROUTES = {
    "incidents.tasks.run_import_job": {"queue": IMPORTS_QUEUE},
    "incidents.tasks.rebuild_dashboard_summaries": {"queue": SUMMARIES_QUEUE},
    "incidents.tasks.update_dashboard_summaries": {"queue": SUMMARIES_QUEUE},
    "incidents.tasks.send_notifications": {"queue": MAIL_QUEUE},
    "incidents.tasks.remind_overdue_action_items": {"queue": MAIL_QUEUE},
    "incidents.tasks.remind_reporting_deadlines": {"queue": MAIL_QUEUE},
    "incidents.tasks.send_weekly_digests": {"queue": MAIL_QUEUE},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE

CELERY_BEAT_SCHEDULE = {
    "send-notifications": {"task": "incidents.tasks.send_notifications", "schedule": 60.0},
    "remind-overdue-action-items": {
        "task": "incidents.tasks.remind_overdue_action_items",
        "schedule": crontab(hour=7, minute=0),
    },
    # Regulators' deadlines run in hours: check every ten minutes (idempotent).
    "remind-reporting-deadlines": {
        "task": "incidents.tasks.remind_reporting_deadlines",
        "schedule": 600.0,
    },
    # Saves and imports queue deltas; this proves the rows kept by them equal to a rebuild,
    # repairs any difference, and catches what no delta follows (policy links in the admin).
    "check-dashboard-summaries": {
        "task": "incidents.tasks.check_dashboard_summaries",
        "schedule": crontab(hour=2, minute=15),
    },
    "recompute-pattern-clusters": {
        "task": "incidents.tasks.recompute_pattern_clusters",
        "schedule": crontab(hour=3, minute=30),
    },
    # Queues what a broker outage left over, and fails import jobs whose worker stopped.
    "sweep-pending-work": {"task": "incidents.tasks.sweep_pending_work", "schedule": 300.0},
    "send-weekly-digests": {
        "task": "incidents.tasks.send_weekly_digests",
        "schedule": crontab(day_of_week="mon", hour=7, minute=30),
    },
}

# Work set off by a save is queued on commit; the sweep queues what is still pending this long
# after (younger work may still be waiting in the broker).
PENDING_WORK_GRACE_SECONDS = env_int("PENDING_WORK_GRACE_SECONDS", 300)
# Saves queue at most one grouping of recurring patterns this often (it reads the whole base).
PATTERNS_RECOMPUTE_SECONDS = env_int("PATTERNS_RECOMPUTE_SECONDS", 3600)
# A running import job that reported no progress for this long lost its worker: the sweep marks
# it failed, and the admin offers to retry it.
IMPORT_JOB_STALE_SECONDS = env_int("IMPORT_JOB_STALE_SECONDS", 900)

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
# A mail server that stops answering must not hold a sender (and its outbox claims) forever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Blast Radius <noreply@localhost>")
# Links in emails, citations, feeds and the sitemap point here, so it must be absolute.
SITE_URL = env_matching(
    "SITE_URL",
    "http://localhost:8000",
    r"https?://[^/\s]+(/\S*)?",
    "an absolute address such as https://blast-radius.example",
)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "my_postmortems"
LOGOUT_REDIRECT_URL = "home"

PAGE_SIZE = 20

LOG_LEVEL = env_matching(
    "LOG_LEVEL",
    "INFO",
    "(?i)" + "|".join(logging.getLevelNamesMapping()),
    "a log level such as DEBUG, INFO or WARNING",
).upper()
# One JSON object a line, for a log collector; plain messages otherwise.
LOG_FORMAT = env_matching("LOG_FORMAT", "text", "text|json", "text or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Eager tasks would otherwise log every run; a worker sets this logger to its own
        # --loglevel when it starts (config/celery.py).
        "celery": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# Error reports (and, at SENTRY_TRACES_SAMPLE_RATE, performance traces) from the web processes
# and the worker, only when SENTRY_DSN is set. SENTRY_ENVIRONMENT and SENTRY_RELEASE are read
# by the SDK itself. Nobody's address, cookies or account is sent.
SENTRY_DSN = env_matching(
    "SENTRY_DSN",
    "",
    r"https?://[^\s@/]+@[^\s/]+/\S+",
    "a Sentry DSN such as https://key@o0.ingest.sentry.io/0",
)
if SENTRY_DSN:
    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=float(
            env_matching(
                "SENTRY_TRACES_SAMPLE_RATE",
                "0",
                r"0(\.[0-9]+)?|1(\.0+)?",
                "a fraction from 0 to 1 such as 0.1",
            )
        ),
        send_default_pii=False,
    )

# /metrics answers a scraper that sends this as a bearer token, and is not found without it.
METRICS_TOKEN = env_matching(
    "METRICS_TOKEN", "", r"[A-Za-z0-9._~+/=-]{24,}", "a token of at least 24 letters or digits"
)

# Open data: the REST API under /api/v1/, feeds, sitemap and cached public pages.
# DRF reads only the first letter of the period, so "120/month" would quietly mean per minute.
throttle_rate = (
    r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)",
    "a rate such as 120/minute (per second, minute, hour or day)",
)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "incidents.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["incidents.api.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "incidents.api.throttles.AnonymousThrottle",
        "incidents.api.throttles.TokenThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anonymous": env_matching("API_THROTTLE_ANONYMOUS", "120/minute", *throttle_rate),
        "token": env_matching("API_THROTTLE_TOKEN", "600/minute", *throttle_rate),
    },
    "DEFAULT_SCHEMA_CLASS": "incidents.api.schema.ApiSchema",
    "EXCEPTION_HANDLER": "incidents.api.errors.exception_handler",
}
# Tokens never expire by themselves: a reporter replaces or revokes theirs at /my/api-token/.
REST_KNOX = {"TOKEN_TTL": None, "AUTH_HEADER_PREFIX": "Token"}
SPECTACULAR_SETTINGS = {
    "TITLE": "Blast Radius API",
    "DESCRIPTION": (
        "Published AI-related incidents, policy changes, organisations and tags, read by anyone;"
        " drafts filed and submitted for review by reporters with a token."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.incident.Incident.Status",
        "ActionItemStatusEnum": "incidents.models.incident.ActionItem.Status",
        "PolicyChangeStatusEnum": "incidents.models.policy.PolicyChange.Status",
        "TristateEnum": "incidents.models.incident.Tristate",
        "IncidentKindEnum": "incidents.models.incident.Incident.Kind",
        "PolicyChangeKindEnum": "incidents.models.policy.PolicyChange.Kind",
    },
}
# What people upload is read within bounds. A trace is read by the web process while the
# request waits, so a larger one goes through `manage.py import_agent_trace`; a dataset upload
# is kept for the worker, which unpacks a .zip in chunks and refuses one that holds more than
# MAX_UNPACKED_BYTES or expands more than MAX_COMPRESSION_RATIO times (a zip bomb).
MAX_TRACE_BYTES = env_int("MAX_TRACE_BYTES", 2 * 1024 * 1024)
MAX_IMPORT_BYTES = env_int("MAX_IMPORT_BYTES", 50 * 1024 * 1024)
MAX_UNPACKED_BYTES = env_int("MAX_UNPACKED_BYTES", 200 * 1024 * 1024)
MAX_COMPRESSION_RATIO = env_int("MAX_COMPRESSION_RATIO", 100)

# Anonymous readers get whole public pages from the cache until the data changes, or at most
# this long (taxonomy renames do not change the data version).
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 600)
# How long browsers and shared caches may keep a public page (and serve it stale while they
# ask again); signed-in responses are private.
PUBLIC_MAX_AGE_SECONDS = env_int("PUBLIC_MAX_AGE_SECONDS", 60)
