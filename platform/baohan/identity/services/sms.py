"""SMS codes and the texts that carry them.

A code is six digits, lives ten minutes, allows three tries and is used once; only its hash
is stored. Sends are limited per phone across every centre (one a minute, a few an hour).
Texts are queued as ``SmsMessage`` rows and delivered after commit by a task that sends each
message at most once (see ``sms_deliver``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db import transaction
from django.utils import timezone

from baohan.guarantees.errors import InvalidInput, NotAllowed, TooMany
from baohan.guarantees.forms import phone_clean
from baohan.guarantees.models import Operator
from baohan.identity.fields import mask_phone
from baohan.identity.integration_settings import sms_provider_config
from baohan.identity.models import SmsCode, SmsMessage
from baohan.identity.sms.providers import Outcome, provider_from_settings
from tenants.db import connection
from tenants.selectors import pack_in_force

log = logging.getLogger("baohan.sms")

TEMPLATE_CODE = "verification_code"
OUTBOX = "outbox"


def _global_cache() -> BaseCache:
    return caches["global"]


def phone_checked(phone: str, *, field: str = "phone") -> str:
    try:
        return phone_clean(phone)
    except ValueError as exc:
        raise InvalidInput("invalid", str(exc), field=field, label="手机号码") from exc


def sms_send_reserve(*, phone: str, field: str = "phone") -> None:
    """Take one send for ``phone`` or refuse: one per interval, a cap per clock hour; every centre counts."""
    cache = _global_cache()
    interval = settings.SMS_SEND_INTERVAL_SECONDS
    if not cache.add(f"sms:gap:{phone}", 1, timeout=interval):
        raise TooMany("sms_too_soon", f"验证码已发送，请{interval}秒后再试", field=field, label="手机号码")
    hour = timezone.now().strftime("%Y%m%d%H")
    key = f"sms:hour:{phone}:{hour}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > settings.SMS_SEND_HOURLY_CAP:
        raise TooMany("sms_hourly_cap", "该手机号获取验证码次数过多，请一小时后再试", field=field, label="手机号码")


def _code_hash(*, phone: str, purpose: str, code: str) -> str:
    message = f"{connection.schema_name}|{phone}|{purpose}|{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def code_text(*, code: str) -> str:
    pack, _ = pack_in_force()
    minutes = settings.SMS_CODE_TTL_SECONDS // 60
    return f"【{pack.centre.site_title}】您的验证码为{code}，{minutes}分钟内有效，请勿泄露给他人。"


def sms_message_queue(*, phone: str, template: str, params: dict[str, str], text: str) -> SmsMessage:
    """Queue one text; it is handed to the delivery task when the transaction commits."""
    backend = str(sms_provider_config().get("provider") or OUTBOX)
    message = SmsMessage.objects.create(
        phone=phone,
        template=template,
        params=params,
        text=text if backend == OUTBOX else "",  # only the dev outbox keeps the text to show it
        backend=backend,
        expires_at=timezone.now() + timedelta(seconds=settings.SMS_CODE_TTL_SECONDS),
    )
    from baohan.identity.tasks import sms_deliver_task

    message_id = str(message.id)
    transaction.on_commit(lambda: sms_deliver_task.delay(message_id))
    return message


def sms_code_queue(*, phone: str, code: str) -> SmsMessage:
    minutes = str(settings.SMS_CODE_TTL_SECONDS // 60)
    return sms_message_queue(
        phone=phone, template=TEMPLATE_CODE, params={"code": code, "minutes": minutes}, text=code_text(code=code)
    )


def sms_code_issue(*, phone: str, purpose: str) -> SmsCode:
    """Make a code for ``purpose``, send it to ``phone``; earlier codes for the same purpose die."""
    sms_send_reserve(phone=phone)
    code = "".join(secrets.choice("0123456789") for _ in range(settings.SMS_CODE_LENGTH))
    now = timezone.now()
    with transaction.atomic():
        SmsCode.objects.filter(phone=phone, purpose=purpose, used_at__isnull=True).update(used_at=now)
        row = SmsCode.objects.create(
            phone=phone,
            purpose=purpose,
            code_hash=_code_hash(phone=phone, purpose=purpose, code=code),
            expires_at=now + timedelta(seconds=settings.SMS_CODE_TTL_SECONDS),
        )
        sms_code_queue(phone=phone, code=code)
    return row


def operator_sms_code_issue(*, operator: Operator | None, phone: str, purpose: str) -> SmsCode:
    """A code for an operator check, sent to the operator's phone on record; an operator with
    none yet (a first CA-key login) names the phone to prove."""
    if operator is None:
        raise NotAllowed("not_operator", "请先完成企业认证")
    if operator.phone and phone and phone != operator.phone:
        raise InvalidInput("operator_check_failed", "手机号码与经办人登记的手机号码不一致", field="phone")
    return sms_code_issue(phone=operator.phone or phone_checked(phone), purpose=purpose)


def sms_code_verify(*, phone: str, purpose: str, code: str, field: str = "sms_code") -> None:
    """Accept ``code`` once, or raise naming ``field``. A wrong try is counted even when the caller fails later."""
    code = (code or "").strip()
    if not code:
        raise InvalidInput("required", "请填写短信验证码", field=field, label="短信验证码")
    with transaction.atomic():
        row = (
            SmsCode.objects.select_for_update()
            .filter(phone=phone, purpose=purpose, used_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        now = timezone.now()
        if row is None:
            raise InvalidInput("sms_code_missing", "请先获取短信验证码", field=field, label="短信验证码")
        if row.expires_at <= now:
            raise InvalidInput("sms_code_expired", "短信验证码已过期，请重新获取", field=field, label="短信验证码")
        if row.tries >= settings.SMS_CODE_MAX_TRIES:
            raise InvalidInput(
                "sms_code_exhausted", "短信验证码错误次数过多，请重新获取", field=field, label="短信验证码"
            )
        expected = _code_hash(phone=phone, purpose=purpose, code=code)
        if not hmac.compare_digest(row.code_hash, expected):
            row.tries += 1
            row.save(update_fields=["tries"])
            wrong = True
        else:
            row.used_at = now
            row.save(update_fields=["used_at"])
            wrong = False
    if wrong:
        left = settings.SMS_CODE_MAX_TRIES - row.tries
        message = f"短信验证码错误，还可尝试{left}次" if left else "短信验证码错误次数过多，请重新获取"
        raise InvalidInput("sms_code_wrong", message, field=field, label="短信验证码")


def sms_deliver(*, message_id: str) -> Outcome | None:
    """Send one queued message. Returns the outcome, or None when there was nothing to send.

    The message leaves ``queued`` under a row lock before the provider is called, so a second
    worker, a redelivered task or a retry never sends it again. Only an outcome that means
    "certainly not sent" puts it back to ``queued`` for a retry."""
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != SmsMessage.Status.QUEUED:
            return None
        if message.expires_at <= timezone.now():
            message.status = SmsMessage.Status.EXPIRED
            message.params = {}
            message.save(update_fields=["status", "params"])
            return None
        message.status = SmsMessage.Status.SENDING
        message.attempts += 1
        message.save(update_fields=["status", "attempts"])
    provider = provider_from_settings(sms_provider_config())  # the centre's own, else the platform's
    if provider is None:
        # The dev outbox: the text is kept in the table (see /dev/outbox) and printed to the console.
        log.info("SMS outbox [%s] %s: %s", connection.schema_name, mask_phone(message.phone), message.text)
        outcome, provider_id, detail = Outcome.SENT, "", ""
    else:
        result = provider.send(
            phone=message.phone, template=message.template, params=message.params, reference=str(message.id)
        )
        outcome, provider_id, detail = result.outcome, result.provider_message_id, result.detail
    status = {
        Outcome.SENT: SmsMessage.Status.SENT,
        Outcome.REJECTED: SmsMessage.Status.REJECTED,
        Outcome.UNKNOWN: SmsMessage.Status.UNKNOWN,
        Outcome.RETRY: SmsMessage.Status.QUEUED,
    }[outcome]
    fields: dict[str, Any] = {"status": status, "provider_message_id": provider_id, "detail": detail[:300]}
    if status != SmsMessage.Status.QUEUED:
        fields["params"] = {}  # the code is no longer needed once the text has gone (or cannot go)
    if status == SmsMessage.Status.SENT:
        fields["sent_at"] = timezone.now()
    SmsMessage.objects.filter(pk=message.pk).update(**fields)
    return outcome
