"""Admin Center settings. Everything configurable is read through django-environ.

Defaults are the embedded shape (SQLite, a filesystem Celery broker, console e-mail) so
`make run` works on a fresh machine; production sets DATABASE_URL, CELERY_BROKER_URL etc.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

VAR_DIR.mkdir(exist_ok=True)
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
PRODUCTION = env.bool("PRODUCTION", default=False)
# The built-in key signs nothing outside development: with DEBUG off a real key is required
# (a link signed with the public development key would otherwise be accepted).
_DEV_SECRET_KEY = "insecure-dev-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105  (DEBUG only)
SECRET_KEY = env("SECRET_KEY", default="") or (_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY or (SECRET_KEY == _DEV_SECRET_KEY and not DEBUG):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it in the environment to a long random value "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set DEBUG=1 for local development."
    )
if PRODUCTION and (SECRET_KEY == _DEV_SECRET_KEY or DEBUG):
    raise ImproperlyConfigured("PRODUCTION=1 needs its own SECRET_KEY and DEBUG off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "console",
    "mfa",
    "domains",
    "imports",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "webhooks",
    "sso",
    "config",
]

MIDDLEWARE = [
    # First and last: request latency and responses by status, around everything else.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication: a password-only session reaches only the second-factor pages.
    "mfa.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "console.middleware.ContentSecurityPolicyMiddleware",
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
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context_processors.console",
                "domains.context_processors.domain_rules",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# SQLite by default (embedded); DATABASE_URL=postgres://... switches to PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'console.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: WAL + IMMEDIATE transactions + a busy timeout
    # keep concurrent writers from failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Each web thread and worker keeps its connection between requests (a new PostgreSQL connection costs
# a process fork and authentication, more than a page's queries); checked before reuse, so a
# connection the server dropped is replaced instead of failing the request. CONN_MAX_AGE=0: one per request.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "console.User"
# Every password check goes through the sign-in throttle (console/throttle.py), then SSO
# enforcement (sso/backends.py: a managed user whose verified domain requires SSO is refused).
# Passwords (throttled, refused where a verified domain requires SSO); sessions opened through an
# organization's identity provider are recorded with the second, which accepts no password.
AUTHENTICATION_BACKENDS = ["sso.backends.SsoEnforcingBackend", "sso.backends.IdentityProviderBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

# --- Cache (rate limits, throttles) -----------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Rendered fixed parts of pages ({% cache ... using="fragments" %}), in each process's memory: a
# fragment's key names everything it shows (language, names, settings), so it never goes stale and
# a hit costs no round trip; a new release starts with empty processes.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "OPTIONS": {"MAX_ENTRIES": 5000},
}

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date/time format per language, with the time zone (config/formats/<language>/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns at start-up without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# --- E-mail ---------------------------------------------------------------------------
EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Admin Center <no-reply@admin-center.invalid>")
# Optional production backend through django-anymail: ANYMAIL_ESP=mailgun (or amazon_ses,
# postmark, sendgrid, …) and that provider's settings as ANYMAIL_<NAME> (e.g. ANYMAIL_MAILGUN_API_KEY).
ANYMAIL_ESP = env("ANYMAIL_ESP", default="")
if ANYMAIL_ESP:
    EMAIL_BACKEND = f"anymail.backends.{ANYMAIL_ESP}.EmailBackend"
    ANYMAIL = {
        name.removeprefix("ANYMAIL_"): env(name)
        for name in sorted(environ.Env.ENVIRON)
        if name.startswith("ANYMAIL_") and name != "ANYMAIL_ESP"
    }
# Seconds an SMTP connect, command or reply may take before the attempt counts as failed.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=30.0)
# Every e-mail is a console.OutboundEmail record sent by the console.send_emails task.
EMAIL_BATCH_SIZE = env.int("EMAIL_BATCH_SIZE", default=50)  # records per task (one SMTP connection)
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=12)  # then the record ends failed
EMAIL_RETRY_BACKOFF_SECONDS = env.float("EMAIL_RETRY_BACKOFF_SECONDS", default=15.0)  # doubled per attempt
EMAIL_RETRY_BACKOFF_MAX_SECONDS = env.float("EMAIL_RETRY_BACKOFF_MAX_SECONDS", default=1800.0)
EMAIL_TASK_SOFT_TIME_LIMIT = env.int("EMAIL_TASK_SOFT_TIME_LIMIT", default=240)
# A claim outlives the task's hard limit, so a live sender is never raced by a requeue.
EMAIL_LEASE_SECONDS = env.int("EMAIL_LEASE_SECONDS", default=EMAIL_TASK_SOFT_TIME_LIMIT + 120)
EMAIL_SWEEP_SECONDS = env.float("EMAIL_SWEEP_SECONDS", default=60.0)  # beat: requeue lost records
EMAIL_REQUEUE_GRACE_SECONDS = env.int("EMAIL_REQUEUE_GRACE_SECONDS", default=120)
# Tests only: send in the committing process (still through the task) instead of the queue.
EMAIL_DELIVER_INLINE = env.bool("EMAIL_DELIVER_INLINE", default=False)
CONSOLE_BASE_URL = env("CONSOLE_BASE_URL", default="http://127.0.0.1:8000")
SUPPORT_URL = env("SUPPORT_URL", default="https://help.example.invalid/support")

# --- Security ------------------------------------------------------------------------
# PRODUCTION=1 turns on every secure default at once (each can still be set on its own).
SESSION_COOKIE_HTTPONLY = True
# Sessions are read from the shared cache when there is one (written through to the database).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Health checks from the load balancer arrive over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env.bool("BEHIND_TLS_PROXY", default=PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CONTENT_SECURITY_POLICY = env(
    "CONTENT_SECURITY_POLICY",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
)

# --- Celery ---------------------------------------------------------------------------
# Default broker: kombu's filesystem transport, so a fresh machine needs no broker server.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    for _folder in ("out", "processed"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "out"),
        "data_folder_out": str(_queue_dir / "out"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_DEFAULT_QUEUE = "default"
# No task may pin a worker: the soft limit raises inside the task, the hard one kills the
# process (prefork pool). Tasks that legitimately run longer set their own.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# Checks and imports on separate queues so a large import never delays re-checks.
CELERY_TASK_ROUTES = {
    "domains.*": {"queue": "checks"},
    "imports.*": {"queue": "imports"},
    # A slow receiver never delays checks or imports.
    "webhooks.*": {"queue": "webhooks"},
}
CELERY_BEAT_SCHEDULE = {
    "console.heartbeat": {"task": "console.heartbeat", "schedule": env.float("HEARTBEAT_SECONDS", default=60.0)},
    "console.requeue_emails": {"task": "console.requeue_emails", "schedule": EMAIL_SWEEP_SECONDS},
}

# --- Admin Center rules -----------------------------------------------------------------
DEMO_DOMAIN = env("DEMO_DOMAIN", default="example.com")

# Domains. Tests point the resolver at a DNS server on loopback.
DOMAIN_TXT_LABEL = env("DOMAIN_TXT_LABEL", default="_twilio")
DOMAIN_TXT_PREFIX = env("DOMAIN_TXT_PREFIX", default="twilio-domain-verification=")
DOMAIN_TXT_SUGGESTED_TTL = env.int("DOMAIN_TXT_SUGGESTED_TTL", default=300)
DOMAIN_HTML_FILENAME = env("DOMAIN_HTML_FILENAME", default="twilio-domain-verification.html")
DOMAIN_MAX_PER_ORGANIZATION = env.int("DOMAIN_MAX_PER_ORGANIZATION", default=100)
DNS_NAMESERVERS = env.list("DNS_NAMESERVERS", default=[])  # empty: the system resolver's
DNS_PORT = env.int("DNS_PORT", default=53)
DNS_TIMEOUT_SECONDS = env.float("DNS_TIMEOUT_SECONDS", default=3.0)
DNS_AUTHORITATIVE_MODE = env.bool("DNS_AUTHORITATIVE_MODE", default=not DEBUG)
HTTPS_PORT = env.int("HTTPS_PORT", default=443)
HTTPS_CA_BUNDLE = env("HTTPS_CA_BUNDLE", default="")  # empty: certifi / system store
HTTPS_ALLOW_LOOPBACK = env.bool("HTTPS_ALLOW_LOOPBACK", default=False)  # tests only
HTTPS_CONNECT_TIMEOUT_SECONDS = env.float("HTTPS_CONNECT_TIMEOUT_SECONDS", default=10.0)
HTTPS_MAX_BYTES = env.int("HTTPS_MAX_BYTES", default=8192)
VERIFY_NOW_DEADLINE_SECONDS = env.float("VERIFY_NOW_DEADLINE_SECONDS", default=8.0)
BACKGROUND_CHECK_DEADLINE_SECONDS = env.float("BACKGROUND_CHECK_DEADLINE_SECONDS", default=20.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
DOMAIN_RECHECK_JITTER_SECONDS = env.float("DOMAIN_RECHECK_JITTER_SECONDS", default=600.0)

# --- Bulk User Import -----------------------------------------------------------------
# Rows per import transaction: each chunk costs ten statements and a commit whatever its size;
# its users stay locked until it commits (a fraction of a second at this size).
IMPORT_CHUNK_SIZE = env.int("IMPORT_CHUNK_SIZE", default=5000)
IMPORT_REPORT_BATCH_SIZE = env.int("IMPORT_REPORT_BATCH_SIZE", default=5000)  # users per report batch
IMPORT_TASK_TIME_BUDGET_SECONDS = env.float("IMPORT_TASK_TIME_BUDGET_SECONDS", default=30.0)  # then re-enqueue
IMPORT_STALL_SECONDS = env.int("IMPORT_STALL_SECONDS", default=600)  # heartbeat older than this: resume
IMPORT_MAX_ATTEMPTS = env.int("IMPORT_MAX_ATTEMPTS", default=5)  # stalled this often: the job ends failed
IMPORT_RESUME_SWEEP_SECONDS = env.float("IMPORT_RESUME_SWEEP_SECONDS", default=120.0)
IMPORT_CHUNK_DELAY_SECONDS = env.float("IMPORT_CHUNK_DELAY_SECONDS", default=0.0)  # tests only: slows chunks
IMPORT_CSV_CHUNK_SIZE = env.int("IMPORT_CSV_CHUNK_SIZE", default=2000)
IMPORT_ROWS_PER_PAGE = env.int("IMPORT_ROWS_PER_PAGE", default=50)
IMPORT_REPORT_SOFT_TIME_LIMIT = env.int("IMPORT_REPORT_SOFT_TIME_LIMIT", default=1800)
CELERY_BEAT_SCHEDULE["imports.resume_stalled"] = {
    "task": "imports.resume_stalled",
    "schedule": IMPORT_RESUME_SWEEP_SECONDS,
}

# --- Production shape and abuse protection ----------------------------------------
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Error tracking: exceptions of the web and worker processes go to Sentry when a DSN is set.
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="")
SENTRY_RELEASE = env("SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from config.observability import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
# Checks that reach out to the Internet (Verify / Re-validate): per domain and per organization.
VERIFY_RATE_PER_DOMAIN = env.int("VERIFY_RATE_PER_DOMAIN", default=10)  # per VERIFY_RATE_WINDOW_SECONDS
VERIFY_RATE_PER_ORGANIZATION = env.int("VERIFY_RATE_PER_ORGANIZATION", default=60)
VERIFY_RATE_WINDOW_SECONDS = env.int("VERIFY_RATE_WINDOW_SECONDS", default=600)
# Sign-in: failed attempts per account and per client address.
SIGNIN_FAILURES_PER_ACCOUNT = env.int("SIGNIN_FAILURES_PER_ACCOUNT", default=5)
SIGNIN_FAILURES_PER_ADDRESS = env.int("SIGNIN_FAILURES_PER_ADDRESS", default=20)
SIGNIN_WINDOW_SECONDS = env.int("SIGNIN_WINDOW_SECONDS", default=900)
# E-mails a visitor can trigger (sign-up, password reset, verification, invitations), per window.
MAIL_RATE_PER_RECIPIENT = env.int("MAIL_RATE_PER_RECIPIENT", default=3)
MAIL_RATE_PER_ADDRESS = env.int("MAIL_RATE_PER_ADDRESS", default=20)
MAIL_RATE_WINDOW_SECONDS = env.int("MAIL_RATE_WINDOW_SECONDS", default=3600)
# Proxies in front of the web processes that append to X-Forwarded-For (console/client.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Domain lifecycle: re-checks, grace period, reminders, expiry ----------------
DOMAIN_DISPATCH_SECONDS = env.float("DOMAIN_DISPATCH_SECONDS", default=30.0)
DOMAIN_DISPATCH_BATCH_SIZE = env.int("DOMAIN_DISPATCH_BATCH_SIZE", default=500)
DOMAIN_DISPATCH_MAX_PER_RUN = env.int("DOMAIN_DISPATCH_MAX_PER_RUN", default=20000)
# A claim's lease: a check whose worker died is claimed again once this has passed.
DOMAIN_CHECK_LEASE_SECONDS = env.int("DOMAIN_CHECK_LEASE_SECONDS", default=600)
# Checks in flight per batch (first DNS lookups over one socket, the rest on as many threads):
# network-bound (a far-away nameserver answers in ~100 ms), so many.
DOMAIN_CHECK_CONCURRENCY = env.int("DOMAIN_CHECK_CONCURRENCY", default=200)
DOMAIN_EXPIRY_SWEEP_SECONDS = env.float("DOMAIN_EXPIRY_SWEEP_SECONDS", default=3600.0)
DOMAIN_REMINDER_SWEEP_SECONDS = env.float("DOMAIN_REMINDER_SWEEP_SECONDS", default=3600.0)
DOMAIN_REMINDER_DAYS = [int(days) for days in env.list("DOMAIN_REMINDER_DAYS", default=["30", "7", "1"])]
CELERY_BEAT_SCHEDULE.update(
    {
        "domains.dispatch_due_checks": {"task": "domains.dispatch_due_checks", "schedule": DOMAIN_DISPATCH_SECONDS},
        "domains.expire_lapsed": {"task": "domains.expire_lapsed", "schedule": DOMAIN_EXPIRY_SWEEP_SECONDS},
        "domains.send_reminders": {"task": "domains.send_reminders", "schedule": DOMAIN_REMINDER_SWEEP_SECONDS},
    }
)
DOMAIN_CHECK_WRITE_CHUNK = env.int("DOMAIN_CHECK_WRITE_CHUNK", default=100)  # results written per bulk write

# --- Retention: the tables that grow forever are trimmed in small batches -------------------
DOMAIN_CHECK_RETENTION_DAYS = env.int("DOMAIN_CHECK_RETENTION_DAYS", default=400)
DOMAIN_CHECK_KEEP_LATEST = env.int("DOMAIN_CHECK_KEEP_LATEST", default=50)  # per domain, whatever their age
IMPORT_ROW_RETENTION_DAYS = env.int("IMPORT_ROW_RETENTION_DAYS", default=180)  # after the job finished
RETENTION_BATCH_DOMAINS = env.int("RETENTION_BATCH_DOMAINS", default=200)  # domains per purge transaction
RETENTION_BATCH_ROWS = env.int("RETENTION_BATCH_ROWS", default=5000)  # import rows per purge transaction
RETENTION_TIME_BUDGET_SECONDS = env.float("RETENTION_TIME_BUDGET_SECONDS", default=60.0)  # then re-queued
RETENTION_SWEEP_SECONDS = env.float("RETENTION_SWEEP_SECONDS", default=21600.0)
CELERY_BEAT_SCHEDULE.update(
    {
        "domains.purge_old_checks": {"task": "domains.purge_old_checks", "schedule": RETENTION_SWEEP_SECONDS},
        "imports.purge_finished_rows": {"task": "imports.purge_finished_rows", "schedule": RETENTION_SWEEP_SECONDS},
    }
)

# --- Public API (/api/v1) ---------------------------------------------------------------
API_TOKEN_PREFIX = "adc_live_"  # noqa: S105  (not a secret: the fixed prefix secret scanners match on)
# The key of the tokens' HMAC digest. Its own setting so SECRET_KEY can rotate without
# invalidating every token; derived from SECRET_KEY when not set.
API_TOKEN_HASH_KEY = env("API_TOKEN_HASH_KEY", default="") or f"api-token-digest:{SECRET_KEY}"
API_RATE_PER_TOKEN = env.int("API_RATE_PER_TOKEN", default=600)  # requests per window, per token
API_RATE_WINDOW_SECONDS = env.int("API_RATE_WINDOW_SECONDS", default=60)
API_IDEMPOTENCY_TTL_SECONDS = env.int("API_IDEMPOTENCY_TTL_SECONDS", default=86400)
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=100)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=1000)
API_EXPORT_CHUNK_SIZE = env.int("API_EXPORT_CHUNK_SIZE", default=2000)
CELERY_BEAT_SCHEDULE["api.purge_idempotency_keys"] = {"task": "api.purge_idempotency_keys", "schedule": 3600.0}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "URL_FORMAT_OVERRIDE": None,  # ?format= is the audit export's own parameter
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Admin Center API",
    "DESCRIPTION": (
        "Verify domains, manage users, run bulk imports and read the audit log of one organization, "
        "with an organization API token (Authorization: Bearer adc_live_…). Errors are RFC 9457 problem "
        "details in the language of Accept-Language; lists are cursor-paginated; creates honour "
        "Idempotency-Key; writes that could race honour If-Match."
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",  # vendored files, served by whitenoise: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "COMPONENT_SPLIT_PATCH": False,  # a PATCH body has the fields its serializer requires
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.add_links"],
    "ENUM_NAME_OVERRIDES": {
        "DomainStatusEnum": "domains.models.Domain.Status",
        "ImportJobStatusEnum": "imports.models.ImportJob.Status",
        "ImportReasonEnum": "imports.models.Reason",
        "ScopeEnum": "api.models.Scope",
    },
}

# --- Audit trail --------------------------------------------------------------------------
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=730)  # 0: keep for ever
AUDIT_EXPORT_CHUNK_SIZE = env.int("AUDIT_EXPORT_CHUNK_SIZE", default=2000)  # rows per cursor fetch
CELERY_BEAT_SCHEDULE["console.purge_audit_events"] = {"task": "console.purge_audit_events", "schedule": 86400.0}

# --- Webhooks -----------------------------------------------------------------------------
WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION = env.int("WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION", default=20)
WEBHOOK_DELIVERY_DEADLINE_SECONDS = env.float("WEBHOOK_DELIVERY_DEADLINE_SECONDS", default=15.0)  # whole attempt
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_MAX_RESPONSE_BYTES = env.int("WEBHOOK_MAX_RESPONSE_BYTES", default=4096)  # read, never shown
# A worker that died mid-attempt: the delivery is claimed again this long after its deadline.
WEBHOOK_LEASE_MARGIN_SECONDS = env.float("WEBHOOK_LEASE_MARGIN_SECONDS", default=60.0)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)  # then ×2 per failure
WEBHOOK_RETRY_MAX_INTERVAL_SECONDS = env.float("WEBHOOK_RETRY_MAX_INTERVAL_SECONDS", default=12 * 3600.0)
WEBHOOK_RETRY_FOR_HOURS = env.float("WEBHOOK_RETRY_FOR_HOURS", default=72.0)  # then the delivery has failed
WEBHOOK_DISABLE_AFTER_DAYS = env.int("WEBHOOK_DISABLE_AFTER_DAYS", default=5)
WEBHOOK_SECRET_OVERLAP_HOURS = env.float("WEBHOOK_SECRET_OVERLAP_HOURS", default=24.0)
WEBHOOK_DISPATCH_SECONDS = env.float("WEBHOOK_DISPATCH_SECONDS", default=15.0)
WEBHOOK_DISPATCH_BATCH_SIZE = env.int("WEBHOOK_DISPATCH_BATCH_SIZE", default=500)
CELERY_BEAT_SCHEDULE["webhooks.dispatch_due"] = {"task": "webhooks.dispatch_due", "schedule": WEBHOOK_DISPATCH_SECONDS}
# --- Two-factor sign-in and recent authentication ----------------------------------------
# Sensitive actions (adding a factor, API tokens, roles, deleting a domain) ask to re-authenticate
# when the last sign-in or re-authentication is older than this.
RECENT_AUTH_SECONDS = env.int("RECENT_AUTH_SECONDS", default=900)
REAUTHENTICATE_URL = "mfa:reauthenticate"
# Wrong second-factor codes per user per window (counted before the code is checked).
MFA_FAILURES_PER_USER = env.int("MFA_FAILURES_PER_USER", default=5)
MFA_WINDOW_SECONDS = env.int("MFA_WINDOW_SECONDS", default=900)
# The name authenticator apps show beside the code.
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="Admin Center")
# WebAuthn binds keys to the site: the relying party id is the console's host name and the
# origin its address; both default to CONSOLE_BASE_URL.
MFA_WEBAUTHN_ORIGIN = env("MFA_WEBAUTHN_ORIGIN", default=CONSOLE_BASE_URL.rstrip("/"))
MFA_WEBAUTHN_RP_ID = env("MFA_WEBAUTHN_RP_ID", default="") or (urlsplit(MFA_WEBAUTHN_ORIGIN).hostname or "localhost")
# --- Single sign-on (OpenID Connect) ----------------------------------------------------
# Keys that encrypt the IdPs' client secrets at rest (Fernet); the first encrypts, all decrypt.
# Empty: derived from SECRET_KEY.
SSO_SECRET_KEYS = env.list("SSO_SECRET_KEYS", default=[])
SSO_HTTP_TIMEOUT_SECONDS = env.float("SSO_HTTP_TIMEOUT_SECONDS", default=10.0)  # discovery, token, JWKS
SSO_FLOW_MAX_AGE_SECONDS = env.int("SSO_FLOW_MAX_AGE_SECONDS", default=600)  # start to callback
