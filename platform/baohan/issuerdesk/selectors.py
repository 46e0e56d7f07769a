"""Reads for the issuer workbench: one issuer's queues of work with their counts, its orders (and in a
multi-select centre the orders it was asked for), the application in the pack's groups, and the files an
issuer may open. Every read is scoped by the issuer's code, as the issuer API's are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, DateTimeField, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from baohan.claims.models import Claim
from baohan.claims.selectors import claim_list
from baohan.guarantees.models import AfterSalesRequest, Invoice, IssuerOffer, Order, Refund, Upload
from baohan.guarantees.quotes import Quote, quote_for_issuer
from baohan.guarantees.selectors import order_list_for_issuer, state_label
from baohan.payments.models import PaymentVoucher, Payout, StatementLine
from baohan.portal.pages.apply import GroupView, confirm_groups
from baohan.portal.staff_selectors import EventRow, order_timeline
from baohan.rulepacks.fields import CANONICAL_FIELDS, FieldKind
from baohan.rulepacks.models import Issuer, OrderState, RulePack
from tenants.db import connection
from tenants.selectors import pack_of_version

OPEN_INVOICES = (Invoice.State.REQUESTED, Invoice.State.PROCESSING)
OPEN_AFTER_SALES = (AfterSalesRequest.State.OPEN, AfterSalesRequest.State.IN_PROGRESS)
OPEN_CLAIMS = (Claim.State.FILED, Claim.State.ACCEPTED)
PAYOUTS_DUE = (Payout.State.DUE, Payout.State.FAILED)


def by_deadline(qs: QuerySet[Any], path: str) -> QuerySet[Any]:
    """The deposit deadline still ahead and nearest first; deadlines already past after them, latest first."""
    now = timezone.now()
    deadline = F(path)
    ordered: QuerySet[Any] = qs.annotate(
        _passed=Case(When(**{f"{path}__lt": now}, then=Value(1)), default=Value(0), output_field=IntegerField()),
        _ahead=Case(When(**{f"{path}__gte": now}, then=deadline), default=None, output_field=DateTimeField()),
        _behind=Case(When(**{f"{path}__lt": now}, then=deadline), default=None, output_field=DateTimeField()),
    ).order_by("_passed", F("_ahead").asc(nulls_last=True), F("_behind").desc(nulls_last=True), "id")
    return ordered


# --- queues ----------------------------------------------------------------------------------------------


def review_queue(*, issuer_code: str) -> QuerySet[Order]:
    """待审核: applications waiting for this issuer's decision (in a multi-select centre, those it was asked for)."""
    return by_deadline(order_list_for_issuer(issuer_code=issuer_code, pending_only=True), "section__deposit_deadline")


def voucher_queue(*, issuer_code: str) -> QuerySet[PaymentVoucher]:
    """待确认付款: payment vouchers on this issuer's orders waiting for a decision."""
    qs = PaymentVoucher.objects.filter(
        state=PaymentVoucher.State.SUBMITTED, order__issuer_code=issuer_code
    ).select_related("order__enterprise", "order__section", "upload")
    return by_deadline(qs, "order__section__deposit_deadline")


def transfer_queue(*, issuer_code: str) -> QuerySet[Order]:
    """Approved orders of this issuer still waiting for their money (no voucher to decide): a transfer
    the issuer saw arrive is confirmed by hand, as the issuer API's ``payment`` does."""
    qs = (
        Order.objects.filter(
            issuer_code=issuer_code, state__in=[OrderState.AWAITING_PAYMENT, OrderState.PAYMENT_FAILED]
        )
        .exclude(vouchers__state=PaymentVoucher.State.SUBMITTED)
        .select_related("section", "enterprise")
    )
    return by_deadline(qs, "section__deposit_deadline")


def issue_queue(*, issuer_code: str) -> QuerySet[Order]:
    """待出函: paid orders of this issuer waiting for the guarantee."""
    qs = Order.objects.filter(issuer_code=issuer_code, state=OrderState.AWAITING_ISSUE).select_related(
        "section", "enterprise"
    )
    return by_deadline(qs, "section__deposit_deadline")


def refund_queue(*, issuer_code: str) -> QuerySet[Refund]:
    """退保 waiting for this issuer's review, oldest first."""
    return (
        Refund.objects.filter(order__issuer_code=issuer_code, state=Refund.State.PENDING_REVIEW)
        .select_related("order__enterprise", "order__section")
        .order_by("created_at", "id")
    )


def payout_queue(*, issuer_code: str) -> QuerySet[Payout]:
    """Money owed back by bank transfer (a surrender's refund, a refused or duplicate payment), oldest first."""
    return (
        Payout.objects.filter(order__issuer_code=issuer_code, state__in=PAYOUTS_DUE, method=Payout.Method.BANK)
        .select_related("order__enterprise", "order__section", "refund")
        .order_by("created_at", "id")
    )


def invoice_queue(*, issuer_code: str) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(order__issuer_code=issuer_code, state__in=OPEN_INVOICES)
        .select_related("order__enterprise", "order__section")
        .order_by("created_at", "id")
    )


def after_sales_queue(*, issuer_code: str) -> QuerySet[AfterSalesRequest]:
    return (
        AfterSalesRequest.objects.filter(order__issuer_code=issuer_code, state__in=OPEN_AFTER_SALES)
        .select_related("order__enterprise", "order__section")
        .order_by("created_at", "id")
    )


def claim_queue(*, issuer_code: str) -> QuerySet[Claim]:
    return (
        claim_list(issuer_code=issuer_code)
        .filter(state__in=OPEN_CLAIMS)
        .select_related("order__enterprise")
        .order_by("decide_by", "id")
    )


def unmatched_lines(*, issuer_code: str) -> QuerySet[StatementLine]:
    """Incoming money to this issuer's accounts no order was found for, oldest first."""
    return StatementLine.objects.filter(
        issuer_code=issuer_code, open__isnull=False, status=StatementLine.Status.UNMATCHED
    ).order_by("booked_at", "id")


@dataclass(frozen=True)
class QueueCounts:
    review: int
    vouchers: int
    issue: int
    refunds: int
    payouts: int
    invoices: int
    after_sales: int
    claims: int
    lines: int


def queue_counts(*, issuer_code: str) -> QueueCounts:
    return QueueCounts(
        review=order_list_for_issuer(issuer_code=issuer_code, pending_only=True).count(),
        vouchers=PaymentVoucher.objects.filter(
            state=PaymentVoucher.State.SUBMITTED, order__issuer_code=issuer_code
        ).count(),
        issue=Order.objects.filter(issuer_code=issuer_code, state=OrderState.AWAITING_ISSUE).count(),
        refunds=refund_queue(issuer_code=issuer_code).count(),
        payouts=payout_queue(issuer_code=issuer_code).count(),
        invoices=invoice_queue(issuer_code=issuer_code).count(),
        after_sales=after_sales_queue(issuer_code=issuer_code).count(),
        claims=claim_queue(issuer_code=issuer_code).count(),
        lines=unmatched_lines(issuer_code=issuer_code).count(),
    )


# --- orders ------------------------------------------------------------------------------------------------


def order_search(*, issuer_code: str, query: str = "", state: str = "") -> QuerySet[Order]:
    """This issuer's orders matching an order number, a section's code or name, an enterprise or a remark code."""
    qs = order_list_for_issuer(issuer_code=issuer_code, state=state)
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(number__icontains=query)
            | Q(section__code__icontains=query)
            | Q(section__name__icontains=query)
            | Q(enterprise__name__icontains=query)
            | Q(remark_code__iexact=query)
            | Q(guarantee_number__icontains=query)
        )
    return qs.order_by("-created_at", "-id")


def order_for_issuer(*, issuer_code: str, number: str) -> Order | None:
    return order_list_for_issuer(issuer_code=issuer_code).filter(number=number).first()


@dataclass(frozen=True)
class OrderRow:
    order: Order
    state_label: str


def order_rows(*, pack: RulePack, orders: Any) -> list[OrderRow]:
    return [OrderRow(o, state_label(pack=pack, state=o.state)) for o in orders]


@dataclass(frozen=True)
class FileRow:
    label: str
    name: str
    upload: Upload


@dataclass
class OrderView:
    """What the workbench shows of one order."""

    order: Order
    state_label: str
    groups: list[GroupView]
    files: list[FileRow]
    quote: Quote | None
    offer: IssuerOffer | None
    deposit_kind: str
    project_type: str
    timeline: list[EventRow]
    vouchers: list[PaymentVoucher]


def _files(*, pack: RulePack, order: Order) -> list[FileRow]:
    """The uploads the application names, under the pack's labels."""
    names = [f.name for f in pack.forms.application if CANONICAL_FIELDS[f.name].kind == FieldKind.FILE]
    labels = {f.name: order.form_labels.get(f.name, f.label) for f in pack.forms.application}
    ids = {name: str(order.form_data.get(name) or "") for name in names}
    uploads = {str(u.pk): u for u in Upload.objects.filter(pk__in=[v for v in ids.values() if _uuid(v)])}
    return [FileRow(str(labels[n]), n, uploads[ids[n]]) for n in names if ids[n] in uploads]


def _uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def order_view(*, order: Order, issuer: Issuer, pack: RulePack) -> OrderView:
    order_pack = pack_of_version(order.rule_pack_version)
    offer = IssuerOffer.objects.filter(order=order, issuer_code=issuer.code).first()
    quote = None
    if order.insured_amount > 0:
        quote = quote_for_issuer(insured_amount=order.insured_amount, issuer=issuer)
    kinds = {d.kind.value: d.label for d in order_pack.products.deposit_kinds}
    types = {pt.code: pt.label for pt in order_pack.sections.project_types}
    return OrderView(
        order=order,
        state_label=state_label(pack=pack, state=order.state),
        groups=confirm_groups(pack=order_pack, order=order),
        files=_files(pack=order_pack, order=order),
        quote=quote,
        offer=offer,
        deposit_kind=kinds.get(order.deposit_kind, order.deposit_kind),
        project_type=types.get(order.section.project_type, order.section.project_type),
        timeline=order_timeline(order=order),
        vouchers=list(order.vouchers.select_related("upload").order_by("-created_at", "-id")),
    )


# --- files -------------------------------------------------------------------------------------------------


def upload_for_issuer(*, issuer_code: str, upload_id: Any) -> Upload | None:
    """An upload of this centre an order of this issuer names (its application or a payment voucher)."""
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None or not str(upload.file.name).startswith(f"tenants/{connection.schema_name}/"):
        return None
    if PaymentVoucher.objects.filter(upload=upload, order__issuer_code=issuer_code).exists():
        return upload
    orders = order_list_for_issuer(issuer_code=issuer_code)
    if upload.enterprise_id is not None:
        orders = orders.filter(enterprise_id=upload.enterprise_id)
    wanted = str(upload.pk)
    for form_data in orders.values_list("form_data", flat=True):
        if wanted in {str(v) for v in (form_data or {}).values() if isinstance(v, str)}:
            return upload
    return None
