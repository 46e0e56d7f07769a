"""Validating a region's form against its pack: required marks, kinds, choices, uploads.

Values are stored under canonical names; errors name the field by its canonical name and
by the region's label. Validators come from python-stdnum where one exists.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from baohan.guarantees.errors import InvalidInput
from baohan.guarantees.numbers import AMOUNT_PLACES, RATE_PLACES, NumberRefused, decimal_parse, integer_parse
from baohan.identity.fields import mask_tail
from baohan.rulepacks.fields import CANONICAL_FIELDS, FieldKind, FieldSource
from baohan.rulepacks.models import FormField, RulePack

EARLIEST, LATEST = date(2000, 1, 1), date(2199, 12, 31)
PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")
BANK_ACCOUNT_RE = re.compile(r"^[0-9]{6,32}$")


def _error(code: str, message: str, form_field: FormField) -> InvalidInput:
    return InvalidInput(code, message, field=form_field.name, label=form_field.label)


def uscc_clean(value: str) -> str:
    """A USCC, upper-cased and checked (including its check character); raises ValueError."""
    try:
        return str(uscc.validate(value.strip().upper()))
    except StdnumError as exc:
        raise ValueError("统一社会信用代码无效（校验位不符或格式错误）") from exc


def phone_clean(value: str) -> str:
    value = value.strip().replace(" ", "")
    if not PHONE_RE.match(value):
        raise ValueError("手机号码应为11位中国大陆手机号")
    return value


def bank_account_clean(value: str) -> str:
    value = re.sub(r"[\s-]", "", value)
    if not BANK_ACCOUNT_RE.match(value):
        raise ValueError("银行账号应为6至32位数字")
    return value


def _clean(form_field: FormField, kind: FieldKind, raw: Any, choices: list[str]) -> Any:
    if kind in (FieldKind.MONEY, FieldKind.RATE):
        # ASCII digits only; money to the fen, rates to six places (baohan/guarantees/numbers.py).
        value = decimal_parse(raw, places=AMOUNT_PLACES if kind == FieldKind.MONEY else RATE_PLACES)
        if value <= 0:
            raise ValueError("应为大于零的数字")
        return str(value)
    if kind == FieldKind.DAYS:
        try:
            value_days = integer_parse(raw, max_digits=4)
        except NumberRefused as exc:
            raise ValueError(f"应为1至3650之间的天数（{exc}）") from exc
        if not 1 <= value_days <= 3650:
            raise ValueError("应为1至3650之间的天数")
        if choices and str(value_days) not in choices:
            raise ValueError(f"可选值：{'、'.join(choices)}")
        return value_days
    if not isinstance(raw, str):
        raise ValueError("应为文本")
    text = raw.strip()
    if kind == FieldKind.DATE:
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError("日期格式应为 YYYY-MM-DD") from exc
        if not EARLIEST <= day <= LATEST:
            raise ValueError(f"日期应在 {EARLIEST} 至 {LATEST} 之间")
        return day.isoformat()
    if kind == FieldKind.CHOICE:
        if text not in choices:
            raise ValueError(f"可选值：{'、'.join(choices)}")
        return text
    if kind == FieldKind.PHONE:
        return phone_clean(text)
    if kind == FieldKind.EMAIL:
        try:
            validate_email(text)
        except DjangoValidationError as exc:
            raise ValueError("邮箱格式不正确") from exc
        return text
    if kind == FieldKind.USCC:
        return uscc_clean(text)
    if kind == FieldKind.BANK_ACCOUNT:
        return bank_account_clean(text)
    if kind == FieldKind.ID_NUMBER:
        return text.upper()
    if kind == FieldKind.FILE:
        try:
            return str(uuid.UUID(text))
        except ValueError as exc:
            raise ValueError("应为已上传文件的编号") from exc
    if len(text) > 300:
        raise ValueError("不能超过300个字符")
    return text


def field_choices(pack: RulePack, form_field: FormField) -> list[str]:
    if form_field.choices:
        return [choice.code for choice in form_field.choices]
    if form_field.name == "project_type":
        return [pt.code for pt in pack.sections.project_types]
    if form_field.name == "bid_validity_days":
        return [str(days) for days in pack.sections.bid_validity_days]
    return []


@dataclass
class CleanForm:
    data: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)
    # ID and bank account numbers: kept apart to be stored encrypted; ``data`` holds them masked.
    private: dict[str, str] = field(default_factory=dict)


SENSITIVE_KINDS = frozenset({FieldKind.BANK_ACCOUNT, FieldKind.ID_NUMBER})


def form_clean(
    *, pack: RulePack, fields: list[FormField], values: dict[str, Any], defaults: dict[str, Any]
) -> CleanForm:
    """Check ``values`` against the pack's ``fields``; raise InvalidInput naming the first bad field.

    Section and quote fields are not taken from the bidder; ``defaults`` fills what the bidder
    left out (from the section and the enterprise). Checks (captcha, SMS code) are returned
    apart: they are verified, never stored.
    """
    known = {f.name for f in fields}
    for name in values:
        if name not in known:
            raise InvalidInput("unknown_field", f"表单中没有字段 {name}", field=name)
    out = CleanForm()
    # The picture code is answered when the SMS code is requested (no code is sent without it): where the
    # form asks for an SMS code, the code proves the picture and the picture's field may be left out.
    sms_code_asked = any(CANONICAL_FIELDS[f.name].kind == FieldKind.SMS_CODE for f in fields)
    for form_field in fields:
        canonical = CANONICAL_FIELDS[form_field.name]
        out.labels[form_field.name] = form_field.label
        if canonical.source in (FieldSource.SECTION, FieldSource.QUOTE):
            if form_field.name in defaults:
                out.data[form_field.name] = defaults[form_field.name]
            continue
        raw = values.get(form_field.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raw = defaults.get(form_field.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if form_field.required and not (canonical.kind == FieldKind.CAPTCHA and sms_code_asked):
                raise _error("required", f"请填写{form_field.label}", form_field)
            continue
        try:
            value = _clean(form_field, canonical.kind, raw, field_choices(pack, form_field))
        except ValueError as exc:
            raise _error("invalid", f"{form_field.label}：{exc}", form_field) from exc
        if canonical.source == FieldSource.CHECK:
            out.checks[form_field.name] = str(value)
        elif canonical.kind == FieldKind.FILE:
            out.uploads[form_field.name] = value
            out.data[form_field.name] = value
        elif canonical.kind in SENSITIVE_KINDS:
            out.private[form_field.name] = str(value)
            out.data[form_field.name] = mask_tail(str(value))
        else:
            out.data[form_field.name] = value
    return out
