"""Refunds owed back (payouts): listed for the issuer, marked paid with the bank's reference
(or sent back through Stripe for online payments), and shown to the bidder with progress.
A payout is paid once: its row is locked and its state moves only due → (sending) → paid."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from baohan.guarantees.effects import TransitionDone
from baohan.guarantees.errors import Conflict, InvalidInput, NotFound
from baohan.guarantees.models import OrderEvent, Refund
from baohan.guarantees.services.orders import number_make, order_event_record, row_id_next, transition_check
from baohan.guarantees.services.refunds import refund_complete
from baohan.guarantees.states import REFUND_TRANSITIONS, Actor, ActorKind
from baohan.ops.due import centre_due_mark
from baohan.payments.models import LedgerEntry, Payment, Payout
from tenants.selectors import pack_in_force

L = LedgerEntry


def _event(*, payout: Payout, transition: str, actor: Actor, from_state: str, data: dict[str, str]) -> None:
    _, version = pack_in_force()
    order_event_record(
        order=payout.order,
        subject=OrderEvent.Subject.PAYOUT,
        subject_id=payout.pk,
        transition=transition,
        actor=actor,
        from_state=from_state,
        to_state=payout.state,
        version=version,
        data=data,
    )


def payout_lock(*, payout_id: int, actor: Actor) -> Payout:
    payout = Payout.objects.select_for_update().select_related("order").filter(pk=payout_id).first()
    if payout is None or (actor.kind == ActorKind.ISSUER and payout.order.issuer_code != actor.id):
        raise NotFound("payout_not_found", "退款记录不存在")
    return payout


def payout_for_surrender(*, refund: Refund, actor: Actor) -> Payout:
    """A surrender approved (退保审核通过): the premium becomes a refund owed to the payer, back
    where it came from (the account the bidder confirmed, else the paying account)."""
    order = refund.order
    paid = Payment.objects.filter(order=order, outcome__in=["applied", "overpaid"]).first()
    online = paid is not None and paid.channel == Payment.Channel.ONLINE
    ident = row_id_next("payments_payout")
    payout = Payout.objects.create(
        id=ident,
        number=number_make(prefix="R", ident=ident),
        order=order,
        refund=refund,
        kind=Payout.Kind.SURRENDER,
        method=Payout.Method.ONLINE if online else Payout.Method.BANK,
        amount=refund.amount,
        reason=refund.rule_text[:500],
        payee_name=refund.account_name or (paid.payer_name if paid else ""),
        payee_account=refund.account_number or (paid.payer_account if paid else ""),
        payee_bank=refund.bank_name or (paid.payer_bank if paid else ""),
    )
    L.objects.create(kind=L.Kind.SURRENDER, payout=payout, premium=refund.amount, refunds_due=-refund.amount)
    _event(payout=payout, transition="payout_due", actor=actor, from_state="", data={"amount": str(payout.amount)})
    if online:  # sent back through Stripe by the periodic job (baohan/ops/due.py)
        centre_due_mark(job="payments.online_payouts_send")
    return payout


def payout_on_refund_approved(done: TransitionDone) -> None:
    """Registered for the refund transition "refund_approve" (``PaymentsConfig.ready``)."""
    payout_for_surrender(refund=done.row, actor=done.actor)


def payout_settle(*, payout: Payout, actor: Actor, reference: str) -> Payout:
    """Mark a locked payout paid: its ledger legs, its event, and the surrender it belongs to."""
    if payout.state not in (Payout.State.DUE, Payout.State.SENDING, Payout.State.FAILED):
        raise Conflict("payout_not_due", f"该退款状态为「{payout.get_state_display()}」，不能再次退款")
    from_state = payout.state
    payout.state = Payout.State.PAID
    payout.reference = reference[:64]
    payout.paid_at = timezone.now()
    payout.save(update_fields=["state", "reference", "paid_at"])
    L.objects.create(kind=L.Kind.REFUND_PAID, payout=payout, refunds_due=payout.amount, cash=-payout.amount)
    _event(
        payout=payout, transition="payout_paid", actor=actor, from_state=from_state, data={"reference": reference[:64]}
    )
    if payout.refund_id is not None:
        refund_complete(refund_id=payout.refund_id, actor=actor, reference=reference)
    return payout


def payout_mark_paid(*, payout_id: int, actor: Actor, reference: str) -> Payout:
    """The issuer (or staff) transferred the money back and gives the bank's reference."""
    if not reference.strip():
        raise InvalidInput("required", "请填写退款流水号", field="reference", label="退款流水号")
    with transaction.atomic():
        payout = payout_lock(payout_id=payout_id, actor=actor)
        if payout.method == Payout.Method.ONLINE and actor.kind != ActorKind.SYSTEM:
            raise Conflict("payout_online", "在线支付的退款按原路退回，由系统处理")
        return payout_settle(payout=payout, actor=actor, reference=reference.strip())


def refund_payout(*, refund_id: int, actor: Actor, reference: str = "") -> Refund:
    """The issuer paid the surrender's refund: its payout is marked paid (which completes the refund)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("order").filter(pk=refund_id).first()
        if refund is None or (actor.kind == ActorKind.ISSUER and refund.order.issuer_code != actor.id):
            raise NotFound("refund_not_found", "退保申请不存在")
        transition_check(machine=REFUND_TRANSITIONS, name="refund_payout", state=refund.state, actor=actor)
        payout = getattr(refund, "payout", None)
        if payout is None:
            raise Conflict("payout_missing", "该退保没有待退款记录")
        payout_mark_paid(payout_id=payout.pk, actor=actor, reference=reference or refund.number)
        refund.refresh_from_db()
    return refund
