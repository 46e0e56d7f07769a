"""Lockout after repeated failures (django-axes, rows in the public schema), counted per centre,
per sign-in surface and per account, plus a ceiling per client across every centre.

- An account's key is ``<identity>@<schema>:<surface>`` (``username_of``, axes'
  ``AXES_USERNAME_CALLABLE``): five failures for a phone on one centre's bidder sign-in lock that
  phone there only; the same phone on another centre, or on the same centre's staff or issuer
  sign-in, or a name on ``/admin/`` or ``/console/``, counts on its own.
- A client (the address ``client_ip`` reads, as the API's throttles do) whose failures over all
  centres and surfaces reach ``BAOHAN_LOCKOUT_CLIENT_LIMIT`` within the cool-off is locked out of
  every sign-in (``CentreLockoutHandler``): one client cannot try many accounts on many centres.
- A success clears the account's failures (never the client's: a sign-in to one's own account
  does not buy more guesses at others').
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from baohan.guarantees.api.errors import body
from baohan.guarantees.errors import TooMany
from baohan.identity.clients import client_address
from tenants.db import connection

LOCKED_MESSAGE = "登录失败次数过多，账户已锁定15分钟，请稍后再试或联系客服"
# Sign-in surfaces by path prefix; every other sign-in of a centre (password page, API token,
# CA key, password reset by code) is the bidders' one.
SURFACES = (("/admin/", "admin"), ("/console/", "console"), ("/staff/", "staff"), ("/issuer/", "issuer"))
BIDDER = "bidder"
_KEY_MAX = 255  # axes' username column


def surface_of(request: Any) -> str:
    path = str(getattr(request, "path", "") or "")
    for prefix, surface in SURFACES:
        if path.startswith(prefix):
            return surface
    return BIDDER


def lockout_key(*, request: Any, identity: str) -> str:
    """``<identity>@<schema>:<surface>``: the schema and surface never contain ``@``, so two keys
    are equal only for the same identity on the same centre and surface."""
    suffix = f"@{connection.schema_name}:{surface_of(request)}"
    identity = identity.strip()
    if len(identity) + len(suffix) > _KEY_MAX:
        identity = "sha256:" + hashlib.sha256(identity.encode()).hexdigest()
    return identity + suffix


def identity_of(request: Any, credentials: dict[str, Any] | None) -> str:
    """The identity a failure counts against: a phone, a username, a certificate's digest."""
    credentials = credentials or {}
    for key in ("phone", "username", "login"):
        if credentials.get(key):
            return str(credentials[key]).strip()
    post = getattr(request, "POST", None) or {}
    for key in ("phone", "username", "login"):
        if post.get(key):
            return str(post[key]).strip()
    return ""


def username_of(request: Any, credentials: dict[str, Any] | None) -> str:
    """axes' username: the identity on this centre and sign-in surface."""
    return lockout_key(request=request, identity=identity_of(request, credentials))


def client_ip(request: Any) -> str | None:
    """The client address, as the API's throttles and SMS limits read it (``BAOHAN_TRUSTED_PROXIES``);
    anything that is not an address falls back to the peer's."""
    request = getattr(request, "_request", request)  # a REST framework request wraps Django's
    for candidate in (client_address(request), request.META.get("REMOTE_ADDR")):
        try:
            return str(ipaddress.ip_address(str(candidate).strip()))
        except ValueError:
            continue
    return None


def client_failures(request: Any) -> int:
    """Failures from this client within the cool-off, over every centre, surface and account."""
    address = getattr(request, "axes_ip_address", None)
    if not address:
        return 0
    attempts = AccessAttempt.objects.filter(ip_address=address)
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    total = attempts.aggregate(total=Sum("failures_since_start"))["total"]
    return int(total or 0)


class CentreLockoutHandler(AxesDatabaseHandler):
    """axes' database handler, with the client's ceiling on top of the account's limit."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        failures = int(super().get_failures(request, credentials))
        if client_failures(request) >= settings.BAOHAN_LOCKOUT_CLIENT_LIMIT:
            return max(failures, int(get_failure_limit(request, credentials)))
        return failures

    def reset_user_attempts(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        """A success clears the account's rows only (``AXES_LOCKOUT_PARAMETERS`` is the account)."""
        count, _ = AccessAttempt.objects.filter(username=username_of(request, credentials)).delete()
        return int(count)

    def user_logged_in(self, sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        """axes clears the account's user name; a bidder or staff member signs in with a phone."""
        super().user_logged_in(sender, request, user, **kwargs)
        if settings.AXES_RESET_ON_SUCCESS and connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
            from baohan.identity.models import UserPhone

            phone = UserPhone.objects.filter(user_id=user.pk).values_list("phone", flat=True).first()
            if phone:
                AccessAttempt.objects.filter(username=lockout_key(request=request, identity=phone)).delete()


def locked_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """axes' lockout answer (``AXES_LOCKOUT_CALLABLE``): the centre's own page, or JSON for the API."""
    wants_json = request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")
    if request.path.startswith("/api/") or wants_json:
        return JsonResponse(body("locked", LOCKED_MESSAGE), status=429)
    return render(request, "identity/locked.html", {"message": LOCKED_MESSAGE}, status=429)


def login_failure_record(*, request: HttpRequest, identity: str) -> None:
    user_login_failed.send(sender=__name__, credentials={"username": identity}, request=request)


def login_failures_reset(*, request: HttpRequest, identity: str) -> None:
    """A success clears the identity's failures on this centre and surface (as AXES_RESET_ON_SUCCESS
    does for the user name of a password login)."""
    AccessAttempt.objects.filter(username=lockout_key(request=request, identity=identity)).delete()


def login_locked_check(*, request: HttpRequest, identity: str) -> None:
    """Refuse before checking anything when the identity here, or the client anywhere, is locked."""
    if AxesProxyHandler.is_locked(request, {"username": identity}):
        raise TooMany("locked", LOCKED_MESSAGE)
