"""What the SMS provider and the Stripe client read: a centre's own integration settings
(``IntegrationSetting``, stored encrypted), else the platform's global settings.

A centre with settings of a kind uses only its own, never a mix with the platform's. Changes
go through ``baohan.identity.services.integrations``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from baohan.identity.models import IntegrationSetting
from tenants.db import connection

Kind = IntegrationSetting.Kind


def secret_hint(value: str) -> str:
    """What is shown of a stored secret: its last four characters (nothing of a short one)."""
    return f"****{value[-4:]}" if len(value) >= 12 else "****"


def settings_in_force(kind: str) -> dict[str, str]:
    """The centre's values of ``kind`` in force (none on the platform's own schema)."""
    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return {}
    rows = IntegrationSetting.objects.filter(kind=kind, expires_at__isnull=True)
    return {row.name: row.current_value for row in rows}


def sms_provider_config() -> Mapping[str, Any]:
    """The centre's SMS provider settings, else the platform's ``SMS_PROVIDER``."""
    values = settings_in_force(Kind.SMS)
    if not values:
        platform: Mapping[str, Any] = settings.SMS_PROVIDER
        return platform
    config: dict[str, Any] = dict(values)
    if "templates" in config:
        config["templates"] = json.loads(config["templates"])
    return config


def stripe_secret_key() -> str:
    """The centre's Stripe secret key, else the platform's ``STRIPE_SECRET_KEY``."""
    values = settings_in_force(Kind.STRIPE)
    return values.get("stripe_secret_key", "") if values else str(settings.STRIPE_SECRET_KEY)


def stripe_webhook_secrets(*, now: datetime | None = None) -> list[str]:
    """The webhook secrets to accept: the one in force first, then a replaced one still in its overlap."""
    if not settings_in_force(Kind.STRIPE):
        return [settings.STRIPE_WEBHOOK_SECRET] if settings.STRIPE_WEBHOOK_SECRET else []
    now = now or timezone.now()
    rows = IntegrationSetting.objects.filter(kind=Kind.STRIPE, name="stripe_webhook_secret").filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    ordered = sorted(rows, key=lambda r: (r.expires_at is not None, -(r.expires_at or now).timestamp()))
    return [row.current_value for row in ordered if row.current_value]
