"""SMS providers (Aliyun, Tencent Cloud) behind one interface.

``send`` never raises for a provider or network failure: it answers a ``SendResult``
whose outcome says whether the message went out, was refused, may be retried, or
may have gone out (``UNKNOWN``, never to be retried).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from urllib3.exceptions import ConnectTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

from baohan.identity import fields

logger = logging.getLogger("baohan.sms")

_MAINLAND_MOBILE = re.compile(r"1\d{10}")


class Outcome(StrEnum):
    """SENT: accepted by the provider. REJECTED: refused for good, never retried.
    RETRY: certainly not sent, safe to retry. UNKNOWN: may have reached the provider, never retried.
    """

    SENT = "sent"
    REJECTED = "rejected"
    RETRY = "retry"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SendResult:
    """``detail`` holds the provider code and message for the log, never the SMS parameters."""

    outcome: Outcome
    provider_message_id: str = ""
    detail: str = ""


class SmsProvider(Protocol):
    name: str

    def send(self, *, phone: str, template: str, params: Mapping[str, str], reference: str) -> SendResult: ...


@dataclass(frozen=True)
class _Answer:
    result: SendResult
    code: str


def _answer(
    outcome: Outcome,
    code: str,
    message: str = "",
    *,
    hide: Sequence[str] = (),
    message_id: str = "",
    request_id: str = "",
) -> _Answer:
    """A result whose detail is the provider code, its message with ``hide`` values blanked, and the request id."""
    for value in hide:
        if value:
            message = message.replace(value, "***")
    detail = f"{code}: {message}" if message else code
    if request_id:
        detail = f"{detail} [request {request_id}]"
    return _Answer(SendResult(outcome, message_id, detail), code)


def national_number(phone: str) -> str:
    """The number without ``+86`` when it is a mainland mobile number."""
    if phone.startswith("+86") and _MAINLAND_MOBILE.fullmatch(phone[3:]):
        return phone[3:]
    return phone


def e164_number(phone: str) -> str:
    """``+86`` prepended to an 11-digit mainland mobile number; other numbers unchanged."""
    return f"+86{phone}" if _MAINLAND_MOBILE.fullmatch(phone) else phone


def mask_phone(phone: str) -> str:
    """First 3 and last 4 digits of the national number."""
    return fields.mask_phone(national_number(phone))


def _hidden(phone: str, params: Mapping[str, str]) -> list[str]:
    return [*params.values(), phone, national_number(phone)]


def _log(provider: str, template: str, phone: str, reference: str, answer: _Answer) -> SendResult:
    logger.info(
        "sms send provider=%s template=%s reference=%s phone=%s outcome=%s code=%s",
        provider,
        template,
        reference,
        mask_phone(phone),
        answer.result.outcome.value,
        answer.code,
    )
    return answer.result


def _linked(exc: BaseException) -> Iterator[BaseException]:
    """The exception and all it wraps: cause, context, SDK inner exception, urllib3 reason, arguments."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [
            current.__cause__,
            current.__context__,
            getattr(current, "inner_exception", None),
            getattr(current, "reason", None),
            *current.args,
        ]
        stack.extend(e for e in reversed(linked) if isinstance(e, BaseException))


def _transport_failure(exc: BaseException) -> tuple[Outcome, str] | None:
    """RETRY when no connection was established, UNKNOWN for any later transport failure.

    Both SDKs send through ``requests``, whose exceptions carry the urllib3 error:
    ``ConnectTimeoutError`` (and its subclasses ``NewConnectionError``,
    ``NameResolutionError``) is raised only while connecting; a read timeout or a
    dropped connection comes after the request was written. None when ``exc`` wraps
    no urllib3 error.
    """
    transport = [e for e in _linked(exc) if isinstance(e, Urllib3Error)]
    if not transport:
        return None
    name = type(transport[-1]).__name__
    if any(isinstance(e, ConnectTimeoutError) for e in transport):
        return Outcome.RETRY, name
    return Outcome.UNKNOWN, name


def aliyun_outcome(code: str) -> Outcome:
    """Outcome for an Aliyun ``Code``.

    API throttling (``Throttling``, ``Throttling.*``) and ``ServiceUnavailable`` are
    answered before the request is processed: RETRY. ``isp.SYSTEM_ERROR`` and
    ``InternalError`` leave the delivery open: UNKNOWN. Everything else, including the
    ``isv.*_LIMIT_CONTROL`` flow controls on a number: REJECTED.
    """
    if code == "OK":
        return Outcome.SENT
    if code in ("Throttling", "ServiceUnavailable") or code.startswith("Throttling."):
        return Outcome.RETRY
    if code in ("isp.SYSTEM_ERROR", "InternalError"):
        return Outcome.UNKNOWN
    return Outcome.REJECTED


_TENCENT_REFUSED_INTERNAL = frozenset(
    {
        "InternalError.JsonParseFail",
        "InternalError.RequestTimeException",
        "InternalError.RestApiInterfaceNotExist",
        "InternalError.SigFieldMissing",
        "InternalError.SigVerificationFail",
    }
)


def tencent_outcome(code: str) -> Outcome:
    """Outcome for a Tencent Cloud error or send-status ``Code``.

    ``RequestLimitExceeded*`` (API rate limit, request not processed): RETRY.
    ``InternalError*`` (timeouts towards the carrier, unknown errors): UNKNOWN, except
    the request checks (clock skew, signature, malformed body): REJECTED. Everything else
    (``FailedOperation.*``, ``LimitExceeded.*``, ``InvalidParameter*``, ``AuthFailure.*``,
    ``UnauthorizedOperation.*``...): REJECTED.
    """
    if code == "Ok":
        return Outcome.SENT
    if code == "RequestLimitExceeded" or code.startswith("RequestLimitExceeded."):
        return Outcome.RETRY
    if (code == "InternalError" or code.startswith("InternalError.")) and code not in _TENCENT_REFUSED_INTERNAL:
        return Outcome.UNKNOWN
    return Outcome.REJECTED


def _aliyun_failure(exc: Exception, hide: Sequence[str]) -> _Answer:
    """Classify an exception raised by the Aliyun SDK."""
    from alibabacloud_tea_openapi.exceptions import ThrottlingException  # type: ignore[import-untyped]
    from darabonba.exceptions import ResponseException  # type: ignore[import-untyped]
    from darabonba.exceptions import ValidateException as DaraValidateException
    from Tea.exceptions import UnretryableException  # type: ignore[import-untyped]
    from Tea.exceptions import ValidateException as TeaValidateException

    if isinstance(exc, ResponseException):
        status = int(exc.status_code or 0)
        code = str(exc.code or "")
        if code in ("", "None"):
            code = f"HTTP{status}"
        data: Any = exc.data
        message = str(data.get("Message") or "") if isinstance(data, dict) else ""
        request_id = str(getattr(exc, "request_id", "") or "")
        if request_id == "None":
            request_id = ""
        outcome = aliyun_outcome(code)
        if isinstance(exc, ThrottlingException):
            outcome = Outcome.RETRY
        elif outcome is Outcome.SENT or (outcome is Outcome.REJECTED and status >= 500):
            outcome = Outcome.UNKNOWN
        return _answer(outcome, code, message, hide=hide, request_id=request_id)
    inner: BaseException = exc.inner_exception if isinstance(exc, UnretryableException) else exc
    if isinstance(inner, TeaValidateException | DaraValidateException):
        return _answer(Outcome.REJECTED, type(inner).__name__, "request refused by the SDK before sending")
    transport = _transport_failure(exc)
    if transport is not None:
        return _answer(*transport)
    return _answer(Outcome.UNKNOWN, type(inner).__name__, "failure once the request may have left")


def _tencent_failure(exc: Exception, hide: Sequence[str]) -> _Answer:
    """Classify an exception raised by the Tencent Cloud SDK."""
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (  # type: ignore[import-untyped]
        TencentCloudSDKException,
    )

    if not isinstance(exc, TencentCloudSDKException):
        transport = _transport_failure(exc)
        return _answer(*transport) if transport else _answer(Outcome.UNKNOWN, type(exc).__name__)
    code = str(exc.code or "")
    wrapped = exc.__context__ is not None and type(exc.__context__).__name__ == code
    if code == "ClientNetworkError" or wrapped:
        transport = _transport_failure(exc)
        return _answer(*transport) if transport else _answer(Outcome.UNKNOWN, code or type(exc).__name__)
    if code == "ServerNetworkError":
        return _answer(Outcome.UNKNOWN, code, "HTTP status other than 200")
    message = exc.message if isinstance(exc.message, str) else ""
    request_id = str(exc.requestId or "")
    if code in ("ClientError", "ClientParamsError"):
        return _answer(Outcome.REJECTED, code, message, hide=hide)
    outcome = tencent_outcome(code)
    if outcome is Outcome.SENT:
        outcome = Outcome.UNKNOWN
    return _answer(outcome, code, message, hide=hide, request_id=request_id)


class AliyunProvider:
    """Aliyun SMS, ``SendSms`` of dysmsapi 2017-05-25.

    ``templates`` maps logical template names to Aliyun template codes (``SMS_...``);
    params go as the JSON ``TemplateParam`` and the reference as ``OutId``.
    """

    name = "aliyun"

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        templates: Mapping[str, str],
        endpoint: str = "dysmsapi.aliyuncs.com",
        protocol: str = "https",
        connect_timeout_ms: int = 5000,
        read_timeout_ms: int = 10000,
    ) -> None:
        from alibabacloud_dysmsapi20170525.client import Client  # type: ignore[import-untyped]
        from alibabacloud_tea_openapi.models import Config  # type: ignore[import-untyped]
        from darabonba.policy.retry import RetryOptions  # type: ignore[import-untyped]

        self.sign_name = sign_name
        self.templates = dict(templates)
        self.connect_timeout_ms = connect_timeout_ms
        self.read_timeout_ms = read_timeout_ms
        config = Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            endpoint=endpoint,
            protocol=protocol,
            connect_timeout=connect_timeout_ms,
            read_timeout=read_timeout_ms,
            retry_options=RetryOptions({"retryable": False}),
        )
        self._client: Any = Client(config)

    def send(self, *, phone: str, template: str, params: Mapping[str, str], reference: str) -> SendResult:
        answer = self._send(phone=phone, template=template, params=params, reference=reference)
        return _log(self.name, template, phone, reference, answer)

    def _send(self, *, phone: str, template: str, params: Mapping[str, str], reference: str) -> _Answer:
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest  # type: ignore[import-untyped]
        from darabonba.runtime import RuntimeOptions  # type: ignore[import-untyped]

        template_code = self.templates.get(template)
        if not template_code:
            return _answer(Outcome.REJECTED, "TemplateNotConfigured", f"no {self.name} template for {template!r}")
        request = SendSmsRequest(
            phone_numbers=national_number(phone),
            sign_name=self.sign_name,
            template_code=template_code,
            template_param=json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")) if params else None,
            out_id=reference or None,
        )
        runtime = RuntimeOptions(
            autoretry=False,
            max_attempts=1,
            connect_timeout=self.connect_timeout_ms,
            read_timeout=self.read_timeout_ms,
        )
        hide = _hidden(phone, params)
        try:
            response: Any = self._client.send_sms_with_options(request, runtime)
        except Exception as exc:  # noqa: BLE001
            return _aliyun_failure(exc, hide)
        body: Any = response.body
        code = str(getattr(body, "code", None) or "")
        if not code:
            return _answer(Outcome.UNKNOWN, "NoCode", "answer without Code")
        return _answer(
            aliyun_outcome(code),
            code,
            str(body.message or ""),
            hide=hide,
            message_id=str(body.biz_id or ""),
            request_id=str(body.request_id or ""),
        )


class TencentProvider:
    """Tencent Cloud SMS, ``SendSms`` of sms 2021-01-11.

    ``templates`` maps logical template names to (template id, param names in the
    order of the template's ``{1}``, ``{2}``...); the reference goes as ``SessionContext``.
    """

    name = "tencent"

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        region: str = "ap-guangzhou",
        templates: Mapping[str, tuple[str, Sequence[str]]],
        endpoint: str = "sms.tencentcloudapi.com",
        protocol: str = "https",
        timeout_s: int = 10,
    ) -> None:
        from tencentcloud.common.credential import Credential  # type: ignore[import-untyped]
        from tencentcloud.common.profile.client_profile import ClientProfile  # type: ignore[import-untyped]
        from tencentcloud.common.profile.http_profile import HttpProfile  # type: ignore[import-untyped]
        from tencentcloud.sms.v20210111.sms_client import SmsClient  # type: ignore[import-untyped]

        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.templates = {key: (template_id, tuple(names)) for key, (template_id, names) in templates.items()}
        http_profile = HttpProfile(protocol=protocol, endpoint=endpoint, reqTimeout=timeout_s)
        http_profile.scheme = protocol
        profile = ClientProfile(httpProfile=http_profile, disable_region_breaker=True, retryer=None)
        self._client: Any = SmsClient(Credential(secret_id, secret_key), region, profile)

    def send(self, *, phone: str, template: str, params: Mapping[str, str], reference: str) -> SendResult:
        answer = self._send(phone=phone, template=template, params=params, reference=reference)
        return _log(self.name, template, phone, reference, answer)

    def _send(self, *, phone: str, template: str, params: Mapping[str, str], reference: str) -> _Answer:
        from tencentcloud.sms.v20210111.models import SendSmsRequest  # type: ignore[import-untyped]

        entry = self.templates.get(template)
        if entry is None:
            return _answer(Outcome.REJECTED, "TemplateNotConfigured", f"no {self.name} template for {template!r}")
        template_id, names = entry
        missing = [name for name in names if name not in params]
        if missing:
            return _answer(
                Outcome.REJECTED, "TemplateParamMissing", f"{template!r} needs {', '.join(map(repr, missing))}"
            )
        request = SendSmsRequest()
        request.PhoneNumberSet = [e164_number(phone)]
        request.SmsSdkAppId = self.sdk_app_id
        request.SignName = self.sign_name
        request.TemplateId = template_id
        request.TemplateParamSet = [params[name] for name in names]
        request.SessionContext = reference
        hide = _hidden(phone, params)
        try:
            response: Any = self._client.SendSms(request)
        except Exception as exc:  # noqa: BLE001
            return _tencent_failure(exc, hide)
        statuses: Any = response.SendStatusSet or []
        request_id = str(response.RequestId or "")
        if not statuses:
            return _answer(Outcome.UNKNOWN, "NoSendStatus", "answer without SendStatusSet", request_id=request_id)
        status = statuses[0]
        code = str(status.Code or "")
        return _answer(
            tencent_outcome(code) if code else Outcome.UNKNOWN,
            code or "NoCode",
            str(status.Message or ""),
            hide=hide,
            message_id=str(status.SerialNo or ""),
            request_id=request_id,
        )


def _setting(config: Mapping[str, Any], key: str) -> Any:
    value = config.get(key)
    if value is None or value == "" or (isinstance(value, Mapping | list | tuple) and not value):
        raise ImproperlyConfigured(f"SMS provider {config.get('provider')!r}: missing {key!r}")
    return value


def _int_setting(config: Mapping[str, Any], key: str, default: int) -> int:
    value = config.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"SMS provider {config.get('provider')!r}: {key!r} must be an integer") from None


def _tencent_templates(config: Mapping[str, Any]) -> dict[str, tuple[str, Sequence[str]]]:
    """Templates given as ``name: [id, [param, ...]]`` or ``name: {"template_id": id, "params": [...]}``."""
    raw = _setting(config, "templates")
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured("SMS provider 'tencent': 'templates' must map names to (template id, param names)")
    templates: dict[str, tuple[str, Sequence[str]]] = {}
    for key, value in raw.items():
        if isinstance(value, Mapping):
            template_id, names = value.get("template_id"), value.get("params", ())
        elif isinstance(value, list | tuple) and len(value) == 2:
            template_id, names = value
        else:
            template_id, names = None, ()
        if (
            template_id in (None, "")
            or isinstance(names, str)
            or not isinstance(names, Sequence)
            or not all(isinstance(name, str) for name in names)
        ):
            raise ImproperlyConfigured(
                f"SMS provider 'tencent': template {key!r} must be (template id, [param names in template order])"
            )
        templates[str(key)] = (str(template_id), tuple(names))
    return templates


def provider_from_settings(config: Mapping[str, Any]) -> SmsProvider | None:
    """The provider a settings mapping describes; None for ``{}`` or provider ``"outbox"``.

    Aliyun keys: ``access_key_id``, ``access_key_secret``, ``sign_name``, ``templates``
    (name → template code); optional ``endpoint``, ``protocol``, ``connect_timeout_ms``,
    ``read_timeout_ms``. Tencent keys: ``secret_id``, ``secret_key``, ``sdk_app_id``,
    ``sign_name``, ``templates`` (name → [template id, [param names]]); optional
    ``region``, ``endpoint``, ``protocol``, ``timeout_s``.
    """
    if not config:
        return None
    kind = _setting(config, "provider")
    if kind == "outbox":
        return None
    if kind == "aliyun":
        templates = _setting(config, "templates")
        if not isinstance(templates, Mapping):
            raise ImproperlyConfigured("SMS provider 'aliyun': 'templates' must map names to template codes")
        return AliyunProvider(
            access_key_id=str(_setting(config, "access_key_id")),
            access_key_secret=str(_setting(config, "access_key_secret")),
            sign_name=str(_setting(config, "sign_name")),
            templates={str(key): str(value) for key, value in templates.items()},
            endpoint=str(config.get("endpoint") or "dysmsapi.aliyuncs.com"),
            protocol=str(config.get("protocol") or "https"),
            connect_timeout_ms=_int_setting(config, "connect_timeout_ms", 5000),
            read_timeout_ms=_int_setting(config, "read_timeout_ms", 10000),
        )
    if kind == "tencent":
        return TencentProvider(
            secret_id=str(_setting(config, "secret_id")),
            secret_key=str(_setting(config, "secret_key")),
            sdk_app_id=str(_setting(config, "sdk_app_id")),
            sign_name=str(_setting(config, "sign_name")),
            region=str(config.get("region") or "ap-guangzhou"),
            templates=_tencent_templates(config),
            endpoint=str(config.get("endpoint") or "sms.tencentcloudapi.com"),
            protocol=str(config.get("protocol") or "https"),
            timeout_s=_int_setting(config, "timeout_s", 10),
        )
    raise ImproperlyConfigured(f"SMS provider {kind!r} is unknown: use 'aliyun', 'tencent' or 'outbox'")
