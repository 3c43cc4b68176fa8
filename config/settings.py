"""Waihu settings: every value comes from an environment variable with a default that
needs no setup (SQLite, a SQLite Celery broker, console email, the telephony sandbox)."""

import os
from datetime import time, timedelta
from pathlib import Path

import dj_database_url
import dj_email_url
import phonenumbers
import xstatic.pkg.bootstrap
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    env_time,
    env_url,
    env_weekdays,
)
from config.local_secrets import local_secret
from config.queues import celery_queues
from outbound.voice.voices import voice_names

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("WAIHU_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", True)
# No secret can be read in the code: a development set-up makes a random key once and keeps
# it in the data folder; production must give a long one.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "Environment variable DJANGO_SECRET_KEY must be set when DEBUG is off, to at least 50 "
        "random characters (python3 -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
if not SECRET_KEY:
    SECRET_KEY = local_secret(VAR_DIR / "secret-key")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# The address the outside world (Twilio, e-mail links) uses to reach Waihu.
PUBLIC_BASE_URL = env_str("WAIHU_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "csp",
    "accounts",
    "approvals",
    "surveys",
    "outbound",
    "reports",
    "ninja",
    "api",
    "ops",
    "retention",
]

MIDDLEWARE = [
    # Health checks and metrics first: no session, host check, HTTPS redirect or login.
    "ops.middleware.OpsEndpointsMiddleware",
    "ops.logs.RequestLogMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.middleware.RequestSizeLimitMiddleware",
    # Before anything that opens a database connection (the session, the user).
    "ops.database.WebDatabaseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.AuditRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionIdleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it answers a locked-out login.
    "axes.middleware.AxesMiddleware",
]

# Scripts only from Waihu's own static files, never inline; styles may be inline (Bootstrap
# and the progress bars set widths), images may be data: URIs (Bootstrap's icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "media-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

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
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "approvals.context_processors.inbox",
            ],
        },
    },
]

# Databases: SQLite by default, PostgreSQL (or any dj-database-url URL) from DATABASE_URL.
_SQLITE_DEFAULT = f"sqlite:///{VAR_DIR / 'waihu.sqlite3'}"
DATABASES = {
    "default": env_url(
        "DATABASE_URL",
        _SQLITE_DEFAULT,
        # Connections are kept (and checked before reuse): opening one per request costs a
        # PostgreSQL backend process each time, more than a status callback's own work.
        lambda url: dj_database_url.parse(
            url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True
        ),
        ("sqlite", "postgres", "postgresql", "pgsql"),
    )
}
_CONNECT_TIMEOUT = env_int("WAIHU_DATABASE_CONNECT_TIMEOUT", 5, minimum=1)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "accounts.sqlite"  # flush keeps the audit triggers
    # The web process, the worker and beat share the file: wait for locks rather than fail,
    # and take the write lock at BEGIN so a read-then-write transaction cannot deadlock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    )
    # A file, not memory, so threads and a worker process can share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-waihu-{os.getpid()}.sqlite3")}
else:
    # A database that does not answer fails a connection in seconds, not minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", _CONNECT_TIMEOUT)
    # One test database per test run, so runs side by side never drop each other's.
    _name = DATABASES["default"].get("NAME") or "waihu"
    DATABASES["default"]["TEST"] = {"NAME": f"test_{_name}_{os.getpid()}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("WAIHU_PASSWORD_MIN_LENGTH", 10, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes checks every login first: failures are counted per account and per address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("WAIHU_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("WAIHU_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "accounts.client.client_address"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False
# A session ends after this long without a page opened, and at most after a working day.
WAIHU_SESSION_IDLE_MINUTES = env_int("WAIHU_SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_COOKIE_AGE = env_int("WAIHU_SESSION_MAX_HOURS", 10, minimum=1) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Chinese first; a browser that asks for English gets English.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("WAIHU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
FORMAT_MODULE_PATH = ["config.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static", ("bootstrap", xstatic.pkg.bootstrap.BASE_DIR)]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the finders when collectstatic has not been run (development, tests).
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)
MEDIA_ROOT = Path(env_str("WAIHU_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# E-mail: printed on the console unless EMAIL_URL names an SMTP server
# (smtp://user:password@host:587/?tls=True).
_email = env_url(
    "EMAIL_URL",
    "console://",
    dj_email_url.parse,
    ("console", "smtp", "submission", "smtps", "memory", "dummy", "file"),
)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
if EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    # file:///var/mail/waihu keeps its leading slash: an absolute folder.
    EMAIL_FILE_PATH = "/" + _email["EMAIL_FILE_PATH"].lstrip("/")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "waihu@localhost")

# Celery: kombu's SQLAlchemy transport over a SQLite file by default; Redis in production.
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}",
    str,
    ("sqla+sqlite", "sqla+postgresql", "redis", "rediss", "amqp", "pyamqp", "memory"),
)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# A task whose worker process died is handed back to the broker, not acknowledged: another
# worker runs it again (every task is safe to run twice).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A publish to a broker that does not answer fails within this; the outbox (ops.outbox)
# keeps what a request decided, and hands it over once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = env_float(
    "WAIHU_BROKER_CONNECTION_TIMEOUT_SECONDS", 3.0, minimum=0.1
)
# A task sent while the broker restarts (a worker handing on the next step of a call, say)
# waits for it a few seconds instead of being lost; what the web decides in a transaction
# goes through the outbox instead, which gives up at once and sends it later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 6,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
# Redis: a message a worker took but never acknowledged (the worker, or Redis, restarted
# under it) is handed out again this long after it was taken. Longer than any countdown a
# task is sent with (an e-mail's retries wait up to 600 s), shorter than the dialer's
# settling time, so a lost call is placed again before its attempt would be settled.
WAIHU_BROKER_VISIBILITY_TIMEOUT_SECONDS = env_int(
    "WAIHU_BROKER_VISIBILITY_TIMEOUT_SECONDS", 720, minimum=1
)
# Workers look for such messages every WAIHU_BROKER_RESTORE_SECONDS (kombu's own default
# comes to once in 100 s).
WAIHU_BROKER_RESTORE_SECONDS = env_float("WAIHU_BROKER_RESTORE_SECONDS", 60.0, minimum=0.5)
if CELERY_BROKER_URL.startswith(("redis", "rediss")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": WAIHU_BROKER_VISIBILITY_TIMEOUT_SECONDS,
        "unacked_restore_interval": WAIHU_BROKER_RESTORE_SECONDS,
        "unacked_restore_throttle": 1,
    }
# Outbox rows handed over are kept this many days (what waited, and why, stays readable);
# a delivery that claimed an e-mail and was not heard from in WAIHU_OUTBOX_CLAIM_SECONDS is
# taken to have died, and the next delivery sends it.
WAIHU_OUTBOX_KEEP_DAYS = env_int("WAIHU_OUTBOX_KEEP_DAYS", 7, minimum=1)
WAIHU_OUTBOX_CLAIM_SECONDS = env_int("WAIHU_OUTBOX_CLAIM_SECONDS", 600, minimum=1)
# The environment's queue (one per environment sharing a broker; tests give their workers
# one of their own). Tasks are routed by kind to queue groups under it (config/queues.py):
# `<queue>.calls` (dialling and call handling), `<queue>.bulk` (imports and exports),
# `<queue>.mail` (e-mail and reminders), and `<queue>` itself for anything unrouted.
WAIHU_CELERY_QUEUE = env_str("WAIHU_CELERY_QUEUE", "celery")
CELERY_TASK_DEFAULT_QUEUE = WAIHU_CELERY_QUEUE
# Task name patterns (first match wins) and their group; config.queues.route reads them.
WAIHU_TASK_GROUPS = [
    ("outbound.dialer.tasks.*", "calls"),
    ("outbound.sandbox.tasks.*", "calls"),
    ("outbound.agent.tasks.*", "calls"),
    ("outbound.voice.tasks.*", "calls"),
    ("outbound.contacts.hold_notify", "mail"),
    ("outbound.contacts.*", "bulk"),
    ("reports.tasks.*", "bulk"),
    ("approvals.tasks.*", "mail"),
    ("api.tasks.*", "events"),
    ("retention.tasks.*", "bulk"),
    ("ops.tasks.*", "mail"),
]
CELERY_TASK_ROUTES = ["config.queues.route"]
CELERY_TASK_QUEUES = celery_queues(WAIHU_CELERY_QUEUE)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # Tasks recorded while the broker was down reach it once it is back (ops.outbox).
    "ops-outbox-sweep": {
        "task": "ops.tasks.outbox_sweep",
        "schedule": 30.0,
        "options": {"expires": 60},
    },
    "approvals-remind-overdue": {
        "task": "approvals.tasks.remind_overdue_steps",
        "schedule": crontab(minute="*/15"),
    },
    # The official calendar: filled every morning from the installed package (a new year
    # arrives with a package release, a correction can come at any time of the year), and
    # in December a weekly e-mail to the system administrators while next year is missing.
    "approvals-calendar-fill": {
        "task": "approvals.tasks.fill_official_calendar",
        "schedule": crontab(minute=40, hour=5),
    },
    "approvals-calendar-missing": {
        "task": "approvals.tasks.warn_missing_calendar",
        "schedule": crontab(minute=0, hour=9, day_of_week="mon", month_of_year=12),
    },
}

# The working calendar used for approval time limits and calling windows (holidays and
# make-up days are data: China's official calendar, filled, and local entries in the admin).
WORKING_DAYS = env_weekdays("WAIHU_WORKING_DAYS", [1, 2, 3, 4, 5])
WORKING_DAY_START = env_time("WAIHU_WORKING_DAY_START", time(9, 0))
WORKING_DAY_END = env_time("WAIHU_WORKING_DAY_END", time(18, 0))
if WORKING_DAY_START >= WORKING_DAY_END:
    raise ImproperlyConfigured(
        "Environment variable WAIHU_WORKING_DAY_END must be later than WAIHU_WORKING_DAY_START."
    )

# The questionnaire checker's reading pace (the customer's practice: 120-150 Chinese
# characters a minute) and how far the promised duration may stray from the estimate.
WAIHU_SPEECH_CHARS_PER_MINUTE_MIN = env_int("WAIHU_SPEECH_CHARS_PER_MINUTE_MIN", 120, minimum=1)
WAIHU_SPEECH_CHARS_PER_MINUTE_MAX = env_int("WAIHU_SPEECH_CHARS_PER_MINUTE_MAX", 150, minimum=1)
WAIHU_SPEECH_WORDS_PER_MINUTE_MIN = env_int("WAIHU_SPEECH_WORDS_PER_MINUTE_MIN", 130, minimum=1)
WAIHU_SPEECH_WORDS_PER_MINUTE_MAX = env_int("WAIHU_SPEECH_WORDS_PER_MINUTE_MAX", 160, minimum=1)
WAIHU_ANSWER_PAUSE_SECONDS = env_float("WAIHU_ANSWER_PAUSE_SECONDS", 5.0, minimum=0)
WAIHU_DURATION_MARGIN = env_float("WAIHU_DURATION_MARGIN", 0.3, minimum=0)
for _low, _high in (
    ("WAIHU_SPEECH_CHARS_PER_MINUTE_MIN", "WAIHU_SPEECH_CHARS_PER_MINUTE_MAX"),
    ("WAIHU_SPEECH_WORDS_PER_MINUTE_MIN", "WAIHU_SPEECH_WORDS_PER_MINUTE_MAX"),
):
    if globals()[_low] > globals()[_high]:
        raise ImproperlyConfigured(f"Environment variable {_high} must not be below {_low}.")

# Logs: text for a person at a terminal, JSON lines for a log collector; one line per
# request and per task; phone numbers masked but for their last four digits.
WAIHU_LOG_FORMAT = env_choice("WAIHU_LOG_FORMAT", "text", ("text", "json"), "text or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_phones": {"()": "ops.logs.PhoneMaskFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["mask_phones"],
            "formatter": WAIHU_LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("WAIHU_LOG_LEVEL", "INFO")},
}
# A worker writing JSON keeps these handlers instead of installing Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = WAIHU_LOG_FORMAT == "text"

# Operations: health checks, metrics, request timeouts (the ops app).
# /metrics answers a scraper that sends "Authorization: Bearer <token>"; empty turns it off.
WAIHU_METRICS_TOKEN = env_str("WAIHU_METRICS_TOKEN", "")
if WAIHU_METRICS_TOKEN and len(WAIHU_METRICS_TOKEN) < 16:
    raise ImproperlyConfigured(
        "Environment variable WAIHU_METRICS_TOKEN must be at least 16 characters (or empty)."
    )
# prometheus_client reads PROMETHEUS_MULTIPROC_DIR itself; it must be a folder that exists.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if _metrics_dir and not os.path.isdir(_metrics_dir):
    raise ImproperlyConfigured(
        f"Environment variable PROMETHEUS_MULTIPROC_DIR={_metrics_dir!r} must name an existing "
        "folder (emptied whenever the host's Waihu processes all start afresh)."
    )
# How often each worker records itself, and how long one may be silent (or the dialer's
# tick be missing) before /readyz fails.
WAIHU_WORKER_HEARTBEAT_SECONDS = env_float("WAIHU_WORKER_HEARTBEAT_SECONDS", 15.0, minimum=1)
WAIHU_READY_WORKER_AGE_SECONDS = env_float(
    "WAIHU_READY_WORKER_AGE_SECONDS", 3 * WAIHU_WORKER_HEARTBEAT_SECONDS + 5, minimum=1
)
# Web requests on PostgreSQL give up on a lock after this long, and on any statement after
# this long (0: no limit), and are answered 503.
WAIHU_WEB_LOCK_TIMEOUT_MS = env_int("WAIHU_WEB_LOCK_TIMEOUT_MS", 5000, minimum=0)
WAIHU_WEB_STATEMENT_TIMEOUT_MS = env_int("WAIHU_WEB_STATEMENT_TIMEOUT_MS", 30000, minimum=0)

# HTTPS in production, each part with a variable to relax it. The proxy's HTTPS header is
# trusted only when the operator says a proxy sets it (a client could send it otherwise).
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    # A load balancer may ask over plain HTTP whether the process answers.
    SECURE_REDIRECT_EXEMPT = [r"^telephony/health/$"]
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front of Waihu append to X-Forwarded-For: the client's address is read
# that many hops from the right (0: the address of the connection itself).
WAIHU_PROXY_COUNT = env_int("WAIHU_PROXY_COUNT", 0, minimum=0)
# The largest file a user may upload (a contact list; the web server refuses larger
# request bodies before reading them).
WAIHU_UPLOAD_MAX_MB = env_int("WAIHU_UPLOAD_MAX_MB", 200, minimum=1)

# Telephony ---------------------------------------------------------------------------------
# Twilio is used once both credentials are set; without them the sandbox inside Waihu plays
# the calls out. The sandbox refuses to run while real credentials are set.
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "")
if bool(TWILIO_ACCOUNT_SID) != bool(TWILIO_AUTH_TOKEN):
    raise ImproperlyConfigured(
        "Environment variables TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together."
    )
if TWILIO_ACCOUNT_SID and not (
    TWILIO_ACCOUNT_SID.startswith("AC") and len(TWILIO_ACCOUNT_SID) == 34
):
    raise ImproperlyConfigured(
        "Environment variable TWILIO_ACCOUNT_SID must be an account SID (AC and 32 characters)."
    )


def _e164(name: str, default: str) -> str:
    return _checked_e164(name, env_str(name, default))


def _checked_e164(name: str, value: str) -> str:
    if not (value.startswith("+") and value[1:].isdigit() and 8 <= len(value) <= 16):
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} must be a number in E.164 form (+8673110086)."
        )
    return value


WAIHU_CALLER_ID = _e164("WAIHU_CALLER_ID", "+8673110086")
# Secret of the Twilio Webhooks SharedKey that signs callbacks (HMAC-SHA256) when a Webhooks
# Rule matches Waihu's address; empty: only the auth-token signature is accepted.
TWILIO_WEBHOOK_SHARED_KEY = env_str("TWILIO_WEBHOOK_SHARED_KEY", "")
# The account's calls-per-second limit, shared by every campaign. Twilio grants 1 CPS per
# account unless the console says otherwise, and queues whatever goes faster.
WAIHU_ACCOUNT_CPS = env_float("WAIHU_ACCOUNT_CPS", 1.0, minimum=0.01)


WAIHU_RING_TIMEOUT_SECONDS = env_int("WAIHU_RING_TIMEOUT_SECONDS", 30, minimum=5)
WAIHU_DEFAULT_TIME_ZONE = env_str("WAIHU_DEFAULT_PHONE_TIME_ZONE", "Asia/Shanghai")
# The dialer: how often it looks for due contacts, how many it claims at once, how many
# calls one task hands to the carrier side by side.
WAIHU_DIALER_TICK_SECONDS = env_float("WAIHU_DIALER_TICK_SECONDS", 2.0, minimum=0.2)
WAIHU_DIALER_BATCH_SIZE = env_int("WAIHU_DIALER_BATCH_SIZE", 200, minimum=1)
# /readyz fails once the dialer's last tick was sent longer ago than this.
WAIHU_READY_TICK_AGE_SECONDS = env_float(
    "WAIHU_READY_TICK_AGE_SECONDS", max(60.0, 10 * WAIHU_DIALER_TICK_SECONDS), minimum=1
)
WAIHU_DIALER_PLACE_THREADS = env_int("WAIHU_DIALER_PLACE_THREADS", 8, minimum=1)
# An attempt without a final status this long after it was placed is settled by asking
# the carrier.
WAIHU_SETTLE_AFTER_SECONDS = env_int("WAIHU_SETTLE_AFTER_SECONDS", 900, minimum=1)
# The longest a call can last. Twilio ends a call at the TimeLimit given when it was placed
# (the Calls resource's TimeLimit, in seconds; <Dial>'s timeLimit defaults to 14400 s, four
# hours), and Waihu places its calls with this one: an attempt still without a final status
# this long after it was placed is asked about once more and, still open, finished as lost.
WAIHU_LONGEST_CALL_MINUTES = env_int("WAIHU_LONGEST_CALL_MINUTES", 240, minimum=1)
# Results the kept counts cannot give (narrowing filters, a campaign's own interviews) are
# computed in the request up to this many interviews, and by a task past it, the page
# showing its progress; computed figures are shown for this long before they are computed
# again.
WAIHU_RESULTS_INLINE_LIMIT = env_int("WAIHU_RESULTS_INLINE_LIMIT", 20000, minimum=0)
WAIHU_RESULTS_FRESH_SECONDS = env_int("WAIHU_RESULTS_FRESH_SECONDS", 600, minimum=0)
WAIHU_DEADLINE_RISK_DAYS = env_int("WAIHU_DEADLINE_RISK_DAYS", 1, minimum=0)
# The kinds of campaign that call on public holidays unless their settings say otherwise
# (a complaint callback must be done within days of the feedback, holidays or not).
# outbound.models.WorkOrder.Kind holds the same values; a test keeps the two in step.
WAIHU_CAMPAIGN_KINDS = (
    "satisfaction",
    "complaint_callback",
    "service_callback",
    "marketing",
    "notification",
)
WAIHU_HOLIDAY_CALLING_KINDS = frozenset(
    env_list("WAIHU_HOLIDAY_CALLING_KINDS", ["complaint_callback"])
)
if WAIHU_HOLIDAY_CALLING_KINDS - set(WAIHU_CAMPAIGN_KINDS):
    raise ImproperlyConfigured(
        "Environment variable WAIHU_HOLIDAY_CALLING_KINDS must list campaign kinds among "
        f"{', '.join(WAIHU_CAMPAIGN_KINDS)} (or be empty)."
    )

# The sandbox: its account, the address the SDK reaches it at, and how calls turn out.
WAIHU_SANDBOX_ACCOUNT_SID = env_str("WAIHU_SANDBOX_ACCOUNT_SID", "AC" + "5a" * 16)
# Empty: a random token made once in the data folder (it signs the sandbox's callbacks, so
# it must not be known from the code). The API address defaults to PUBLIC_BASE_URL + /sandbox.
WAIHU_SANDBOX_AUTH_TOKEN = env_str("WAIHU_SANDBOX_AUTH_TOKEN", "") or local_secret(
    VAR_DIR / "sandbox-auth-token", nbytes=24
)
WAIHU_SANDBOX_API_URL = env_str("WAIHU_SANDBOX_API_URL", "").rstrip("/")
WAIHU_SANDBOX_PLAY = env_bool("WAIHU_SANDBOX_PLAY", True)
# The sandbox stands in for Twilio only where it is asked for: in development by default,
# in production only when this says so (a demo or training site).
WAIHU_SANDBOX = env_bool("WAIHU_SANDBOX", DEBUG)
# The sandbox account's limit of calls at once (Twilio's error 10004 past it); 0: none.
WAIHU_SANDBOX_MAX_CONCURRENT = env_int("WAIHU_SANDBOX_MAX_CONCURRENT", 0, minimum=0)
# The numbers the sandbox account owns (IncomingPhoneNumbers) and has verified
# (OutgoingCallerIds): a call from any other number is refused as Twilio refuses it.
WAIHU_SANDBOX_OWNED_NUMBERS = [
    _checked_e164("WAIHU_SANDBOX_OWNED_NUMBERS", number)
    for number in env_list("WAIHU_SANDBOX_OWNED_NUMBERS", [WAIHU_CALLER_ID])
]
WAIHU_SANDBOX_VERIFIED_CALLER_IDS = [
    _checked_e164("WAIHU_SANDBOX_VERIFIED_CALLER_IDS", number)
    for number in env_list("WAIHU_SANDBOX_VERIFIED_CALLER_IDS", [])
]
WAIHU_SANDBOX_ACCOUNT_STATUS = env_choice(
    "WAIHU_SANDBOX_ACCOUNT_STATUS",
    "active",
    ("active", "suspended", "closed"),
    "active, suspended or closed",
)
# The sandbox account's own calls-per-second setting: calls beyond it wait, queued.
WAIHU_SANDBOX_CPS = env_float("WAIHU_SANDBOX_CPS", WAIHU_ACCOUNT_CPS, minimum=0.01)


def _shares(name: str, default: str) -> dict[str, float]:
    outcomes = ("answered", "busy", "no_answer", "failed", "machine")
    try:
        pairs = [item.split("=", 1) for item in env_list(name, default.split(","))]
        shares = {key.strip(): float(value) for key, value in pairs}
    except ValueError:
        shares = None
    if (
        not shares
        or set(shares) - set(outcomes)
        or any(v < 0 for v in shares.values())
        or sum(shares.values()) <= 0
    ):
        raise ImproperlyConfigured(
            f"Environment variable {name} must look like {default!r} "
            f"(shares of {', '.join(outcomes)})."
        )
    return {key: shares.get(key, 0.0) for key in outcomes}


# The key a voice-survey caller presses while the introduction is read to be put on the
# do-not-call list; empty turns the offer off.
WAIHU_VOICE_OPT_OUT_KEY = env_choice(
    "WAIHU_VOICE_OPT_OUT_KEY", "9", ("", *"0123456789"), "one keypad digit, or empty"
)
# The voice each questionnaire language is read in (a campaign may choose another that
# speaks its questionnaire's language); outbound/voice/voices.py lists the voices Twilio
# offers for each.
WAIHU_VOICE_ZH_HANS = env_choice(
    "WAIHU_VOICE_ZH_HANS",
    "Polly.Zhiyu-Neural",
    voice_names("zh-hans"),
    "a voice that speaks Mandarin (cmn-CN)",
)
WAIHU_VOICE_EN = env_choice(
    "WAIHU_VOICE_EN", "Polly.Joanna-Neural", voice_names("en"), "a voice that speaks English"
)
# An open question is answered by speaking: recorded (<Record>, up to this many seconds),
# or recognised as text (<Gather input="speech">).
WAIHU_VOICE_OPEN_ANSWER_SECONDS = env_int("WAIHU_VOICE_OPEN_ANSWER_SECONDS", 60, minimum=2)
if WAIHU_VOICE_OPEN_ANSWER_SECONDS > 14400:
    raise ImproperlyConfigured(
        "Environment variable WAIHU_VOICE_OPEN_ANSWER_SECONDS must be at most 14400 "
        "(Twilio's longest <Record>)."
    )
WAIHU_VOICE_OPEN_ANSWER_INPUT = env_choice(
    "WAIHU_VOICE_OPEN_ANSWER_INPUT", "record", ("record", "speech"), "record or speech"
)
# The share (percent) of answered sandbox respondents who press it.
WAIHU_SANDBOX_OPT_OUT_PERCENT = env_float("WAIHU_SANDBOX_OPT_OUT_PERCENT", 2.0, minimum=0)

WAIHU_SANDBOX_SHARES = _shares(
    "WAIHU_SANDBOX_SHARES", "answered=60,busy=10,no_answer=15,failed=5,machine=10"
)
WAIHU_SANDBOX_RING_SECONDS = (
    env_float("WAIHU_SANDBOX_RING_MIN_SECONDS", 2.0, minimum=0),
    env_float("WAIHU_SANDBOX_RING_MAX_SECONDS", 8.0, minimum=0),
)
WAIHU_SANDBOX_TALK_SECONDS = (
    env_float("WAIHU_SANDBOX_TALK_MIN_SECONDS", 10.0, minimum=0),
    env_float("WAIHU_SANDBOX_TALK_MAX_SECONDS", 40.0, minimum=0),
)
for _name, (_low, _high) in (
    ("WAIHU_SANDBOX_RING", WAIHU_SANDBOX_RING_SECONDS),
    ("WAIHU_SANDBOX_TALK", WAIHU_SANDBOX_TALK_SECONDS),
):
    if _low > _high:
        raise ImproperlyConfigured(
            f"Environment variable {_name}_MAX_SECONDS must not be less than {_name}_MIN_SECONDS."
        )

CELERY_BEAT_SCHEDULE.update(
    {
        "dialer-tick": {
            "task": "outbound.dialer.tasks.dial_due",
            "schedule": WAIHU_DIALER_TICK_SECONDS,
            "options": {"expires": WAIHU_DIALER_TICK_SECONDS * 5},
        },
        "dialer-settle": {
            "task": "outbound.dialer.tasks.settle_stale",
            "schedule": 60.0,
            "options": {"expires": 120},
        },
        # The campaigns' kept counts, folded so that a page reads a few rows each.
        "dialer-compact-counts": {
            "task": "outbound.dialer.tasks.compact_counts",
            "schedule": 60.0,
            "options": {"expires": 120},
        },
        # Sandbox calls whose worker died are played on by another (sandbox only).
        "sandbox-resume": {
            "task": "outbound.sandbox.tasks.sandbox_resume",
            "schedule": 15.0,
            "options": {"expires": 30},
        },
    }
)
# A sandbox call's step not taken this long after it was due, or not done this long after
# it was taken, is played again by another worker: its own died.
WAIHU_SANDBOX_RESUME_SECONDS = env_float("WAIHU_SANDBOX_RESUME_SECONDS", 60.0, minimum=0.5)
# The dialer and the sandbox run many short tasks: over the SQLite broker a worker looks for
# new messages ten times a second instead of once.
# (The SQLAlchemy transport hands every transport option to create_engine, so the interval
# is set on the transport itself.)
if CELERY_BROKER_URL.startswith("sqla+"):
    from kombu.transport import sqlalchemy as _sqla_transport

    _sqla_transport.Transport.polling_interval = env_float(
        "WAIHU_BROKER_POLLING_SECONDS", 0.1, minimum=0.01
    )
# The SDK logs every request's headers at INFO.
LOGGING.setdefault("loggers", {})["twilio.http_client"] = {"level": "WARNING"}
# Workers and beat load the telephony tasks at start (they are not in an app's tasks.py).
CELERY_IMPORTS = (
    *globals().get("CELERY_IMPORTS", ()),
    "outbound.contacts.tasks",
    "outbound.dialer.tasks",
    "outbound.sandbox.tasks",
    "outbound.agent.tasks",
    "outbound.voice.tasks",
)
CELERY_BEAT_SCHEDULE.update(
    {
        # An agent's hold on a contact lapses when the agent walks away.
        "agent-expire-holds": {
            "task": "outbound.agent.tasks.expire_holds",
            "schedule": 60.0,
            "options": {"expires": 120},
        },
        # Voice interviews whose call ended without a final callback are closed as partial.
        "voice-settle-interviews": {
            "task": "outbound.voice.tasks.settle_interviews",
            "schedule": 60.0,
            "options": {"expires": 120},
        },
    }
)
WAIHU_AGENT_HOLD_MINUTES = env_int("WAIHU_AGENT_HOLD_MINUTES", 15, minimum=1)
WAIHU_COMPLAINT_CALLBACK_DAYS = env_int("WAIHU_COMPLAINT_CALLBACK_DAYS", 7, minimum=1)
# The countries (ISO region codes) whose numbers a list may bring in: a number from anywhere
# else is refused at import, so nobody can make the centre call abroad at its cost.
WAIHU_ALLOWED_COUNTRIES = frozenset(
    code.upper() for code in env_list("WAIHU_ALLOWED_COUNTRIES", ["CN"])
)
_unknown_countries = WAIHU_ALLOWED_COUNTRIES - phonenumbers.SUPPORTED_REGIONS
if _unknown_countries or not WAIHU_ALLOWED_COUNTRIES:
    raise ImproperlyConfigured(
        "Environment variable WAIHU_ALLOWED_COUNTRIES must list ISO region codes such as CN "
        "(comma-separated, at least one)"
        + (f"; not known: {', '.join(sorted(_unknown_countries))}." if _unknown_countries else ".")
    )
# Contact imports. A list that passes any of these limits is refused by the worker, naming
# the limit; the defaults are far above any real list (Excel itself stops at 1,048,576 rows
# and 32,767 characters a cell). Rows are staged in batches and published in one step.
WAIHU_IMPORT_MAX_ROWS = env_int("WAIHU_IMPORT_MAX_ROWS", 2_000_000, minimum=1)
WAIHU_IMPORT_MAX_COLUMNS = env_int("WAIHU_IMPORT_MAX_COLUMNS", 200, minimum=1)
WAIHU_IMPORT_MAX_CELL_CHARS = env_int("WAIHU_IMPORT_MAX_CELL_CHARS", 32_767, minimum=100)
WAIHU_IMPORT_MAX_EXPANDED_MB = env_int("WAIHU_IMPORT_MAX_EXPANDED_MB", 1024, minimum=1)
WAIHU_IMPORT_BATCH_ROWS = env_int("WAIHU_IMPORT_BATCH_ROWS", 10_000, minimum=1)
# A running import records a heartbeat; one silent this long is taken up again (its worker
# died), at most WAIHU_IMPORT_MAX_ATTEMPTS times in all before it fails.
WAIHU_IMPORT_STALE_SECONDS = env_int("WAIHU_IMPORT_STALE_SECONDS", 120, minimum=10)
WAIHU_IMPORT_MAX_ATTEMPTS = env_int("WAIHU_IMPORT_MAX_ATTEMPTS", 3, minimum=1)
CELERY_BEAT_SCHEDULE.update(
    {
        "contacts-import-sweep": {
            "task": "outbound.contacts.import_sweep",
            "schedule": 60.0,
            "options": {"expires": 120},
        },
    }
)

# The API and its outgoing events. Deliveries go to the events queue group (see
# config/queues.py), so a receiver that is down never holds up a worker that places calls.
# Completed interviews are given out through the results cursor once closed this long, so
# one committed a moment late by a slower transaction is never skipped.
WAIHU_API_RESULTS_SETTLE_SECONDS = env_int("WAIHU_API_RESULTS_SETTLE_SECONDS", 5, minimum=0)
# The leaders' page reads monthly kept counts: the current and previous months are recounted
# every hour; the monthly report is built and sent on the first working day of a month.
CELERY_BEAT_SCHEDULE.update(
    {
        "reports-monthly-counts": {
            "task": "reports.tasks.monthly_counts_task",
            "schedule": crontab(minute=20),
            "options": {"expires": 3000},
        },
        "reports-monthly-report": {
            "task": "reports.tasks.monthly_report_task",
            "schedule": crontab(minute=30, hour=7),
        },
    }
)
CELERY_BEAT_SCHEDULE.update(
    {
        "api-deliveries-retry": {
            "task": "api.tasks.retry_due",
            "schedule": 30.0,
            "options": {"expires": 60},
        },
    }
)

# Retention (the Personal Information Protection Law): once a campaign has been stopped this
# many days, its uploaded lists, rejected rows, result workbooks and recordings are deleted
# and its contacts anonymised; every count and answer stays (retention/services.py).
# WAIHU_RETENTION_DAYS is the period of every campaign (0: keep for ever);
# WAIHU_RETENTION_DAYS_BY_KIND sets others by campaign kind or mode, such as
# "marketing=180,complaint_callback=730,voice=90" (a kind's wins over its mode's; 0 or
# "keep": never purged).
WAIHU_RETENTION_DAYS = env_int("WAIHU_RETENTION_DAYS", 365, minimum=0)
_RETENTION_KEYS = (*WAIHU_CAMPAIGN_KINDS, "agents", "voice")


def _retention_by_kind(name: str) -> dict[str, int]:
    periods = {}
    for item in env_list(name, []):
        key, _sep, value = (part.strip() for part in item.partition("="))
        value = "0" if value.lower() == "keep" else value
        if key not in _RETENTION_KEYS or not value.isdigit() or key in periods:
            raise ImproperlyConfigured(
                f"Environment variable {name} must look like 'marketing=180,voice=90': each "
                f"of {', '.join(_RETENTION_KEYS)} at most once, with a number of days (0 or "
                f"keep: never removed); {item!r} is not."
            )
        periods[key] = int(value)
    return periods


WAIHU_RETENTION_DAYS_BY_KIND = _retention_by_kind("WAIHU_RETENTION_DAYS_BY_KIND")
# The key of the one-way hash that replaces an anonymised contact's number (HMAC-SHA256),
# so the do-not-call list can still be matched against it. A key of its own, not one drawn
# from DJANGO_SECRET_KEY: rotating the secret key (after a leak, say) must not quietly stop
# anonymised numbers from matching. Empty: made once in the data folder (back it up with
# the database); production should give it in the environment.
WAIHU_RETENTION_KEY = env_str("WAIHU_RETENTION_KEY", "")
if WAIHU_RETENTION_KEY and len(WAIHU_RETENTION_KEY) < 32:
    raise ImproperlyConfigured(
        "Environment variable WAIHU_RETENTION_KEY must be at least 32 random characters (or "
        "empty, to keep one made in the data folder)."
    )
WAIHU_RETENTION_KEY_FROM_ENVIRONMENT = bool(WAIHU_RETENTION_KEY)
WAIHU_RETENTION_KEY = WAIHU_RETENTION_KEY or local_secret(VAR_DIR / "retention-key")
# Contacts anonymised per transaction: a crash loses at most one batch's work, redone.
WAIHU_RETENTION_BATCH_SIZE = env_int("WAIHU_RETENTION_BATCH_SIZE", 1000, minimum=1)
CELERY_BEAT_SCHEDULE["retention-purge"] = {
    "task": "retention.tasks.purge_due",
    "schedule": crontab(minute=20, hour=3),
    "options": {"expires": 6 * 3600},
}
