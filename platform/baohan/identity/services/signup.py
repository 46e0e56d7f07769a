"""新用户注册: the SMS code that proves the phone, sent after the picture check (when the pack has one)."""

from __future__ import annotations

from baohan.guarantees.errors import InvalidInput
from baohan.identity.models import SmsCode, UserPhone
from baohan.identity.services.humans import captcha_verify
from baohan.identity.services.sms import phone_checked, sms_code_issue

# Codes are checked per purpose: one sent for 新用户注册 serves nothing else.
SIGNUP_PURPOSE = SmsCode.Purpose.REGISTRATION.value


def signup_code_send(
    *, phone: str, captcha_key: str, captcha: str, human_check: bool, client: str | None = None
) -> tuple[str, SmsCode]:
    """Send the code of 新用户注册 to ``phone``, a mainland mobile not yet registered on this centre.
    The picture check is spent first (right or wrong), so a wrong answer learns nothing about the phone.
    Returns the phone as cleaned and the code's row."""
    phone = phone_checked(phone)
    if human_check:
        captcha_verify(key=captcha_key, answer=captcha)
    if UserPhone.objects.filter(phone=phone).exists():
        raise InvalidInput("phone_taken", "该手机号已注册，请直接登录", field="phone", label="手机号码")
    return phone, sms_code_issue(phone=phone, purpose=SIGNUP_PURPOSE, client=client)
