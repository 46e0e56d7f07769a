"""The bidder's API: sections, the catalogue, orders, refunds, invoices, after-sales, uploads."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from baohan.guarantees.api.auth import IsAccount, IsBidder, account_of, bidder_actor, operator_of
from baohan.guarantees.api.common import client_ip, order_response, pack_context, paged_response
from baohan.guarantees.api.errors import ErrorSerializer
from baohan.guarantees.api.parsers import StrictJSONParser
from baohan.guarantees.api.serializers import (
    AfterSalesSerializer,
    FormFieldSerializer,
    InvoiceAddressSerializer,
    InvoiceSerializer,
    InvoiceTitleSerializer,
    OrderDetailSerializer,
    OrderListSerializer,
    RefundSerializer,
    SectionSerializer,
)
from baohan.guarantees.errors import InvalidInput, NotFound
from baohan.guarantees.models import AfterSalesRequest, Operator, Order, Refund
from baohan.guarantees.quotes import quote_for_issuer
from baohan.guarantees.selectors import order_get_for_enterprise, order_list_for_enterprise
from baohan.guarantees.services import aftersales, invoices, orders, refunds, uploads
from baohan.identity.services import logins
from baohan.rulepacks.fields import CANONICAL_FIELDS
from baohan.rulepacks.models import LoginMethod, OrderState, RefundTrigger
from baohan.sections.models import Section
from baohan.sections.selectors import section_search

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class BidderView(APIView):
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsBidder]

    def order(self, number: str) -> Order:
        found = order_get_for_enterprise(enterprise=operator_of(self.request).enterprise, number=number)
        if found is None:
            raise NotFound("order_not_found", "订单不存在")
        return found


class TokenInput(serializers.Serializer[Any]):
    phone = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    username = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    password = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    handoff_token = serializers.CharField(max_length=8000, required=False, allow_blank=True, default="")
    nonce = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    certificate = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
    signature = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    intermediates = serializers.ListField(
        child=serializers.CharField(max_length=20000), required=False, default=list, max_length=5
    )


class TokenLogin(APIView):
    """A bidder's API token for this centre, by a login the centre's pack offers: phone (or user
    name) and password where it offers password login; the trading platform's hand-off token
    (``handoff_token``) where it offers the hand-off; a CA-key signature of a challenge from
    ``POST /auth/ca-challenge`` (``nonce``, ``certificate``, ``signature``) where it offers CA keys.
    Any other way is refused with ``login_method_not_offered``."""

    authentication_classes: list[type[Any]] = []
    permission_classes = [AllowAny]
    parser_classes = [StrictJSONParser, FormParser, MultiPartParser]  # curl -d phone=… -d password=… too
    field_labels = {"phone": "手机号码", "username": "用户名", "password": "密码", "handoff_token": "登录凭证"}

    @extend_schema(
        request=TokenInput,
        responses={
            200: inline_serializer(
                "TokenOut", {"token": serializers.CharField(), "login_method": serializers.CharField()}
            ),
            **ERRORS,
            429: ErrorSerializer,
        },
        operation_id="auth_token_create",
    )
    def post(self, request: Request) -> Response:
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v["handoff_token"]:
            user = logins.handoff_account_take(claims=logins.handoff_verify(token=v["handoff_token"]))
            method = LoginMethod.PLATFORM_HANDOFF
        elif v["certificate"] or v["nonce"] or v["signature"]:
            user = self._ca_user(v)
            method = LoginMethod.CA_KEY
        elif v["phone"] or v["username"] or v["password"]:
            user = logins.password_login_for_token(
                request=request._request, login=v["phone"] or v["username"], password=v["password"]
            )
            method = LoginMethod.PASSWORD
        else:
            raise InvalidInput("required", "请提供手机号码和密码、交易平台登录凭证或CA证书签名", field="phone")
        token = logins.api_token_for(user=user, method=method)
        return Response({"token": token, "login_method": method.value})

    @staticmethod
    def _ca_user(v: dict[str, Any]) -> Any:
        for name, label in (("nonce", "登录请求"), ("certificate", "证书"), ("signature", "签名")):
            if not v[name]:
                raise InvalidInput("required", f"请提供{label}", field=name, label=label)
        try:
            signature = base64.b64decode(v["signature"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput("invalid", "签名应为Base64编码", field="signature", label="签名") from exc
        identity = logins.ca_login_verify(
            nonce=v["nonce"], certificate=v["certificate"], signature=signature, intermediates=list(v["intermediates"])
        )
        return logins.ca_account_take(identity=identity)


class CaChallenge(APIView):
    """A challenge for a CA-key token login (where the pack offers CA keys): sign ``challenge``
    with the enterprise key, then ``POST /auth/token`` with the nonce, certificate and signature."""

    authentication_classes: list[type[Any]] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                "CaChallengeOut",
                {
                    "nonce": serializers.CharField(),
                    "challenge": serializers.CharField(),
                    "expires_at": serializers.DateTimeField(),
                },
            ),
            **ERRORS,
        },
        operation_id="auth_ca_challenge_create",
    )
    def post(self, request: Request) -> Response:
        row = logins.ca_nonce_issue()
        return Response(
            {"nonce": row.nonce, "challenge": logins.ca_challenge_text(nonce=row.nonce), "expires_at": row.expires_at},
            status=status.HTTP_201_CREATED,
        )


# --- sections and the catalogue (readable without logging in) ------------------------------------


class SectionList(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="标段名称或编号"),
            OpenApiParameter("project_type", str),
            OpenApiParameter("status", str, enum=[s.value for s in Section.Status]),
            OpenApiParameter("location", str),
            OpenApiParameter("page", int),
        ],
        responses={200: SectionSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        params = {key: request.query_params.get(key, "").strip() for key in ("q", "project_type", "status", "location")}
        return paged_response(self, request, section_search(**params), SectionSerializer, pack_context(request))


class SectionDetail(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: SectionSerializer, **ERRORS})
    def get(self, request: Request, code: str) -> Response:
        section = Section.objects.filter(code=code).first()
        if section is None:
            raise NotFound("section_not_found", "标段不存在")
        return Response(SectionSerializer(section, context=pack_context(request)).data)


class Catalogue(APIView):
    """What this centre offers: deposit kinds, guarantee kinds, the issuer panel, how issuers are
    chosen, the consents asked for and the application form in the centre's words."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: inline_serializer("Catalogue", {"products": serializers.DictField()}), **ERRORS})
    def get(self, request: Request) -> Response:
        pack = pack_context(request)["pack"]
        form = []
        for f in pack.forms.application:
            canonical = CANONICAL_FIELDS[f.name]
            form.append(
                {
                    "name": f.name,
                    "label": f.label,
                    "kind": canonical.kind.value,
                    "source": canonical.source.value,
                    "required": f.required,
                    "hint": f.hint,
                    "choices": [c.model_dump() for c in f.choices] if f.choices else None,
                    "max_mb": f.upload.max_mb if f.upload else None,
                    "types": [t.value for t in f.upload.types] if f.upload else None,
                }
            )
        return Response(
            {
                "products": {
                    "deposit_kinds": [d.model_dump(mode="json") for d in pack.products.deposit_kinds],
                    "issuer_kinds": [k.model_dump(mode="json") for k in pack.products.issuer_kinds],
                },
                "issuer_choice": {
                    "mode": pack.issuer_choice.mode.value,
                    "platform_label": pack.issuer_choice.platform_label,
                    "max_selected": pack.issuer_choice.max_selected,
                },
                "issuers": [
                    {
                        "code": i.code,
                        "name": i.name,
                        "short_name": i.short_name,
                        "kind": i.kind.value,
                        "rate": str(i.rate),
                        "minimum_premium": str(i.minimum_premium),
                        "deposit_kinds": [k.value for k in i.deposit_kinds],
                        "documents": [d.model_dump() for d in i.documents],
                    }
                    for i in pack.issuers
                ],
                "consents": [c.model_dump() for c in pack.issuer_choice.consents],
                "application_form": FormFieldSerializer(form, many=True).data,
                "notices": list(pack.forms.notices),
                "refund_form": [
                    {"name": f.name, "label": f.label, "required": f.required} for f in pack.forms.refund_account
                ],
                "after_sales": [c.model_dump(mode="json") for c in pack.after_sales],
            }
        )


# --- quote and orders ------------------------------------------------------------------------------


class QuoteInput(serializers.Serializer[Any]):
    section = serializers.CharField(max_length=64)
    deposit_kind = serializers.CharField(max_length=20)
    issuer_kind = serializers.CharField(max_length=20)


class QuoteView(BidderView):
    """Reference premiums for a section, one per issuer that could underwrite it."""

    @extend_schema(
        request=QuoteInput, responses={200: inline_serializer("Quotes", {"quotes": serializers.ListField()}), **ERRORS}
    )
    def post(self, request: Request) -> Response:
        data = QuoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        pack = pack_context(request)["pack"]
        section = Section.objects.filter(code=data.validated_data["section"]).first()
        if section is None:
            raise NotFound("section_not_found", "标段不存在")
        if data.validated_data["deposit_kind"] not in {d.kind.value for d in pack.products.deposit_kinds}:
            raise serializers.ValidationError({"deposit_kind": "本中心不提供该保证金类型"})
        if data.validated_data["issuer_kind"] not in {k.kind.value for k in pack.products.issuer_kinds}:
            raise serializers.ValidationError({"issuer_kind": "本中心不提供该保函类型"})
        panel = orders.issuer_panel(
            pack=pack, deposit_kind=data.validated_data["deposit_kind"], issuer_kind=data.validated_data["issuer_kind"]
        )
        quotes = []
        for issuer in panel:
            q = quote_for_issuer(insured_amount=section.deposit_amount, issuer=issuer)
            quotes.append(
                {
                    "issuer_code": issuer.code,
                    "issuer_name": issuer.name,
                    "insured_amount": str(q.insured_amount),
                    "rate": str(q.rate),
                    "premium": str(q.premium),
                    "minimum_applied": q.minimum_applied,
                }
            )
        return Response({"section": section.code, "quotes": quotes})


class OrderCreateInput(serializers.Serializer[Any]):
    section = serializers.CharField(max_length=64, help_text="标段编号")
    deposit_kind = serializers.CharField(max_length=20)
    issuer_kind = serializers.CharField(max_length=20)
    issuer_codes = serializers.ListField(child=serializers.CharField(max_length=40), default=list, max_length=20)
    form = serializers.DictField(default=dict, help_text="Canonical field name → value, as the catalogue lists them.")


class OrderList(BidderView):
    field_labels = {
        "section": "标段",
        "deposit_kind": "保证金类型",
        "issuer_kind": "保函类型",
        "issuer_codes": "出函机构",
    }

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="订单编号、标段或保函编号"),
            OpenApiParameter("state", str, enum=[s.value for s in OrderState]),
            OpenApiParameter("page", int),
        ],
        responses={200: OrderListSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        qs = order_list_for_enterprise(
            enterprise=operator_of(request).enterprise,
            search=request.query_params.get("q", "").strip(),
            state=request.query_params.get("state", "").strip(),
        )
        return paged_response(self, request, qs, OrderListSerializer, pack_context(request))

    @extend_schema(request=OrderCreateInput, responses={201: OrderDetailSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        data = OrderCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        order = orders.order_create(
            operator=operator_of(request),
            section_code=v["section"],
            deposit_kind=v["deposit_kind"],
            issuer_kind=v["issuer_kind"],
            issuer_codes=v["issuer_codes"],
            form=v["form"],
        )
        return order_response(request, order, status.HTTP_201_CREATED)


class OrderDetail(BidderView):
    @extend_schema(responses={200: OrderDetailSerializer, **ERRORS})
    def get(self, request: Request, number: str) -> Response:
        return order_response(request, self.order(number))


class OperatorCheckInput(serializers.Serializer[Any]):
    operator_phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    captcha = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")
    sms_code = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")


class SubmitInput(serializers.Serializer[Any]):
    consents = serializers.ListField(child=serializers.CharField(max_length=40), default=list, max_length=20)


class OrderSubmit(BidderView):
    field_labels = {"consents": "同意项"}

    @extend_schema(request=SubmitInput, responses={200: OrderDetailSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = SubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        order = orders.order_submit(
            order_id=self.order(number).pk,
            actor=bidder_actor(request),
            consents=v["consents"],
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        return order_response(request, order)


class OrderAbandon(BidderView):
    @extend_schema(request=OperatorCheckInput, responses={200: OrderDetailSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = OperatorCheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        order = orders.order_abandon(
            order_id=self.order(number).pk,
            actor=bidder_actor(request),
            operator_phone=v["operator_phone"],
            codes={"captcha": v["captcha"], "sms_code": v["sms_code"]},
        )
        return order_response(request, order)


class ReasonInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OrderCancel(BidderView):
    @extend_schema(request=ReasonInput, responses={200: OrderDetailSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = orders.order_cancel(
            order_id=self.order(number).pk,
            actor=bidder_actor(request),
            reason=data.validated_data["reason"] or "投保人取消",
        )
        return order_response(request, order)


# --- refunds ------------------------------------------------------------------------------------------

TRIGGERS = [t.value for t in RefundTrigger]


class RefundEligibilityView(BidderView):
    @extend_schema(
        parameters=[OpenApiParameter("trigger", str, enum=TRIGGERS)],
        responses={200: inline_serializer("RefundEligibility", {"allowed": serializers.BooleanField()}), **ERRORS},
    )
    def get(self, request: Request, number: str) -> Response:
        order = self.order(number)
        raw = request.query_params.get("trigger", "")
        if raw and raw not in TRIGGERS:
            raise serializers.ValidationError({"trigger": f"可选值：{'、'.join(TRIGGERS)}"})
        decision = refunds.refund_eligibility(order=order, trigger=RefundTrigger(raw) if raw else None)
        return Response(
            {
                "allowed": decision.allowed
                and order.state == OrderState.ISSUED
                and not order.refunds.exclude(state=Refund.State.REFUSED).exists(),
                "order_state": order.state,
                "trigger": decision.trigger.value,
                "section_status": decision.section_status.value,
                "bid_opened": decision.bid_opened,
                "rule_code": decision.rule_code,
                "rule_text": decision.rule_text,
                "rule_pack_version": decision.version,
            }
        )


class RefundInput(serializers.Serializer[Any]):
    trigger = serializers.ChoiceField(choices=TRIGGERS, required=False)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefundRequestView(BidderView):
    field_labels = {"trigger": "退保原因类型", "reason": "退保原因"}

    @extend_schema(request=RefundInput, responses={201: RefundSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = RefundInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        refund = refunds.refund_request(
            order_id=self.order(number).pk,
            actor=bidder_actor(request),
            trigger=RefundTrigger(v["trigger"]) if v.get("trigger") else None,
            reason_text=v["reason"],
        )
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class RefundList(BidderView):
    @extend_schema(responses={200: RefundSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        qs = Refund.objects.filter(order__enterprise=operator_of(request).enterprise).select_related("order")
        return paged_response(self, request, qs, RefundSerializer, {})


class RefundAccountView(BidderView):
    @extend_schema(
        request=inline_serializer("RefundAccount", {"account_name": serializers.CharField()}),
        responses={200: RefundSerializer, **ERRORS},
    )
    def post(self, request: Request, number: str) -> Response:
        refund = Refund.objects.filter(number=number, order__enterprise=operator_of(request).enterprise).first()
        if refund is None:
            raise NotFound("refund_not_found", "退保申请不存在")
        values = request.data if isinstance(request.data, dict) else {}
        refund = refunds.refund_account_confirm(refund_id=refund.pk, actor=bidder_actor(request), values=dict(values))
        return Response(RefundSerializer(refund).data)


# --- invoices -----------------------------------------------------------------------------------------


class InvoiceEligibilityView(BidderView):
    @extend_schema(
        responses={200: inline_serializer("InvoiceEligibility", {"allowed": serializers.BooleanField()}), **ERRORS}
    )
    def get(self, request: Request, number: str) -> Response:
        result = invoices.invoice_eligibility(order=self.order(number))
        return Response({"allowed": result.allowed, "reason": result.reason, "rule_pack_version": result.version})


class InvoiceRequestView(BidderView):
    @extend_schema(
        request=inline_serializer("InvoiceRequest", {"form": serializers.CharField(), "type": serializers.CharField()}),
        responses={201: InvoiceSerializer, **ERRORS},
    )
    def post(self, request: Request, number: str) -> Response:
        values = request.data if isinstance(request.data, dict) else {}
        invoice = invoices.invoice_request(
            order_id=self.order(number).pk, actor=bidder_actor(request), values=dict(values)
        )
        return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)


class InvoiceTitles(BidderView):
    @extend_schema(responses={200: InvoiceTitleSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        return Response(InvoiceTitleSerializer(operator_of(request).enterprise.invoice_titles.all(), many=True).data)

    @extend_schema(request=InvoiceTitleSerializer, responses={201: InvoiceTitleSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        values = request.data if isinstance(request.data, dict) else {}
        title = invoices.invoice_title_save(enterprise=operator_of(request).enterprise, values=dict(values))
        return Response(InvoiceTitleSerializer(title).data, status=status.HTTP_201_CREATED)


class InvoiceAddresses(BidderView):
    @extend_schema(responses={200: InvoiceAddressSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        return Response(
            InvoiceAddressSerializer(operator_of(request).enterprise.invoice_addresses.all(), many=True).data
        )

    @extend_schema(
        request=inline_serializer(
            "InvoiceAddressInput",
            {
                "recipient": serializers.CharField(),
                "recipient_phone": serializers.CharField(),
                "recipient_address": serializers.CharField(),
            },
        ),
        responses={201: InvoiceAddressSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        values = request.data if isinstance(request.data, dict) else {}
        address = invoices.invoice_address_save(enterprise=operator_of(request).enterprise, values=dict(values))
        return Response(InvoiceAddressSerializer(address).data, status=status.HTTP_201_CREATED)


# --- after-sales --------------------------------------------------------------------------------------


class AfterSalesInput(serializers.Serializer[Any]):
    category = serializers.CharField(max_length=40)
    description = serializers.CharField(max_length=1000)


class OrderAfterSales(BidderView):
    field_labels = {"category": "售后类型", "description": "问题描述"}

    @extend_schema(request=AfterSalesInput, responses={201: AfterSalesSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = AfterSalesInput(data=request.data)
        data.is_valid(raise_exception=True)
        item = aftersales.after_sales_open(
            order_id=self.order(number).pk,
            actor=bidder_actor(request),
            category=data.validated_data["category"],
            description=data.validated_data["description"],
        )
        return Response(AfterSalesSerializer(item).data, status=status.HTTP_201_CREATED)


class AfterSalesList(BidderView):
    @extend_schema(responses={200: AfterSalesSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        qs = AfterSalesRequest.objects.filter(order__enterprise=operator_of(request).enterprise).select_related("order")
        return paged_response(self, request, qs, AfterSalesSerializer, {})


# --- uploads ------------------------------------------------------------------------------------------


class UploadView(BidderView):
    permission_classes = [IsAccount]
    parser_classes = [MultiPartParser, FormParser, StrictJSONParser]
    field_labels = {"purpose": "用途", "file": "文件"}

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "UploadInput", {"purpose": serializers.CharField(), "file": serializers.FileField()}
            )
        },
        responses={201: inline_serializer("Upload", {"id": serializers.UUIDField()}), **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data: Any = request.data
        purpose = data.get("purpose", "") if hasattr(data, "get") else ""
        user = account_of(request)
        operator = Operator.objects.filter(user=user).select_related("enterprise").first()
        upload = uploads.upload_store(
            enterprise=operator.enterprise if operator else None,
            owner=user,
            purpose=purpose if isinstance(purpose, str) else "",
            file=request.FILES.get("file"),
        )
        return Response(
            {"id": str(upload.id), "purpose": upload.purpose, "size": upload.size, "content_type": upload.content_type},
            status=status.HTTP_201_CREATED,
        )
