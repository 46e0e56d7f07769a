"""用户中心: invoice titles and addresses kept for later, after-sales and refund records."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from baohan.guarantees.errors import DomainError
from baohan.guarantees.models import AfterSalesRequest, Refund
from baohan.guarantees.services import invoices
from baohan.portal.pages.common import bidder_page, error_place, operator_of, pack_now

TITLE_NAMES = ["title", "taxpayer_id", "registered_address", "registered_phone", "bank_name", "bank_account"]
ADDRESS_NAMES = ["recipient", "recipient_phone", "recipient_address"]


@bidder_page
@require_http_methods(["GET", "POST"])
def invoice_titles(request: HttpRequest) -> HttpResponse:
    enterprise = operator_of(request).enterprise
    errors: dict[str, str] = {}
    error = ""
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in TITLE_NAMES}
        try:
            invoices.invoice_title_save(enterprise=enterprise, values={k: v for k, v in values.items() if v})
        except DomainError as exc:
            errors, error = error_place(exc, TITLE_NAMES)
        else:
            messages.success(request, "发票抬头已保存")
            return redirect("portal_invoice_titles")
    return render(
        request,
        "portal/account_titles.html",
        {
            "rows": enterprise.invoice_titles.all(),
            "values": values or {"title": enterprise.name, "taxpayer_id": enterprise.uscc},
            "errors": errors,
            "error": error,
            "saved_titles": pack_now().invoice.saved_titles,
        },
        status=400 if errors or error else 200,
    )


@bidder_page
@require_http_methods(["GET", "POST"])
def invoice_addresses(request: HttpRequest) -> HttpResponse:
    enterprise = operator_of(request).enterprise
    errors: dict[str, str] = {}
    error = ""
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in ADDRESS_NAMES}
        try:
            invoices.invoice_address_save(enterprise=enterprise, values={k: v for k, v in values.items() if v})
        except DomainError as exc:
            errors, error = error_place(exc, ADDRESS_NAMES)
        else:
            messages.success(request, "收件地址已保存")
            return redirect("portal_invoice_addresses")
    return render(
        request,
        "portal/account_addresses.html",
        {"rows": enterprise.invoice_addresses.all(), "values": values, "errors": errors, "error": error},
        status=400 if errors or error else 200,
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
