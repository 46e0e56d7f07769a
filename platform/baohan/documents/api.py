"""Documents over the API: the bidder's documents of an order (what is available now and when
the rest will be) and their download; the trading centre's copy of the plain policy after bid
opening; public verification by guarantee number and code, or by the policy file itself."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from baohan.documents import selectors
from baohan.guarantees.api.bidder import ERRORS, BidderView
from baohan.guarantees.api.centre import CentreView
from baohan.guarantees.api.errors import ErrorSerializer
from baohan.guarantees.errors import InvalidInput, NotFound
from baohan.guarantees.models import Order
from tenants.selectors import pack_in_force

MAX_VERIFY_UPLOAD = 20 * 1024 * 1024

DOCUMENT_OFFER_FIELDS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "kind": serializers.CharField(),
    "label": serializers.CharField(),
    "available": serializers.BooleanField(),
    "available_from": serializers.DateTimeField(allow_null=True),
    "note": serializers.CharField(),
    "state": serializers.ChoiceField(choices=["available", "pending", "later", "unavailable"]),
    "retry_after": serializers.IntegerField(allow_null=True, help_text="Seconds to wait while it is being made."),
    "url": serializers.CharField(allow_null=True),
}
VerificationSerializer = inline_serializer(
    "PublicVerification", {f.name: serializers.CharField() for f in dataclasses.fields(selectors.Verification)}
)


def file_response(content: bytes, filename: str, *, content_type: str = "application/pdf") -> HttpResponse:
    """A private download: never cached, never sniffed."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class OrderDocuments(BidderView):
    @extend_schema(responses={200: inline_serializer("DocumentOffer", DOCUMENT_OFFER_FIELDS, many=True), **ERRORS})
    def get(self, request: Request, number: str) -> Response:
        order = self.order(number)
        pack, _ = pack_in_force()
        offers = selectors.order_documents(order=order, pack=pack)
        return Response(
            [
                {
                    **dataclasses.asdict(offer),
                    "url": f"/api/v1/orders/{order.number}/documents/{offer.kind}" if offer.available else None,
                }
                for offer in offers
            ]
        )


class OrderDocumentFile(BidderView):
    @extend_schema(responses={(200, "application/pdf"): bytes, **ERRORS})
    def get(self, request: Request, number: str, kind: str) -> HttpResponse:
        order = self.order(number)
        pack, _ = pack_in_force()
        content, filename = selectors.policy_file_for_bidder(order=order, pack=pack, kind=kind)
        return file_response(content, filename)


class CentrePolicy(CentreView):
    @extend_schema(responses={(200, "application/pdf"): bytes, **ERRORS})
    def get(self, request: Request, number: str) -> HttpResponse:
        order = Order.objects.select_related("section").filter(guarantee_number=number).first()
        if order is None:
            raise NotFound("guarantee_not_found", "保函编号不存在")
        content, filename = selectors.policy_file_for_centre(order=order)
        return file_response(content, filename)


class VerifyView(APIView):
    """Public: no login; throttled per client (guessing codes is slow); a body larger than
    ``max_body`` is refused before it is read."""

    authentication_classes: list[Any] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "verify"
    max_body = MAX_VERIFY_UPLOAD + 64 * 1024

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        body_refuse_if_larger(request, self.max_body)


def body_refuse_if_larger(request: Request, limit: int) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise InvalidInput("body_too_large", f"请求过大（不超过 {limit // (1024 * 1024)} MB）", field="file")


class GuaranteeVerify(VerifyView):
    @extend_schema(
        parameters=[
            inline_serializer("VerifyQuery", {"number": serializers.CharField(), "code": serializers.CharField()})
        ],
        responses={200: VerificationSerializer, **ERRORS, 429: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        number = request.query_params.get("number", "")
        code = request.query_params.get("code", "")
        if not number.strip():
            raise InvalidInput("required", "请输入保单号", field="number", label="保单号")
        if not code.strip():
            raise InvalidInput("required", "请输入验真码", field="code", label="验真码")
        return Response(dataclasses.asdict(selectors.guarantee_verify(number=number, code=code)))


class DocumentVerify(VerifyView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=inline_serializer("VerifyDocument", {"file": serializers.FileField()}),
        responses={200: VerificationSerializer, **ERRORS, 429: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput("required", "请选择保单文件", field="file", label="保单文件")
        if upload.size is None or upload.size > MAX_VERIFY_UPLOAD:
            raise InvalidInput("file_too_large", "文件过大（不超过 20 MB）", field="file", label="保单文件")
        return Response(dataclasses.asdict(selectors.document_verify(content=upload.read())))
