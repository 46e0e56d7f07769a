"""A payment confirmed by hand (an issuer or staff saw the money arrive): the same settlement as a
bank line, but a confirmation that breaks the rules is refused instead of recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from baohan.guarantees.errors import Conflict, InvalidInput, NotFound
from baohan.guarantees.models import Order
from baohan.guarantees.services.orders import transition_check
from baohan.guarantees.states import TRANSITIONS, Actor, ActorKind
from baohan.payments.models import Payment
from baohan.payments.services.settlement import Receipt, receipts_settle
from baohan.rulepacks.models import OrderState


def order_payment_confirm(
    *, order_id: int, actor: Actor, amount: Decimal, paid_at: datetime | None = None, reference: str = ""
) -> Order:
    """An issuer (or staff) confirms a payment it received. Unlike a bank line, a confirmation
    that breaks the rules is refused (and changes nothing): the confirmer fixes and resends it.
    A confirmation goes through the same settlement as every other payment."""
    paid_at = paid_at or timezone.now()
    order = Order.objects.select_related("section").filter(pk=order_id).first()
    if order is None or (actor.kind == ActorKind.ISSUER and order.issuer_code != actor.id):
        raise NotFound("order_not_found", "订单不存在")
    transition_check(machine=TRANSITIONS, name="confirm_payment", state=order.state, actor=actor)
    if amount != order.payable_amount:
        raise InvalidInput(
            "amount_mismatch", f"付款金额 {amount} 与应付金额 {order.payable_amount} 不一致", field="amount"
        )
    if paid_at > order.section.deposit_deadline:
        raise Conflict("payment_late", "付款时间晚于保证金缴纳截止时间", field="paid_at")
    if paid_at > timezone.now() + timedelta(minutes=5):
        raise InvalidInput("invalid", "付款时间不能晚于当前时间", field="paid_at")
    source = f"{actor.kind.value}:{actor.id}:{reference.strip() or order.number}"
    with transaction.atomic():
        result = receipts_settle(
            receipts=[
                Receipt(
                    channel=Payment.Channel.MANUAL,
                    source_ref=source[:80],
                    order_id=order.pk,
                    amount=amount,
                    paid_at=paid_at,
                    payer_checked=False,
                )
            ],
            actor=actor,
        )
        if result.skipped:
            raise Conflict("payment_known", "该付款已确认过")
        order = Order.objects.get(pk=order_id)
        if order.state != OrderState.AWAITING_ISSUE:
            raise Conflict("illegal_transition", f"当前状态（{order.state}）不能确认付款")
    return order
