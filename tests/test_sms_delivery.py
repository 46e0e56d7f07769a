"""Delivery of queued texts through a configured provider, faked at the HTTP boundary: each
message is sent at most once, retried only when it certainly did not go, and its code is
dropped once it has gone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from baohan.identity.models import SmsMessage
from baohan.identity.services.sms import sms_code_queue, sms_deliver
from baohan.identity.sms.providers import Outcome
from tests.api import phone_make, tenant
from tests.test_sms_providers import FakeProvider, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    server = FakeProvider()
    settings.SMS_PROVIDER = {
        "provider": "aliyun",
        "access_key_id": "LTAI5tTestKey",
        "access_key_secret": "test-secret",
        "sign_name": "本溪公共资源",
        "templates": {"verification_code": "SMS_465321"},
        "endpoint": server.endpoint,
        "protocol": "http",
        "connect_timeout_ms": 1000,
        "read_timeout_ms": 1000,
    }
    yield server
    server.close()


def queued(phone: str) -> str:
    return str(sms_code_queue(phone=phone, code="482913").id)


def test_a_sent_message_is_never_sent_again(fake: FakeProvider) -> None:
    fake.reply = Reply(body={"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r1"})
    with tenant_context(tenant("benxi")):
        message_id = queued(phone_make(800001))
        message = SmsMessage.objects.get(pk=message_id)
        assert message.text == ""  # with a real provider the text (and its code) is not kept
        assert sms_deliver(message_id=message_id) == Outcome.SENT
        assert sms_deliver(message_id=message_id) is None  # a redelivered task finds nothing to do
        message.refresh_from_db()
        assert message.status == "sent"
        assert message.params == {}
        assert message.provider_message_id.startswith("900619746936498440")
    connection.set_schema_to_public()
    assert len(fake.requests) == 1
    assert '"482913"' in fake.requests[0].query["TemplateParam"]


def test_throttled_requests_are_retried_and_ambiguous_ones_are_not(fake: FakeProvider) -> None:
    with tenant_context(tenant("benxi")):
        fake.reply = Reply(body={"Code": "Throttling.User", "Message": "Request was denied due to user flow control."})
        message_id = queued(phone_make(800002))
        assert sms_deliver(message_id=message_id) == Outcome.RETRY
        assert SmsMessage.objects.get(pk=message_id).status == "queued"
        fake.reply = Reply(status=200, body={"Code": "OK", "BizId": "b2", "RequestId": "r2"}, delay_s=2)
        assert sms_deliver(message_id=message_id) == Outcome.UNKNOWN
        message = SmsMessage.objects.get(pk=message_id)
        assert (message.status, message.attempts, message.params) == ("unknown", 2, {})
        assert sms_deliver(message_id=message_id) is None
    connection.set_schema_to_public()
    assert len(fake.requests) == 2


def test_an_expired_message_is_not_sent(fake: FakeProvider) -> None:
    from datetime import timedelta

    from django.utils import timezone

    with tenant_context(tenant("benxi")):
        message_id = queued(phone_make(800003))
        SmsMessage.objects.filter(pk=message_id).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert sms_deliver(message_id=message_id) is None
        assert SmsMessage.objects.get(pk=message_id).status == "expired"
    connection.set_schema_to_public()
    assert fake.requests == []
