"""Reads for the centre's staff pages: counts, queues of work, sections, orders and claims, with
the pack's words for what they show. Everything reads the current centre's schema only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from baohan.claims.models import Claim
from baohan.claims.selectors import claim_list, claim_overdue
from baohan.guarantees.models import AfterSalesRequest, Order, OrderEvent, Upload
from baohan.guarantees.selectors import state_label
from baohan.identity.fields import mask_phone, mask_tail
from baohan.identity.models import EnterpriseVerification
from baohan.payments.models import OpenLine, PaymentVoucher, StatementLine
from baohan.portal.timeline import event_label
from baohan.rulepacks.fields import CANONICAL_FIELDS, FieldKind
from baohan.rulepacks.models import OrderState, RulePack
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


def order_counts_by_state(*, pack: RulePack) -> list[StateCount]:
    """Every order state in the engine's order, labelled in the pack's words, with its count."""
    counts = dict(Order.objects.order_by().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return [StateCount(s.value, state_label(pack=pack, state=s.value), counts.get(s.value, 0)) for s in OrderState]


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int
    percent: int  # of the busiest day, for a bar


def order_counts_by_day(*, days: int = 14, today: date | None = None) -> list[DayCount]:
    """Orders created on each of the last ``days`` days (local time), oldest first, zeros included."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, time.min))
    rows = (
        Order.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    counts: dict[date, int] = dict(rows)
    peak = max(counts.values(), default=0)
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        n = counts.get(day, 0)
        out.append(DayCount(day, n, round(100 * n / peak) if peak else 0))
    return out


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
