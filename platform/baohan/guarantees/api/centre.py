"""The trading centre's API: push sections and their events, list a section's guarantees, verify one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from baohan.guarantees.api.auth import CredentialAuthentication, IsCentre, principal_of
from baohan.guarantees.api.bidder import ERRORS
from baohan.guarantees.api.common import pack_context
from baohan.guarantees.api.serializers import SectionSerializer
from baohan.guarantees.errors import NotFound
from baohan.guarantees.models import Order
from baohan.guarantees.numbers import AmountField, AsciiIntegerField
from baohan.guarantees.opening import section_guarantees_json
from baohan.guarantees.selectors import (
    GUARANTEE_STATUS_LABELS,
    guarantee_status,
    state_label,
)
from baohan.guarantees.services.refunds import section_bid_opened
from baohan.guarantees.services.sections import section_event_apply, section_upsert
from baohan.sections.models import Section, SectionEvent


class CentreView(APIView):
    authentication_classes = [CredentialAuthentication]
    permission_classes = [IsCentre]


class SectionInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=300)
    project_code = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    project_name = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    project_type = serializers.CharField(max_length=40)
    location = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    deposit_amount = AmountField(min_value=0)
    deposit_deadline = serializers.DateTimeField()
    opening_time = serializers.DateTimeField()
    bid_validity_days = AsciiIntegerField(min_value=1, max_value=3650)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("deposit_deadline", "opening_time"):
            datetime_in_range(attrs[name], name)
        return attrs


def datetime_in_range(value: datetime | None, name: str) -> None:
    if value is not None and not 2000 <= value.year <= 2199:
        raise serializers.ValidationError({name: "时间应在2000年至2199年之间"})


class CentreSection(CentreView):
    field_labels = {
        "name": "标段名称",
        "project_type": "项目类型",
        "deposit_amount": "保证金金额",
        "deposit_deadline": "保证金缴纳截止时间",
        "opening_time": "开标时间",
        "bid_validity_days": "投标有效期",
    }

    @extend_schema(request=SectionInput, responses={200: SectionSerializer, 201: SectionSerializer, **ERRORS})
    def put(self, request: Request, code: str) -> Response:
        if not 1 <= len(code) <= 64:
            raise serializers.ValidationError({"code": "标段编号长度应为1至64个字符"})
        data = SectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        section, created = section_upsert(code=code, values=dict(data.validated_data))
        return Response(
            SectionSerializer(section, context=pack_context(request)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class EventInput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=SectionEvent.Kind.choices)
    event_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    new_opening_time = serializers.DateTimeField(required=False, allow_null=True, default=None)
    new_deposit_deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("occurred_at", "new_opening_time", "new_deposit_deadline"):
            datetime_in_range(attrs.get(name), name)
        return attrs


class CentreSectionEvents(CentreView):
    @extend_schema(
        request=EventInput,
        responses={201: inline_serializer("SectionEventResult", {"replayed": serializers.BooleanField()}), **ERRORS},
    )
    def post(self, request: Request, code: str) -> Response:
        data = EventInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = section_event_apply(
            section_code=code,
            kind=v["kind"],
            actor=principal_of(request).actor,
            event_id=v["event_id"] or None,
            occurred_at=v["occurred_at"],
            new_opening_time=v["new_opening_time"],
            new_deposit_deadline=v["new_deposit_deadline"],
            reason=v["reason"],
        )
        section = result.event.section
        return Response(
            {
                "replayed": result.replayed,
                "orders_touched": result.orders_touched,
                "event": {
                    "kind": result.event.kind,
                    "from_status": result.event.from_status,
                    "to_status": result.event.to_status,
                },
                "bid_opened": section_bid_opened(section),
                "section": SectionSerializer(section, context=pack_context(request)).data,
            },
            status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED,
        )


def guarantee_row(order: Order, pack: Any) -> dict[str, Any]:
    status = guarantee_status(order)
    return {
        "guarantee_number": order.guarantee_number,
        "order_number": order.number,
        "status": status,
        "status_label": GUARANTEE_STATUS_LABELS[status],
        "section_status": order.section.status,
        "state_label": state_label(pack=pack, state=order.state),
        "bidder_name": order.enterprise.name,
        "bidder_uscc": order.enterprise.uscc,
        "section_code": order.section.code,
        "deposit_kind": order.deposit_kind,
        "issuer_code": order.issuer_code,
        "insured_amount": str(order.insured_amount),
        "issued_at": order.issued_at,
        "valid_from": order.valid_from,
        "valid_until": order.valid_until,
    }


class CentreSectionGuarantees(CentreView):
    @extend_schema(
        responses={200: inline_serializer("SectionGuarantees", {"guarantees": serializers.ListField()}), **ERRORS}
    )
    def get(self, request: Request, code: str) -> HttpResponse:
        section = Section.objects.filter(code=code).first()
        if section is None:
            raise NotFound("section_not_found", "标段不存在")
        # Built by PostgreSQL as one JSON array (bid opening: a thousand bidders in one answer).
        rows = section_guarantees_json(section=section, pack=pack_context(request)["pack"])
        body = f'{{"section":{json.dumps(section.code, ensure_ascii=False)},"guarantees":{rows}}}'
        return HttpResponse(body.encode(), content_type="application/json")


class CentreVerify(CentreView):
    @extend_schema(
        responses={200: inline_serializer("GuaranteeVerification", {"status": serializers.CharField()}), **ERRORS}
    )
    def get(self, request: Request, number: str) -> Response:
        order = Order.objects.select_related("section", "enterprise").filter(guarantee_number=number).first()
        if order is None:
            raise NotFound("guarantee_not_found", "保函编号不存在")
        return Response(guarantee_row(order, pack_context(request)["pack"]))
