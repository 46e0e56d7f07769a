"""Payment vouchers (上传支付凭证): the bidder uploads the transfer receipt, a reviewer (the
issuer, or staff) approves it, which settles the payment, or rejects it with a reason."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from baohan.guarantees.errors import Conflict, InvalidInput, NotAllowed, NotFound
from baohan.guarantees.models import Order, OrderEvent, Upload
from baohan.guarantees.services.orders import order_event_record, order_lock, order_transition, transition_check
from baohan.guarantees.states import TRANSITIONS, Actor, ActorKind
from baohan.payments.models import Payment, PaymentVoucher
from baohan.payments.services.settlement import APPLIED, Receipt, receipts_settle
from baohan.rulepacks.models import PaymentMethod
from tenants.selectors import pack_in_force

PURPOSE = "payment_voucher"


def _voucher_event(
    *, voucher: PaymentVoucher, transition: str, actor: Actor, from_state: str, reason: str = ""
) -> None:
    _, version = pack_in_force()
    order_event_record(
        order=voucher.order,
        subject=OrderEvent.Subject.VOUCHER,
        subject_id=voucher.pk,
        transition=transition,
        actor=actor,
        from_state=from_state,
        to_state=voucher.state,
        version=version,
        reason=reason,
    )


def voucher_submit(*, order: Order, actor: Actor, upload_id: str) -> PaymentVoucher:
    pack, _ = pack_in_force()
    if PaymentMethod.VOUCHER not in pack.payment.methods:
        raise NotAllowed("voucher_not_offered", "本中心不使用支付凭证")
    try:
        upload = Upload.objects.filter(pk=uuid.UUID(str(upload_id))).first()
    except ValueError:
        upload = None
    label = next((f.label for f in pack.forms.voucher if f.name == PURPOSE), "支付凭证")
    if upload is None or upload.purpose != PURPOSE or upload.enterprise_id != order.enterprise_id:
        raise InvalidInput("unknown_upload", f"请先上传{label}", field="upload", label=label)
    with transaction.atomic():
        locked = order_lock(order_id=order.pk)
        transition_check(machine=TRANSITIONS, name="submit_payment", state=locked.state, actor=actor)
        voucher = PaymentVoucher.objects.create(order=locked, upload=upload)
        _voucher_event(voucher=voucher, transition="voucher_submit", actor=actor, from_state="")
        order_transition(order_id=order.pk, name="submit_payment", actor=actor, data={"voucher": voucher.pk})
    return voucher


def voucher_decide(*, voucher_id: int, actor: Actor, approve: bool, reason: str = "") -> PaymentVoucher:
    """Approve (the payment is settled as received when the voucher was submitted) or reject
    (the order goes to 支付失败 and the bidder may upload again). Decided once."""
    if not approve and not reason.strip():
        raise InvalidInput("required", "请填写驳回原因", field="reason", label="审核意见")
    with transaction.atomic():
        voucher = PaymentVoucher.objects.select_for_update().select_related("order").filter(pk=voucher_id).first()
        if voucher is None or (actor.kind == ActorKind.ISSUER and voucher.order.issuer_code != actor.id):
            raise NotFound("voucher_not_found", "支付凭证不存在")
        if voucher.state != PaymentVoucher.State.SUBMITTED:
            raise Conflict("voucher_decided", f"该凭证已{voucher.get_state_display()}")
        order = order_lock(order_id=voucher.order_id)
        voucher.decided_by = actor.label[:200]
        voucher.decided_at = timezone.now()
        voucher.reason = reason[:500]
        if approve:
            voucher.state = PaymentVoucher.State.APPROVED
            already = Payment.objects.filter(order=order, outcome__in=sorted(APPLIED)).exists()
            if already:  # the transfer was confirmed by its bank line meanwhile: the same money
                voucher.reason = voucher.reason or "付款已由银行流水确认"
            voucher.save()
            _voucher_event(voucher=voucher, transition="voucher_approve", actor=actor, from_state="submitted")
            if already:
                return voucher
            receipts_settle(
                receipts=[
                    Receipt(
                        channel=Payment.Channel.VOUCHER,
                        source_ref=f"voucher:{voucher.pk}",
                        order_id=order.pk,
                        amount=order.payable_amount,
                        paid_at=voucher.created_at,
                        payer_name=order.enterprise.name,
                        payer_checked=False,
                    )
                ],
                actor=actor,
            )
        else:
            voucher.state = PaymentVoucher.State.REJECTED
            voucher.save()
            _voucher_event(
                voucher=voucher, transition="voucher_reject", actor=actor, from_state="submitted", reason=reason
            )
            if order.state == "payment_review":
                order_transition(order_id=order.pk, name="fail_payment", actor=actor, reason=reason)
    return voucher
