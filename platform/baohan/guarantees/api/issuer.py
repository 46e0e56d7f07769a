"""The issuer's API: its own orders only — reviews, payments, issue, refunds, invoices, after-sales."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from baohan.guarantees.api.auth import CredentialAuthentication, IsIssuer, principal_of
from baohan.guarantees.api.bidder import ERRORS
from baohan.guarantees.api.centre import datetime_in_range
from baohan.guarantees.api.common import order_response, pack_context, paged_response
from baohan.guarantees.api.parsers import StrictJSONParser
from baohan.guarantees.api.serializers import (
    AfterSalesSerializer,
    InvoiceSerializer,
    OrderDetailSerializer,
    OrderListSerializer,
    RefundSerializer,
)
from baohan.guarantees.errors import TAKEN_BY_OTHER, Conflict, NotFound
from baohan.guarantees.models import AfterSalesRequest, Invoice, Order, Refund
from baohan.guarantees.numbers import AmountField, AsciiDecimalField
from baohan.guarantees.selectors import order_get_for_issuer, order_list_for_issuer, order_taken_by_other_issuer
from baohan.guarantees.services import aftersales, invoices, orders, refunds
from baohan.rulepacks.models import OrderState


class IssuerView(APIView):
    authentication_classes = [CredentialAuthentication]
    permission_classes = [IsIssuer]

    @property
    def issuer_code(self) -> str:
        return principal_of(self.request).credential.issuer_code

    def order(self, number: str) -> Order:
        order = order_get_for_issuer(issuer_code=self.issuer_code, number=number)
        if order is None:
            if order_taken_by_other_issuer(issuer_code=self.issuer_code, number=number):
                raise Conflict(*TAKEN_BY_OTHER)
            raise NotFound("order_not_found", "订单不存在")
        return order


class IssuerOrders(IssuerView):
    @extend_schema(
        parameters=[
            OpenApiParameter("pending", bool, description="只看待本机构审核的订单"),
            OpenApiParameter("state", str, enum=[s.value for s in OrderState]),
            OpenApiParameter("page", int),
        ],
        responses={200: OrderListSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        qs = order_list_for_issuer(
            issuer_code=self.issuer_code,
            state=request.query_params.get("state", "").strip(),
            pending_only=request.query_params.get("pending", "").lower() in {"1", "true", "yes"},
        )
        return paged_response(self, request, qs, OrderListSerializer, pack_context(request))


class IssuerOrder(IssuerView):
    @extend_schema(responses={200: OrderDetailSerializer, **ERRORS})
    def get(self, request: Request, number: str) -> Response:
        return order_response(request, self.order(number))


class DecisionInput(serializers.Serializer[Any]):
    approve = serializers.BooleanField()
    rate = AsciiDecimalField(max_digits=8, decimal_places=6, required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class IssuerDecision(IssuerView):
    field_labels = {"approve": "审核结果", "rate": "费率", "reason": "原因"}

    @extend_schema(request=DecisionInput, responses={200: OrderDetailSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        order = orders.order_offer_decide(
            order_id=self.order(number).pk,
            issuer_code=self.issuer_code,
            actor=principal_of(request).actor,
            approve=v["approve"],
            rate=v["rate"],
            reason=v["reason"],
        )
        return order_response(request, order)


class PaymentInput(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=["confirmed", "failed"])
    amount = AmountField(required=False, allow_null=True, default=None)
    paid_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        datetime_in_range(attrs.get("paid_at"), "paid_at")
        return attrs


# IssuerPayment (confirming a payment is a settlement) is in baohan/payments/api_confirmations.py.


class IssueInput(serializers.Serializer[Any]):
    guarantee_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class IssuerIssue(IssuerView):
    field_labels = {"guarantee_number": "保函编号"}

    @extend_schema(request=IssueInput, responses={200: OrderDetailSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = IssueInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = self.order(number)
        order = orders.order_issue(
            order_id=order.pk,
            actor=principal_of(request).actor,
            guarantee_number=data.validated_data["guarantee_number"],
        )
        return order_response(request, order)


class IssuerRefunds(IssuerView):
    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=[s.value for s in Refund.State]),
            OpenApiParameter("page", int),
        ],
        responses={200: RefundSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        qs = Refund.objects.filter(order__issuer_code=self.issuer_code).select_related("order")
        state = request.query_params.get("state", "").strip()
        if state:
            qs = qs.filter(state=state)
        return paged_response(self, request, qs, RefundSerializer, {})


def _own_refund(issuer_code: str, number: str) -> Refund:
    refund = Refund.objects.filter(number=number, order__issuer_code=issuer_code).first()
    if refund is None:
        raise NotFound("refund_not_found", "退保申请不存在")
    return refund


class RefundDecisionInput(serializers.Serializer[Any]):
    approve = serializers.BooleanField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class IssuerRefundDecision(IssuerView):
    @extend_schema(request=RefundDecisionInput, responses={200: RefundSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = RefundDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        refund = refunds.refund_review(
            refund_id=_own_refund(self.issuer_code, number).pk,
            actor=principal_of(request).actor,
            approve=data.validated_data["approve"],
            reason=data.validated_data["reason"],
        )
        return Response(RefundSerializer(refund).data)


class PayoutInput(serializers.Serializer[Any]):
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


# IssuerRefundPayout (paying a refund is a payout) is in baohan/payments/api_confirmations.py.


class InvoiceAdvanceInput(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["start", "issue"])
    invoice_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    carrier = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    tracking_number = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    document = serializers.FileField(required=False, help_text="The electronic invoice (PDF), when issuing one.")


class IssuerInvoices(IssuerView):
    @extend_schema(responses={200: InvoiceSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        qs = Invoice.objects.filter(order__issuer_code=self.issuer_code).select_related("order").order_by("-created_at")
        return paged_response(self, request, qs, InvoiceSerializer, {})


class IssuerInvoiceAdvance(IssuerView):
    # JSON, or multipart with the electronic invoice's PDF as ``document`` when issuing one.
    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]

    @extend_schema(request=InvoiceAdvanceInput, responses={200: InvoiceSerializer, **ERRORS})
    def post(self, request: Request, invoice_id: int) -> Response:
        data = InvoiceAdvanceInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        invoice = invoices.invoice_advance(
            invoice_id=invoice_id,
            actor=principal_of(request).actor,
            name=f"invoice_{v['action']}",
            invoice_number=v["invoice_number"],
            carrier=v["carrier"],
            tracking_number=v["tracking_number"],
            document=request.FILES.get("document"),
        )
        return Response(InvoiceSerializer(invoice).data)


class AfterSalesAdvanceInput(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["start", "resolve", "close"])
    resolution = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class IssuerAfterSales(IssuerView):
    @extend_schema(responses={200: AfterSalesSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        qs = AfterSalesRequest.objects.filter(order__issuer_code=self.issuer_code).select_related("order")
        return paged_response(self, request, qs, AfterSalesSerializer, {})


class IssuerAfterSalesAdvance(IssuerView):
    @extend_schema(request=AfterSalesAdvanceInput, responses={200: AfterSalesSerializer, **ERRORS})
    def post(self, request: Request, request_id: int) -> Response:
        data = AfterSalesAdvanceInput(data=request.data)
        data.is_valid(raise_exception=True)
        item = aftersales.after_sales_advance(
            request_id=request_id,
            actor=principal_of(request).actor,
            name=f"after_sales_{data.validated_data['action']}",
            resolution=data.validated_data["resolution"],
        )
        return Response(AfterSalesSerializer(item).data)
