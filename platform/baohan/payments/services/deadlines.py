"""Deadlines: orders unpaid at the deposit deadline are expired; unpaid orders are reminded
before it (the pack's hours, 24 h and 2 h by default). Safe to run as often as wanted."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from baohan.guarantees.effects import TransitionDone
from baohan.guarantees.errors import Conflict
from baohan.guarantees.models import Order
from baohan.guarantees.services.orders import order_transition
from baohan.guarantees.states import TRANSITIONS, Actor
from baohan.ops.due import centre_due_mark
from baohan.payments.models import OrderNotice
from baohan.payments.services.notices import deadline_text, notice_send
from baohan.rulepacks.models import OrderState
from tenants.selectors import pack_in_force

UNPAID = [OrderState.AWAITING_PAYMENT.value, OrderState.PAYMENT_FAILED.value]
JOB = "payments.deadlines"


def orders_expire(*, now: datetime | None = None) -> int:
    """Cancel every order still unpaid when its section's deposit deadline has passed. An order
    whose voucher waits for review is left to the reviewer."""
    now = now or timezone.now()
    actor = Actor.system("到期取消")
    expired = 0
    ids = Order.objects.filter(
        state__in=sorted(TRANSITIONS["expire"].sources), section__deposit_deadline__lte=now
    ).values_list("pk", flat=True)
    for order_id in list(ids):
        try:
            order_transition(order_id=order_id, name="expire", actor=actor, reason="保证金缴纳截止时间已过，订单未支付")
        except Conflict:  # moved on meanwhile (paid, or expired by a parallel run)
            continue
        expired += 1
    return expired


def payment_reminders_send(*, now: datetime | None = None) -> int:
    """Text each unpaid order once per reminder window it has entered; when several windows are
    entered at once only the nearest is texted (the others are marked as passed)."""
    now = now or timezone.now()
    pack, _ = pack_in_force()
    hours_list = sorted(pack.payment.reminders_before_deadline_hours)
    if not hours_list:
        return 0
    horizon = now + timedelta(hours=hours_list[-1])
    sent = 0
    orders = Order.objects.filter(
        state__in=UNPAID, section__deposit_deadline__gt=now, section__deposit_deadline__lte=horizon
    ).select_related("section")
    for order in orders:
        left = order.section.deposit_deadline - now
        entered = [h for h in hours_list if left <= timedelta(hours=h)]
        if not entered:
            continue
        nearest = entered[0]
        codes = {f"deadline:{h}h" for h in entered}
        done = set(OrderNotice.objects.filter(order=order, code__in=codes).values_list("code", flat=True))
        if f"deadline:{nearest}h" in done:
            continue
        sent += notice_send(
            order=order,
            code=f"deadline:{nearest}h",
            template="payment_reminder",
            params={"order": order.number, "hours": str(nearest)},
            text=deadline_text(order=order, hours=nearest),
        )
        for h in entered[1:]:
            OrderNotice.objects.get_or_create(order=order, code=f"deadline:{h}h")
    return sent


def deadlines_next_due(*, now: datetime) -> datetime | None:
    """When this centre next has an order to expire or remind, in one statement: the earliest
    deadline of an order that can expire, and the earliest reminder window not yet noticed of an
    unpaid order (past ones: due now). None when there is none (``baohan/ops/due.py``). After a
    run every window entered is noticed and every order past its deadline expired, so only
    times ahead remain."""
    pack, _ = pack_in_force()
    hours = sorted(set(pack.payment.reminders_before_deadline_hours))
    deadline = "section__deposit_deadline"

    def unnoticed(h: int) -> Q:
        noticed = OrderNotice.objects.filter(order=OuterRef("pk"), code=f"deadline:{h}h")
        return Q(state__in=UNPAID, **{f"{deadline}__gt": now}) & ~Q(Exists(noticed))

    found = Order.objects.aggregate(
        expire=Min(deadline, filter=Q(state__in=sorted(TRANSITIONS["expire"].sources))),
        **{f"h{h}": Min(deadline, filter=unnoticed(h)) for h in hours},
    )
    times = [found["expire"]] + [found[f"h{h}"] - timedelta(hours=h) for h in hours if found[f"h{h}"] is not None]
    return min((t for t in times if t is not None), default=None)


def order_deadline_mark(*, deadline: datetime, unpaid: bool, now: datetime | None = None) -> None:
    """An order that expires at ``deadline`` (and, ``unpaid``, is reminded before it) exists:
    ``payments.deadlines`` is due in this centre at the earliest of these still ahead."""
    now = now or timezone.now()
    times = [deadline]
    if unpaid:
        pack, _ = pack_in_force()
        times += [deadline - timedelta(hours=h) for h in pack.payment.reminders_before_deadline_hours]
    ahead = [t for t in times if t > now]
    centre_due_mark(job=JOB, at=min(ahead) if ahead else now)


def deadline_mark_on_unpaid(done: TransitionDone) -> None:
    """Registered for the transitions that leave an order awaiting payment (``PaymentsConfig.ready``):
    its reminders and its expiry are scheduled."""
    order_deadline_mark(deadline=done.order.section.deposit_deadline, unpaid=True)
