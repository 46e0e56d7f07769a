"""Identity endpoints of ``/api/v1/``: captcha, SMS codes for operator checks, 企业信息认证 for
bidders, and the centre's review queue."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from baohan.guarantees.api.auth import CredentialAuthentication, IsAccount, IsCentre, account_of, principal_of
from baohan.guarantees.api.bidder import ERRORS as BIDDER_ERRORS
from baohan.guarantees.api.common import paged_response
from baohan.guarantees.api.errors import ErrorSerializer
from baohan.guarantees.api.serializers import MaskedField
from baohan.guarantees.errors import InvalidInput, NotFound
from baohan.guarantees.models import Operator
from baohan.identity.fields import mask_phone
from baohan.identity.models import EnterpriseVerification, SmsCode
from baohan.identity.services.humans import captcha_new, captcha_verify
from baohan.identity.services.sms import operator_sms_code_issue
from baohan.identity.services.verification import (
    enterprise_verification_review,
    enterprise_verification_submit,
    verification_latest,
)

ERRORS = {**BIDDER_ERRORS, 429: ErrorSerializer}
# Codes a bidder may ask for through the API; each goes to the operator's phone on record.
OPERATOR_PURPOSES = [SmsCode.Purpose.APPLICATION, SmsCode.Purpose.ABANDON, SmsCode.Purpose.REFUND_ACCOUNT]


class CaptchaView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        request=None,
        responses={
            201: inline_serializer("Captcha", {"key": serializers.CharField(), "image_url": serializers.CharField()})
        },
        operation_id="captcha_create",
    )
    def post(self, request: Request) -> Response:
        """A new image captcha (图形验证码): show ``image_url``, send back ``key`` and the answer once."""
        key, url = captcha_new()
        return Response({"key": key, "image_url": request.build_absolute_uri(url)}, status=status.HTTP_201_CREATED)


class SmsCodeInput(serializers.Serializer[Any]):
    purpose = serializers.ChoiceField(choices=[(p.value, p.label) for p in OPERATOR_PURPOSES])
    captcha_key = serializers.CharField(max_length=64)
    captcha = serializers.CharField(max_length=10)
    phone = serializers.CharField(
        max_length=11, required=False, allow_blank=True, default="", help_text="Only when no phone is on record yet."
    )


class SmsCodeView(APIView):
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAccount]
    field_labels = {"purpose": "用途", "captcha_key": "图形验证码", "captcha": "图形验证码"}

    @extend_schema(
        request=SmsCodeInput,
        responses={
            201: inline_serializer(
                "SmsCodeSent", {"phone": serializers.CharField(), "expires_at": serializers.DateTimeField()}
            ),
            **ERRORS,
        },
        operation_id="sms_code_create",
    )
    def post(self, request: Request) -> Response:
        """Send an SMS code to the operator's phone on record, after the image captcha; for the
        operator checks the pack asks for (submitting, abandoning, confirming a refund account).
        Limited per centre, phone and purpose, and per client address (429 ``sms_too_soon``,
        ``sms_hourly_cap``, ``sms_client_cap``, ``sms_phone_cap``)."""
        data = SmsCodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        captcha_verify(key=v["captcha_key"], answer=v["captcha"])
        operator = Operator.objects.filter(user=account_of(request)).first()
        code = operator_sms_code_issue(
            operator=operator, phone=v["phone"], purpose=v["purpose"], client=BaseThrottle().get_ident(request)
        )
        return Response(
            {"phone": mask_phone(code.phone), "expires_at": code.expires_at}, status=status.HTTP_201_CREATED
        )


class VerificationSerializer(serializers.ModelSerializer[EnterpriseVerification]):
    state_label = serializers.CharField(source="get_state_display")
    legal_rep_id_number = MaskedField(read_only=True)
    licence = serializers.UUIDField(source="licence_id", read_only=True)

    class Meta:
        model = EnterpriseVerification
        fields = [
            "id",
            "state",
            "state_label",
            "enterprise_name",
            "uscc",
            "legal_rep_name",
            "legal_rep_id_type",
            "legal_rep_id_number",
            "licence",
            "details",
            "reason",
            "submitted_at",
            "reviewed_at",
        ]


class EnterpriseVerificationView(APIView):
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAccount]

    @extend_schema(responses={200: VerificationSerializer, **ERRORS}, operation_id="enterprise_verification_retrieve")
    def get(self, request: Request) -> Response:
        """The bidder's latest 企业信息认证 request and its state."""
        latest = verification_latest(user=account_of(request))
        if latest is None:
            raise NotFound("verification_not_found", "尚未提交企业认证")
        return Response(VerificationSerializer(latest).data)

    @extend_schema(
        request=inline_serializer("VerificationInput", {"form": serializers.DictField()}),
        responses={201: VerificationSerializer, **ERRORS},
        operation_id="enterprise_verification_create",
    )
    def post(self, request: Request) -> Response:
        """Submit 企业信息认证: the pack's enterprise form by canonical names; the business licence
        is an upload id (``POST /uploads`` with purpose ``business_licence``)."""
        form = request.data.get("form") if isinstance(request.data, dict) else None
        if not isinstance(form, dict):
            raise InvalidInput("invalid", "form 应为对象", field="form")
        verification = enterprise_verification_submit(user=account_of(request), values=form)
        return Response(VerificationSerializer(verification).data, status=status.HTTP_201_CREATED)


class CentreVerificationList(APIView):
    authentication_classes = [CredentialAuthentication]
    permission_classes = [IsCentre]

    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=[s.value for s in EnterpriseVerification.State])],
        responses={200: VerificationSerializer(many=True), **ERRORS},
        operation_id="centre_enterprise_verification_list",
    )
    def get(self, request: Request) -> Response:
        """The review queue: 企业信息认证 requests, oldest pending first."""
        state = request.query_params.get("state", EnterpriseVerification.State.PENDING)
        if state not in EnterpriseVerification.State.values:
            raise InvalidInput("invalid", "state 取值无效", field="state")
        rows = EnterpriseVerification.objects.filter(state=state).order_by("submitted_at", "id")
        return paged_response(self, request, rows, VerificationSerializer, {})


class ReviewInput(serializers.Serializer[Any]):
    approve = serializers.BooleanField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CentreVerificationReview(APIView):
    authentication_classes = [CredentialAuthentication]
    permission_classes = [IsCentre]
    field_labels = {"approve": "审核结果", "reason": "审核意见"}

    @extend_schema(
        request=ReviewInput,
        responses={200: VerificationSerializer, **ERRORS},
        operation_id="centre_enterprise_verification_review",
    )
    def post(self, request: Request, pk: int) -> Response:
        """Approve or reject (with a reason) one request."""
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        verification = enterprise_verification_review(
            verification_id=pk,
            approve=v["approve"],
            reason=v["reason"],
            actor_kind="centre",
            actor_label=principal_of(request).actor.label,
        )
        return Response(VerificationSerializer(verification).data)
