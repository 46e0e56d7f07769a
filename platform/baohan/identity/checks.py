"""The operator re-verification the engine calls (``BAOHAN_OPERATOR_CHECK``): the phone given must
be the operator's phone on record, and the SMS code sent to it for this purpose must match.

The image captcha is answered when the code is requested (``POST /api/v1/sms-codes``), as the
manuals show it: picture code, then 获取验证码, then the SMS code.
"""

from __future__ import annotations

from collections.abc import Mapping

from baohan.guarantees.checks import phone_on_record as phone_matches
from baohan.guarantees.errors import InvalidInput
from baohan.identity.services.sms import sms_code_verify


def sms_code_verified(
    *, phone_on_record: str, phone: str, codes: Mapping[str, str], purpose: str, subject: str = ""
) -> str:
    """An operator with no phone on record yet (a first CA-key login) proves the phone given instead.
    A code accepted for ``subject`` serves that action again (a retry, a later step) until it expires."""
    if phone_on_record:
        phone_matches(phone_on_record=phone_on_record, phone=phone, codes=codes, purpose=purpose)
    elif not phone:
        raise InvalidInput("required", "请填写手机号码", field="operator_phone", label="手机号码")
    sms_code_verify(phone=phone_on_record or phone, purpose=purpose, code=codes.get("sms_code", ""), subject=subject)
    return "sms_code"
