"""Logins that are not a phone and a password: a CA-key certificate and a hand-off from the
trading platform. Both end in an allauth login; both refuse with a reason and change nothing."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from baohan.guarantees.errors import DomainError, InvalidInput, NotAllowed
from baohan.guarantees.forms import phone_clean, uscc_clean
from baohan.guarantees.models import Enterprise, Operator
from baohan.identity.certificates import (
    CertificateIdentity,
    CertificateRefused,
    certificate_identity_verify,
    certificate_load,
    roots_load,
)
from baohan.identity.login_methods import login_method_label
from baohan.identity.models import EnterpriseCertificate, HandoffKey, HandoffUse, LoginNonce, TrustedCaRoot
from baohan.identity.services.accounts import account_event_record
from baohan.rulepacks.models import CaKeyLogin, HandoffLogin, LoginMethod
from tenants.db import connection
from tenants.selectors import pack_in_force

log = logging.getLogger("baohan.identity")


class LoginRefused(DomainError):
    status = 403


def _method_required(method: LoginMethod) -> Any:
    pack, _ = pack_in_force()
    if method not in pack.login.methods:
        with translation.override(settings.LANGUAGE_CODE):  # the sign-in page's words, as the message is Chinese
            offered = "、".join(login_method_label(m) for m in pack.login.methods)
            wanted = login_method_label(method)
        raise NotAllowed("login_method_not_offered", f"本中心不提供{wanted}，请使用本中心的登录方式：{offered}")
    return pack


# --- CA key --------------------------------------------------------------------------------------


def ca_challenge_text(*, nonce: str) -> str:
    """What the CA driver signs: the centre and the nonce, so a signature serves one centre once."""
    return f"baohan-login|{connection.schema_name}|{nonce}"


def ca_nonce_issue() -> LoginNonce:
    pack = _method_required(LoginMethod.CA_KEY)
    config: CaKeyLogin = pack.login.ca_key or CaKeyLogin()
    now = timezone.now()
    LoginNonce.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    return LoginNonce.objects.create(
        nonce=secrets.token_urlsafe(32), expires_at=now + timedelta(seconds=config.challenge_seconds)
    )


def _nonce_consume(nonce: str) -> None:
    """Single use: the first answer takes the nonce, right or wrong."""
    now = timezone.now()
    taken = LoginNonce.objects.filter(nonce=nonce, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    if taken != 1:
        raise LoginRefused("nonce_invalid", "登录请求已失效或已使用，请刷新页面后重试", field="nonce")


def ca_root_trust(*, name: str, pem: str) -> TrustedCaRoot:
    """Add a CA root to this centre's trusted roots (tenant configuration)."""
    roots = roots_load(pem=pem)
    row = None
    for cert in roots:
        der = cert.public_bytes(serialization.Encoding.DER)
        row, _ = TrustedCaRoot.objects.update_or_create(
            fingerprint_sha256=hashlib.sha256(der).hexdigest(),
            defaults={
                "name": name,
                "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
                "not_after": cert.not_valid_after_utc,
                "is_active": True,
            },
        )
    assert row is not None
    return row


def ca_roots() -> list[Any]:
    roots: list[Any] = []
    for row in TrustedCaRoot.objects.filter(is_active=True):
        roots.extend(roots_load(pem=row.certificate_pem))
    return roots


def ca_login_verify(*, nonce: str, certificate: str, signature: bytes, intermediates: list[str]) -> CertificateIdentity:
    """Check an answer to a challenge; return whom it proves. Refusals are logged with their reason."""
    pack = _method_required(LoginMethod.CA_KEY)
    config: CaKeyLogin = pack.login.ca_key or CaKeyLogin()
    _nonce_consume(nonce)
    try:
        leaf = certificate_load(data=certificate)
        chain = [certificate_load(data=c) for c in intermediates]
        identity = certificate_identity_verify(
            certificate=leaf,
            intermediates=chain,
            signature=signature,
            message=ca_challenge_text(nonce=nonce).encode(),
            roots=ca_roots(),
            now=timezone.now(),
            uscc_attributes=list(config.uscc_attributes),
        )
    except CertificateRefused as exc:
        log.warning("CA login refused on %s: %s", connection.schema_name, exc.code)
        raise LoginRefused(exc.code, exc.message, field="certificate") from exc
    return identity


def ca_account_take(*, identity: CertificateIdentity) -> AbstractUser:
    """The account a certificate signs in as; the first login creates the enterprise from the
    certificate (同步企业信息), later logins bring its name up to date."""
    user_model = get_user_model()
    now = timezone.now()
    with transaction.atomic():
        enterprise, created = Enterprise.objects.select_for_update().get_or_create(
            uscc=identity.uscc,
            defaults={
                "name": identity.name[:200],
                "verification": Enterprise.Verification.VERIFIED,
                "source": "certificate",
            },
        )
        enterprise.name = identity.name[:200]
        enterprise.synced_at = now
        enterprise.save()
        bound = (
            EnterpriseCertificate.objects.select_related("user")
            .filter(fingerprint_sha256=identity.fingerprint_sha256)
            .first()
        )
        if bound is not None:
            user = bound.user
            bound.last_login_at = now
            bound.save(update_fields=["last_login_at"])
        else:
            operator = (
                Operator.objects.select_related("user")
                .filter(enterprise=enterprise, user__username=f"ca-{identity.uscc}")
                .first()
            )
            if operator is not None:
                user = operator.user
            else:
                user = user_model.objects.create_user(username=f"ca-{identity.uscc}")
                user.set_unusable_password()
                user.save()
                Operator.objects.create(user=user, enterprise=enterprise, name="", phone="")
            EnterpriseCertificate.objects.create(
                user=user,
                fingerprint_sha256=identity.fingerprint_sha256,
                serial_number=identity.serial_number,
                issuer=identity.issuer[:300],
                uscc=identity.uscc,
                not_after=identity.not_after,
                last_login_at=now,
            )
        account_event_record(
            user=user,
            kind="enterprise_sync" if created else "certificate_login",
            actor_label=identity.name,
            data={"method": "ca_key", "uscc": identity.uscc, "serial": identity.serial_number},
        )
    assert isinstance(user, AbstractUser)
    return user


# --- hand-off from the trading platform ----------------------------------------------------------------


def handoff_key_set(*, key_id: str, secret: str) -> HandoffKey:
    if len(secret) < 32:
        raise InvalidInput("secret_too_short", "密钥至少32个字符", field="secret")
    key, _ = HandoffKey.objects.update_or_create(
        key_id=key_id, defaults={"secret": secret, "is_active": True, "retire_at": None}
    )
    return key


def handoff_token_make(
    *,
    key_id: str,
    secret: str,
    issuer: str,
    uscc: str,
    name: str,
    operator: dict[str, str],
    lifetime_seconds: int = 300,
    jti: str | None = None,
) -> str:
    """What the trading platform sends (documented for its developers; used by the demo link and tests)."""
    now = int(timezone.now().timestamp())
    claims = {
        "iss": issuer,
        "aud": f"baohan:{connection.schema_name}",
        "iat": now,
        "exp": now + lifetime_seconds,
        "jti": jti or secrets.token_urlsafe(16),
        "uscc": uscc,
        "name": name,
        "operator": operator,
    }
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": key_id})


def handoff_verify(*, token: str) -> dict[str, Any]:
    """Check a hand-off token: key, signature, issuer, audience, lifetime, single use, contents."""
    pack = _method_required(LoginMethod.PLATFORM_HANDOFF)
    config: HandoffLogin | None = pack.login.handoff
    assert config is not None  # the pack's cross-checks require it with the method
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise LoginRefused("token_malformed", "登录凭证格式错误") from exc
    key = HandoffKey.objects.filter(key_id=str(header.get("kid", "")), is_active=True).first()
    if key is None:
        raise LoginRefused("token_unknown_key", "登录凭证的签名密钥未登记")
    # Several keys may be valid at once (a rotation's overlap); a replaced key only until it retires.
    if key.retire_at is not None and key.retire_at <= timezone.now():
        raise LoginRefused("token_key_retired", "登录凭证的签名密钥已停用")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.secret,
            algorithms=["HS256"],
            audience=f"baohan:{connection.schema_name}",
            issuer=config.issuer,
            options={"require": ["exp", "iat", "jti", "iss", "aud"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as exc:
        raise LoginRefused("token_expired", "登录凭证已过期，请从交易平台重新进入") from exc
    except jwt.ImmatureSignatureError as exc:
        raise LoginRefused("token_not_yet_valid", "登录凭证签发时间无效") from exc
    except jwt.InvalidAudienceError as exc:
        raise LoginRefused("token_wrong_audience", "登录凭证不是签发给本中心的") from exc
    except jwt.InvalidSignatureError as exc:
        raise LoginRefused("token_bad_signature", "登录凭证签名无效") from exc
    except jwt.PyJWTError as exc:
        raise LoginRefused("token_invalid", "登录凭证无效") from exc
    if int(claims["exp"]) - int(claims["iat"]) > config.max_lifetime_seconds:
        raise LoginRefused("token_lifetime", "登录凭证有效期过长")
    operator = claims.get("operator")
    if not isinstance(operator, dict):
        raise LoginRefused("token_contents", "登录凭证缺少经办人信息")
    try:
        claims["uscc"] = uscc_clean(str(claims.get("uscc", "")))
        operator["phone"] = phone_clean(str(operator.get("phone", "")))
    except ValueError as exc:
        raise LoginRefused("token_contents", f"登录凭证内容无效：{exc}") from exc
    if not str(claims.get("name", "")).strip() or not str(operator.get("name", "")).strip():
        raise LoginRefused("token_contents", "登录凭证缺少企业名称或经办人姓名")
    try:
        with transaction.atomic():
            HandoffUse.objects.create(
                jti=str(claims["jti"])[:100],
                key_id=key.key_id,
                expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
            )
    except IntegrityError as exc:
        raise LoginRefused("token_replayed", "登录凭证已使用，请从交易平台重新进入") from exc
    HandoffUse.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
    return claims


def _email_or_blank(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value


def handoff_account_take(*, claims: dict[str, Any]) -> AbstractUser:
    """Create or update the enterprise and the operator the token names; return the operator's account."""
    operator_claims: dict[str, str] = claims["operator"]
    phone = operator_claims["phone"]
    user_model = get_user_model()
    with transaction.atomic():
        enterprise, created = Enterprise.objects.select_for_update().get_or_create(
            uscc=claims["uscc"],
            defaults={
                "name": str(claims["name"])[:200],
                "verification": Enterprise.Verification.VERIFIED,
                "source": "handoff",
            },
        )
        enterprise.name = str(claims["name"])[:200]
        enterprise.synced_at = timezone.now()
        enterprise.save()
        username = f"handoff-{claims['uscc']}-{phone}"
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_user(username=username)
            user.set_unusable_password()
            user.save()
        Operator.objects.update_or_create(
            user=user,
            defaults={
                "enterprise": enterprise,
                "name": str(operator_claims["name"])[:100],
                "phone": phone,
                "email": _email_or_blank(str(operator_claims.get("email", ""))),
            },
        )
        account_event_record(
            user=user,
            kind="enterprise_sync" if created else "handoff_login",
            actor_label=str(operator_claims["name"]),
            data={"method": "platform_handoff", "uscc": claims["uscc"], "jti": claims["jti"]},
        )
    assert isinstance(user, AbstractUser)
    return user


# --- API tokens: each by a login the centre's pack offers ------------------------------------------------


def api_token_for(*, user: AbstractUser, method: LoginMethod) -> str:
    """The account's API token (``Authorization: Token <key>``), recorded with the login that earned it."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    assert isinstance(user, User)
    if user.is_staff:
        raise NotAllowed("staff_account", "工作人员账户请在工作台登录，不能获取投标人令牌")
    token, _ = Token.objects.get_or_create(user=user)
    account_event_record(user=user, kind="api_token", actor_label=user.get_username(), data={"method": method.value})
    return str(token.key)


def password_login_for_token(*, request: Any, login: str, password: str) -> AbstractUser:
    """Phone (or user name) and password, only where the pack offers password login; failures
    count towards the lockout like the sign-in page's."""
    from django.contrib.auth import authenticate

    from baohan.identity.lockout import identity_clean, login_locked_check

    _method_required(LoginMethod.PASSWORD)
    login = login.strip()
    if not login:
        raise InvalidInput("required", "请填写手机号码", field="phone", label="手机号码")
    if not password:
        raise InvalidInput("required", "请填写密码", field="password", label="密码")
    # One identity for the lock check, the sign-in and the failure axes records: a phone however typed.
    identity = identity_clean(login)
    login_locked_check(request=request, identity=identity)
    try:
        credentials = {"phone": phone_clean(identity)}
    except ValueError:
        credentials = {"username": login}
    user = authenticate(request, password=password, **credentials)
    if user is None:
        login_locked_check(request=request, identity=identity)  # this failure may have locked it
        raise InvalidInput("invalid_credentials", "手机号码或密码错误", field="password", label="密码")
    assert isinstance(user, AbstractUser)
    return user
