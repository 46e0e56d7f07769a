"""Test settings: fast hashing, eager tasks unless a broker is given."""

from baohan.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
