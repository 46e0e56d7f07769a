"""Invoices: eligibility from the pack, the fields each kind needs, saved titles and addresses."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from baohan.guarantees.errors import Conflict, InvalidInput, NotAllowed, NotFound
from baohan.guarantees.forms import bank_account_clean, phone_clean, uscc_clean
from baohan.guarantees.models import Enterprise, Invoice, InvoiceAddress, InvoiceTitle, Order, OrderEvent
from baohan.guarantees.numbers import NumberRefused, integer_parse
from baohan.guarantees.services.orders import order_lock, subject_move, transition_check
from baohan.guarantees.services.refunds import section_bid_opened
from baohan.guarantees.states import INVOICE_TRANSITIONS, NEW, Actor, ActorKind
from baohan.rulepacks.models import InvoiceCondition, InvoiceForm, InvoiceType, OrderState, RulePack
from tenants.selectors import pack_in_force

CONDITION_TEXT = {InvoiceCondition.BID_OPENED: "标段开标后", InvoiceCondition.ORDER_COMPLETED: "订单完成后"}

TITLE_FIELDS = {
    "title": "发票抬头",
    "taxpayer_id": "纳税人识别号",
    "registered_address": "注册地址",
    "registered_phone": "注册电话",
    "bank_name": "开户银行",
    "bank_account": "银行账号",
}
ADDRESS_FIELDS = {"recipient": "收件人", "recipient_phone": "收件人手机号", "recipient_address": "收件地址"}
SPECIAL_ONLY = ("registered_address", "registered_phone", "bank_name", "bank_account")
# The one copy of the invoice words: the service's messages use them as they are, pages translate them.
INVOICE_FORM_TEXT = {
    InvoiceForm.ELECTRONIC.value: gettext_noop("电子发票"),
    InvoiceForm.PAPER.value: gettext_noop("纸质发票"),
}
INVOICE_TYPE_TEXT = {
    InvoiceType.VAT_GENERAL.value: gettext_noop("增值税普通发票"),
    InvoiceType.VAT_SPECIAL.value: gettext_noop("增值税专用发票"),
}


def invoice_form_text(form: str) -> str:
    """电子发票 / 纸质发票, in the reader's language."""
    return gettext(INVOICE_FORM_TEXT[form]) if form in INVOICE_FORM_TEXT else form


def invoice_type_text(kind: str) -> str:
    """增值税普通发票 / 增值税专用发票, in the reader's language."""
    return gettext(INVOICE_TYPE_TEXT[kind]) if kind in INVOICE_TYPE_TEXT else kind


def invoice_kind_text(invoice: Invoice) -> str:
    """增值税普通发票（电子发票）, as the manual writes 发票类型."""
    return f"{invoice_type_text(invoice.type)}（{invoice_form_text(invoice.form)}）"


def invoice_timing_note(pack: RulePack) -> str:
    """When invoices are made, from the pack: 在项目开标后开具发票，电子发票约 2 个工作日…"""
    parts = []
    if InvoiceCondition.BID_OPENED in pack.invoice.opens_when:
        parts.append(gettext("在项目开标后开具发票"))
    elif InvoiceCondition.ORDER_COMPLETED in pack.invoice.opens_when:
        parts.append(gettext("订单完成后开具发票"))
    for kind in pack.invoice.kinds:
        if kind.processing_working_days:
            parts.append(
                gettext("%(form)s约 %(d)s 个工作日")
                % {"form": invoice_form_text(kind.form.value), "d": kind.processing_working_days}
            )
    return "，".join(parts) + ("。" if parts else "")


def invoice_type_hint(pack: RulePack) -> str:
    """What the pack allows beside 发票类型: 电子发票仅支持增值税普通发票；专用发票须填写…"""
    offered = list(dict.fromkeys(t for k in pack.invoice.kinds for t in k.types))
    notes = [
        gettext("%(form)s仅支持%(types)s")
        % {"form": invoice_form_text(k.form.value), "types": "、".join(invoice_type_text(t.value) for t in k.types)}
        for k in pack.invoice.kinds
        if set(k.types) != set(offered)
    ]
    if InvoiceType.VAT_SPECIAL in offered:
        notes.append(gettext("专用发票须填写注册地址、电话、开户银行及账号"))
    return "；".join(notes) + ("。" if notes else "")


@dataclass(frozen=True)
class InvoiceEligibility:
    allowed: bool
    reason: str
    version: int


def invoice_eligibility(*, order: Order) -> InvoiceEligibility:
    pack, version = pack_in_force()
    return invoice_rules_decide(
        pack=pack, version=version, issued=order.state == OrderState.ISSUED, opened=section_bid_opened(order.section)
    )


def invoice_rules_decide(*, pack: RulePack, version: int, issued: bool, opened: bool) -> InvoiceEligibility:
    """The decision on given facts (also used to replay recorded requests under another pack)."""
    if not pack.invoice.enabled:
        return InvoiceEligibility(False, "本中心不支持在线申请发票", version)
    for condition in pack.invoice.opens_when:
        if condition == InvoiceCondition.BID_OPENED and not opened:
            return InvoiceEligibility(False, f"{CONDITION_TEXT[condition]}方可申请发票", version)
        if condition == InvoiceCondition.ORDER_COMPLETED and not issued:
            return InvoiceEligibility(False, f"{CONDITION_TEXT[condition]}方可申请发票", version)
    if not issued:
        return InvoiceEligibility(False, "仅已出函且未退保的订单可以申请发票", version)
    return InvoiceEligibility(True, "可以申请发票", version)


def _text(values: Mapping[str, Any], name: str, label: str, *, required: bool) -> str:
    raw = values.get(name)
    text = raw.strip() if isinstance(raw, str) else ""
    if raw is not None and not isinstance(raw, str):
        raise InvalidInput("invalid", f"{label}应为文本", field=name, label=label)
    if required and not text:
        raise InvalidInput("required", f"请填写{label}", field=name, label=label)
    if len(text) > 300:
        raise InvalidInput("invalid", f"{label}不能超过300个字符", field=name, label=label)
    return text


def _title_field(values: Mapping[str, Any], name: str, *, special: bool) -> str:
    label = TITLE_FIELDS[name]
    text = _text(values, name, label, required=name in ("title", "taxpayer_id") or (special and name in SPECIAL_ONLY))
    try:
        if name == "taxpayer_id":
            return uscc_clean(text)
        if name == "bank_account" and text:
            return bank_account_clean(text)
    except ValueError as exc:
        raise InvalidInput("invalid", f"{label}：{exc}", field=name, label=label) from exc
    return text


def _address_field(values: Mapping[str, Any], name: str) -> str:
    label = ADDRESS_FIELDS[name]
    text = _text(values, name, label, required=True)
    if name == "recipient_phone":
        try:
            return phone_clean(text)
        except ValueError as exc:
            raise InvalidInput("invalid", f"{label}：{exc}", field=name, label=label) from exc
    return text


def invoice_title_clean(values: Mapping[str, Any], *, special: bool) -> dict[str, str]:
    return {name: _title_field(values, name, special=special) for name in TITLE_FIELDS}


def invoice_address_clean(values: Mapping[str, Any]) -> dict[str, str]:
    return {name: _address_field(values, name) for name in ADDRESS_FIELDS}


def invoice_form_errors(*, values: Mapping[str, Any]) -> dict[str, str]:
    """Every field's error in a request at once, keyed by field (``invoice_request`` stops at the
    first): for forms that show each beside its field. Saved titles and addresses are not looked up."""
    pack, _ = pack_in_force()
    offered = {k.form.value: {t.value for t in k.types} for k in pack.invoice.kinds}
    form, kind = values.get("form"), values.get("type")
    errors: dict[str, str] = {}
    if not isinstance(form, str) or form not in offered:
        errors["form"] = "请选择发票形式"
    elif not isinstance(kind, str) or kind not in offered[form]:
        types = "、".join(INVOICE_TYPE_TEXT.get(t, t) for t in sorted(offered[form]))
        errors["type"] = f"{INVOICE_FORM_TEXT.get(form, form)}只支持{types}"
    special = kind == InvoiceType.VAT_SPECIAL.value
    names = [] if values.get("title_id") else list(TITLE_FIELDS)
    if form == InvoiceForm.PAPER.value and not values.get("address_id"):
        names += list(ADDRESS_FIELDS)
    for name in [*names, "email"]:
        try:
            if name in TITLE_FIELDS:
                _title_field(values, name, special=special)
            elif name in ADDRESS_FIELDS:
                _address_field(values, name)
            else:
                _text(values, name, "接收邮箱", required=False)
        except InvalidInput as exc:
            errors[name] = exc.message
    return errors


def invoice_title_save(*, enterprise: Enterprise, values: Mapping[str, Any]) -> InvoiceTitle:
    pack, _ = pack_in_force()
    if not pack.invoice.saved_titles:
        raise NotAllowed("not_offered", "本中心不支持保存发票抬头")
    return InvoiceTitle.objects.create(enterprise=enterprise, **invoice_title_clean(values, special=False))


def invoice_address_save(*, enterprise: Enterprise, values: Mapping[str, Any]) -> InvoiceAddress:
    pack, _ = pack_in_force()
    if not pack.invoice.saved_addresses:
        raise NotAllowed("not_offered", "本中心不支持保存收件地址")
    clean = invoice_address_clean(values)
    return InvoiceAddress.objects.create(
        enterprise=enterprise,
        recipient=clean["recipient"],
        phone=clean["recipient_phone"],
        address=clean["recipient_address"],
    )


def _ident(values: Mapping[str, Any], name: str) -> int:
    raw = values.get(name)
    try:
        ident = integer_parse(raw, max_digits=12) if isinstance(raw, int | str) else None
    except NumberRefused:
        ident = None
    if ident is None:
        raise InvalidInput("invalid", "编号应为正整数", field=name)
    return ident


def invoice_request(
    *, order_id: int, actor: Actor, values: Mapping[str, Any], save_title: bool = False, save_address: bool = False
) -> Invoice:
    """Request the order's invoice; ``save_title`` / ``save_address`` also keep the title and (paper)
    address typed in for later requests, only if the request itself goes through."""
    pack, version = pack_in_force()
    form, kind = values.get("form"), values.get("type")
    offered = {k.form.value: {t.value for t in k.types} for k in pack.invoice.kinds}
    if not isinstance(form, str) or form not in offered:
        raise InvalidInput("invalid", f"发票形式可选：{'、'.join(offered)}", field="form", label="发票形式")
    if not isinstance(kind, str) or kind not in offered[form]:
        raise InvalidInput(
            "invalid", f"{form} 发票只支持：{'、'.join(sorted(offered[str(form)]))}", field="type", label="发票类型"
        )
    special = kind == InvoiceType.VAT_SPECIAL.value
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        eligibility = invoice_eligibility(order=order)
        if not eligibility.allowed:
            raise Conflict("invoice_not_available", eligibility.reason)
        if save_title and values.get("title_id") is None:
            values = {**values, "title_id": invoice_title_save(enterprise=order.enterprise, values=values).pk}
        if save_address and values.get("address_id") is None and form == InvoiceForm.PAPER.value:
            values = {**values, "address_id": invoice_address_save(enterprise=order.enterprise, values=values).pk}
        title_values: Mapping[str, Any] = values
        if values.get("title_id") is not None:
            saved = (
                InvoiceTitle.objects.filter(pk=_ident(values, "title_id"), enterprise=order.enterprise).values().first()
            )
            if saved is None:
                raise InvalidInput("unknown_title", "发票抬头不存在", field="title_id")
            title_values = saved
        address_values: Mapping[str, Any] = values
        if values.get("address_id") is not None:
            address = InvoiceAddress.objects.filter(
                pk=_ident(values, "address_id"), enterprise=order.enterprise
            ).first()
            if address is None:
                raise InvalidInput("unknown_address", "收件地址不存在", field="address_id")
            address_values = {
                "recipient": address.recipient,
                "recipient_phone": address.phone,
                "recipient_address": address.address,
            }
        title = invoice_title_clean(title_values, special=special)
        shipping = invoice_address_clean(address_values) if form == InvoiceForm.PAPER.value else {}
        email = _text(values, "email", "接收邮箱", required=False)
        try:
            with transaction.atomic():
                invoice = Invoice.objects.create(
                    order=order,
                    state=NEW,
                    form=form,
                    type=kind,
                    amount=order.premium,
                    email=email,
                    rule_pack_version=version,
                    **title,
                    **shipping,
                )
        except IntegrityError as exc:
            raise Conflict("invoice_exists", "该订单已申请发票") from exc
        _invoice_move(invoice=invoice, name="invoice_request", actor=actor, data={"form": form, "type": kind})
    return invoice


MAX_INVOICE_BYTES = 5 * 1024 * 1024


def _invoice_pdf(document: Any) -> bytes:
    label = "电子发票"
    if document is None:
        raise InvalidInput("required", "电子发票请上传发票 PDF 文件", field="document", label=label)
    if document.size is None or document.size > MAX_INVOICE_BYTES:
        raise InvalidInput("file_too_large", "电子发票文件不能超过5M", field="document", label=label)
    content = bytes(document.read())
    if not content.startswith(b"%PDF-"):
        raise InvalidInput("file_type", "电子发票须为 PDF 文件", field="document", label=label)
    return content


def _invoice_move(*, invoice: Invoice, name: str, actor: Actor, data: Mapping[str, Any] | None = None) -> None:
    subject_move(
        row=invoice,
        order=invoice.order,
        subject=OrderEvent.Subject.INVOICE,
        machine=INVOICE_TRANSITIONS,
        name=name,
        actor=actor,
        data=data,
    )


def invoice_advance(
    *,
    invoice_id: int,
    actor: Actor,
    name: str,
    invoice_number: str = "",
    carrier: str = "",
    tracking_number: str = "",
    document: Any = None,
) -> Invoice:
    """Move an invoice on; issuing an electronic one stores its PDF (checked by content)."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("order").filter(pk=invoice_id).first()
        if invoice is None or (actor.kind == ActorKind.ISSUER and invoice.order.issuer_code != actor.id):
            raise NotFound("invoice_not_found", "发票申请不存在")
        transition_check(machine=INVOICE_TRANSITIONS, name=name, state=invoice.state, actor=actor)
        if name == "invoice_issue":
            if not invoice_number.strip():
                raise InvalidInput("required", "请填写发票号码", field="invoice_number")
            if invoice.form == InvoiceForm.PAPER.value and not tracking_number.strip():
                raise InvalidInput("required", "纸质发票请填写快递单号", field="tracking_number")
            if invoice.form == InvoiceForm.ELECTRONIC.value:
                content = _invoice_pdf(document)
                invoice.document_sha256 = hashlib.sha256(content).hexdigest()
                invoice.document.save("invoice.pdf", ContentFile(content), save=False)
            invoice.invoice_number, invoice.carrier, invoice.tracking_number = (
                invoice_number.strip(),
                carrier.strip(),
                tracking_number.strip(),
            )
            invoice.issued_at = timezone.now()
        _invoice_move(invoice=invoice, name=name, actor=actor)
    return invoice
