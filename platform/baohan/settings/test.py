"""Test settings: a real PostgreSQL (embedded unless DATABASE_URL is set), fast hashing, eager tasks."""

from baohan.embedded import database_url_ensure

database_url_ensure()

from baohan.settings.base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
CELERY_TASK_ALWAYS_EAGER = True
