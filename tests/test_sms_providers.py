"""SMS providers against a fake provider at the HTTP boundary.

A local HTTP server stands in for Aliyun and Tencent Cloud: each SDK is pointed at it
over plain HTTP, the server records what the SDK really sends and answers canned
provider JSON.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured

from baohan.identity.sms.providers import (
    AliyunProvider,
    Outcome,
    SendResult,
    TencentProvider,
    provider_from_settings,
)

PHONE = "13800138000"
MASKED = "138****8000"
CODE = "583920"
PARAMS = {"code": CODE, "minutes": "10"}
REFERENCE = "msg-7f3a"
SIGN = "保函平台"


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}

    def json(self) -> Any:
        return json.loads(self.body)


class FakeProvider:
    """Records every request and answers ``reply``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.reply = Reply(body={})
        self.released = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.answer()

            def do_POST(self) -> None:
                self.answer()

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {key.lower(): value for key, value in self.headers.items()}
                fake.requests.append(Recorded(self.command, self.path, headers, body))
                reply = fake.reply
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if reply.delay_s:
                    fake.released.wait(reply.delay_s)
                raw = reply.body if isinstance(reply.body, str) else json.dumps(reply.body, ensure_ascii=False)
                payload = raw.encode("utf-8")
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.endpoint = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def only_request(self) -> Recorded:
        assert len(self.requests) == 1, f"expected exactly one HTTP request, got {len(self.requests)}"
        return self.requests[0]

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    server = FakeProvider()
    yield server
    server.close()


@pytest.fixture
def refused_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


@pytest.fixture
def backlogged_endpoint() -> Iterator[str]:
    """A listening port whose accept queue is full: the kernel drops new SYNs, connecting times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield f"127.0.0.1:{port}"
    for filler in fillers:
        filler.close()
    listener.close()


def aliyun(endpoint: str) -> AliyunProvider:
    return AliyunProvider(
        access_key_id="LTAI5tTestKey",
        access_key_secret="test-secret",
        sign_name=SIGN,
        templates={"verification_code": "SMS_465321"},
        endpoint=endpoint,
        protocol="http",
        connect_timeout_ms=1000,
        read_timeout_ms=1000,
    )


def tencent(endpoint: str) -> TencentProvider:
    return TencentProvider(
        secret_id="AKIDtest",
        secret_key="test-secret",
        sdk_app_id="1400787878",
        sign_name=SIGN,
        templates={"verification_code": ("1998877", ("code", "minutes"))},
        endpoint=endpoint,
        protocol="http",
        timeout_s=1,
    )


def send(provider: AliyunProvider | TencentProvider, phone: str = PHONE) -> SendResult:
    result = provider.send(phone=phone, template="verification_code", params=PARAMS, reference=REFERENCE)
    assert CODE not in result.detail
    assert PHONE not in result.detail
    return result


def tencent_answer(code: str, message: str, serial: str = "") -> dict[str, Any]:
    status = {
        "SerialNo": serial,
        "PhoneNumber": f"+86{PHONE}",
        "Fee": 1 if code == "Ok" else 0,
        "SessionContext": REFERENCE,
        "Code": code,
        "Message": message,
        "IsoCode": "CN",
    }
    return {"Response": {"SendStatusSet": [status], "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279"}}


def tencent_error(code: str, message: str) -> dict[str, Any]:
    return {
        "Response": {"Error": {"Code": code, "Message": message}, "RequestId": "b1bbcde7-0000-4f3e-a81f-9198114a2279"}
    }


# Aliyun


def test_aliyun_sent_carries_phone_template_sign_params_and_reference(
    fake: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="baohan.sms")
    fake.reply = Reply(
        body={"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "F655A8D5-B967-440B"}
    )

    result = send(aliyun(fake.endpoint))

    assert result.outcome is Outcome.SENT
    assert result.provider_message_id == "900619746936498440^0"
    request = fake.only_request()
    assert request.method == "POST"
    assert request.headers["x-acs-action"] == "SendSms"
    assert request.headers["x-acs-version"] == "2017-05-25"
    assert request.headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=LTAI5tTestKey")
    query = request.query
    assert query["PhoneNumbers"] == PHONE
    assert query["SignName"] == SIGN
    assert query["TemplateCode"] == "SMS_465321"
    assert json.loads(query["TemplateParam"]) == PARAMS
    assert query["OutId"] == REFERENCE
    records = [record for record in caplog.records if record.name == "baohan.sms"]
    assert len(records) == 1
    line = records[0].getMessage()
    assert records[0].levelno == logging.INFO
    assert f"reference={REFERENCE}" in line
    assert f"phone={MASKED}" in line
    assert "outcome=sent" in line
    assert "code=OK" in line
    assert "provider=aliyun" in line
    assert PHONE not in caplog.text
    assert CODE not in caplog.text


def test_aliyun_strips_the_country_code_of_mainland_numbers(fake: FakeProvider) -> None:
    fake.reply = Reply(body={"Code": "OK", "Message": "OK", "BizId": "1^0", "RequestId": "R"})

    assert send(aliyun(fake.endpoint), phone=f"+86{PHONE}").outcome is Outcome.SENT
    assert fake.only_request().query["PhoneNumbers"] == PHONE


@pytest.mark.parametrize(
    ("reply", "outcome", "code"),
    [
        pytest.param(
            Reply(body={"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "R1"}),
            Outcome.REJECTED,
            "isv.MOBILE_NUMBER_ILLEGAL",
            id="illegal-number",
        ),
        pytest.param(
            Reply(body={"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1", "RequestId": "R2"}),
            Outcome.REJECTED,
            "isv.BUSINESS_LIMIT_CONTROL",
            id="number-flow-control",
        ),
        pytest.param(
            Reply(body={"Code": "isv.DAY_LIMIT_CONTROL", "Message": "触发日发送限额", "RequestId": "R3"}),
            Outcome.REJECTED,
            "isv.DAY_LIMIT_CONTROL",
            id="day-limit",
        ),
        pytest.param(
            Reply(
                status=400,
                body={
                    "Code": "SignatureDoesNotMatch",
                    "Message": "Specified signature is not matched.",
                    "RequestId": "R",
                },
            ),
            Outcome.REJECTED,
            "SignatureDoesNotMatch",
            id="bad-credentials",
        ),
        pytest.param(
            Reply(
                status=400,
                body={"Code": "Throttling.User", "Message": "Request was denied due to user flow control."},
            ),
            Outcome.RETRY,
            "Throttling.User",
            id="api-throttling",
        ),
        pytest.param(
            Reply(
                status=400,
                body={"Code": "Throttling.Api", "Message": "Request was denied due to api flow control."},
                headers={"x-acs-retry-after": "1000"},
            ),
            Outcome.RETRY,
            "Throttling.Api",
            id="throttling-with-retry-after",
        ),
        pytest.param(
            Reply(status=503, body={"Code": "ServiceUnavailable", "Message": "The request has failed."}),
            Outcome.RETRY,
            "ServiceUnavailable",
            id="service-unavailable",
        ),
        pytest.param(
            Reply(body={"Code": "isp.SYSTEM_ERROR", "Message": "系统错误", "RequestId": "R4"}),
            Outcome.UNKNOWN,
            "isp.SYSTEM_ERROR",
            id="system-error",
        ),
        pytest.param(
            Reply(status=500, body={"Code": "InternalError", "Message": "The request processing has failed."}),
            Outcome.UNKNOWN,
            "InternalError",
            id="http-500",
        ),
        pytest.param(
            Reply(status=502, body="<html>502 Bad Gateway</html>", content_type="text/html"),
            Outcome.UNKNOWN,
            "RuntimeError",
            id="http-502-html",
        ),
    ],
)
def test_aliyun_answers(fake: FakeProvider, reply: Reply, outcome: Outcome, code: str) -> None:
    fake.reply = reply

    result = send(aliyun(fake.endpoint))

    assert result.outcome is outcome
    assert result.detail.startswith(code)
    assert result.provider_message_id == ""
    fake.only_request()


def test_aliyun_detail_blanks_params_echoed_by_the_provider(fake: FakeProvider) -> None:
    fake.reply = Reply(body={"Code": "isv.INVALID_JSON_PARAM", "Message": f"JSON参数不合法: {CODE}", "RequestId": "R"})

    result = send(aliyun(fake.endpoint))

    assert result.outcome is Outcome.REJECTED
    assert result.detail == "isv.INVALID_JSON_PARAM: JSON参数不合法: *** [request R]"


def test_aliyun_read_timeout_is_unknown_and_not_retried(fake: FakeProvider, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="baohan.sms")
    fake.reply = Reply(body={"Code": "OK", "BizId": "1^0"}, delay_s=2)

    result = send(aliyun(fake.endpoint))

    assert result.outcome is Outcome.UNKNOWN
    assert result.detail == "ReadTimeoutError"
    fake.only_request()
    assert "outcome=unknown code=ReadTimeoutError" in caplog.text
    assert CODE not in caplog.text


def test_aliyun_connection_refused_is_retry(refused_endpoint: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="baohan.sms")

    result = send(aliyun(refused_endpoint))

    assert result.outcome is Outcome.RETRY
    assert result.detail == "NewConnectionError"
    assert CODE not in caplog.text


def test_aliyun_unknown_template_is_rejected_without_a_request(fake: FakeProvider) -> None:
    result = aliyun(fake.endpoint).send(phone=PHONE, template="welcome", params={}, reference=REFERENCE)

    assert result.outcome is Outcome.REJECTED
    assert result.detail.startswith("TemplateNotConfigured")
    assert fake.requests == []


# Tencent Cloud


def test_tencent_sent_carries_phone_template_sign_params_and_reference(
    fake: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="baohan.sms")
    fake.reply = Reply(body=tencent_answer("Ok", "send success", serial="5000:1045710669157053657849499619"))

    result = send(tencent(fake.endpoint))

    assert result.outcome is Outcome.SENT
    assert result.provider_message_id == "5000:1045710669157053657849499619"
    request = fake.only_request()
    assert request.method == "POST"
    assert request.headers["x-tc-action"] == "SendSms"
    assert request.headers["x-tc-version"] == "2021-01-11"
    assert request.headers["x-tc-region"] == "ap-guangzhou"
    assert request.headers["authorization"].startswith("TC3-HMAC-SHA256 Credential=AKIDtest/")
    body = request.json()
    assert body["PhoneNumberSet"] == [f"+86{PHONE}"]
    assert body["SmsSdkAppId"] == "1400787878"
    assert body["SignName"] == SIGN
    assert body["TemplateId"] == "1998877"
    assert body["TemplateParamSet"] == [CODE, "10"]
    assert body["SessionContext"] == REFERENCE
    records = [record for record in caplog.records if record.name == "baohan.sms"]
    assert len(records) == 1
    line = records[0].getMessage()
    assert f"phone={MASKED}" in line
    assert "provider=tencent" in line
    assert "outcome=sent code=Ok" in line
    assert PHONE not in caplog.text
    assert CODE not in caplog.text


def test_tencent_keeps_numbers_already_in_e164(fake: FakeProvider) -> None:
    fake.reply = Reply(body=tencent_answer("Ok", "send success", serial="1"))

    assert send(tencent(fake.endpoint), phone=f"+86{PHONE}").outcome is Outcome.SENT
    assert fake.only_request().json()["PhoneNumberSet"] == [f"+86{PHONE}"]


def test_tencent_template_params_follow_the_configured_order(fake: FakeProvider) -> None:
    fake.reply = Reply(body=tencent_answer("Ok", "send success", serial="1"))
    provider = tencent(fake.endpoint)
    provider.templates["verification_code"] = ("1998877", ("minutes", "code"))

    send(provider)

    assert fake.only_request().json()["TemplateParamSet"] == ["10", CODE]


@pytest.mark.parametrize(
    ("reply", "outcome", "code"),
    [
        pytest.param(
            Reply(body=tencent_answer("FailedOperation.PhoneNumberInBlacklist", "phone number in blacklist")),
            Outcome.REJECTED,
            "FailedOperation.PhoneNumberInBlacklist",
            id="blacklisted",
        ),
        pytest.param(
            Reply(body=tencent_error("InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误")),
            Outcome.REJECTED,
            "InvalidParameterValue.IncorrectPhoneNumber",
            id="incorrect-number",
        ),
        pytest.param(
            Reply(body=tencent_answer("LimitExceeded.PhoneNumberThirtySecondLimit", "30秒内下发短信条数超过上限")),
            Outcome.REJECTED,
            "LimitExceeded.PhoneNumberThirtySecondLimit",
            id="number-frequency-limit",
        ),
        pytest.param(
            Reply(body=tencent_error("AuthFailure.SecretIdNotFound", "The SecretId is not found")),
            Outcome.REJECTED,
            "AuthFailure.SecretIdNotFound",
            id="bad-credentials",
        ),
        pytest.param(
            Reply(body=tencent_error("RequestLimitExceeded", "请求的次数超过了频率限制")),
            Outcome.RETRY,
            "RequestLimitExceeded",
            id="api-rate-limit",
        ),
        pytest.param(
            Reply(body=tencent_answer("InternalError.Timeout", "请求下发短信超时")),
            Outcome.UNKNOWN,
            "InternalError.Timeout",
            id="carrier-timeout",
        ),
        pytest.param(
            Reply(body=tencent_error("InternalError", "内部错误")),
            Outcome.UNKNOWN,
            "InternalError",
            id="internal-error",
        ),
        pytest.param(
            Reply(status=500, body={"message": "internal server error"}),
            Outcome.UNKNOWN,
            "ServerNetworkError",
            id="http-500",
        ),
        pytest.param(
            Reply(body="<html>gateway</html>", content_type="text/html"),
            Outcome.UNKNOWN,
            "JSONDecodeError",
            id="not-json",
        ),
    ],
)
def test_tencent_answers(fake: FakeProvider, reply: Reply, outcome: Outcome, code: str) -> None:
    fake.reply = reply

    result = send(tencent(fake.endpoint))

    assert result.outcome is outcome
    assert result.detail.startswith(code)
    fake.only_request()


def test_tencent_detail_blanks_params_echoed_by_the_provider(fake: FakeProvider) -> None:
    fake.reply = Reply(
        body=tencent_error("InvalidParameterValue.TemplateParameterFormatError", f"参数 {CODE} 格式错误")
    )

    result = send(tencent(fake.endpoint))

    assert result.outcome is Outcome.REJECTED
    assert result.detail.startswith("InvalidParameterValue.TemplateParameterFormatError: 参数 *** 格式错误")


def test_tencent_read_timeout_is_unknown_and_not_retried(fake: FakeProvider, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="baohan.sms")
    fake.reply = Reply(body=tencent_answer("Ok", "send success", serial="1"), delay_s=2)

    result = send(tencent(fake.endpoint))

    assert result.outcome is Outcome.UNKNOWN
    assert result.detail == "ReadTimeoutError"
    fake.only_request()
    assert "outcome=unknown code=ReadTimeoutError" in caplog.text
    assert CODE not in caplog.text


def test_tencent_connection_refused_is_retry(refused_endpoint: str) -> None:
    result = send(tencent(refused_endpoint))

    assert result.outcome is Outcome.RETRY
    assert result.detail == "NewConnectionError"


def test_tencent_missing_template_param_is_rejected_without_a_request(fake: FakeProvider) -> None:
    result = tencent(fake.endpoint).send(
        phone=PHONE, template="verification_code", params={"code": CODE}, reference=REFERENCE
    )

    assert result.outcome is Outcome.REJECTED
    assert result.detail.startswith("TemplateParamMissing")
    assert fake.requests == []


# Both


@pytest.mark.parametrize("make", [aliyun, tencent], ids=["aliyun", "tencent"])
def test_connection_dropped_after_the_request_is_unknown(fake: FakeProvider, make: Any) -> None:
    fake.reply = Reply(drop=True)

    result = send(make(fake.endpoint))

    assert result.outcome is Outcome.UNKNOWN
    assert result.detail == "ProtocolError"
    fake.only_request()


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux dropping SYNs to a full accept queue")
@pytest.mark.parametrize("make", [aliyun, tencent], ids=["aliyun", "tencent"])
def test_connect_timeout_is_retry(backlogged_endpoint: str, make: Any) -> None:
    result = send(make(backlogged_endpoint))

    assert result.outcome is Outcome.RETRY
    assert result.detail == "ConnectTimeoutError"


# Settings


def test_no_provider_configured() -> None:
    assert provider_from_settings({}) is None
    assert provider_from_settings({"provider": "outbox"}) is None


def test_aliyun_from_settings(fake: FakeProvider) -> None:
    provider = provider_from_settings(
        {
            "provider": "aliyun",
            "access_key_id": "LTAI5tTestKey",
            "access_key_secret": "test-secret",
            "sign_name": SIGN,
            "templates": {"verification_code": "SMS_465321"},
            "endpoint": fake.endpoint,
            "protocol": "http",
            "read_timeout_ms": "1000",
        }
    )
    fake.reply = Reply(body={"Code": "OK", "Message": "OK", "BizId": "1^0", "RequestId": "R"})

    assert isinstance(provider, AliyunProvider)
    assert provider.name == "aliyun"
    assert provider.read_timeout_ms == 1000
    assert send(provider).outcome is Outcome.SENT


def test_tencent_from_settings(fake: FakeProvider) -> None:
    provider = provider_from_settings(
        {
            "provider": "tencent",
            "secret_id": "AKIDtest",
            "secret_key": "test-secret",
            "sdk_app_id": 1400787878,
            "sign_name": SIGN,
            "templates": {"verification_code": ["1998877", ["code", "minutes"]]},
            "endpoint": fake.endpoint,
            "protocol": "http",
            "timeout_s": 1,
        }
    )
    fake.reply = Reply(body=tencent_answer("Ok", "send success", serial="1"))

    assert isinstance(provider, TencentProvider)
    assert provider.templates == {"verification_code": ("1998877", ("code", "minutes"))}
    assert send(provider).outcome is Outcome.SENT
    assert fake.only_request().json()["SmsSdkAppId"] == "1400787878"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param({"sign_name": SIGN}, "'provider'", id="no-provider"),
        pytest.param({"provider": "twilio"}, "'twilio' is unknown", id="unknown-provider"),
        pytest.param(
            {"provider": "aliyun", "access_key_id": "k", "sign_name": SIGN, "templates": {"a": "SMS_1"}},
            "'access_key_secret'",
            id="aliyun-secret",
        ),
        pytest.param(
            {"provider": "aliyun", "access_key_id": "k", "access_key_secret": "s", "sign_name": SIGN},
            "'templates'",
            id="aliyun-templates",
        ),
        pytest.param(
            {"provider": "tencent", "secret_id": "i", "secret_key": "k", "sign_name": SIGN, "templates": {}},
            "'sdk_app_id'",
            id="tencent-app",
        ),
        pytest.param(
            {
                "provider": "tencent",
                "secret_id": "i",
                "secret_key": "k",
                "sdk_app_id": "1",
                "sign_name": SIGN,
                "templates": {"verification_code": "1998877"},
            },
            "'verification_code'",
            id="tencent-template-without-params",
        ),
        pytest.param(
            {
                "provider": "aliyun",
                "access_key_id": "k",
                "access_key_secret": "s",
                "sign_name": SIGN,
                "templates": {"a": "SMS_1"},
                "read_timeout_ms": "soon",
            },
            "'read_timeout_ms'",
            id="aliyun-timeout",
        ),
    ],
)
def test_settings_errors_name_the_key(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        provider_from_settings(config)
