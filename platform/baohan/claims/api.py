"""Claims over the API: filed by the trading centre (its credential) or by the tenderee (the
guarantee number and its verification code), decided and paid by the issuer, seen by the
bidder on the order."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from baohan.claims.models import Claim, ClaimEvidence
from baohan.claims.selectors import claim_list, claim_overdue
from baohan.claims.services import claim_file, claim_move
from baohan.documents.api import VerifyView, file_response
from baohan.documents.selectors import policy_by_code
from baohan.guarantees.api.auth import principal_of
from baohan.guarantees.api.bidder import ERRORS, BidderView
from baohan.guarantees.api.centre import CentreView
from baohan.guarantees.api.common import paged_response
from baohan.guarantees.api.errors import ErrorSerializer
from baohan.guarantees.api.issuer import IssuerView
from baohan.guarantees.api.parsers import StrictJSONParser
from baohan.guarantees.errors import NotFound
from baohan.guarantees.models import Order
from baohan.guarantees.states import Actor, ActorKind


class ClaimSerializer(serializers.ModelSerializer[Claim]):
    guarantee_number = serializers.CharField(source="order.guarantee_number")
    state_label = serializers.CharField(source="get_state_display")
    claimant_kind_label = serializers.CharField(source="get_claimant_kind_display")
    evidence = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Claim
        fields = [
            "number",
            "guarantee_number",
            "state",
            "state_label",
            "claimant_kind",
            "claimant_kind_label",
            "claimant_name",
            "claimant_contact",
            "reason",
            "amount",
            "decide_by",
            "pay_by",
            "decision_reason",
            "paid_reference",
            "created_at",
            "decided_at",
            "paid_at",
            "evidence",
            "overdue",
        ]

    def get_overdue(self, claim: Claim) -> bool:
        """Past the pack's limit for the step it waits on (acceptance, then payment)."""
        return claim_overdue(claim)

    def get_evidence(self, claim: Claim) -> list[dict[str, Any]]:
        return [
            {"id": e.pk, "name": e.original_name, "content_type": e.content_type, "size": e.size, "sha256": e.sha256}
            for e in claim.evidence.all()
        ]


class ClaimInput(serializers.Serializer[Any]):
    claimant_name = serializers.CharField(max_length=200)
    claimant_contact = serializers.CharField(max_length=100)
    reason = serializers.CharField(max_length=1000)
    amount = serializers.CharField(max_length=20)


class TendereeClaimInput(ClaimInput):
    number = serializers.CharField(max_length=40)
    code = serializers.CharField(max_length=12)


CLAIM_LABELS = {
    "claimant_name": "索赔人",
    "claimant_contact": "联系方式",
    "reason": "索赔原因",
    "amount": "索赔金额",
    "number": "保单号",
    "code": "验真码",
}


def _file(request: Request, data: dict[str, Any], order: Order, actor: Actor) -> Response:
    claim = claim_file(
        order=order,
        actor=actor,
        claimant_name=data["claimant_name"],
        claimant_contact=data["claimant_contact"],
        reason=data["reason"],
        amount=data["amount"],
        files=request.FILES.getlist("files"),
    )
    return Response(ClaimSerializer(claim).data, status=status.HTTP_201_CREATED)


class CentreClaims(CentreView):
    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]
    field_labels = CLAIM_LABELS

    @extend_schema(request=ClaimInput, responses={201: ClaimSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        order = Order.objects.select_related("section").filter(guarantee_number=number).first()
        if order is None:
            raise NotFound("guarantee_not_found", "保函编号不存在")
        data = ClaimInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _file(request, dict(data.validated_data), order, principal_of(request).actor)

    @extend_schema(responses={200: ClaimSerializer(many=True), **ERRORS})
    def get(self, request: Request, number: str) -> Response:
        claims = claim_list().filter(order__guarantee_number=number)
        return Response(ClaimSerializer(claims, many=True).data)


class TendereeClaims(VerifyView):
    """The tenderee files with what it holds: the policy's number and verification code."""

    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]
    field_labels = CLAIM_LABELS
    max_body = 60 * 1024 * 1024  # the pack allows at most 20 files of 50 MB; a tenderee's claim far less

    @extend_schema(request=TendereeClaimInput, responses={201: ClaimSerializer, **ERRORS, 429: ErrorSerializer})
    def post(self, request: Request) -> Response:
        data = TendereeClaimInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        policy = policy_by_code(number=str(values["number"]), code=str(values["code"]))
        actor = Actor(ActorKind.TENDEREE, "", str(values["claimant_name"])[:100])
        return _file(request, values, policy.order, actor)


class BidderClaims(BidderView):
    @extend_schema(responses={200: ClaimSerializer(many=True), **ERRORS})
    def get(self, request: Request, number: str) -> Response:
        order = self.order(number)
        return Response(ClaimSerializer(claim_list().filter(order=order), many=True).data)


class IssuerClaims(IssuerView):
    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=[s.value for s in Claim.State])],
        responses={200: ClaimSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        claims = claim_list(issuer_code=self.issuer_code, state=request.query_params.get("state", "").strip())
        return paged_response(self, request, claims, ClaimSerializer, {})


class ClaimDecisionInput(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["accept", "reject", "pay"])
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class IssuerClaimAction(IssuerView):
    field_labels = {"action": "操作", "reason": "原因", "reference": "赔付流水号"}

    @extend_schema(request=ClaimDecisionInput, responses={200: ClaimSerializer, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        data = ClaimDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        claim = claim_move(
            number=number,
            name=data.validated_data["action"],
            actor=principal_of(request).actor,
            reason=data.validated_data["reason"],
            reference=data.validated_data["reference"],
        )
        return Response(ClaimSerializer(claim).data)


class IssuerClaimEvidence(IssuerView):
    """A supporting file of a claim on one of this issuer's guarantees."""

    @extend_schema(responses={(200, "application/octet-stream"): bytes, **ERRORS})
    def get(self, request: Request, number: str, evidence_id: int) -> HttpResponse:
        item = (
            ClaimEvidence.objects.select_related("claim__order")
            .filter(pk=evidence_id, claim__number=number, claim__order__issuer_code=self.issuer_code)
            .first()
        )
        if item is None:
            raise NotFound("evidence_not_found", "证明材料不存在")
        with item.file.open("rb") as handle:
            content = handle.read()
        suffix = str(item.file.name).rsplit(".", 1)[-1]
        return file_response(content, f"evidence-{item.pk}.{suffix}", content_type=item.content_type)
