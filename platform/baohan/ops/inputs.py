"""Limits on JSON bodies, for every endpoint in one place (before the tenant lookup and any view).

A JSON body (``application/json`` or ``…+json``) larger than ``BAOHAN_JSON_MAX_BYTES`` is answered
400 ``body_too_large``; one nested deeper than ``BAOHAN_JSON_MAX_DEPTH`` (arrays and objects) is
answered 400 ``too_deep`` before any parser sees it, so no request can exhaust the parser's recursion.
The depth is measured on the body's bytes, which is exact for UTF-8 only (no byte of a multi-byte
UTF-8 character is a bracket, a quote or a backslash), and JSON bodies are UTF-8 (RFC 8259): a body
declared in any other charset is answered 415 ``unsupported_charset``, and one whose bytes are
UTF-16 or UTF-32 all the same (a byte order mark, or the NUL bytes of their ASCII characters, which
``json.loads`` on bytes would decode as such) 400 ``malformed``. A UTF-8 byte order mark hides
nothing from the scan. All use the API's error shape ``{"code", "message", "field", "label"}``.
Malformed JSON is then the parser's to refuse (400 ``malformed``,
``baohan.guarantees.api.parsers.StrictJSONParser``).
"""

from __future__ import annotations

import codecs
import json
import re
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.http import parse_header_parameters

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


def refusal(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "field": None, "label": None}, status=status)


def is_utf8(charset: str) -> bool:
    """Whether a declared charset (any spelling: ``UTF-8``, ``utf8``...) is UTF-8 itself."""
    try:
        return codecs.lookup(charset.strip()).name == "utf-8"
    except LookupError:
        return False


def json_body_refusal(request: HttpRequest) -> JsonResponse | None:
    """The answer refusing a JSON body (over the limits, or not UTF-8), or None when it is taken."""
    _, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))  # as Django reads it
    charset = params.get("charset")
    if charset is not None and not is_utf8(charset):
        return refusal(
            "unsupported_charset", "请求内容须为 UTF-8 编码的 JSON（Content-Type 的 charset 只能是 utf-8）", 415
        )
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
    if json.detect_encoding(raw) not in ("utf-8", "utf-8-sig"):
        return refusal("malformed", "请求内容须为 UTF-8 编码的 JSON")
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
