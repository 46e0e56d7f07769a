"""Reads: orders each caller may see, the timeline and progress built from events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from baohan.guarantees.models import Enterprise, Invoice, IssuerOffer, Order, OrderEvent, Refund, Upload
from baohan.guarantees.states import HIDDEN_FROM_BIDDER, REFUND_TRANSITIONS, STATE_LABELS, TRANSITIONS
from baohan.rulepacks.models import Milestone, OrderState, PaymentMethod, PaymentWarning, RulePack, SectionStatus

ORDER_RELATED = ("section", "enterprise")


def order_list_for_enterprise(*, enterprise: Enterprise, search: str = "", state: str = "") -> QuerySet[Order]:
    qs = (
        Order.objects.filter(enterprise=enterprise)
        .exclude(state__in=[s.value for s in HIDDEN_FROM_BIDDER])
        .select_related(*ORDER_RELATED)
    )
    if search:
        qs = qs.filter(
            Q(number__icontains=search)
            | Q(section__code__icontains=search)
            | Q(section__name__icontains=search)
            | Q(guarantee_number__icontains=search)
        )
    if state:
        qs = qs.filter(state=state)
    return qs


def order_counts_for_enterprise(*, enterprise: Enterprise, search: str = "") -> dict[str, int]:
    """How many of the enterprise's listed orders (matching ``search``) are in each state, in one query."""
    rows = (
        order_list_for_enterprise(enterprise=enterprise, search=search)
        .order_by()
        .values_list("state")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def order_get_for_enterprise(*, enterprise: Enterprise, number: str) -> Order | None:
    """Abandoned orders stay reachable by number for the record, though not listed."""
    return Order.objects.select_related(*ORDER_RELATED).filter(enterprise=enterprise, number=number).first()


def order_list_for_issuer(*, issuer_code: str, state: str = "", pending_only: bool = False) -> QuerySet[Order]:
    """Orders this issuer underwrites, or was asked to and has not yet been released from."""
    asked = IssuerOffer.objects.filter(issuer_code=issuer_code).exclude(status=IssuerOffer.Status.RELEASED)
    if pending_only:
        asked = asked.filter(status=IssuerOffer.Status.PENDING)
        qs = Order.objects.filter(pk__in=asked.values("order_id"), state=OrderState.UNDERWRITING)
    else:
        qs = Order.objects.filter(
            Q(issuer_code=issuer_code) | Q(pk__in=asked.values("order_id"), issuer_code="")
        ).exclude(state=OrderState.DRAFT)  # a draft is the bidder's own until submitted
    if state:
        qs = qs.filter(state=state)
    return qs.select_related(*ORDER_RELATED)


def order_get_for_issuer(*, issuer_code: str, number: str) -> Order | None:
    return order_list_for_issuer(issuer_code=issuer_code).filter(number=number).first()


def order_taken_by_other_issuer(*, issuer_code: str, number: str) -> bool:
    """This issuer was asked (with others) and released when another accepted first."""
    return IssuerOffer.objects.filter(
        order__number=number, issuer_code=issuer_code, status=IssuerOffer.Status.RELEASED
    ).exists()


GUARANTEE_STATUS_LABELS = {
    "valid": "有效",
    "claimed": "已索赔赔付",
    "surrendered": "已退保",
    "expired": "已过期",
    "void": "无效",
    "section_suspended": "标段中止，保函暂停使用",
    "section_paused": "标段暂停，保函暂停使用",
    "section_terminated": "标段已终止，保函失效",
    "section_failed_tender": "标段已流标，保函失效",
}

# The section's status, when it stops the guarantee from being plainly valid: a suspended or paused
# section's guarantee is on hold (it serves again if the section resumes); a terminated or failed
# section's guarantee has nothing left to secure.
SECTION_HOLDS = {
    SectionStatus.SUSPENDED: "section_suspended",
    SectionStatus.PAUSED: "section_paused",
    SectionStatus.TERMINATED: "section_terminated",
    SectionStatus.FAILED_TENDER: "section_failed_tender",
}


def guarantee_status(order: Order) -> str:
    """valid / claimed / surrendered / expired / void, or section_<status> when the section was
    suspended, paused, terminated or failed (before or after bid opening): what a checker at bid
    opening, or anyone verifying the guarantee, needs to know."""
    if order.state == OrderState.SURRENDERED:
        return "surrendered"
    if order.state != OrderState.ISSUED:
        return "void"
    if any(claim.state == "paid" for claim in order.claims.all()):
        return "claimed"
    held = SECTION_HOLDS.get(SectionStatus(order.section.status))
    if held is not None:
        return held
    if order.valid_until is not None and order.valid_until < timezone.localdate():
        return "expired"
    return "valid"


def state_label(*, pack: RulePack, state: str) -> str:
    key = OrderState(state)
    return pack.progress.status_labels.get(key, STATE_LABELS[key])


@dataclass(frozen=True)
class Step:
    label: str
    milestone: str
    reached_at: datetime | None


_MILESTONE_OF = {
    name: t.milestone for name, t in {**TRANSITIONS, **REFUND_TRANSITIONS}.items() if t.milestone is not None
}


def order_progress(*, pack: RulePack, events: list[OrderEvent], refund: Refund | None) -> dict[str, list[Step]]:
    """The progress bars the manuals show, each step dated by the first event reaching it."""
    reached: dict[Milestone, datetime] = {}
    refund_reached: dict[Milestone, datetime] = {}
    for event in events:
        milestone = _MILESTONE_OF.get(event.transition)
        if milestone is None:
            continue
        if event.subject == OrderEvent.Subject.REFUND:
            if refund is not None and event.subject_id == refund.pk:
                refund_reached.setdefault(milestone, event.created_at)
        else:
            reached.setdefault(milestone, event.created_at)
    if Milestone.ISSUED in reached:
        reached.setdefault(Milestone.COMPLETED, reached[Milestone.ISSUED])
    order_steps = [Step(s.label, s.reached_at.value, reached.get(s.reached_at)) for s in pack.progress.order]
    refund_steps = (
        [Step(s.label, s.reached_at.value, refund_reached.get(s.reached_at)) for s in pack.progress.refund]
        if refund is not None
        else []
    )
    return {"order": order_steps, "refund": refund_steps}


# --- payment -------------------------------------------------------------------------------------------


def payment_methods_offered(*, pack: RulePack) -> list[PaymentMethod]:
    """The payment methods a bidder can use: the pack's, online only where it names a channel."""
    return [m for m in pack.payment.methods if m != PaymentMethod.ONLINE or pack.payment.online_channels]


def payment_warnings_for(*, pack: RulePack, project_type: str) -> list[PaymentWarning]:
    """The pack's payment warnings for this project type and the methods actually offered: what the
    API lists and what the order page says are the same warnings."""
    return pack.payment.warnings_for(project_type=project_type, methods=payment_methods_offered(pack=pack))


# --- uploads -------------------------------------------------------------------------------------------


def upload_get_for_enterprise(*, enterprise: Enterprise, purpose: str, upload_id: Any) -> Upload | None:
    """The enterprise's own upload for ``purpose``; None for another's, another field's or a malformed id."""
    try:
        key = uuid.UUID(str(upload_id))
    except ValueError:
        return None
    return Upload.objects.filter(pk=key, enterprise=enterprise, purpose=purpose).first()


# --- invoices ------------------------------------------------------------------------------------------

INVOICE_NOT_REQUESTED = "none"  # 未开具: an order an invoice may be asked for, with no request yet


def invoice_orders_for_enterprise(*, enterprise: Enterprise, search: str = "", state: str = "") -> QuerySet[Order]:
    """The enterprise's orders an invoice is for: completed ones, and any with a request; ``state`` is
    an invoice state or ``INVOICE_NOT_REQUESTED``."""
    qs = (
        Order.objects.filter(enterprise=enterprise)
        .filter(Q(state=OrderState.ISSUED) | Q(invoice__isnull=False))
        .select_related("section", "invoice")
    )
    if search:
        qs = qs.filter(
            Q(number__icontains=search) | Q(section__code__icontains=search) | Q(section__name__icontains=search)
        )
    if state == INVOICE_NOT_REQUESTED:
        qs = qs.filter(invoice__isnull=True)
    elif state:
        qs = qs.filter(invoice__state=state)
    return qs.order_by("-created_at", "-id")


def invoice_of_order(*, order: Order) -> Invoice | None:
    return Invoice.objects.filter(order=order).first()


def order_completed_at(*, order: Order) -> datetime | None:
    """When the order was completed (its guarantee issued), from its events."""
    return order.events.filter(transition="issue").order_by("created_at").values_list("created_at", flat=True).first()
