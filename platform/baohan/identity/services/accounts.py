"""Audit rows for identity changes, and password reset by SMS (忘记密码)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from baohan.guarantees.errors import InvalidInput
from baohan.identity.fields import mask_phone
from baohan.identity.models import AccountEvent, SmsCode, UserPhone
from baohan.identity.services.sms import sms_code_issue, sms_code_verify


def account_event_record(
    *,
    user: User | None,
    kind: str,
    actor_kind: str = "bidder",
    actor_label: str = "",
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AccountEvent:
    return AccountEvent.objects.create(
        user=user,
        kind=kind,
        actor_kind=actor_kind,
        actor_label=actor_label[:200],
        from_state=from_state,
        to_state=to_state,
        reason=reason[:500],
        data=data or {},
    )


def password_reset_code_send(*, phone: str, client: str) -> SmsCode:
    """Send the reset code to a registered bidder's phone; the send counts against ``client`` (the asking
    address) as well as the phone."""
    owner = UserPhone.objects.filter(phone=phone).values_list("user__is_staff", flat=True).first()
    if owner is None:
        raise InvalidInput("phone_not_registered", "该手机号未注册", field="phone", label="手机号码")
    if owner:  # staff passwords are set by the centre's administrator (staff_user), never by SMS
        raise InvalidInput("staff_account", "工作人员账户请联系管理员重置密码", field="phone", label="手机号码")
    return sms_code_issue(phone=phone, purpose=SmsCode.Purpose.PASSWORD_RESET, client=client)


def password_reset_by_code(*, phone: str, code: str, password: str) -> User:
    """Set a new password once the code sent to ``phone`` matches; the password is validated by the form."""
    sms_code_verify(phone=phone, purpose=SmsCode.Purpose.PASSWORD_RESET, code=code, field="code")
    user = UserPhone.objects.select_related("user").get(phone=phone).user
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        account_event_record(user=user, kind="password_reset", actor_label=mask_phone(phone))
    return user
