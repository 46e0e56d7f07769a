"""A centre's own integration settings: its SMS provider and its Stripe account.

A centre without settings of its own uses the platform's (``SMS_PROVIDER``, ``STRIPE_*``); a
centre with them uses only its own, never a mix. Values are stored encrypted
(``IntegrationSetting``) and a secret is shown after saving only as its last four characters.
Replacing the Stripe webhook secret keeps the old one valid for an overlap (Stripe signs with
both while a secret is rolled), so rotation needs no downtime; any other replaced value is
dropped at once. Every change writes an ``AccountEvent`` in the centre's schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from baohan.guarantees.errors import InvalidInput
from baohan.guarantees.services.credentials import overlap_checked
from baohan.identity.integration_settings import secret_hint, settings_in_force
from baohan.identity.models import IntegrationSetting
from baohan.identity.services.accounts import account_event_record
from baohan.identity.sms.providers import provider_from_settings
from baohan.ops.inputs import json_depth

Kind = IntegrationSetting.Kind
SMS_PROVIDERS = ("aliyun", "tencent", "outbox")
SMS_TEMPLATE_CODE = "verification_code"
TEMPLATES_MAX_DEPTH = 8  # Tencent's are name → [template id, [param names]]: 3 deep
# What each name is called on the console, and whether it is a secret (shown masked).
LABELS: dict[str, tuple[str, bool]] = {
    "provider": ("服务商", False),
    "access_key_id": ("AccessKey ID", True),
    "access_key_secret": ("AccessKey Secret", True),
    "secret_id": ("SecretId", True),
    "secret_key": ("SecretKey", True),
    "sdk_app_id": ("SDK AppID", False),
    "sign_name": ("短信签名", False),
    "region": ("地域", False),
    "templates": ("短信模板", False),
    "stripe_secret_key": ("Secret key", True),
    "stripe_webhook_secret": ("Webhook 签名密钥", True),
}
# Aliyun and Tencent call their key pair differently; the console asks for "key id" and "key secret".
KEY_NAMES = {"aliyun": ("access_key_id", "access_key_secret"), "tencent": ("secret_id", "secret_key")}
OVERLAPPING = {(Kind.STRIPE, "stripe_webhook_secret")}


# --- changes -----------------------------------------------------------------------------------------


def _replace(*, kind: str, values: dict[str, str], actor_label: str, overlap: timedelta, now: datetime) -> list[str]:
    """Put ``values`` in force for ``kind``; values not given or changed are replaced. Returns the
    names that changed."""
    IntegrationSetting.objects.filter(kind=kind, expires_at__lte=now).delete()
    rows = IntegrationSetting.objects.select_for_update().filter(kind=kind, expires_at__isnull=True)
    current = {row.name: row for row in rows}
    changed = []
    for name, row in current.items():
        if values.get(name) == row.current_value:
            continue
        changed.append(name)
        if (kind, name) in OVERLAPPING and overlap:
            row.expires_at = now + overlap
            row.save(update_fields=["expires_at"])
        else:
            row.delete()  # a replaced secret is not kept
    for name, value in values.items():
        if name in current and current[name].current_value == value:
            continue
        secret = LABELS[name][1]
        IntegrationSetting.objects.create(
            kind=kind,
            name=name,
            value=value if secret else "",
            text="" if secret else value,
            is_secret=secret,
            created_by=actor_label[:200],
        )
        if name not in changed:
            changed.append(name)
    account_event_record(
        user=None,
        kind="integration_settings_set" if values else "integration_settings_cleared",
        actor_kind="console",
        actor_label=actor_label,
        data={"integration": kind, "changed": sorted(changed)},
    )
    return sorted(changed)


def _kept(given: str, *, current: dict[str, str], name: str, field: str, label: str) -> str:
    """A secret typed again, or the one stored (a secret's input is left blank to keep it)."""
    value = given.strip() or current.get(name, "")
    if not value:
        raise InvalidInput("required", f"请填写{label}", field=field, label=label)
    return value


def _templates_parsed(text: str) -> dict[str, Any]:
    # Measured before parsing, so no nesting reaches the parser's recursion (templates nest 3 deep at most).
    if json_depth(text.encode("utf-8", "surrogatepass")) > TEMPLATES_MAX_DEPTH:
        raise InvalidInput(
            "templates_invalid",
            f"短信模板嵌套过深（JSON 最多 {TEMPLATES_MAX_DEPTH} 层）：模板名称 → 模板编号",
            field="templates",
        )
    try:
        templates = json.loads(text) if text.strip() else None
    except json.JSONDecodeError as exc:
        raise InvalidInput("templates_invalid", f"短信模板不是有效的 JSON：{exc.msg}", field="templates") from exc
    if not isinstance(templates, dict) or not templates:
        raise InvalidInput("templates_invalid", "短信模板须为 JSON 对象：模板名称 → 模板编号", field="templates")
    if SMS_TEMPLATE_CODE not in templates:
        raise InvalidInput("templates_missing_code", f"短信模板须包含 {SMS_TEMPLATE_CODE}", field="templates")
    return templates


def sms_settings_set(
    *,
    provider: str,
    key_id: str = "",
    key_secret: str = "",
    sign_name: str = "",
    templates: str = "",
    sdk_app_id: str = "",
    region: str = "",
    actor_label: str = "",
    now: datetime | None = None,
) -> list[str]:
    """The centre's own SMS provider. A key left blank keeps the one stored for the same provider."""
    now = now or timezone.now()
    if provider not in SMS_PROVIDERS:
        raise InvalidInput("invalid_provider", "请选择短信服务商", field="provider", label="服务商")
    current = settings_in_force(Kind.SMS)
    if current.get("provider") != provider:
        current = {}
    values: dict[str, str] = {"provider": provider}
    if provider != "outbox":
        id_name, secret_name = KEY_NAMES[provider]
        values[id_name] = _kept(key_id, current=current, name=id_name, field="key_id", label=LABELS[id_name][0])
        values[secret_name] = _kept(
            key_secret, current=current, name=secret_name, field="key_secret", label=LABELS[secret_name][0]
        )
        if not sign_name.strip():
            raise InvalidInput("required", "请填写短信签名", field="sign_name", label="短信签名")
        values["sign_name"] = sign_name.strip()
        if provider == "tencent":
            if not sdk_app_id.strip():
                raise InvalidInput("required", "请填写 SDK AppID", field="sdk_app_id", label="SDK AppID")
            values["sdk_app_id"] = sdk_app_id.strip()
            values["region"] = region.strip() or "ap-guangzhou"
        values["templates"] = json.dumps(_templates_parsed(templates), ensure_ascii=False, sort_keys=True)
        config: dict[str, Any] = {**values, "templates": json.loads(values["templates"])}
        try:
            provider_from_settings(config)
        except ImproperlyConfigured as exc:
            raise InvalidInput("sms_settings_invalid", str(exc), field="templates") from exc
    with transaction.atomic():
        return _replace(kind=Kind.SMS, values=values, actor_label=actor_label, overlap=timedelta(0), now=now)


def stripe_settings_set(
    *,
    secret_key: str = "",
    webhook_secret: str = "",
    overlap_hours: int = 24,
    actor_label: str = "",
    now: datetime | None = None,
) -> list[str]:
    """The centre's own Stripe account. A key left blank keeps the one stored; a replaced webhook
    secret is still accepted for ``overlap_hours``."""
    now = now or timezone.now()
    overlap = overlap_checked(overlap_hours)
    current = settings_in_force(Kind.STRIPE)
    key = _kept(secret_key, current=current, name="stripe_secret_key", field="secret_key", label="Secret key")
    if not key.startswith(("sk_", "rk_")):
        raise InvalidInput("invalid_key", "Secret key 应以 sk_ 或 rk_ 开头", field="secret_key", label="Secret key")
    hook = _kept(
        webhook_secret, current=current, name="stripe_webhook_secret", field="webhook_secret", label="Webhook 签名密钥"
    )
    if not hook.startswith("whsec_"):
        raise InvalidInput(
            "invalid_key", "Webhook 签名密钥应以 whsec_ 开头", field="webhook_secret", label="Webhook 签名密钥"
        )
    with transaction.atomic():
        return _replace(
            kind=Kind.STRIPE,
            values={"stripe_secret_key": key, "stripe_webhook_secret": hook},
            actor_label=actor_label,
            overlap=overlap,
            now=now,
        )


def integration_settings_clear(*, kind: str, actor_label: str = "", now: datetime | None = None) -> list[str]:
    """Drop the centre's own settings of ``kind``: the platform's apply again."""
    if kind not in Kind.values:
        raise InvalidInput("invalid_kind", "没有该类配置", field="kind")
    now = now or timezone.now()
    with transaction.atomic():
        IntegrationSetting.objects.filter(kind=kind, expires_at__isnull=False).delete()
        return _replace(kind=kind, values={}, actor_label=actor_label, overlap=timedelta(0), now=now)


# --- what the console shows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingShown:
    name: str
    label: str
    shown: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None


def integration_settings_shown(*, kind: str, now: datetime | None = None) -> list[SettingShown]:
    """The centre's settings of ``kind`` as the console shows them: secrets masked, never whole;
    a replaced value still in its overlap is listed with its end."""
    now = now or timezone.now()
    rows = IntegrationSetting.objects.filter(kind=kind).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    order = list(LABELS)
    shown = [
        SettingShown(
            name=row.name,
            label=LABELS.get(row.name, (row.name, True))[0],
            shown=secret_hint(row.value) if row.is_secret else row.text,
            created_at=row.created_at,
            created_by=row.created_by,
            expires_at=row.expires_at,
        )
        for row in rows
    ]
    return sorted(
        shown, key=lambda s: (order.index(s.name) if s.name in order else len(order), s.expires_at is not None)
    )


def sms_settings_current() -> dict[str, str]:
    """The centre's non-secret SMS settings, to fill the form again (secrets are never sent back)."""
    return {name: value for name, value in settings_in_force(Kind.SMS).items() if not LABELS.get(name, (name, True))[1]}
