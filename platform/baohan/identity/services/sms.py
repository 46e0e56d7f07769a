"""SMS codes and the texts that carry them.

A code is six digits, lives ten minutes, allows three tries and is used once; only its hash
is stored. Sends are limited per centre, phone and purpose (one per interval, a cap per clock
hour, both from settings), so an operator applying for several sections, abandoning an order and
confirming a refund account is not locked out by another centre or another purpose, and
「验证码已发送」 is said only where a code for that purpose was sent on that centre. Abuse limits
hold above that: sends per client address, and an overall ceiling per phone, across centres.
Texts are queued as ``SmsMessage`` rows and delivered after commit by a task that sends each
message at most once (see ``sms_deliver``).

A code that passed an operator check for one action (its purpose and subject, e.g. an application
for one section) stays good for that same action's later steps or retries until it expires, and
for nothing else.
"""

from __future__ import annotations

import contextlib
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


SIGN_IN = "sign_in"  # the sign-in pages' codes (SMS-code login, phone verification on sign-up)
PURPOSE_LABELS = {**dict(SmsCode.Purpose.choices), SIGN_IN: "登录"}


def sms_hourly_cap(purpose: str) -> int:
    caps: dict[str, int] = getattr(settings, "SMS_SEND_HOURLY_CAPS", {}) or {}
    return int(caps.get(purpose, settings.SMS_SEND_HOURLY_CAP))


def sms_limit_keys(*, phone: str, purpose: str, centre: str | None = None) -> list[str]:
    """The cache keys counting sends to ``phone`` for ``purpose`` on a centre (this one by default)."""
    centre = centre or connection.schema_name
    hour = timezone.now().strftime("%Y%m%d%H")
    return [f"sms:gap:{centre}:{purpose}:{phone}", f"sms:hour:{centre}:{purpose}:{phone}:{hour}"]


def _count(cache: BaseCache, key: str) -> int:
    cache.add(key, 0, timeout=3600)
    return int(cache.incr(key))


def sms_send_reserve(*, phone: str, purpose: str = SIGN_IN, client: str | None = None, field: str = "phone") -> None:
    """Take one send of a ``purpose`` code to ``phone`` on this centre, or refuse saying why.

    Per centre, phone and purpose: one per ``SMS_SEND_INTERVAL_SECONDS`` and
    ``SMS_SEND_HOURLY_CAP`` (or ``SMS_SEND_HOURLY_CAPS[purpose]``) per clock hour. Across centres,
    against abuse: ``SMS_SEND_CLIENT_HOURLY_CAP`` per client address and
    ``SMS_SEND_PHONE_ABUSE_HOURLY_CAP`` per phone. A refused send counts nowhere."""
    cache = _global_cache()
    interval = settings.SMS_SEND_INTERVAL_SECONDS
    gap, hour_key = sms_limit_keys(phone=phone, purpose=purpose)
    if not cache.add(gap, 1, timeout=interval):
        # True by construction: the window opens only for a send on this centre, for this purpose.
        raise TooMany("sms_too_soon", f"验证码已发送，请{interval}秒后再试", field=field, label="手机号码")
    hour = timezone.now().strftime("%Y%m%d%H")
    taken: list[str] = []

    def refuse(code: str, message: str) -> TooMany:
        for key in taken:
            with contextlib.suppress(ValueError):  # the hour rolled over meanwhile: nothing to give back
                cache.decr(key)
        cache.delete(gap)
        return TooMany(code, message, field=field, label="手机号码")

    cap = sms_hourly_cap(purpose)
    taken.append(hour_key)
    if _count(cache, hour_key) > cap:
        label = PURPOSE_LABELS.get(purpose, "")
        raise refuse("sms_hourly_cap", f"该手机号本小时获取{label}验证码已达{cap}次，请稍后再试")
    overall = f"sms:phone:{phone}:{hour}"
    taken.append(overall)
    if _count(cache, overall) > settings.SMS_SEND_PHONE_ABUSE_HOURLY_CAP:
        raise refuse("sms_phone_cap", "该手机号获取验证码过于频繁，请一小时后再试")
    if client:
        per_client = f"sms:client:{client}:{hour}"
        taken.append(per_client)
        if _count(cache, per_client) > settings.SMS_SEND_CLIENT_HOURLY_CAP:
            raise refuse("sms_client_cap", "当前网络获取验证码过于频繁，请一小时后再试")


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
    from baohan.outbox.services import outbox_enqueue

    # Queued in the message's own transaction (the outbox): a broker outage delays it, never loses it.
    outbox_enqueue(task="identity.sms_deliver", args=[str(message.id)])
    return message


def sms_code_queue(*, phone: str, code: str) -> SmsMessage:
    minutes = str(settings.SMS_CODE_TTL_SECONDS // 60)
    return sms_message_queue(
        phone=phone, template=TEMPLATE_CODE, params={"code": code, "minutes": minutes}, text=code_text(code=code)
    )


def sms_code_issue(*, phone: str, purpose: str, client: str | None = None) -> SmsCode:
    """Make a code for ``purpose``, send it to ``phone``; earlier codes for the same purpose die."""
    sms_send_reserve(phone=phone, purpose=purpose, client=client)
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


def operator_sms_code_issue(
    *, operator: Operator | None, phone: str, purpose: str, client: str | None = None
) -> SmsCode:
    """A code for an operator check, sent to the operator's phone on record; an operator with
    none yet (a first CA-key login) names the phone to prove."""
    if operator is None:
        raise NotAllowed("not_operator", "请先完成企业认证")
    if operator.phone and phone and phone != operator.phone:
        raise InvalidInput("operator_check_failed", "手机号码与经办人登记的手机号码不一致", field="phone")
    return sms_code_issue(phone=operator.phone or phone_checked(phone), purpose=purpose, client=client)


def _grant_keys(*, phone: str, purpose: str, subject: str, expected: str) -> tuple[str, str]:
    """Where an accepted code is remembered: by the action (with its tries), and by the code."""
    return f"sms:grant:{connection.schema_name}:{purpose}:{phone}:{subject}", f"sms:check:{expected}"


def _grant_miss(cache: BaseCache, key: str, grant: dict[str, Any]) -> None:
    """A wrong code against an action's remembered one is a try like any other: three, and it is gone."""
    tries = int(grant.get("tries", 0)) + 1
    left = int(float(grant.get("until", 0)) - timezone.now().timestamp())
    if tries >= settings.SMS_CODE_MAX_TRIES or left <= 0:
        cache.delete(key)
    else:
        cache.set(key, {**grant, "tries": tries}, timeout=left)


def sms_code_verify(*, phone: str, purpose: str, code: str, field: str = "sms_code", subject: str = "") -> None:
    """Accept ``code`` once, or raise naming ``field``. A wrong try is counted even when the caller fails later.

    With a ``subject`` (the one action asked for: an application for a section, an order's
    abandon, a refund's account), the accepted code is remembered for that subject until it
    expires: the same action's later steps and retries accept it again; another subject never."""
    code = (code or "").strip()
    if not code:
        raise InvalidInput("required", "请填写短信验证码", field=field, label="短信验证码")
    cache = _global_cache()
    expected = _code_hash(phone=phone, purpose=purpose, code=code)
    by_subject, by_code = _grant_keys(phone=phone, purpose=purpose, subject=subject, expected=expected)
    if subject:
        grant = cache.get(by_subject)
        if isinstance(grant, dict):
            if hmac.compare_digest(str(grant.get("hash", "")), expected):
                return  # this action's code, accepted before: a retry or a later step
            _grant_miss(cache, by_subject, grant)
        used_for = cache.get(by_code)
        if used_for is not None and used_for != subject:
            raise InvalidInput(
                "sms_code_used_elsewhere", "该短信验证码已用于另一项操作，请重新获取", field=field, label="短信验证码"
            )
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
    if subject:
        left = max(1, int((row.expires_at - now).total_seconds()))
        cache.set(by_subject, {"hash": expected, "tries": 0, "until": row.expires_at.timestamp()}, timeout=left)
        cache.set(by_code, subject, timeout=left)


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
