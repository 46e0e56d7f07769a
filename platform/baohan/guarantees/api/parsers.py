"""Request parsing that refuses what PostgreSQL cannot store: a NUL character in any text.

(No imports from the API's other modules: DRF imports this while reading its settings.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _has_nul(value: Any) -> bool:
    """Whether any text in ``value`` (keys too, at any depth) holds a NUL. Walks with a stack of its
    own, not by recursion, so no nesting can exhaust the interpreter's."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:  # not reached behind JsonLimitsMiddleware (baohan/ops/inputs.py)
            raise ParseError("请求内容嵌套过深") from exc
        if _has_nul(data):
            raise ParseError("请求内容含有空字符（\\0），请删除后重试")
        return data


class RejectNulMiddleware:
    """A NUL character in the path or query string is refused before it reaches any lookup."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(_has_nul(k) or _has_nul(v) for k, v in request.GET.lists()):
            message = "请求地址含有空字符（\\0）"
            return JsonResponse({"code": "malformed", "message": message, "field": None, "label": None}, status=400)
        response: HttpResponse = self.get_response(request)
        return response
