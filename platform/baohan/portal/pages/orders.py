"""我的投标保函: the order list, and an order's page with everything a bidder does after applying —
pay, upload a voucher, ask for help, abandon, download documents, ask for a refund or an invoice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from baohan.documents.api import file_response
from baohan.documents.selectors import order_documents, policy_file_for_bidder
from baohan.guarantees.api.common import order_detail_load
from baohan.guarantees.errors import DomainError
from baohan.guarantees.models import Order, Refund
from baohan.guarantees.selectors import (
    order_counts_for_enterprise,
    order_get_for_enterprise,
    order_list_for_enterprise,
    payment_methods_offered,
    state_label,
)
from baohan.guarantees.services import aftersales, invoices, orders, refunds
from baohan.guarantees.states import HIDDEN_FROM_BIDDER
from baohan.payments.models import PaymentVoucher
from baohan.payments.services import online, vouchers
from baohan.portal.pages.common import (
    actor_of,
    bidder_page,
    captcha_context,
    check_codes,
    error_place,
    field_views,
    operator_of,
    pack_now,
    upload_id,
)
from baohan.portal.pages.order_display import (
    BASIC_ACCOUNT_FIELDS,
    basic_account_rows,
    form_rows,
    payment_notes,
)
from baohan.portal.timeline import event_label
from baohan.rulepacks.models import Decision, InvoiceType, OrderState, PaymentMethod, RefundTrigger, RulePack
from tenants.selectors import pack_of_version

PAYABLE = {OrderState.AWAITING_PAYMENT, OrderState.PAYMENT_FAILED}
ISSUED_STATES = {OrderState.ISSUED, OrderState.SURRENDERED}
PAID = {OrderState.AWAITING_ISSUE, *ISSUED_STATES}
ABANDONABLE = {OrderState.AWAITING_PAYMENT, OrderState.PAYMENT_FAILED}
TRIGGER_LABELS = {
    RefundTrigger.BIDDER_ABANDONS: "投标人放弃投标",
    RefundTrigger.SECTION_EVENT: "项目异常（中止、暂停、终止、流标）",
}


@bidder_page
def order_list(request: HttpRequest) -> HttpResponse:
    pack = pack_now()
    search = request.GET.get("q", "").strip()[:100]
    state = request.GET.get("state", "").strip()
    states = [s for s in OrderState if s not in HIDDEN_FROM_BIDDER]
    if state and state not in {s.value for s in states}:
        state = ""
    enterprise = operator_of(request).enterprise
    qs = order_list_for_enterprise(enterprise=enterprise, search=search, state=state)
    page = Paginator(qs.order_by("-created_at", "-id"), 20).get_page(request.GET.get("page"))
    issuers = {i.code: i.name for i in pack.issuers}
    # The manual's tabs: 全部 (n), then each state the enterprise has orders in, with its count.
    counts = order_counts_for_enterprise(enterprise=enterprise, search=search)
    tabs = [("", _("全部"), sum(counts.values()))] + [
        (s.value, state_label(pack=pack, state=s.value), counts.get(s.value, 0))
        for s in states
        if counts.get(s.value) or s.value == state
    ]
    return render(
        request,
        "portal/orders.html",
        {
            "page": page,
            "rows": [
                (o, state_label(pack=pack, state=o.state), issuers.get(o.issuer_code, "")) for o in page.object_list
            ],
            "search": search,
            "state": state,
            "states": [(s.value, state_label(pack=pack, state=s.value)) for s in states],
            "tabs": [
                {
                    "label": label,
                    "count": count,
                    "active": value == state,
                    "query": urlencode({k: v for k, v in (("q", search), ("state", value)) if v}),
                }
                for value, label, count in tabs
            ],
            "filtered": bool(search or state),
            "query": urlencode({k: v for k, v in (("q", search), ("state", state)) if v}),
        },
    )


def _order(request: HttpRequest, number: str) -> Order:
    order = order_get_for_enterprise(enterprise=operator_of(request).enterprise, number=number)
    if order is None:
        raise Http404("订单不存在")
    return order


def _refund_panel(order: Order, pack: RulePack) -> dict[str, Any]:
    """The refund rules as the pack states them, the decision for each reason today, and the form
    only with the reasons that are allowed now (none allowed: no form, the rule and why)."""
    current: Refund | None = order.current_refund  # type: ignore[attr-defined]
    if current is not None and current.state != Refund.State.REFUSED:
        return {"refund": current}
    if not pack.refund.enabled or order.state != OrderState.ISSUED:
        return {"refund": current}
    decision = refunds.refund_eligibility(order=order)
    decisions = [
        (t.value, TRIGGER_LABELS.get(t, t.value), refunds.refund_eligibility(order=order, trigger=t))
        for t in RefundTrigger
    ]
    rules = list(dict.fromkeys([r.text for r in pack.refund_rules if r.decision == Decision.ALLOW]))
    if pack.refund.default_text:
        rules.append(pack.refund.default_text)
    return {
        "refund": current,
        "decision": decision,
        "refund_rules": rules,
        "triggers": [(value, label) for value, label, d in decisions if d.allowed],
        "decisions": decisions,
    }


def _detail(
    request: HttpRequest,
    order: Order,
    *,
    panel: str = "",
    errors: dict[str, str] | None = None,
    error: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    pack = pack_now()
    order = order_detail_load(order=Order.objects.select_related("section", "enterprise").get(pk=order.pk), pack=pack)
    order_pack = pack_of_version(order.rule_pack_version)
    errors, values = errors or {}, values or {}
    methods = set(payment_methods_offered(pack=pack))
    payable = order.state in PAYABLE
    invoice_allowed = invoices.invoice_eligibility(order=order)
    enterprise = order.enterprise
    instructions: dict[str, Any] = order.payment_instructions or {}  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "order": order,
        "state_label": state_label(pack=pack, state=order.state),
        "issuer_name": {i.code: i.name for i in order_pack.issuers}.get(order.issuer_code, ""),
        "deposit_kind_label": next(
            (d.label for d in order_pack.products.deposit_kinds if d.kind.value == order.deposit_kind), ""
        ),
        "form_rows": form_rows(order=order, pack=order_pack, skip=BASIC_ACCOUNT_FIELDS),
        "basic_account": basic_account_rows(order=order, pack=order_pack),
        "steps": order.progress_steps["order"],  # type: ignore[attr-defined]
        "refund_steps": order.progress_steps["refund"],  # type: ignore[attr-defined]
        "events": [(e, event_label(e.transition)) for e in order.event_rows],  # type: ignore[attr-defined]
        "payment": instructions if payable and instructions else None,
        "payment_notes": payment_notes(
            pack=order_pack,
            project_type=order.section.project_type,
            payer=str(instructions.get("payer", "")),
            remark=bool(instructions.get("remark_code")),
        )
        if payable and instructions
        else [],
        "voucher_offered": payable and PaymentMethod.VOUCHER in methods,
        "voucher_field": field_views(pack=pack, fields=pack.forms.voucher, values={}, errors=errors)
        if panel == "voucher" or payable
        else [],
        "vouchers": list(order.vouchers.select_related("upload").order_by("-id")),
        "online_offered": payable and PaymentMethod.ONLINE in methods,
        "after_sales": pack.after_sales,
        "after_sales_rows": list(order.after_sales.order_by("-id")),
        "abandon_offered": pack.abandon.enabled and order.state in ABANDONABLE,
        "abandon_check": pack.abandon.operator_check,
        "documents": order_documents(order=order, pack=pack),
        "refund_account_fields": field_views(
            pack=pack,
            fields=pack.forms.refund_account,
            values=values if panel == "refund_account" else {},
            errors=errors if panel == "refund_account" else {},
        ),
        "invoice_allowed": invoice_allowed,
        # Each form with the types the pack allows for it (the page's script offers only those).
        "invoice_kinds": [
            {
                "form": k.form.value,
                "label": invoices.invoice_form_text(k.form.value),
                "days": k.processing_working_days,
                "types": " ".join(t.value for t in k.types),
            }
            for k in pack.invoice.kinds
        ],
        "invoice_types": [
            (t.value, invoices.invoice_type_text(t.value))
            for t in dict.fromkeys(t for k in pack.invoice.kinds for t in k.types)
        ],
        "invoice_type_hint": invoices.invoice_type_hint(pack),
        "invoice_special_offered": any(InvoiceType.VAT_SPECIAL in k.types for k in pack.invoice.kinds),
        "invoice_kind": invoices.invoice_kind_text(order.invoice_row) if order.invoice_row else "",  # type: ignore[attr-defined]
        "invoice_titles": list(enterprise.invoice_titles.all()),
        "invoice_addresses": list(enterprise.invoice_addresses.all()),
        "claims": list(order.claims.order_by("-id")),
        "panel": panel,
        "errors": errors,
        "error": error,
        "values": values,
        "operator_phone_hint": order.operator_phone[:3] + "****" + order.operator_phone[-4:]
        if len(order.operator_phone) == 11
        else "",
        **_refund_panel(order, pack),
        **captcha_context(),
    }
    return render(request, "portal/order.html", context, status=status)


@bidder_page
@require_GET
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    if request.GET.get("paid") == "1":
        messages.info(request, "支付已提交，到账确认后订单状态将自动更新")
    return _detail(request, _order(request, number))


def _act(
    request: HttpRequest,
    number: str,
    *,
    panel: str,
    names: list[str],
    action: Callable[[Order], Any],
    done: str,
) -> HttpResponse:
    """Run one action of the order page: redirect with a notice, or show the page again with the
    error beside its field. A refused action changes nothing."""
    order = _order(request, number)
    values = {name: request.POST.get(name, "") for name in names}
    try:
        with transaction.atomic():
            result = action(order)
    except DomainError as exc:
        errors, error = error_place(exc, names)
        return _detail(request, order, panel=panel, errors=errors, error=error, values=values, status=400)
    if isinstance(result, HttpResponse):
        return result
    if done:
        messages.success(request, done)
    return redirect(f"/orders/{order.number}/#{panel}")


@bidder_page
@require_POST
def order_voucher(request: HttpRequest, number: str) -> HttpResponse:
    def act(order: Order) -> Any:
        stored = upload_id(
            operator=operator_of(request), purpose="payment_voucher", file=request.FILES.get("payment_voucher")
        )
        return vouchers.voucher_submit(order=order, actor=actor_of(request), upload_id=stored)

    response = _act(request, number, panel="voucher", names=["payment_voucher"], action=act, done="")
    return redirect("portal_order_paid", number=number) if response.status_code == 302 else response


@bidder_page
@require_GET
def order_paid(request: HttpRequest, number: str) -> HttpResponse:
    """After the voucher: 等待审核 while it waits for review, 支付完成 once the order is paid; any
    other order (unpaid, abandoned, cancelled, a voucher refused) goes back to its page."""
    pack = pack_now()
    order = _order(request, number)
    paid = order.state in PAID
    pending = not paid and order.vouchers.filter(state=PaymentVoucher.State.SUBMITTED).exists()
    if not (paid or pending):
        return redirect("portal_order", number=order.number)
    order = order_detail_load(order=Order.objects.select_related("section", "enterprise").get(pk=order.pk), pack=pack)
    order_pack = pack_of_version(order.rule_pack_version)
    return render(
        request,
        "portal/order_paid.html",
        {
            "order": order,
            "state_label": state_label(pack=pack, state=order.state),
            "steps": order.progress_steps["order"],  # type: ignore[attr-defined]
            "issuer_name": {i.code: i.name for i in order_pack.issuers}.get(order.issuer_code, ""),
            "pending": pending,
            "issued": order.state in ISSUED_STATES,
        },
    )


@bidder_page
@require_POST
def order_checkout(request: HttpRequest, number: str) -> HttpResponse:
    def act(order: Order) -> Any:
        back = request.build_absolute_uri(f"/orders/{order.number}/")
        session = online.checkout_create(order=order, success_url=f"{back}?paid=1", cancel_url=back)
        return redirect(session.url)

    return _act(request, number, panel="payment", names=[], action=act, done="")


@bidder_page
@require_POST
def order_after_sales(request: HttpRequest, number: str) -> HttpResponse:
    def act(order: Order) -> Any:
        return aftersales.after_sales_open(
            order_id=order.pk,
            actor=actor_of(request),
            category=request.POST.get("category", ""),
            description=request.POST.get("description", ""),
        )

    return _act(
        request,
        number,
        panel="after-sales",
        names=["category", "description"],
        action=act,
        done="售后申请已提交，客服将尽快与您联系",
    )


@bidder_page
@require_POST
def order_abandon(request: HttpRequest, number: str) -> HttpResponse:
    if request.POST.get("confirm") != "1":
        order = _order(request, number)
        return _detail(request, order, panel="abandon", errors={"confirm": "请勾选确认放弃购买保函"}, status=400)

    def act(order: Order) -> Any:
        return orders.order_abandon(
            order_id=order.pk,
            actor=actor_of(request),
            operator_phone=request.POST.get("operator_phone", "").strip(),
            codes=check_codes(request),
        )

    response = _act(
        request,
        number,
        panel="abandon",
        names=["operator_phone", "captcha", "sms_code", "confirm"],
        action=act,
        done="已放弃购买保函，您可以选择其他方式缴纳保证金",
    )
    return redirect("portal_orders") if response.status_code == 302 else response


@bidder_page
@require_POST
def order_refund(request: HttpRequest, number: str) -> HttpResponse:
    raw = request.POST.get("trigger", "")

    def act(order: Order) -> Any:
        return refunds.refund_request(
            order_id=order.pk,
            actor=actor_of(request),
            trigger=RefundTrigger(raw) if raw in {t.value for t in RefundTrigger} else None,
            reason_text=request.POST.get("reason", "").strip(),
        )

    return _act(request, number, panel="refund", names=["trigger", "reason"], action=act, done="退保申请已提交")


@bidder_page
@require_POST
def order_refund_account(request: HttpRequest, number: str) -> HttpResponse:
    pack = pack_now()
    names = [f.name for f in pack.forms.refund_account]

    def act(order: Order) -> Any:
        refund = order.refunds.exclude(state=Refund.State.REFUSED).first()
        if refund is None:
            raise DomainError("refund_not_found", "退保申请不存在")
        values = {name: request.POST.get(name, "") for name in names}
        return refunds.refund_account_confirm(refund_id=refund.pk, actor=actor_of(request), values=values)

    return _act(
        request, number, panel="refund_account", names=names, action=act, done="退费账户已确认，等待出函机构审核"
    )


INVOICE_NAMES = [
    "form",
    "type",
    "title_id",
    "address_id",
    "title",
    "taxpayer_id",
    "registered_address",
    "registered_phone",
    "bank_name",
    "bank_account",
    "recipient",
    "recipient_phone",
    "recipient_address",
    "email",
]


@bidder_page
@require_POST
def order_invoice(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(request, number)
    values: dict[str, Any] = {
        k: request.POST.get(k, "").strip() for k in INVOICE_NAMES if request.POST.get(k, "").strip()
    }
    eligibility = invoices.invoice_eligibility(order=order)
    errors = invoices.invoice_form_errors(values=values) if eligibility.allowed else {}
    if errors:  # every field's error at once, beside its field; nothing is saved
        shown = {k: request.POST.get(k, "") for k in INVOICE_NAMES}
        return _detail(request, order, panel="invoice", errors=errors, values=shown, status=400)

    def act(order: Order) -> Any:
        return invoices.invoice_request(
            order_id=order.pk,
            actor=actor_of(request),
            values=values,
            save_title=request.POST.get("save_title") == "1",
            save_address=request.POST.get("save_address") == "1",
        )

    return _act(request, number, panel="invoice", names=INVOICE_NAMES, action=act, done="发票申请已提交")


@bidder_page
@require_GET
def order_document(request: HttpRequest, number: str, kind: str) -> HttpResponse:
    order = _order(request, number)
    try:
        content, filename = policy_file_for_bidder(order=order, pack=pack_now(), kind=kind)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(f"/orders/{order.number}/#documents")
    return file_response(content, filename)
