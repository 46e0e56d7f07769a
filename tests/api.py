"""Helpers for API tests: callers of each kind, on a centre's host, with their own credentials."""

from __future__ import annotations

import io
import itertools
import re
import zlib
from datetime import timedelta
from decimal import Decimal
from typing import Any

from captcha.models import CaptchaStore
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context
from PIL import Image
from rest_framework.authtoken.models import Token
from stdnum.cn import uscc

from baohan.guarantees.api.auth import credential_create
from baohan.guarantees.models import Operator
from baohan.guarantees.services.accounts import bidder_register
from baohan.identity.models import SmsMessage
from tenants.models import Tenant

_serial = itertools.count(1)


def uscc_make(n: int) -> str:
    """A valid USCC (check character computed) distinct for each ``n``."""
    body = f"91110000{n:09d}"
    return body + uscc.calc_check_digit(body)


def phone_make(n: int) -> str:
    return f"139{n:08d}"


class Api:
    """A client for one caller on one centre's host; answers are (status, json)."""

    def __init__(self, host: str, authorization: str = "") -> None:
        extra = {"HTTP_HOST": host, "HTTP_USER_AGENT": "pytest-client/1.0"}
        if authorization:
            extra["HTTP_AUTHORIZATION"] = authorization
        self.client = Client(**extra)

    def _out(self, response: Any) -> tuple[int, Any]:
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.content

    def get(self, path: str, **params: Any) -> tuple[int, Any]:
        return self._out(self.client.get(path, params))

    def post(self, path: str, data: Any = None) -> tuple[int, Any]:
        return self._out(self.client.post(path, data or {}, content_type="application/json"))

    def put(self, path: str, data: Any) -> tuple[int, Any]:
        return self._out(self.client.put(path, data, content_type="application/json"))

    def upload(self, path: str, purpose: str, name: str, content: bytes) -> tuple[int, Any]:
        file = io.BytesIO(content)
        file.name = name
        return self._out(self.client.post(path, {"purpose": purpose, "file": file}))


def tenant(code: str) -> Tenant:
    return Tenant.objects.get(code=code)


def page_client(code: str, user: object) -> Client:
    """A browser-like client on ``code``'s host, signed in as ``user``."""
    client = Client(HTTP_HOST=f"{code}.localhost", HTTP_USER_AGENT="pytest-pages/1.0")
    with tenant_context(tenant(code)):
        client.force_login(user)  # type: ignore[arg-type]
    return client


def centre_api(code: str) -> Api:
    with tenant_context(tenant(code)):
        _, token = credential_create(kind="centre", label=f"{code} centre")
    connection.set_schema_to_public()
    return Api(f"{code}.localhost", f"Bearer {token}")


def issuer_api(code: str, issuer: str) -> Api:
    with tenant_context(tenant(code)):
        _, token = credential_create(kind="issuer", issuer_code=issuer, label=issuer)
    connection.set_schema_to_public()
    return Api(f"{code}.localhost", f"Bearer {token}")


def bidder_api(code: str, *, n: int | None = None, **overrides: Any) -> tuple[Api, Operator]:
    n = n if n is not None else next(_serial)
    values: dict[str, Any] = {
        "username": f"bidder{n}",
        "password": "pw-123456",
        "enterprise_name": f"测试建设有限公司{n}",
        "uscc": uscc_make(n),
        "operator_name": f"经办人{n}",
        "phone": phone_make(n),
        "email": f"op{n}@example.com",
        "basic_account_name": f"测试建设有限公司{n}",
        "basic_bank_name": "中国建设银行乌鲁木齐分行",
        "basic_account_number": f"62170000{n:08d}",
    }
    values.update(overrides)
    with tenant_context(tenant(code)):
        operator = bidder_register(**values)
        token, _ = Token.objects.get_or_create(user=operator.user)
    connection.set_schema_to_public()
    return Api(f"{code}.localhost", f"Token {token.key}"), operator


def captcha_answer(code: str, key: str) -> str:
    """What the picture shows: read from the captcha store, as a person reads the image."""
    with tenant_context(tenant(code)):
        answer = CaptchaStore.objects.get(hashkey=key).response
    connection.set_schema_to_public()
    return answer


def outbox_code(code: str, phone: str) -> str:
    """The last code texted to ``phone`` on centre ``code``, read from the dev outbox."""
    with tenant_context(tenant(code)):
        message = SmsMessage.objects.filter(phone=phone).order_by("-created_at").first()
        assert message is not None, f"no text was sent to {phone}"
        found = message.params.get("code") or re.search(r"\d{6}", message.text).group(0)  # type: ignore[union-attr]
    connection.set_schema_to_public()
    return str(found)


SMS_PURPOSES = ("application", "abandon", "refund_account", "password_reset", "enterprise", "sign_in", "registration")


def sms_limits_waive(code: str, phone: str, purpose: str | None = None) -> None:
    """Forget the sends counted for ``phone`` on centre ``code`` (for ``purpose``, or every purpose):
    as if the interval and the hour had passed. tests/test_sms_caps.py tests the limits themselves."""
    from baohan.identity.services.sms import sms_limit_keys

    schema = tenant(code).schema_name
    keys = [
        k
        for p in ([purpose] if purpose else SMS_PURPOSES)
        for k in sms_limit_keys(phone=phone, purpose=p, centre=schema)
    ]
    hour = timezone.now().strftime("%Y%m%d%H")
    caches["global"].delete_many([*keys, f"sms:phone:{phone}:{hour}"])


def sms_code(api: Api, code: str, phone: str, purpose: str) -> str:
    """Ask for an operator-check code through the API (captcha first) and read it from the outbox.

    The send limits are waived (tests of the engine send many codes to one phone)."""
    sms_limits_waive(code, phone, purpose)
    status, captcha = api.post("/api/v1/captcha")
    assert status == 201, captcha
    status, sent = api.post(
        "/api/v1/sms-codes",
        {"purpose": purpose, "captcha_key": captcha["key"], "captcha": captcha_answer(code, captcha["key"])},
    )
    assert status == 201, sent
    return outbox_code(code, phone)


def section_payload(
    *, project_type: str, amount: str = "1000000.00", days_to_deadline: int = 5, validity: int = 90, **extra: Any
) -> dict[str, Any]:
    now = timezone.now().replace(microsecond=0)
    deadline = now + timedelta(days=days_to_deadline)
    payload = {
        "name": "测试工程第1标段",
        "project_code": "P-001",
        "project_name": "测试工程项目",
        "project_type": project_type,
        "location": "",
        "deposit_amount": amount,
        "deposit_deadline": deadline.isoformat(),
        "opening_time": (deadline + timedelta(days=1)).isoformat(),
        "bid_validity_days": validity,
    }
    payload.update(extra)
    return payload


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def bomb_png(width: int = 60000, height: int = 60000) -> bytes:
    """A tiny PNG whose header claims a picture far too large to decode (a decompression bomb)."""
    data = bytearray(png_bytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[ihdr + 17 : ihdr + 21] = zlib.crc32(bytes(data[ihdr : ihdr + 17])).to_bytes(4, "big")
    return bytes(data)


def money(value: Any) -> Decimal:
    return Decimal(str(value))
