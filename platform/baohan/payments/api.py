"""Money over the API: the bidder's payments, vouchers, online checkout and refunds owed; the
issuer's statements, unmatched lines, vouchers and payouts; a bank's signed statement push;
Stripe's webhook."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from baohan.guarantees.api.auth import bidder_actor, operator_of, principal_of
from baohan.guarantees.api.bidder import ERRORS, BidderView
from baohan.guarantees.api.common import order_response, paged_response
from baohan.guarantees.api.errors import body
from baohan.guarantees.api.issuer import IssuerView
from baohan.guarantees.api.parsers import StrictJSONParser
from baohan.guarantees.api.serializers import OrderDetailSerializer
from baohan.guarantees.errors import InvalidInput, NotFound
from baohan.guarantees.numbers import AmountField
from baohan.guarantees.states import Actor
from baohan.identity.fields import mask_tail
from baohan.payments.models import Payment, PaymentVoucher, Payout, StatementImport, StatementLine
from baohan.payments.selectors import statement_lines_of
from baohan.payments.services import intake, online, payouts, vouchers
from baohan.payments.statements import StatementLine as ParsedLine

PAYOUT_STEPS = [("due", "待退款"), ("sending", "退款处理中"), ("paid", "已退款")]


class PaymentSerializer(serializers.ModelSerializer[Payment]):
    channel_label = serializers.CharField(source="get_channel_display")
    outcome_label = serializers.CharField(source="get_outcome_display")
    payer_account = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "id",
            "channel",
            "channel_label",
            "amount",
            "paid_at",
            "payer_name",
            "payer_account",
            "payer_bank",
            "outcome",
            "outcome_label",
            "reason_code",
            "reason",
        ]

    def get_payer_account(self, payment: Payment) -> str:
        return mask_tail(payment.payer_account)


class PayoutSerializer(serializers.ModelSerializer[Payout]):
    order = serializers.CharField(source="order.number")
    kind_label = serializers.CharField(source="get_kind_display")
    state_label = serializers.CharField(source="get_state_display")
    payee_account = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Payout
        fields = [
            "number",
            "order",
            "kind",
            "kind_label",
            "method",
            "state",
            "state_label",
            "amount",
            "fee",
            "reason",
            "payee_name",
            "payee_account",
            "payee_bank",
            "reference",
            "due_by",
            "created_at",
            "paid_at",
            "progress",
        ]

    def get_payee_account(self, payout: Payout) -> str:
        return mask_tail(payout.payee_account)

    def get_progress(self, payout: Payout) -> list[dict[str, Any]]:
        reached = {"due": 0, "sending": 1, "failed": 1, "paid": 2}[payout.state]
        return [
            {"state": code, "label": label, "reached": i <= reached, "at": payout.paid_at if code == "paid" else None}
            for i, (code, label) in enumerate(PAYOUT_STEPS)
            if code != "sending" or payout.method == Payout.Method.ONLINE
        ]


class VoucherSerializer(serializers.ModelSerializer[PaymentVoucher]):
    order = serializers.CharField(source="order.number")
    upload = serializers.UUIDField(source="upload_id")
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = PaymentVoucher
        fields = ["id", "order", "upload", "state", "state_label", "reason", "decided_by", "created_at", "decided_at"]


class StatementLineSerializer(serializers.ModelSerializer[StatementLine]):
    payer_account = serializers.SerializerMethodField()
    order = serializers.CharField(source="payment.order.number", allow_null=True, default=None)
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = StatementLine
        fields = [
            "id",
            "account_number",
            "reference",
            "booked_at",
            "amount",
            "payer_name",
            "payer_account",
            "payer_bank",
            "remark",
            "status",
            "status_label",
            "order",
            "note",
        ]

    def get_payer_account(self, line: StatementLine) -> str:
        return mask_tail(line.payer_account)


class ImportSerializer(serializers.ModelSerializer[StatementImport]):
    class Meta:
        model = StatementImport
        fields = ["id", "account_number", "layout", "source", "filename", "lines_total", "lines_new", "created_at"]


def filtered_by(request: Request, qs: Any, field: str) -> Any:
    """``qs`` narrowed to ``?<field>=value`` when the query names one."""
    wanted = request.query_params.get(field, "").strip()
    return qs.filter(**{field: wanted}) if wanted else qs


# --- bidder ------------------------------------------------------------------------------------


class OrderMoney(BidderView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "OrderMoney",
                {
                    "payments": PaymentSerializer(many=True),
                    "payouts": PayoutSerializer(many=True),
                    "vouchers": VoucherSerializer(many=True),
                },
            ),
            **ERRORS,
        }
    )
    def get(self, request: Request, number: str) -> Response:
        order = self.order(number)
        return Response(
            {
                "payments": PaymentSerializer(order.payments.all(), many=True).data,
                "payouts": PayoutSerializer(order.payouts.select_related("order"), many=True).data,
                "vouchers": VoucherSerializer(order.vouchers.select_related("order"), many=True).data,
            }
        )


class VoucherInput(serializers.Serializer[Any]):
    upload = serializers.CharField(max_length=64)


class OrderVoucher(BidderView):
    field_labels = {"upload": "支付凭证"}

    @extend_schema(request=VoucherInput, responses={201: OrderDetailSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = VoucherInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = self.order(number)
        vouchers.voucher_submit(order=order, actor=bidder_actor(request), upload_id=data.validated_data["upload"])
        return order_response(request, order, code=status.HTTP_201_CREATED)


class OrderCheckout(BidderView):
    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                "Checkout",
                {
                    "session_id": serializers.CharField(),
                    "url": serializers.URLField(),
                    "expires_at": serializers.DateTimeField(),
                },
            ),
            **ERRORS,
        },
    )
    def post(self, request: Request, number: str) -> Response:
        order = self.order(number)
        back = request.build_absolute_uri(f"/orders/{order.number}")
        session = online.checkout_create(order=order, success_url=f"{back}?paid=1", cancel_url=back)
        return Response(
            {"session_id": session.session_id, "url": session.url, "expires_at": session.expires_at},
            status=status.HTTP_201_CREATED,
        )


class BidderPayouts(BidderView):
    @extend_schema(responses={200: PayoutSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        qs = Payout.objects.filter(order__enterprise=operator_of(request).enterprise).select_related("order")
        return paged_response(self, request, qs, PayoutSerializer, {})


# --- issuer --------------------------------------------------------------------------------------


class IssuerStatements(IssuerView):
    parser_classes = [MultiPartParser, FormParser, StrictJSONParser]
    field_labels = {"file": "对账单", "account_number": "收款账号", "layout": "对账单格式"}

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "StatementUpload",
                {
                    "file": serializers.FileField(),
                    "account_number": serializers.CharField(required=False),
                    "layout": serializers.CharField(required=False),
                },
            )
        },
        responses={201: ImportSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        file = request.FILES.get("file")
        if file is None:
            raise InvalidInput("required", "请选择对账单文件", field="file", label="对账单")
        if file.size and file.size > 50 * 1024 * 1024:
            raise InvalidInput("file_too_large", "对账单不能超过50M", field="file", label="对账单")
        data: Any = request.data
        result = intake.statement_import_file(
            issuer_code=self.issuer_code,
            content=file.read(),
            filename=file.name or "",
            actor=principal_of(request).actor,
            account_number=str(data.get("account_number", "") or ""),
            layout_code=str(data.get("layout", "") or ""),
        )
        return Response(ImportSerializer(result.statement_import).data, status=status.HTTP_201_CREATED)


class IssuerStatementLines(IssuerView):
    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=[s.value for s in StatementLine.Status])],
        responses={200: StatementLineSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        qs = statement_lines_of(issuer_code=self.issuer_code, status=request.query_params.get("status", "").strip())
        return paged_response(self, request, qs, StatementLineSerializer, {})


class AssignInput(serializers.Serializer[Any]):
    order = serializers.CharField(max_length=32)


class IssuerLineAssign(IssuerView):
    field_labels = {"order": "订单编号"}

    @extend_schema(request=AssignInput, responses={200: StatementLineSerializer, **ERRORS})
    def post(self, request: Request, line_id: int) -> Response:
        data = AssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        intake.statement_line_assign(
            line_id=line_id, order_number=data.validated_data["order"], actor=principal_of(request).actor
        )
        line = StatementLine.objects.select_related("payment__order").get(pk=line_id)
        return Response(StatementLineSerializer(line).data)


class DismissReasonInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=500, allow_blank=True)


class IssuerLineDismiss(IssuerView):
    field_labels = {"reason": "原因"}

    @extend_schema(request=DismissReasonInput, responses={200: StatementLineSerializer, **ERRORS})
    def post(self, request: Request, line_id: int) -> Response:
        data = DismissReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        line = intake.statement_line_dismiss(
            line_id=line_id, actor=principal_of(request).actor, reason=data.validated_data["reason"]
        )
        return Response(StatementLineSerializer(line).data)


class IssuerVouchers(IssuerView):
    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=[s.value for s in PaymentVoucher.State])],
        responses={200: VoucherSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        qs = PaymentVoucher.objects.filter(order__issuer_code=self.issuer_code).select_related("order")
        qs = filtered_by(request, qs, "state")
        return paged_response(self, request, qs, VoucherSerializer, {})


class VoucherDecisionInput(serializers.Serializer[Any]):
    approve = serializers.BooleanField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class IssuerVoucherDecision(IssuerView):
    field_labels = {"approve": "审核结果", "reason": "审核意见"}

    @extend_schema(request=VoucherDecisionInput, responses={200: VoucherSerializer, **ERRORS})
    def post(self, request: Request, voucher_id: int) -> Response:
        data = VoucherDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        voucher = vouchers.voucher_decide(
            voucher_id=voucher_id,
            actor=principal_of(request).actor,
            approve=data.validated_data["approve"],
            reason=data.validated_data["reason"],
        )
        return Response(VoucherSerializer(voucher).data)


class IssuerPayouts(IssuerView):
    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=[s.value for s in Payout.State])],
        responses={200: PayoutSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        qs = Payout.objects.filter(order__issuer_code=self.issuer_code).select_related("order")
        qs = filtered_by(request, qs, "state")
        return paged_response(self, request, qs, PayoutSerializer, {})


class PaidInput(serializers.Serializer[Any]):
    reference = serializers.CharField(max_length=64, allow_blank=True)


class IssuerPayoutPaid(IssuerView):
    field_labels = {"reference": "退款流水号"}

    @extend_schema(request=PaidInput, responses={200: PayoutSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = PaidInput(data=request.data)
        data.is_valid(raise_exception=True)
        found = Payout.objects.filter(number=number, order__issuer_code=self.issuer_code).first()
        if found is None:
            raise NotFound("payout_not_found", "退款记录不存在")
        payout = payouts.payout_mark_paid(
            payout_id=found.pk, actor=principal_of(request).actor, reference=data.validated_data["reference"]
        )
        return Response(PayoutSerializer(payout).data)


# --- a bank's push, Stripe's webhook ------------------------------------------------------------


class PushLine(serializers.Serializer[Any]):
    reference = serializers.CharField(max_length=64)
    booked_at = serializers.DateTimeField()
    amount = AmountField(min_value=Decimal("0.01"))
    payer_name = serializers.CharField(max_length=200, allow_blank=True, default="")
    payer_account = serializers.RegexField(r"^[0-9 -]{0,40}$", allow_blank=True, default="")
    payer_bank = serializers.CharField(max_length=200, allow_blank=True, default="")
    remark = serializers.CharField(max_length=500, allow_blank=True, default="")


class PushInput(serializers.Serializer[Any]):
    lines = serializers.ListField(child=PushLine(), allow_empty=False, max_length=5000)


class BankPush(APIView):
    """``POST /api/v1/bank/statement-lines``: a bank pushes credits to a receiving account.

    Headers: ``X-Bank-Key`` (key id), ``X-Bank-Timestamp`` (Unix seconds, within 300 s),
    ``X-Bank-Nonce`` (single use), ``X-Bank-Signature`` = hex HMAC-SHA256 with the key's
    secret over ``timestamp + "\\n" + nonce + "\\n" + hex(sha256(body))``."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [StrictJSONParser]
    field_labels = {"lines": "明细"}

    @extend_schema(request=PushInput, responses={201: ImportSerializer, **ERRORS}, auth=[])
    def post(self, request: Request) -> Response:
        raw = request.body  # read before the parser touches the stream
        key = intake.bank_push_verify(
            key_id=request.headers.get("X-Bank-Key", ""),
            timestamp=request.headers.get("X-Bank-Timestamp", ""),
            nonce=request.headers.get("X-Bank-Nonce", ""),
            signature=request.headers.get("X-Bank-Signature", ""),
            body=raw,
        )
        data = PushInput(data=request.data)
        data.is_valid(raise_exception=True)
        lines = [
            ParsedLine(
                row=i + 1,
                reference=line["reference"],
                booked_at=line["booked_at"],
                amount=line["amount"],
                payer_name=line["payer_name"].strip(),
                payer_account="".join(ch for ch in line["payer_account"] if ch.isdigit()),
                payer_bank=line["payer_bank"].strip(),
                remark=line["remark"].strip(),
                raw={},
            )
            for i, line in enumerate(data.validated_data["lines"])
        ]
        result = intake.statement_lines_store(
            issuer_code=key.issuer_code,
            account_number=key.account_number,
            lines=lines,
            source=StatementImport.Source.PUSH,
            actor=Actor.system(f"银行推送 {key.key_id}"),
        )
        return Response(ImportSerializer(result.statement_import).data, status=status.HTTP_201_CREATED)


class StripeWebhook(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={200: None, 400: None}, auth=[])
    def post(self, request: Request) -> Response:
        try:
            outcome = online.webhook_handle(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
        except online.WebhookRefused as exc:
            return Response(body("bad_signature", f"签名校验失败：{exc}"), status=status.HTTP_400_BAD_REQUEST)
        return Response({"received": True, "outcome": outcome})
