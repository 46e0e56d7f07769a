"""The guarantee's documents: the policy PDF (plain, and sealed where the pack hands out an
encrypted one before bid opening), its fingerprint for verification, and its verification code."""

from __future__ import annotations

import uuid

from django.db import models

from baohan.guarantees.models import Order
from baohan.identity.fields import EncryptedCharField
from tenants.db import connection


def policy_key(instance: Policy, filename: str) -> str:
    """Every object sits under its centre's own prefix; names cannot be guessed."""
    return f"tenants/{connection.schema_name}/policies/{uuid.uuid4().hex}-{filename}"


class Policy(models.Model):
    """The policy of an issued guarantee. Generated once, after issue; never changed."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="policy")
    # 验真码: with the guarantee number, anyone may check the guarantee is genuine.
    verification_code = models.CharField("验真码", max_length=12)
    plain = models.FileField(upload_to=policy_key, max_length=300)
    plain_sha256 = models.CharField(max_length=64)
    # AES-256 encrypted copy, handed out before bid opening where the pack says so; the key
    # stays with the platform (encrypted at rest).
    sealed = models.FileField(upload_to=policy_key, max_length=300, blank=True)
    sealed_sha256 = models.CharField(max_length=64, blank=True)
    sealed_password = EncryptedCharField(blank=True)
    layout_theme = models.CharField(max_length=40)
    generated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["plain_sha256"], name="policy_by_plain_digest"),
            models.Index(fields=["sealed_sha256"], name="policy_by_sealed_digest"),
        ]

    def __str__(self) -> str:
        return f"policy {self.order_id}"
