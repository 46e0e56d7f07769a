"""Texts to the bidder's operator about money: settled payments and payment reminders. Each is
sent once (``OrderNotice`` per order and code), however often the task runs."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from baohan.guarantees.models import Order
from baohan.identity.services.sms import sms_message_queue
from baohan.payments.models import OrderNotice, Payment
from tenants.selectors import pack_in_force

TEMPLATES = {
    Payment.Outcome.APPLIED: "payment_confirmed",
    Payment.Outcome.OVERPAID: "payment_confirmed",
    Payment.Outcome.REFUSED: "payment_refused",
    Payment.Outcome.DUPLICATE: "payment_duplicate",
}


def notice_send(*, order: Order, code: str, template: str, params: dict[str, str], text: str) -> bool:
    """Send once per order and ``code``; False when it was sent before (or nobody can receive it)."""
    if not order.operator_phone:
        return False
    try:
        with transaction.atomic():
            OrderNotice.objects.create(order=order, code=code)
            sms_message_queue(phone=order.operator_phone, template=template, params=params, text=text)
    except IntegrityError:
        return False
    return True


def payments_settled_notify(*, payment_ids: list[int]) -> int:
    pack, _ = pack_in_force()
    title = pack.centre.site_title
    sent = 0
    for payment in Payment.objects.filter(pk__in=payment_ids).select_related("order"):
        order = payment.order
        params = {"order": order.number, "amount": str(payment.amount)}
        if payment.outcome in (Payment.Outcome.APPLIED, Payment.Outcome.OVERPAID):
            text = f"【{title}】订单{order.number}已收到保费{payment.amount}元，付款成功，正在出函。"
        elif payment.outcome == Payment.Outcome.DUPLICATE:
            text = f"【{title}】订单{order.number}收到重复付款{payment.amount}元，将全额退回原付款账户。"
        else:
            params["reason"] = payment.reason[:60]
            text = (
                f"【{title}】订单{order.number}的付款{payment.amount}元未通过：{payment.reason[:60]}。"
                "款项将退回原付款账户。"
            )
        template = TEMPLATES[Payment.Outcome(payment.outcome)]
        sent += notice_send(order=order, code=f"payment:{payment.pk}", template=template, params=params, text=text)
    return sent


def deadline_text(*, order: Order, hours: int) -> str:
    pack, _ = pack_in_force()
    deadline = timezone.localtime(order.section.deposit_deadline).strftime("%Y-%m-%d %H:%M")
    return (
        f"【{pack.centre.site_title}】订单{order.number}尚未支付，保证金缴纳截止时间为{deadline}"
        f"（约{hours}小时后），逾期订单将取消，请尽快完成支付。"
    )
