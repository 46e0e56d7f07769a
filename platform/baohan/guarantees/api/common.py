"""Pieces every API view shares: the pack in force, pagination, order detail assembly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from baohan.guarantees.api.serializers import OrderDetailSerializer
from baohan.guarantees.models import Order, Refund
from baohan.guarantees.selectors import order_progress, payment_methods_offered, payment_warnings_for
from baohan.rulepacks.models import RulePack
from tenants.selectors import pack_in_force, pack_of_version


class Pages(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        """ASCII digits only, like every number (baohan/guarantees/numbers.py): 「２」 is no page."""
        number = super().get_page_number(request, paginator)
        if number not in self.last_page_strings and not str(number).isascii():
            raise NotFound("页码应为半角数字")
        return number

    def get_page_size(self, request: Request) -> int | None:
        if not request.query_params.get(self.page_size_query_param or "", "").isascii():
            return self.page_size
        return super().get_page_size(request)


def paged_response(view: APIView, request: Request, qs: Any, serializer: Any, context: dict[str, Any]) -> Response:
    pages = Pages()
    page: Any = pages.paginate_queryset(qs, request, view=view)
    return pages.get_paginated_response(serializer(page, many=True, context=context).data)


def order_response(request: Request, order: Order, code: int = 200) -> Response:
    """An order's full detail, read afresh after whatever changed it."""
    context = pack_context(request)
    fresh = Order.objects.select_related("section", "enterprise").get(pk=order.pk)
    return Response(
        OrderDetailSerializer(order_detail_load(order=fresh, pack=context["pack"]), context=context).data, status=code
    )


def pack_context(request: Request) -> dict[str, Any]:
    pack, version = pack_in_force()
    return {"pack": pack, "version": version, "request": request}


def client_ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def payment_instructions(*, order: Order, pack: RulePack) -> dict[str, Any]:
    issuer = next((i for i in pack.issuers if i.code == order.issuer_code), None)
    account = issuer.receiving_account if issuer is not None else None
    payer = pack.payment.payer_default
    for rule in pack.payment.payer_rules:
        if order.section.project_type in rule.project_types:
            payer = rule.payer
            break
    deadline = order.section.deposit_deadline
    return {
        "payable_amount": order.payable_amount,
        "remark_code": order.remark_code if pack.payment.remark_required else None,
        "account_name": account.account_name if account else None,
        "bank_name": account.bank_name if account else None,
        "branch": account.branch if account else None,
        "account_number": account.account_number if account else None,
        "deadline": deadline,
        "pay_before": deadline - timedelta(hours=pack.payment.pay_before_deadline_hours),
        "payer": payer.value,
        "methods": [m.value for m in payment_methods_offered(pack=pack)],
        "warnings": [w.text for w in payment_warnings_for(pack=pack, project_type=order.section.project_type)],
    }


def order_detail_load(*, order: Order, pack: RulePack) -> Order:
    """Attach what the detail view shows; a fixed number of queries whatever the order holds."""
    order_pack = pack_of_version(order.rule_pack_version)
    names = {i.code: i.name for i in order_pack.issuers}
    events = list(order.events.all())
    refunds = list(order.refunds.all())
    current: Refund | None = refunds[0] if refunds else None
    extra: Any = order
    extra.offer_rows = [
        {
            "issuer_code": o.issuer_code,
            "issuer_name": names.get(o.issuer_code, o.issuer_code),
            "status": o.status,
            "rate": o.rate,
            "premium": o.premium,
            "reason": o.reason,
        }
        for o in order.offers.all()
    ]
    extra.draw_row = getattr(order, "draw", None)  # a missing one-to-one row raises AttributeError
    extra.consent_rows = list(order.consents.all())
    extra.event_rows = events
    extra.progress_steps = order_progress(pack=pack, events=events, refund=current)
    extra.payment_instructions = (
        payment_instructions(order=order, pack=order_pack) if order.issuer_code and order.state != "draft" else None
    )
    extra.current_refund = current
    extra.invoice_row = getattr(order, "invoice", None)
    return order
