"""What the order page shows beside the engine's facts: the payment warnings that apply to this order
(each said once, grouped 支付须知 / 温馨提示), the basic account, and the form's values in the pack's words
(``value_shown``: one formatter for the order page, the confirm page and the issuer's workbench)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from baohan.guarantees.models import Enterprise, Order
from baohan.guarantees.selectors import payment_warnings_for, upload_get_for_enterprise
from baohan.portal.templatetags.portal_format import cn_date, percent, yuan
from baohan.rulepacks.fields import CANONICAL_FIELDS, FieldKind, FieldSource
from baohan.rulepacks.models import EngineWarning, PayerAccount, RulePack, WarningGroup

# The fields of the bidder's basic account (基本户信息), in the order the manual lists them.
BASIC_ACCOUNT_FIELDS = ("account_name", "account_number", "bank_name")


@dataclass(frozen=True)
class Note:
    text: str
    covers: frozenset[str]

    @property
    def css(self) -> str:
        return "payer-rule" if EngineWarning.PAYER_RULE.value in self.covers else ""


@dataclass(frozen=True)
class NoteGroup:
    code: str
    title: str
    notes: list[Note]


def payment_notes(*, pack: RulePack, project_type: str, payer: str, remark: bool) -> list[NoteGroup]:
    """The pack's warnings for this order's project type and payment methods, then the page's own
    (payer rule, 订单附言, 勿重复支付, whom to call) unless the pack already
    says them; every text once, 支付须知 before 温馨提示."""
    payment = pack.payment
    notes: dict[WarningGroup, list[Note]] = {WarningGroup.NOTICE: [], WarningGroup.TIP: []}
    covered: set[str] = set()
    for warning in payment_warnings_for(pack=pack, project_type=project_type):
        covers = frozenset(c.value for c in warning.covers)
        covered |= covers
        notes[warning.group].append(Note(warning.text, covers))

    def own(code: EngineWarning, group: WarningGroup, text: str) -> None:
        if code.value not in covered:
            notes[group].append(Note(text, frozenset({code.value})))

    if payer == PayerAccount.BASIC_ACCOUNT:
        rule = _("本项目须使用【企业基本户】转账，使用其他账户支付将被自动取消并退款")
        if payment.auto_refund_service_fee:
            rule += _("（扣除服务费 %(fee)s）") % {"fee": yuan(payment.auto_refund_service_fee)}
        own(EngineWarning.PAYER_RULE, WarningGroup.NOTICE, rule + "。")
    elif payer == PayerAccount.ENTERPRISE_ACCOUNT:
        own(EngineWarning.PAYER_RULE, WarningGroup.NOTICE, _("须使用与投保人企业名称一致的企业账户支付。"))
    else:
        own(EngineWarning.PAYER_RULE, WarningGroup.NOTICE, _("可使用个人或企业网银转账。"))
    if remark:
        own(
            EngineWarning.REMARK,
            WarningGroup.NOTICE,
            _("所有转账的附言、用途、摘要或备注处均须填写订单附言，否则无法自动核验。"),
        )
    own(EngineWarning.DUPLICATE_PAYMENT, WarningGroup.NOTICE, _("请核对应付金额，勿重复支付。"))
    # Paying ahead of the deadline (pay_before) is the card's 建议付款时间 row, with its date: not said again here.
    if payment.contact_if_not_issued_after_hours:
        hours = payment.contact_if_not_issued_after_hours
        if pack.after_sales:
            text = _("付款 %(h)s 小时后仍未出单，请点击“支付遇到问题请点击”或拨打服务热线。") % {"h": hours}
        else:
            text = _("付款 %(h)s 小时后仍未出单，请拨打服务热线。") % {"h": hours}
        own(EngineWarning.NOT_ISSUED_CONTACT, WarningGroup.TIP, text)
    titles = {WarningGroup.NOTICE: _("支付须知"), WarningGroup.TIP: _("温馨提示")}
    return [NoteGroup(group.value, titles[group], items) for group, items in notes.items() if items]


def value_shown(*, pack: RulePack, name: str, value: Any, enterprise: Enterprise | None) -> str:
    """A stored form value as the bidder and the issuer read it: ¥10,000.00, 4.00%, 2026年12月4日, days
    in the field's unit (日历天 where the pack says so), a choice's or project type's label, an upload's
    file name, 是/否. Empty for no value and for the operator checks (never data to show)."""
    if value is None or value == "" or value == []:
        return ""
    canonical = CANONICAL_FIELDS.get(name)
    kind = canonical.kind if canonical else FieldKind.TEXT
    if (canonical and canonical.source == FieldSource.CHECK) or kind in (FieldKind.CAPTCHA, FieldKind.SMS_CODE):
        return ""
    form_field = next((f for f in pack.forms.application if f.name == name), None)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if kind == FieldKind.MONEY:
        return yuan(value)
    if kind == FieldKind.RATE:
        return percent(value)
    if kind == FieldKind.DATE:
        try:
            return cn_date(datetime.fromisoformat(str(value)).date())
        except ValueError:
            return str(value)
    if kind == FieldKind.DAYS:
        if form_field is not None and form_field.hint == "日历天":
            return f"{value}{form_field.hint}"
        return _("%(n)s天") % {"n": value}
    if kind == FieldKind.FILE:
        upload = (
            upload_get_for_enterprise(enterprise=enterprise, purpose=name, upload_id=value)
            if enterprise is not None
            else None
        )
        return (upload.original_name if upload else "") or _("已上传")
    options = {c.code: c.label for c in (form_field.choices or [] if form_field else [])}
    if name == "project_type":
        options = {pt.code: pt.label for pt in pack.sections.project_types} | options
    return options.get(str(value), str(value))


def form_rows(*, order: Order, pack: RulePack, skip: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    """(name, label, shown value) of what the bidder filled in, without empty rows."""
    rows = []
    for name, label in (order.form_labels or {}).items():
        if name in skip:
            continue
        shown = value_shown(pack=pack, name=name, value=(order.form_data or {}).get(name), enterprise=order.enterprise)
        if shown:
            rows.append((name, str(label), shown))
    return rows


def basic_account_rows(*, order: Order, pack: RulePack) -> list[tuple[str, str, str]]:
    """基本户信息: the account the application named, when the pack's form asks for it."""
    by_name = {name: (name, label, shown) for name, label, shown in form_rows(order=order, pack=pack)}
    return [by_name[name] for name in BASIC_ACCOUNT_FIELDS if name in by_name]
