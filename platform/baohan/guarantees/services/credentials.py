"""API credentials of a centre and of its issuers: issued, rotated with an overlap, revoked.

A token is ``<key id>.<secret>``; only the secret's SHA-256 is stored, so a token is shown once,
when it is made. Rotating makes a new credential of the same kind and issuer and gives the old
one an ``expires_at``: both authenticate until then, only the new one after. Every change writes
an ``AccountEvent`` in the centre's schema (the console records its own action beside it).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from baohan.guarantees.errors import Conflict, InvalidInput, NotFound
from baohan.guarantees.models import ApiCredential
from baohan.identity.services.accounts import account_event_record
from tenants.selectors import pack_in_force

MAX_OVERLAP_HOURS = 24 * 30


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def credential_create(
    *, kind: str, issuer_code: str = "", label: str = "", key_id: str = "", secret: str = ""
) -> tuple[ApiCredential, str]:
    """A new credential; the returned token (``<key id>.<secret>``) is shown once and never stored.

    ``key_id`` and ``secret`` are generated unless given (the demo data gives fixed ones)."""
    key_id = key_id or secrets.token_hex(8)
    secret = secret or secrets.token_urlsafe(32)
    credential = ApiCredential.objects.create(
        kind=kind, issuer_code=issuer_code, key_id=key_id, secret_hash=secret_hash(secret), label=label
    )
    return credential, f"{key_id}.{secret}"


def overlap_checked(overlap_hours: int, *, field: str = "overlap_hours") -> timedelta:
    if overlap_hours < 0 or overlap_hours > MAX_OVERLAP_HOURS:
        raise InvalidInput(
            "overlap_out_of_range", f"过渡期须在 0 到 {MAX_OVERLAP_HOURS} 小时之间", field=field, label="过渡期（小时）"
        )
    return timedelta(hours=overlap_hours)


def _record(*, kind: str, credential: ApiCredential, actor_label: str, data: dict[str, object]) -> None:
    account_event_record(
        user=None,
        kind=kind,
        actor_kind="console",
        actor_label=actor_label,
        data={"kind": credential.kind, "issuer": credential.issuer_code, "key_id": credential.key_id, **data},
    )


def credential_issue(
    *, kind: str, issuer_code: str = "", label: str = "", actor_label: str = ""
) -> tuple[ApiCredential, str]:
    """A new credential for the centre or one of the issuers of its pack in force."""
    if kind not in ApiCredential.Kind.values:
        raise InvalidInput("invalid_kind", "请选择凭证类型", field="kind", label="凭证类型")
    issuer_code = issuer_code.strip()
    if kind == ApiCredential.Kind.ISSUER:
        pack, _ = pack_in_force()
        if issuer_code not in {issuer.code for issuer in pack.issuers}:
            raise InvalidInput("unknown_issuer", "本中心没有该出函机构", field="issuer_code", label="出函机构")
    elif issuer_code:
        raise InvalidInput("issuer_for_centre", "交易中心凭证不属于出函机构", field="issuer_code", label="出函机构")
    with transaction.atomic():
        credential, token = credential_create(kind=kind, issuer_code=issuer_code, label=label.strip()[:100])
        _record(kind="api_credential_created", credential=credential, actor_label=actor_label, data={})
    return credential, token


def _locked(credential_id: int) -> ApiCredential:
    credential = ApiCredential.objects.select_for_update().filter(pk=credential_id).first()
    if credential is None:
        raise NotFound("credential_not_found", "没有该凭证")
    return credential


def credential_is_valid(credential: ApiCredential, *, now: datetime) -> bool:
    return credential.is_active and (credential.expires_at is None or credential.expires_at > now)


def credential_rotate(
    *, credential_id: int, overlap_hours: int, actor_label: str = "", now: datetime | None = None
) -> tuple[ApiCredential, str]:
    """A new credential of the same kind and issuer; the old one stays valid for ``overlap_hours``.

    Returns the new credential and its token (shown once)."""
    overlap = overlap_checked(overlap_hours)
    now = now or timezone.now()
    with transaction.atomic():
        old = _locked(credential_id)
        if not credential_is_valid(old, now=now):
            raise Conflict("credential_not_valid", "该凭证已失效，不能轮换")
        if old.replaced_by_id is not None:
            raise Conflict("credential_already_rotated", "该凭证已轮换，请轮换新凭证")
        new, token = credential_create(kind=old.kind, issuer_code=old.issuer_code, label=old.label)
        old.expires_at = now + overlap
        old.replaced_by = new
        old.save(update_fields=["expires_at", "replaced_by"])
        _record(
            kind="api_credential_rotated",
            credential=old,
            actor_label=actor_label,
            data={"new_key_id": new.key_id, "overlap_hours": overlap_hours, "expires_at": old.expires_at.isoformat()},
        )
    return new, token


def credential_revoke(*, credential_id: int, actor_label: str = "", now: datetime | None = None) -> ApiCredential:
    """Refuse the credential from now on (an overlap left from a rotation ends too)."""
    now = now or timezone.now()
    with transaction.atomic():
        credential = _locked(credential_id)
        if not credential.is_active:
            raise Conflict("credential_revoked", "该凭证已停用")
        credential.is_active = False
        if credential.expires_at is None or credential.expires_at > now:
            credential.expires_at = now
        credential.save(update_fields=["is_active", "expires_at"])
        _record(kind="api_credential_revoked", credential=credential, actor_label=actor_label, data={})
    return credential


@dataclass(frozen=True)
class CredentialRow:
    credential: ApiCredential
    state: str  # active, overlap, expired, revoked
    replaced_by_key_id: str


def credential_state(credential: ApiCredential, *, now: datetime) -> str:
    if not credential.is_active:
        return "revoked"
    if credential.expires_at is None:
        return "active"
    return "overlap" if credential.expires_at > now else "expired"


def credentials_list(*, issuer_codes: list[str] | None = None, now: datetime | None = None) -> list[CredentialRow]:
    """The centre's credentials, newest first; ``issuer_codes`` narrows them to those issuers'."""
    now = now or timezone.now()
    qs = ApiCredential.objects.select_related("replaced_by").order_by("kind", "issuer_code", "-created_at", "-id")
    if issuer_codes is not None:
        qs = qs.filter(kind=ApiCredential.Kind.ISSUER, issuer_code__in=issuer_codes)
    return [
        CredentialRow(
            credential=c,
            state=credential_state(c, now=now),
            replaced_by_key_id=c.replaced_by.key_id if c.replaced_by else "",
        )
        for c in qs
    ]
