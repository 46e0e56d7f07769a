"""The public verification page (保函验真) on a centre's host: the QR code on every policy
points here, with the guarantee number and its code filled in."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.throttling import ScopedRateThrottle

from baohan.documents.selectors import guarantee_verify
from baohan.guarantees.errors import NotFound


class _Scope:
    throttle_scope = "verify"  # the API's limit, shared per client


def verify_page(request: HttpRequest) -> HttpResponse:
    number = request.GET.get("number", "").strip()[:40]
    code = request.GET.get("code", "").strip()[:12]
    context: dict[str, object] = {"number": number, "code": code, "errors": {}}
    status = 200
    if "number" in request.GET or "code" in request.GET:
        errors = {}
        if not number:
            errors["number"] = "请输入保单号"
        if not code:
            errors["code"] = "请输入验真码"
        context["errors"] = errors
        if not errors:
            if not ScopedRateThrottle().allow_request(request, _Scope()):  # type: ignore[arg-type]
                context["failure"] = "查询过于频繁，请稍后再试"
                status = 429
            else:
                try:
                    context["result"] = guarantee_verify(number=number, code=code)
                except NotFound as exc:
                    context["failure"] = exc.message
                    status = 404
    return render(request, "documents/verify.html", context, status=status)
