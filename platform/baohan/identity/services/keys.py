"""A centre's login keys as console configuration: the trading platform's hand-off keys (added,
rotated with an overlap, revoked) and the CA roots trusted for CA-key logins (added, removed).

Hand-off secrets are needed to verify signatures, so they are stored encrypted
(``EncryptedCharField``), shown once when made and never again. Every change writes an
``AccountEvent`` in the centre's schema.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from django.db import transaction
from django.utils import timezone

from baohan.guarantees.errors import Conflict, InvalidInput, NotFound
from baohan.guarantees.services.credentials import overlap_checked
from baohan.identity.certificates import roots_load
from baohan.identity.models import HandoffKey, TrustedCaRoot
from baohan.identity.services.accounts import account_event_record
from baohan.identity.services.logins import ca_root_trust

KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
MIN_SECRET = 32


def _record(*, kind: str, actor_label: str, data: dict[str, object]) -> None:
    account_event_record(user=None, kind=kind, actor_kind="console", actor_label=actor_label, data=data)


# --- hand-off keys ---------------------------------------------------------------------------------


def _handoff_key_new(*, key_id: str, secret: str) -> tuple[HandoffKey, str]:
    key_id = key_id.strip() or f"hk-{timezone.now():%Y%m%d}-{secrets.token_hex(3)}"
    if not KEY_ID.fullmatch(key_id):
        raise InvalidInput(
            "key_id_invalid",
            "密钥编号只能包含字母、数字、点、横线和下划线，至多40个字符",
            field="key_id",
            label="密钥编号",
        )
    if HandoffKey.objects.filter(key_id=key_id).exists():
        raise InvalidInput("key_id_taken", "该密钥编号已存在", field="key_id", label="密钥编号")
    secret = secret.strip() or secrets.token_urlsafe(48)
    if len(secret) < MIN_SECRET:
        raise InvalidInput("secret_too_short", f"密钥至少{MIN_SECRET}个字符", field="secret", label="密钥")
    return HandoffKey.objects.create(key_id=key_id, secret=secret), secret


def handoff_key_add(*, key_id: str = "", secret: str = "", actor_label: str = "") -> tuple[HandoffKey, str]:
    """A new hand-off key beside any others; the secret (generated unless given) is returned once."""
    with transaction.atomic():
        key, secret = _handoff_key_new(key_id=key_id, secret=secret)
        _record(kind="handoff_key_added", actor_label=actor_label, data={"key_id": key.key_id})
    return key, secret


def _key_locked(key_pk: int) -> HandoffKey:
    key = HandoffKey.objects.select_for_update().filter(pk=key_pk).first()
    if key is None:
        raise NotFound("handoff_key_not_found", "没有该密钥")
    return key


def handoff_key_is_valid(key: HandoffKey, *, now: datetime) -> bool:
    return key.is_active and (key.retire_at is None or key.retire_at > now)


def handoff_key_rotate(
    *,
    key_pk: int,
    overlap_hours: int,
    new_key_id: str = "",
    secret: str = "",
    actor_label: str = "",
    now: datetime | None = None,
) -> tuple[HandoffKey, str]:
    """A new key; tokens signed with the old one are accepted for ``overlap_hours`` more, then refused.

    Returns the new key and its secret (shown once)."""
    overlap = overlap_checked(overlap_hours)
    now = now or timezone.now()
    with transaction.atomic():
        old = _key_locked(key_pk)
        if not handoff_key_is_valid(old, now=now):
            raise Conflict("handoff_key_not_valid", "该密钥已停用，不能轮换")
        if old.retire_at is not None:
            raise Conflict("handoff_key_already_rotated", "该密钥已轮换，请轮换新密钥")
        new, secret = _handoff_key_new(key_id=new_key_id, secret=secret)
        old.retire_at = now + overlap
        old.save(update_fields=["retire_at"])
        _record(
            kind="handoff_key_rotated",
            actor_label=actor_label,
            data={
                "key_id": old.key_id,
                "new_key_id": new.key_id,
                "overlap_hours": overlap_hours,
                "retire_at": old.retire_at.isoformat(),
            },
        )
    return new, secret


def handoff_key_revoke(*, key_pk: int, actor_label: str = "", now: datetime | None = None) -> HandoffKey:
    """Refuse tokens signed with the key from now on."""
    now = now or timezone.now()
    with transaction.atomic():
        key = _key_locked(key_pk)
        if not key.is_active:
            raise Conflict("handoff_key_revoked", "该密钥已停用")
        key.is_active = False
        if key.retire_at is None or key.retire_at > now:
            key.retire_at = now
        key.save(update_fields=["is_active", "retire_at"])
        _record(kind="handoff_key_revoked", actor_label=actor_label, data={"key_id": key.key_id})
    return key


@dataclass(frozen=True)
class HandoffKeyRow:
    key: HandoffKey
    state: str  # active, overlap, expired, revoked


def handoff_keys_list(*, now: datetime | None = None) -> list[HandoffKeyRow]:
    now = now or timezone.now()
    rows = []
    for key in HandoffKey.objects.order_by("-created_at", "-id"):
        if not key.is_active:
            state = "revoked"
        elif key.retire_at is None:
            state = "active"
        else:
            state = "overlap" if key.retire_at > now else "expired"
        rows.append(HandoffKeyRow(key=key, state=state))
    return rows


# --- trusted CA roots ----------------------------------------------------------------------------


def ca_root_add(*, name: str, pem: str, actor_label: str = "", now: datetime | None = None) -> TrustedCaRoot:
    """Trust the CA certificate(s) of a PEM bundle; each must be a CA certificate still valid."""
    now = now or timezone.now()
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("required", "请填写名称（至多200个字符）", field="name", label="名称")
    if not pem.strip():
        raise InvalidInput("required", "请粘贴 PEM 格式的根证书", field="pem", label="根证书（PEM）")
    try:
        certificates = roots_load(pem=pem.strip())
    except ValueError as exc:
        raise InvalidInput("pem_invalid", "不是有效的 PEM 格式证书", field="pem", label="根证书（PEM）") from exc
    for cert in certificates:
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except (x509.ExtensionNotFound, ValueError):
            is_ca = False
        if not is_ca:
            raise InvalidInput("not_a_ca", "证书不是 CA 证书", field="pem", label="根证书（PEM）")
        if cert.not_valid_after_utc <= now:
            raise InvalidInput("certificate_expired", "证书已过期", field="pem", label="根证书（PEM）")
    with transaction.atomic():
        row = ca_root_trust(name=name, pem=pem.strip())
        _record(
            kind="ca_root_added",
            actor_label=actor_label,
            data={"name": row.name, "fingerprint_sha256": row.fingerprint_sha256},
        )
    return row


def ca_root_remove(*, root_id: int, actor_label: str = "") -> TrustedCaRoot:
    """Stop trusting a root (the row is kept, inactive; adding the same certificate again restores it)."""
    with transaction.atomic():
        row = TrustedCaRoot.objects.select_for_update().filter(pk=root_id, is_active=True).first()
        if row is None:
            raise NotFound("ca_root_not_found", "没有该根证书")
        row.is_active = False
        row.save(update_fields=["is_active"])
        _record(
            kind="ca_root_removed",
            actor_label=actor_label,
            data={"name": row.name, "fingerprint_sha256": row.fingerprint_sha256},
        )
    return row


def ca_roots_list() -> list[TrustedCaRoot]:
    return list(TrustedCaRoot.objects.filter(is_active=True).order_by("name", "id"))
