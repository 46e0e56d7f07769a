"""Reads for the centre's staff pages: counts, queues of work, sections, orders and claims, with
the pack's words for what they show. Everything reads the current centre's schema only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from baohan.claims.models import Claim
from baohan.claims.selectors import claim_list, claim_overdue
from baohan.guarantees.models import AfterSalesRequest, Order, OrderEvent, Refund, Upload
from baohan.guarantees.selectors import state_label
from baohan.identity.fields import mask_phone, mask_tail
from baohan.identity.models import EnterpriseVerification
from baohan.payments.models import OpenLine, PaymentVoucher, StatementLine
from baohan.portal.charts import DateRange
from baohan.portal.timeline import event_label
from baohan.rulepacks.fields import CANONICAL_FIELDS, FieldKind
from baohan.rulepacks.models import OrderState, RefundTrigger, RulePack
from baohan.sections.models import Section
from tenants.db import connection

OPEN_AFTER_SALES = (AfterSalesRequest.State.OPEN, AfterSalesRequest.State.IN_PROGRESS)
OPEN_CLAIMS = (Claim.State.FILED, Claim.State.ACCEPTED)
# Files staff may open in the browser; anything else is downloaded.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "application/pdf"})


# --- the dashboard ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkCounts:
    verifications: int
    vouchers: int
    bank_lines: int
    after_sales: int
    claims: int


def staff_work_counts() -> WorkCounts:
    """How much waits for staff in each queue."""
    return WorkCounts(
        verifications=EnterpriseVerification.objects.filter(state=EnterpriseVerification.State.PENDING).count(),
        vouchers=PaymentVoucher.objects.filter(state=PaymentVoucher.State.SUBMITTED).count(),
        bank_lines=OpenLine.objects.filter(line__status=StatementLine.Status.UNMATCHED).count(),
        after_sales=AfterSalesRequest.objects.filter(state__in=OPEN_AFTER_SALES).count(),
        claims=Claim.objects.filter(state__in=OPEN_CLAIMS).count(),
    )


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int


def order_counts_by_state(*, pack: RulePack, span: DateRange | None = None) -> list[StateCount]:
    """Every order state in the engine's order, labelled in the pack's words, with its count (of the
    orders created within ``span`` when given)."""
    orders = Order.objects.all()
    if span is not None:
        orders = orders.filter(created_at__gte=span.start_at, created_at__lt=span.end_at)
    counts = dict(orders.order_by().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return [StateCount(s.value, state_label(pack=pack, state=s.value), counts.get(s.value, 0)) for s in OrderState]


# --- the dashboard's charts: every figure is summed by the database ------------------------------

ISSUED_STATES = (OrderState.ISSUED.value, OrderState.SURRENDERED.value)
ZERO = Decimal("0.00")


def _within(span: DateRange, column: str) -> Q:
    return Q(**{f"{column}__gte": span.start_at, f"{column}__lt": span.end_at})


@dataclass(frozen=True)
class DayFigures:
    day: date
    orders: int  # submitted orders created that day
    issued: int  # guarantees issued that day
    premium: Decimal  # their premium


def daily_figures(*, span: DateRange) -> list[DayFigures]:
    """Each day of ``span`` (local time), zeros included: orders received, guarantees issued and
    their premium. Two grouped queries."""
    zone = timezone.get_current_timezone()
    created: dict[date, int] = dict(
        Order.objects.filter(_within(span, "created_at"))
        .exclude(state=OrderState.DRAFT.value)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    issued = {
        row["day"]: (row["n"], row["premium"])
        for row in Order.objects.filter(_within(span, "issued_at"))
        .annotate(day=TruncDate("issued_at", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(n=Count("id"), premium=Sum("premium"))
    }
    out = []
    for day in span.days:
        n, premium = issued.get(day, (0, ZERO))
        out.append(DayFigures(day, created.get(day, 0), n, premium or ZERO))
    return out


# The order's way through the centre, and the furthest step each current state shows it reached.
# A cancelled order may have been cancelled at the first or the second step: it counts at the first.
FUNNEL_STEPS = (
    OrderState.UNDERWRITING,
    OrderState.AWAITING_PAYMENT,
    OrderState.AWAITING_ISSUE,
    OrderState.ISSUED,
)
REACHED: dict[OrderState, int] = {
    OrderState.UNDERWRITING: 0,
    OrderState.REJECTED: 0,
    OrderState.CANCELLED: 0,
    OrderState.AWAITING_PAYMENT: 1,
    OrderState.PAYMENT_REVIEW: 1,
    OrderState.PAYMENT_FAILED: 1,
    OrderState.ABANDONED: 1,
    OrderState.AWAITING_ISSUE: 2,
    OrderState.ISSUED: 3,
    OrderState.SURRENDERED: 3,
}


@dataclass(frozen=True)
class FunnelStep:
    state: str
    label: str
    count: int  # orders that reached this step or went further
    percent: int  # of the first step


def order_funnel(*, pack: RulePack, span: DateRange) -> list[FunnelStep]:
    """Of the orders submitted within ``span``, how many reached each step, in the pack's words.
    One query."""
    counts = Order.objects.filter(_within(span, "created_at")).aggregate(
        **{
            step.value: Count("id", filter=Q(state__in=[s.value for s, rank in REACHED.items() if rank >= i]))
            for i, step in enumerate(FUNNEL_STEPS)
        }
    )
    first = counts[FUNNEL_STEPS[0].value] or 0
    return [
        FunnelStep(
            step.value,
            state_label(pack=pack, state=step.value),
            counts[step.value] or 0,
            round(100 * (counts[step.value] or 0) / first) if first else 0,
        )
        for step in FUNNEL_STEPS
    ]


@dataclass(frozen=True)
class IssuerFigures:
    code: str
    name: str
    issued: int
    premium: Decimal


def premium_by_issuer(*, pack: RulePack, span: DateRange) -> list[IssuerFigures]:
    """Guarantees issued within ``span`` and their premium, per issuer (the pack's short name), most
    premium first. One query."""
    names = issuer_names(pack=pack)
    rows = (
        Order.objects.filter(_within(span, "issued_at"))
        .order_by()
        .values("issuer_code")
        .annotate(n=Count("id"), premium=Sum("premium"))
        .order_by("-premium", "issuer_code")
    )
    return [
        IssuerFigures(r["issuer_code"], names.get(r["issuer_code"], r["issuer_code"]), r["n"], r["premium"] or ZERO)
        for r in rows
    ]


TRIGGER_LABELS = {
    RefundTrigger.BIDDER_ABANDONS.value: "投标人放弃投标",
    RefundTrigger.SECTION_EVENT.value: "项目异常（中止、暂停、终止、流标）",
}


@dataclass(frozen=True)
class RefundReason:
    trigger: str
    trigger_label: str
    rule: str  # the pack's rule that decided it, as worded then
    count: int
    amount: Decimal


def refund_reasons(*, span: DateRange) -> list[RefundReason]:
    """Refunds requested within ``span``, by what caused them and the rule that decided them, most
    frequent first. One query."""
    rows = (
        Refund.objects.filter(_within(span, "created_at"))
        .order_by()
        .values("trigger", "rule_text")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by("-n", "trigger", "rule_text")
    )
    return [
        RefundReason(
            r["trigger"], TRIGGER_LABELS.get(r["trigger"], r["trigger"]), r["rule_text"], r["n"], r["amount"] or ZERO
        )
        for r in rows
    ]


@dataclass(frozen=True)
class DeadlineDay:
    day: date
    sections: int  # sections whose deposit is due that day
    issued: int  # guarantees already issued for them


def deposit_deadlines(*, days: int = 7, today: date | None = None) -> list[DeadlineDay]:
    """The coming ``days`` days from today: how many sections' deposits fall due each day, and how
    many guarantees are already issued for them. One query."""
    today = today or timezone.localdate()
    span = DateRange(today, today + timedelta(days=days - 1))
    rows = {
        r["day"]: r
        for r in Section.objects.filter(_within(span, "deposit_deadline"))
        .annotate(day=TruncDate("deposit_deadline", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("day")
        .annotate(
            n=Count("id", distinct=True),
            issued=Count("orders", filter=Q(orders__state__in=ISSUED_STATES), distinct=True),
        )
    }
    return [
        DeadlineDay(day, rows[day]["n"] if day in rows else 0, rows[day]["issued"] if day in rows else 0)
        for day in span.days
    ]


# --- sections and orders --------------------------------------------------------------------------


def section_search(*, query: str = "") -> QuerySet[Section]:
    """Sections whose code, name or project matches ``query``, soonest opening first, with their order counts."""
    sections = Section.objects.annotate(order_count=Count("orders"))
    query = query.strip()
    if query:
        sections = sections.filter(
            Q(code__icontains=query) | Q(name__icontains=query) | Q(project_name__icontains=query)
        )
    return sections.order_by("-opening_time", "code")


@dataclass(frozen=True)
class SectionRow:
    section: Section
    project_type_label: str


def section_rows(*, pack: RulePack, sections: Any) -> list[SectionRow]:
    labels = project_type_labels(pack=pack)
    return [SectionRow(s, labels.get(s.project_type, s.project_type)) for s in sections]


def section_get(*, code: str) -> Section | None:
    return Section.objects.filter(code=code).first()


def section_orders(*, section: Section) -> QuerySet[Order]:
    return Order.objects.filter(section=section).select_related("enterprise").order_by("-created_at", "-id")


def order_get(*, number: str) -> Order | None:
    return Order.objects.select_related("section", "enterprise").filter(number=number).first()


@dataclass(frozen=True)
class OrderRow:
    order: Order
    state_label: str
    issuer_name: str


def order_rows(*, pack: RulePack, orders: Any) -> list[OrderRow]:
    """Orders with the pack's words for their state and issuer."""
    issuers = issuer_names(pack=pack)
    return [
        OrderRow(o, state_label(pack=pack, state=o.state), issuers.get(o.issuer_code, o.issuer_code)) for o in orders
    ]


def issuer_names(*, pack: RulePack) -> dict[str, str]:
    return {i.code: i.short_name for i in pack.issuers}


def project_type_labels(*, pack: RulePack) -> dict[str, str]:
    return {pt.code: pt.label for pt in pack.sections.project_types}


def deposit_kind_labels(*, pack: RulePack) -> dict[str, str]:
    return {d.kind.value: d.label for d in pack.products.deposit_kinds}


@dataclass(frozen=True)
class EventRow:
    event: OrderEvent
    label: str


def order_timeline(*, order: Order) -> list[EventRow]:
    return [EventRow(e, event_label(e.transition)) for e in OrderEvent.objects.filter(order=order).order_by("id")]


# --- 企业信息认证 ------------------------------------------------------------------------------------


def verification_queue() -> QuerySet[EnterpriseVerification]:
    """Requests waiting for review, oldest first."""
    return (
        EnterpriseVerification.objects.filter(state=EnterpriseVerification.State.PENDING)
        .select_related("user__phone", "licence")
        .order_by("submitted_at", "id")
    )


@dataclass(frozen=True)
class VerificationRow:
    verification: EnterpriseVerification
    fields: list[FieldRow]
    phone: str  # the submitting account's, masked


def verification_rows(*, pack: RulePack, verifications: Any) -> list[VerificationRow]:
    rows = []
    for v in verifications:
        phone = getattr(getattr(v.user, "phone", None), "phone", "")
        rows.append(
            VerificationRow(v, verification_fields(pack=pack, verification=v), mask_phone(phone) if phone else "")
        )
    return rows


def verification_get(*, verification_id: int) -> EnterpriseVerification | None:
    return EnterpriseVerification.objects.filter(pk=verification_id).first()


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    value: str
    upload: Upload | None = None


def verification_fields(*, pack: RulePack, verification: EnterpriseVerification) -> list[FieldRow]:
    """What was submitted, field by field, under the pack's labels; ID numbers masked, files as uploads."""
    stored: dict[str, str] = {
        "enterprise_name": verification.enterprise_name,
        "enterprise_uscc": verification.uscc,
        "legal_rep_name": verification.legal_rep_name,
        "legal_rep_id_type": verification.legal_rep_id_type,
        "legal_rep_id_number": verification.legal_rep_id_number,
        "operator_name": verification.operator_name,
        **{k: str(v) for k, v in verification.details.items()},
    }
    rows = []
    for f in pack.forms.enterprise:
        kind = CANONICAL_FIELDS[f.name].kind if f.name in CANONICAL_FIELDS else None
        if kind == FieldKind.FILE:
            upload = verification.licence if f.name == "business_licence" else None
            rows.append(FieldRow(f.name, f.label, "", upload))
            continue
        value = stored.get(f.name, "")
        if kind in {FieldKind.ID_NUMBER, FieldKind.BANK_ACCOUNT}:
            value = mask_tail(value)
        choices = {c.code: c.label for c in (f.choices or [])}
        rows.append(FieldRow(f.name, f.label, choices.get(value, value)))
    return rows


# --- payments --------------------------------------------------------------------------------------


def voucher_queue() -> QuerySet[PaymentVoucher]:
    """Vouchers waiting for review, oldest first."""
    return (
        PaymentVoucher.objects.filter(state=PaymentVoucher.State.SUBMITTED)
        .select_related("order__enterprise", "order__section", "upload")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class VoucherRow:
    voucher: PaymentVoucher
    issuer_name: str


def voucher_rows(*, pack: RulePack, vouchers: Any) -> list[VoucherRow]:
    issuers = issuer_names(pack=pack)
    return [VoucherRow(v, issuers.get(v.order.issuer_code, v.order.issuer_code)) for v in vouchers]


def voucher_get(*, voucher_id: int) -> PaymentVoucher | None:
    return PaymentVoucher.objects.filter(pk=voucher_id).first()


def unmatched_lines() -> QuerySet[StatementLine]:
    """Bank lines no order was found for, read through the queue of open lines, oldest first."""
    return StatementLine.objects.filter(open__isnull=False, status=StatementLine.Status.UNMATCHED).order_by(
        "booked_at", "id"
    )


@dataclass(frozen=True)
class LineRow:
    line: StatementLine
    issuer_name: str


def line_rows(*, pack: RulePack, lines: Any) -> list[LineRow]:
    issuers = issuer_names(pack=pack)
    return [LineRow(line, issuers.get(line.issuer_code, line.issuer_code)) for line in lines]


def line_get(*, line_id: int) -> StatementLine | None:
    return StatementLine.objects.filter(pk=line_id).first()


# --- after-sales and claims -------------------------------------------------------------------------


def after_sales_queue() -> QuerySet[AfterSalesRequest]:
    """Requests not yet resolved or closed, oldest first."""
    return (
        AfterSalesRequest.objects.filter(state__in=OPEN_AFTER_SALES)
        .select_related("order__enterprise", "order__section")
        .order_by("created_at", "id")
    )


def after_sales_get(*, request_id: int) -> AfterSalesRequest | None:
    return AfterSalesRequest.objects.filter(pk=request_id).first()


@dataclass(frozen=True)
class AfterSalesRow:
    request: AfterSalesRequest
    category_label: str


def after_sales_rows(*, pack: RulePack, requests: Any) -> list[AfterSalesRow]:
    labels = {c.code: c.label for c in pack.after_sales}
    return [AfterSalesRow(r, labels.get(r.category, r.category)) for r in requests]


@dataclass(frozen=True)
class ClaimRow:
    claim: Claim
    overdue: bool


def claims_of(*, state: str = "") -> QuerySet[Claim]:
    """Claims, newest first; with ``state``, only those."""
    return claim_list(state=state).select_related("order__enterprise")


def claim_rows(*, claims: Any) -> list[ClaimRow]:
    """Each claim with whether it is past the pack's limit."""
    today = timezone.localdate()
    return [ClaimRow(c, claim_overdue(c, today=today)) for c in claims]


# --- files --------------------------------------------------------------------------------------------


def upload_get(*, upload_id: Any) -> Upload | None:
    """An upload of this centre, stored under its own prefix; None for anything else."""
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None or not str(upload.file.name).startswith(f"tenants/{connection.schema_name}/"):
        return None
    return upload


def upload_content(*, upload: Upload) -> bytes:
    with upload.file.open("rb") as handle:
        return bytes(handle.read())
