"""Every 4xx answer has one shape: ``{"code", "message", "field", "label"}``, message in Chinese."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

from baohan.guarantees.errors import DomainError

DRF_CODES: dict[type[exceptions.APIException], tuple[str, str]] = {
    exceptions.NotAuthenticated: ("not_authenticated", "请先登录或提供凭证"),
    exceptions.AuthenticationFailed: ("authentication_failed", "身份验证失败"),
    exceptions.PermissionDenied: ("forbidden", "无权访问"),
    exceptions.NotFound: ("not_found", "未找到"),
    exceptions.MethodNotAllowed: ("method_not_allowed", "不支持该请求方法"),
    exceptions.ParseError: ("malformed", "请求内容格式错误"),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", "不支持的内容类型"),
    exceptions.NotAcceptable: ("not_acceptable", "无法提供请求的格式"),
    exceptions.Throttled: ("throttled", "请求过于频繁，请稍后再试"),
}


class ErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Machine-readable error code.")
    message = serializers.CharField(help_text="中文说明")
    field = serializers.CharField(allow_null=True, help_text="Canonical name of the field at fault.")
    label = serializers.CharField(allow_null=True, help_text="The field's label in the centre's words.")  # type: ignore[assignment]


def body(code: str, message: str, field: str | None = None, label: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field, "label": label}


def _first_error(detail: Any, path: str = "") -> tuple[str, str]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = f"{path}.{key}" if path else str(key)
            return _first_error(value, "" if key == "non_field_errors" else sub)
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if value:
                return _first_error(value, f"{path}[{index}]" if isinstance(value, dict | list) else path)
    return path, str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    view = context.get("view")
    labels: dict[str, str] = getattr(view, "field_labels", {}) if view is not None else {}
    if isinstance(exc, DomainError):
        answer = Response(
            body(exc.code, exc.message, exc.field, exc.label or labels.get(exc.field or "")), status=exc.status
        )
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int) and retry_after > 0:  # e.g. a policy still being made
            answer["Retry-After"] = str(retry_after)
        return answer
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        label = labels.get(field)
        text = f"{label or field}：{message}" if field else message
        return Response(body("invalid", text, field or None, label), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code, message = next(
        ((c, m) for cls, (c, m) in DRF_CODES.items() if isinstance(exc, cls)), ("error", str(exc.detail))
    )
    # Our own messages (permissions, credentials) are kept; DRF's stock ones give way to ours.
    if isinstance(exc.detail, str) and str(exc.detail) != str(exc.default_detail):
        message = str(exc.detail)
    response.data = body(code, message)
    return response
