"""用户中心: invoice titles and addresses kept for later, after-sales and refund records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from baohan.guarantees.errors import DomainError
from baohan.guarantees.models import AfterSalesRequest, Invoice, Refund
from baohan.guarantees.selectors import (
    INVOICE_NOT_REQUESTED,
    invoice_of_order,
    invoice_orders_for_enterprise,
    order_completed_at,
    order_get_for_enterprise,
    state_label,
)
from baohan.guarantees.services import invoices
from baohan.portal.pages.common import bidder_page, error_place, operator_of, pack_now
from baohan.rulepacks.models import InvoiceForm, OrderState
from tenants.selectors import pack_of_version

TITLE_NAMES = ["title", "taxpayer_id", "registered_address", "registered_phone", "bank_name", "bank_account"]
ADDRESS_NAMES = ["recipient", "recipient_phone", "recipient_address"]


def _saved_list(
    request: HttpRequest,
    *,
    names: list[str],
    save: Callable[..., object],
    done: str,
    template: str,
    context: dict[str, Any],
    initial: dict[str, str],
) -> HttpResponse:
    """A list of saved entries with a form to add one: the service checks it, errors go beside fields."""
    errors: dict[str, str] = {}
    error = ""
    values = initial
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in names}
        try:
            save(enterprise=operator_of(request).enterprise, values={k: v for k, v in values.items() if v})
        except DomainError as exc:
            errors, error = error_place(exc, names)
        else:
            messages.success(request, done)
            return redirect(request.path)
    return render(
        request,
        template,
        {**context, "values": values, "errors": errors, "error": error},
        status=400 if errors or error else 200,
    )


@bidder_page
@require_http_methods(["GET", "POST"])
def invoice_titles(request: HttpRequest) -> HttpResponse:
    enterprise = operator_of(request).enterprise
    return _saved_list(
        request,
        names=TITLE_NAMES,
        save=invoices.invoice_title_save,
        done="发票抬头已保存",
        template="portal/account_titles.html",
        context={"rows": enterprise.invoice_titles.all(), "saved_titles": pack_now().invoice.saved_titles},
        initial={"title": enterprise.name, "taxpayer_id": enterprise.uscc},
    )


@bidder_page
@require_http_methods(["GET", "POST"])
def invoice_addresses(request: HttpRequest) -> HttpResponse:
    return _saved_list(
        request,
        names=ADDRESS_NAMES,
        save=invoices.invoice_address_save,
        done="收件地址已保存",
        template="portal/account_addresses.html",
        context={"rows": operator_of(request).enterprise.invoice_addresses.all()},
        initial={},
    )


@bidder_page
def after_sales_records(request: HttpRequest) -> HttpResponse:
    enterprise = operator_of(request).enterprise
    labels = {c.code: c.label for c in pack_now().after_sales}
    rows = AfterSalesRequest.objects.filter(order__enterprise=enterprise).select_related("order").order_by("-id")
    return render(
        request, "portal/account_after_sales.html", {"rows": [(r, labels.get(r.category, r.category)) for r in rows]}
    )


@bidder_page
def refund_records(request: HttpRequest) -> HttpResponse:
    enterprise = operator_of(request).enterprise
    rows = Refund.objects.filter(order__enterprise=enterprise).select_related("order").order_by("-id")
    return render(request, "portal/account_refunds.html", {"rows": rows})


# --- 我的发票 ---------------------------------------------------------------------------------------


def _invoice_states() -> list[tuple[str, str]]:
    return [(INVOICE_NOT_REQUESTED, _("未开具")), *((s.value, str(s.label)) for s in Invoice.State)]


def invoice_state_text(invoice: Invoice | None) -> tuple[str, str]:
    if invoice is None:
        return INVOICE_NOT_REQUESTED, _("未开具")
    return invoice.state, invoice.get_state_display()


@bidder_page
@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    pack = pack_now()
    search = request.GET.get("q", "").strip()[:100]
    state = request.GET.get("state", "").strip()
    states = _invoice_states()
    if state not in {code for code, _label in states}:
        state = ""
    qs = invoice_orders_for_enterprise(enterprise=operator_of(request).enterprise, search=search, state=state)
    page = Paginator(qs, 10).get_page(request.GET.get("page"))
    issuers = {i.code: i.short_name for i in pack.issuers}
    rows = []
    for order in page.object_list:
        invoice: Invoice | None = getattr(order, "invoice", None)
        code, label = invoice_state_text(invoice)
        rows.append(
            {
                "order": order,
                "issuer": issuers.get(order.issuer_code, ""),
                "kind": invoices.invoice_kind_text(invoice) if invoice else "",
                "state": code,
                "state_label": label,
            }
        )
    return render(
        request,
        "portal/invoices.html",
        {
            "page": page,
            "rows": rows,
            "search": search,
            "state": state,
            "states": states,
            "filtered": bool(search or state),
            "query": urlencode({k: v for k, v in (("q", search), ("state", state)) if v}),
        },
    )


@bidder_page
@require_GET
def invoice_detail(request: HttpRequest, number: str) -> HttpResponse:
    """发票详情: 订单生成 / 订单完成 / 发票开具, the order, and the invoice with 下载发票 or 查看收件信息."""
    pack = pack_now()
    order = order_get_for_enterprise(enterprise=operator_of(request).enterprise, number=number)
    if order is None:
        raise Http404("订单不存在")
    invoice = invoice_of_order(order=order)
    if invoice is None and order.state != OrderState.ISSUED:
        raise Http404("该订单尚不能开具发票")
    completed = order_completed_at(order=order)
    steps = [
        (_("订单生成"), order.created_at),
        (_("订单完成"), completed),
        (_("发票开具"), invoice.issued_at if invoice else None),
    ]
    code, label = invoice_state_text(invoice)
    order_pack = pack_of_version(order.rule_pack_version)
    return render(
        request,
        "portal/invoice.html",
        {
            "order": order,
            "order_state_label": state_label(pack=pack, state=order.state),
            "issuer_name": {i.code: i.name for i in order_pack.issuers}.get(order.issuer_code, ""),
            "steps": steps,
            "invoice": invoice,
            "invoice_state": code,
            "invoice_state_label": label,
            "invoice_kind": invoices.invoice_kind_text(invoice) if invoice else "",
            "invoice_type": invoices.invoice_type_text(invoice.type) if invoice else "",
            "timing_note": invoices.invoice_timing_note(pack),
            "eligibility": invoices.invoice_eligibility(order=order) if invoice is None else None,
            "downloadable": bool(
                invoice
                and invoice.form == InvoiceForm.ELECTRONIC.value
                and invoice.state == Invoice.State.ISSUED
                and invoice.document
            ),
        },
    )
