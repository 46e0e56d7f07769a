"""The operator re-verification hook (经办人校验: phone, captcha, SMS code).

Abandoning an order, confirming a refund account and submitting an application ask the
operator to prove they are present where the pack says so. The engine calls
``operator_check`` and records what it returns; the verifier is chosen by the setting
``BAOHAN_OPERATOR_CHECK`` (a dotted path), so the identity layer can plug in SMS-code
verification without the engine changing.

The default verifier, ``phone_on_record``, checks that the phone given is the operator's
phone on record. It does not check captcha or SMS codes: those need the identity layer.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

from django.conf import settings
from django.utils.module_loading import import_string

from baohan.guarantees.errors import InvalidInput


def phone_on_record(
    *, phone_on_record: str, phone: str, codes: Mapping[str, str], purpose: str, subject: str = ""
) -> str:
    if not phone:
        raise InvalidInput("required", "请填写手机号码", field="operator_phone", label="手机号码")
    if phone != phone_on_record:
        raise InvalidInput(
            "operator_check_failed", "手机号码与经办人登记的手机号码不一致", field="operator_phone", label="手机号码"
        )
    return "phone_on_record"


def operator_check(
    *, phone_on_record: str, phone: str, codes: Mapping[str, str], purpose: str, subject: str = ""
) -> str:
    """Verify the operator; return the name of the method used, for the event row.

    ``subject`` names the one action the check is for (an application for a section, an order's
    abandon, a refund's account): a verifier that accepts it lets a check passed for that action
    serve its later steps and retries, and never another action."""
    path = getattr(settings, "BAOHAN_OPERATOR_CHECK", "baohan.guarantees.checks.phone_on_record")
    verifier: Callable[..., str] = import_string(path)
    extra = {"subject": subject} if _accepts_subject(verifier) else {}
    return verifier(phone_on_record=phone_on_record, phone=phone, codes=codes, purpose=purpose, **extra)


def _accepts_subject(verifier: Callable[..., str]) -> bool:
    parameters = inspect.signature(verifier).parameters.values()
    return any(p.name == "subject" or p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters)
