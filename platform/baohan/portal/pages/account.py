"""用户中心: invoice titles and addresses kept for later, after-sales and refund records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
