"""Lockout after repeated failures (django-axes, rows in the public schema), counted per centre,
per sign-in surface and per account, plus a ceiling per client across every centre.

- An account's key is ``<identity>@<schema>:<surface>`` (``username_of``, axes'
  ``AXES_USERNAME_CALLABLE``): five failures for a phone on one centre's bidder sign-in lock that
  phone there only; the same phone on another centre, or on the same centre's staff or issuer
  sign-in, or a name on ``/admin/`` or ``/console/``, counts on its own. A mobile number counts as
  one identity however it is typed (``identity_clean``: ``138 0013 8000``, ``+86 13800138000``).
- A client whose failures over all centres and surfaces reach ``BAOHAN_LOCKOUT_CLIENT_LIMIT``
  within the cool-off is locked out of every sign-in (``CentreLockoutHandler``): one client cannot
  try many accounts on many centres. A client is an IPv4 address, or an IPv6 /64 network (what one
  subscriber is routed), so rotating addresses inside one's own /64 buys no more guesses
  (``client_ip``, axes' ``AXES_CLIENT_IP_CALLABLE``; the key is what axes stores as the address).
- A success clears the account's failures (never the client's: a sign-in to one's own account
  does not buy more guesses at others').
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
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
from baohan.guarantees.forms import phone_clean
from baohan.identity.clients import client_address
from tenants.db import connection

LOCKED_MESSAGE = "登录失败次数过多，账户已锁定15分钟，请稍后再试或联系客服"
# Sign-in surfaces by path prefix; every other sign-in of a centre (password page, API token,
# CA key, password reset by code) is the bidders' one.
SURFACES = (("/admin/", "admin"), ("/console/", "console"), ("/staff/", "staff"), ("/issuer/", "issuer"))
BIDDER = "bidder"
_KEY_MAX = 255  # axes' username column
IPV6_CLIENT_PREFIX = 64  # an IPv6 client is its /64: one subscriber's LAN, freely rotated within
_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
_COUNTRY_PREFIXES = ("", "+86", "0086", "86")


def surface_of(request: Any) -> str:
    path = str(getattr(request, "path", "") or "")
    for prefix, surface in SURFACES:
        if path.startswith(prefix):
            return surface
    return BIDDER


def identity_clean(value: str) -> str:
    """The identity a sign-in counts against: a mainland mobile number as its eleven digits however
    it was typed (spaces, hyphens, ``+86`` or ``0086`` in front), anything else stripped."""
    value = value.strip()
    digits = _PHONE_SEPARATORS.sub("", value)
    for prefix in _COUNTRY_PREFIXES:
        if digits.startswith(prefix):
            try:
                return phone_clean(digits[len(prefix) :])
            except ValueError:
                continue
    return value


def lockout_key(*, request: Any, identity: str) -> str:
    """``<identity>@<schema>:<surface>``: the schema and surface never contain ``@``, so two keys
    are equal only for the same identity (``identity_clean``) on the same centre and surface."""
    suffix = f"@{connection.schema_name}:{surface_of(request)}"
    identity = identity_clean(identity)
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


def client_key(address: str) -> str:
    """The client an address belongs to: an IPv4 address itself (an IPv4-mapped IPv6 address is
    its IPv4 address), an IPv6 address its /64 network's first address; raises ValueError."""
    ip = ipaddress.ip_address(address.strip())
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False).network_address)
    return str(ip)


def client_ip(request: Any) -> str | None:
    """The client (``client_key``) of the address the API's throttles and SMS limits read
    (``BAOHAN_TRUSTED_PROXIES``); anything that is not an address falls back to the peer's."""
    request = getattr(request, "_request", request)  # a REST framework request wraps Django's
    for candidate in (client_address(request), request.META.get("REMOTE_ADDR")):
        try:
            return client_key(str(candidate))
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
    """Count a failure against the identity (``identity_clean``) on this centre and surface."""
    user_login_failed.send(sender=__name__, credentials={"username": identity_clean(identity)}, request=request)


def login_failures_reset(*, request: HttpRequest, identity: str) -> None:
    """A success clears the identity's failures on this centre and surface (as AXES_RESET_ON_SUCCESS
    does for the user name of a password login)."""
    AccessAttempt.objects.filter(username=lockout_key(request=request, identity=identity)).delete()


def login_locked_check(*, request: HttpRequest, identity: str) -> None:
    """Refuse before checking anything when the identity here, or the client anywhere, is locked."""
    if AxesProxyHandler.is_locked(request, {"username": identity_clean(identity)}):
        raise TooMany("locked", LOCKED_MESSAGE)
