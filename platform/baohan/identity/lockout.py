"""Lockout after repeated failures, counted in the public schema (django-axes), so failures on
one centre's host, another's and the platform's admin login all add up for one identity."""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from baohan.guarantees.api.errors import body
from baohan.guarantees.errors import TooMany

LOCKED_MESSAGE = "登录失败次数过多，账户已锁定15分钟，请稍后再试或联系客服"


def username_of(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The identity a failure counts against: a phone, a username, a USCC or a hand-off subject."""
    credentials = credentials or {}
    for key in ("phone", "username", "login"):
        if credentials.get(key):
            return str(credentials[key]).strip()
    for key in ("phone", "username", "login"):
        if request.POST.get(key):
            return request.POST[key].strip()
    return ""


def locked_response(
    request: HttpRequest, credentials: dict[str, Any] | None = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    wants_json = request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")
    if request.path.startswith("/api/") or wants_json:
        return JsonResponse(body("locked", LOCKED_MESSAGE), status=429)
    return render(request, "identity/locked.html", {"message": LOCKED_MESSAGE}, status=429)


def login_failure_record(*, request: HttpRequest, identity: str) -> None:
    user_login_failed.send(sender=__name__, credentials={"username": identity}, request=request)


def login_failures_reset(*, identity: str) -> None:
    """A success clears the identity's failures (as AXES_RESET_ON_SUCCESS does for password logins)."""
    from axes.utils import reset

    reset(username=identity)


def login_locked_check(*, request: HttpRequest, identity: str) -> None:
    if identity and AxesProxyHandler.is_locked(request, {"username": identity}):
        raise TooMany("locked", LOCKED_MESSAGE)
