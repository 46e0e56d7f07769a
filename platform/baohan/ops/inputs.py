"""Limits on JSON bodies, for every endpoint in one place (before the tenant lookup and any view).

A JSON body (``application/json`` or ``…+json``) larger than ``BAOHAN_JSON_MAX_BYTES`` is answered
400 ``body_too_large``; one nested deeper than ``BAOHAN_JSON_MAX_DEPTH`` (arrays and objects) is
answered 400 ``too_deep`` before any parser sees it, so no request can exhaust the parser's recursion.
Both use the API's error shape ``{"code", "message", "field", "label"}``. Malformed JSON is then the
parser's to refuse (400 ``malformed``, ``baohan.guarantees.api.parsers.StrictJSONParser``).
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A JSON string, escapes included (unrolled, so matching is linear).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OTHER_BYTES = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in ``raw`` (brackets inside strings do not count).

    Runs at C speed (a regex, ``bytes.translate`` and ``accumulate``), with no recursion, whatever the body."""
    brackets = _STRING.sub(b"", raw).translate(None, _OTHER_BYTES)
    if not brackets:
        return 0
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets))))


def is_json(content_type: str) -> bool:
    main = content_type.split(";", 1)[0].strip().lower()
    return main == "application/json" or main.endswith("+json")


def refusal(code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "field": None, "label": None}, status=400)


def json_body_refusal(request: HttpRequest) -> JsonResponse | None:
    """The 400 answer for a JSON body over the limits, or None when it is within them."""
    limit = int(settings.BAOHAN_JSON_MAX_BYTES)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return refusal("malformed", "请求头 Content-Length 格式错误")
    too_large = refusal("body_too_large", f"请求内容过大（JSON 不能超过 {limit // 1024} KB）")
    if declared > limit:
        return too_large
    try:
        raw = request.body
    except RequestDataTooBig:
        return too_large
    if len(raw) > limit:
        return too_large
    depth_limit = int(settings.BAOHAN_JSON_MAX_DEPTH)
    if json_depth(raw) > depth_limit:
        return refusal("too_deep", f"请求内容嵌套过深（JSON 最多 {depth_limit} 层）")
    return None


class JsonLimitsMiddleware:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in BODY_METHODS and is_json(request.META.get("CONTENT_TYPE", "")):
            refused = json_body_refusal(request)
            if refused is not None:
                return refused
        response: HttpResponse = self.get_response(request)
        return response
