"""The engine's canonical form fields. A pack chooses which appear, and what each is called."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

FormName = Literal["application", "enterprise", "voucher", "refund_account"]


class FieldKind(StrEnum):
    TEXT = "text"
    MONEY = "money"
    RATE = "rate"
    DAYS = "days"
    DATE = "date"
    CHOICE = "choice"
    PHONE = "phone"
    EMAIL = "email"
    USCC = "uscc"
    BANK_ACCOUNT = "bank_account"
    ID_NUMBER = "id_number"
    CAPTCHA = "captcha"
    SMS_CODE = "sms_code"
    FILE = "file"


class FieldSource(StrEnum):
    """Where a field's value comes from on the application form."""

    BIDDER = "bidder"  # typed or chosen by the bidder
    SECTION = "section"  # filled from the section; the bidder may not change it
    QUOTE = "quote"  # computed by the engine's quote; shown, never taken from the bidder
    CHECK = "check"  # an operator check (captcha, SMS code): verified, never stored


@dataclass(frozen=True)
class CanonicalField:
    kind: FieldKind
    label: str  # the engine's default Chinese label
    forms: frozenset[str]
    source: FieldSource = FieldSource.BIDDER


def _f(kind: FieldKind, label: str, *forms: str, source: FieldSource = FieldSource.BIDDER) -> CanonicalField:
    return CanonicalField(kind=kind, label=label, forms=frozenset(forms), source=source)


APP = "application"
ENT = "enterprise"
VOU = "voucher"
REF = "refund_account"

CANONICAL_FIELDS: dict[str, CanonicalField] = {
    # section (标段信息)
    "deposit_amount": _f(FieldKind.MONEY, "保证金金额", APP, source=FieldSource.SECTION),
    "project_type": _f(FieldKind.CHOICE, "项目类型", APP),
    "bid_validity_days": _f(FieldKind.DAYS, "投标有效期", APP),
    "project_code": _f(FieldKind.TEXT, "项目编号", APP),
    "project_name": _f(FieldKind.TEXT, "项目名称", APP),
    "project_address": _f(FieldKind.TEXT, "项目地址", APP),
    "construction_period_days": _f(FieldKind.DAYS, "工期", APP),
    # the bidder's account (投标人企业信息 / 基本户)
    "account_name": _f(FieldKind.TEXT, "账户名称", APP, REF),
    "bank_name": _f(FieldKind.TEXT, "开户银行", APP, REF),
    "account_number": _f(FieldKind.BANK_ACCOUNT, "账户号码", APP, REF),
    "account_permit": _f(FieldKind.FILE, "开户许可证", APP),
    # insurance (保险信息)
    "insured_amount": _f(FieldKind.MONEY, "保险金额", APP, source=FieldSource.QUOTE),
    "start_date": _f(FieldKind.DATE, "起保日期", APP),
    "coverage_days": _f(FieldKind.DAYS, "保障天数", APP),
    "end_date": _f(FieldKind.DATE, "终保日期", APP, source=FieldSource.QUOTE),
    "premium_rate": _f(FieldKind.RATE, "保险费率", APP, source=FieldSource.QUOTE),
    "premium_amount": _f(FieldKind.MONEY, "保费金额", APP, source=FieldSource.QUOTE),
    # applicant (投保人信息)
    "applicant_name": _f(FieldKind.TEXT, "名称", APP),
    "applicant_uscc": _f(FieldKind.USCC, "统一社会信用代码", APP),
    "applicant_address": _f(FieldKind.TEXT, "联系地址", APP),
    "registered_address": _f(FieldKind.TEXT, "注册地址", APP),
    "qualification_level": _f(FieldKind.TEXT, "施工资质等级", APP),
    "contact_phone": _f(FieldKind.PHONE, "联系电话", APP),
    "contact_person": _f(FieldKind.TEXT, "联系人", APP),
    # insured (被保人信息)
    "insured_name": _f(FieldKind.TEXT, "被保险人名称", APP),
    "insured_uscc": _f(FieldKind.USCC, "被保险人统一社会信用代码", APP),
    # operator (经办人信息) and its checks
    "operator_name": _f(FieldKind.TEXT, "经办人姓名", APP),
    "operator_phone": _f(FieldKind.PHONE, "手机号码", APP, REF),
    "operator_email": _f(FieldKind.EMAIL, "邮箱", APP),
    "captcha": _f(FieldKind.CAPTCHA, "验证码", APP, REF, source=FieldSource.CHECK),
    "sms_code": _f(FieldKind.SMS_CODE, "短信验证码", APP, REF, source=FieldSource.CHECK),
    # enterprise verification (企业信息认证 / 企业信息完善)
    "enterprise_name": _f(FieldKind.TEXT, "企业名称", ENT),
    "enterprise_uscc": _f(FieldKind.USCC, "统一社会信用代码", ENT),
    "legal_rep_name": _f(FieldKind.TEXT, "法人姓名", ENT),
    "legal_rep_id_type": _f(FieldKind.CHOICE, "证件类型", ENT),
    "legal_rep_id_number": _f(FieldKind.ID_NUMBER, "证件号码", ENT),
    "business_licence": _f(FieldKind.FILE, "企业营业执照(扫描件)", ENT),
    "enterprise_nature": _f(FieldKind.CHOICE, "企业性质", ENT),
    "enterprise_location": _f(FieldKind.TEXT, "企业所在地", ENT),
    "enterprise_address": _f(FieldKind.TEXT, "企业地址", ENT),
    # payment voucher (支付凭证)
    "payment_voucher": _f(FieldKind.FILE, "支付凭证", VOU),
}

# Choice fields whose choices come from elsewhere in the pack when the field lists none.
PACK_CHOICES = frozenset({"project_type"})
