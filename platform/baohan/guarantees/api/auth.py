"""Who is calling: a bidder (session or token), a trading centre or an issuer (a credential
of this centre's schema: a credential made on one centre does not exist on another)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from baohan.guarantees.errors import NotAllowed
from baohan.guarantees.models import ApiCredential, Operator
from baohan.guarantees.services.accounts import enterprise_not_verified_message
from baohan.guarantees.services.credentials import credential_create as credential_create
from baohan.guarantees.services.credentials import credential_is_valid, secret_hash
from baohan.guarantees.states import Actor, ActorKind

SCHEME = "Bearer"
USE_RECORDED_EVERY = timedelta(minutes=5)  # how fresh a credential's "last used" is kept


@dataclass(frozen=True)
class ApiPrincipal:
    """The authenticated centre or issuer, standing where DRF expects a user."""

    credential: ApiCredential

    is_authenticated = True
    is_anonymous = False

    @property
    def actor(self) -> Actor:
        c = self.credential
        if c.kind == ApiCredential.Kind.ISSUER:
            return Actor(ActorKind.ISSUER, c.issuer_code, c.label or c.issuer_code)
        return Actor(ActorKind.CENTRE, c.key_id, c.label or "交易中心")


class CredentialAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiCredential] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(f"{SCHEME} "):
            return None
        key_id, _, secret = header[len(SCHEME) + 1 :].strip().partition(".")
        credential = ApiCredential.objects.filter(key_id=key_id, is_active=True).first() if key_id else None
        if credential is None or not hmac.compare_digest(credential.secret_hash, secret_hash(secret)):
            raise exceptions.AuthenticationFailed("凭证无效")
        now = timezone.now()
        # A rotated credential works until its overlap ends, never after.
        if not credential_is_valid(credential, now=now):
            raise exceptions.AuthenticationFailed("凭证已失效")
        if credential.last_used_at is None or now - credential.last_used_at >= USE_RECORDED_EVERY:
            # At most one write per credential and interval: a surge of reads is not a surge of writes
            # on one hot row per insurer.
            ApiCredential.objects.filter(pk=credential.pk).update(last_used_at=now)
        return ApiPrincipal(credential), credential

    def authenticate_header(self, request: Request) -> str:
        return SCHEME


class CredentialScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "baohan.guarantees.api.auth.CredentialAuthentication"
    name = "credential"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "交易中心或出函机构凭证：<key id>.<secret>"}


def operator_of(request: Request) -> Operator:
    user = request.user
    operator = getattr(user, "operator", None) if getattr(user, "is_authenticated", False) else None
    if not isinstance(operator, Operator):
        raise not_a_bidder(user)
    return operator


def not_a_bidder(user: object) -> Exception:
    """A bidder's account whose enterprise is not verified yet is told so, and what to do next;
    anything else (staff, an API credential) is simply not a bidder."""
    if isinstance(user, User) and user.is_authenticated and not user.is_staff:
        return NotAllowed("enterprise_not_verified", enterprise_not_verified_message(user=user))
    return exceptions.PermissionDenied("仅投标人账户可以访问")


def bidder_actor(request: Request) -> Actor:
    operator = operator_of(request)
    return Actor(ActorKind.BIDDER, str(operator.user_id), operator.name)


class IsBidder(permissions.BasePermission):
    message = "仅投标人账户可以访问"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return False  # DRF answers 401 not_authenticated
        if isinstance(getattr(user, "operator", None), Operator):
            return True
        raise not_a_bidder(user)


class IsAccount(permissions.BasePermission):
    """Any bidder account of this centre, with or without a verified enterprise yet."""

    message = "请先登录"

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, AbstractBaseUser) and request.user.is_authenticated


def account_of(request: Request) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise exceptions.NotAuthenticated("请先登录")
    return user


class _IsCredential(permissions.BasePermission):
    kind = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, ApiPrincipal) and user.credential.kind == self.kind


class IsCentre(_IsCredential):
    kind = ApiCredential.Kind.CENTRE
    message = "仅交易中心凭证可以访问"


class IsIssuer(_IsCredential):
    kind = ApiCredential.Kind.ISSUER
    message = "仅出函机构凭证可以访问"


def principal_of(request: Request) -> ApiPrincipal:
    user = request.user
    assert isinstance(user, ApiPrincipal)
    return user
