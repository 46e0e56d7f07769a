"""Test settings: a real PostgreSQL (embedded unless DATABASE_URL is set), fast hashing, eager tasks."""

import os

from baohan.embedded import database_url_ensure

database_url_ensure()

from baohan.settings.base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
CELERY_TASK_ALWAYS_EAGER = True
# Two test runs side by side (e.g. a second terminal) each get their own database.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_baohan")}  # noqa: F405
