"""Fields encrypted at rest, and the one way sensitive numbers are shown: masked.

Values are encrypted with Fernet (``cryptography``) under ``BAOHAN_FIELD_KEYS``; the first
key encrypts, every key decrypts, so keys can be rotated. ID and bank account numbers are
stored only this way and shown only through ``mask_tail``.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("BAOHAN_FIELD_KEYS is empty: set it to one or more Fernet keys")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(value: str) -> str:
    return PREFIX + _fernet(tuple(settings.BAOHAN_FIELD_KEYS)).encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return _fernet(tuple(settings.BAOHAN_FIELD_KEYS)).decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("the value cannot be decrypted with the configured keys") from exc


def blind_index(value: str) -> str:
    """A keyed digest of a sensitive number, for finding equal values without decrypting them
    (``BAOHAN_INDEX_KEY``; changing the key means recomputing every stored digest)."""
    key = settings.BAOHAN_INDEX_KEY
    if not key:
        raise ImproperlyConfigured("BAOHAN_INDEX_KEY is empty: set it to a long random string")
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def mask_tail(value: str | None, keep: int = 4) -> str:
    """``6217000000001234`` → ``************1234``; short values are masked whole."""
    if not value:
        return ""
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def mask_phone(phone: str) -> str:
    """``13800001234`` → ``138****1234``: how a phone is shown in pages, answers, texts and logs."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


class EncryptedCharField(models.TextField):  # type: ignore[type-arg]
    """Plain text in Python, Fernet ciphertext in the database; never used in lookups."""

    description = "Text encrypted at rest"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise TypeError(f"encrypted fields cannot be searched with {lookup_name!r}")
        return super().get_lookup(lookup_name)
