"""Settings for building the image: production's static files configuration for ``collectstatic``.

The image is built without secrets or services, so the required variables get stand-ins that
exist only in this process (nothing connects to them). Anything but ``collectstatic`` is refused:
these settings must never serve a request.

    DJANGO_SETTINGS_MODULE=baohan.settings.build python -m django collectstatic --noinput
"""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured

if "collectstatic" not in sys.argv:
    raise ImproperlyConfigured("baohan.settings.build is only for collectstatic while building the image")

for _name, _value in {
    "DJANGO_SECRET_KEY": "image-build-only-" + "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "build.invalid",
    "PLATFORM_HOSTS": "build.invalid",
    "DATABASE_URL": "postgresql://build@build.invalid/build",
    "REDIS_URL": "redis://build.invalid:6379/0",
    "AWS_STORAGE_BUCKET_NAME": "build-invalid",
    "BAOHAN_FIELD_KEYS": "YnVpbGQtb25seS1maWVsZC1rZXktbmV2ZXItdXNlZC0=",
    "BAOHAN_INDEX_KEY": "build-only",
}.items():
    os.environ[_name] = _value
os.environ.pop("DJANGO_DEBUG", None)

from baohan.settings.production import *  # noqa: E402, F403
