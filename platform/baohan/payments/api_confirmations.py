"""The issuer's API calls that move money: confirming a payment it received (a settlement) and
paying a surrender's refund (a payout). Their input shapes are the issuer API's own."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from baohan.guarantees.api.auth import principal_of
from baohan.guarantees.api.bidder import ERRORS
from baohan.guarantees.api.common import order_response
from baohan.guarantees.api.issuer import IssuerView, PaymentInput, PayoutInput, _own_refund
from baohan.guarantees.api.serializers import OrderDetailSerializer, RefundSerializer
from baohan.guarantees.services import orders
from baohan.payments.services.confirmations import order_payment_confirm
from baohan.payments.services.payouts import refund_payout


class IssuerPayment(IssuerView):
    field_labels = {"amount": "付款金额", "paid_at": "付款时间", "reason": "原因"}

    @extend_schema(request=PaymentInput, responses={200: OrderDetailSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = PaymentInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        order = self.order(number)
        actor = principal_of(request).actor
        if v["outcome"] == "failed":
            order = orders.order_payment_fail(order_id=order.pk, actor=actor, reason=v["reason"])
        else:
            if v["amount"] is None:
                raise serializers.ValidationError({"amount": "请填写付款金额"})
            order = order_payment_confirm(
                order_id=order.pk,
                actor=actor,
                amount=Decimal(v["amount"]),
                paid_at=v["paid_at"],
                reference=v["reference"],
            )
        return order_response(request, order)


class IssuerRefundPayout(IssuerView):
    @extend_schema(request=PayoutInput, responses={200: RefundSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = PayoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        refund = refund_payout(
            refund_id=_own_refund(self.issuer_code, number).pk,
            actor=principal_of(request).actor,
            reference=data.validated_data["reference"],
        )
        return Response(RefundSerializer(refund).data)
