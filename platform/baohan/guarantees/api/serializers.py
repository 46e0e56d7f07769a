"""Output shapes of the API. Labels come from the pack in force, so each centre speaks its own words."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from baohan.guarantees.models import AfterSalesRequest, Invoice, InvoiceAddress, InvoiceTitle, Order, Refund
from baohan.guarantees.selectors import state_label
from baohan.identity.fields import mask_tail
from baohan.rulepacks.fields import CANONICAL_FIELDS, FieldSource
from baohan.rulepacks.models import RulePack
from baohan.sections.models import Section

Ser = serializers.Serializer


class MaskedField(serializers.CharField):
    """An ID or bank account number: shown with all but its last four characters masked."""

    def to_representation(self, value: Any) -> str:
        return mask_tail(str(value) if value is not None else "")


def _pack(serializer: serializers.BaseSerializer[Any]) -> RulePack:
    pack = serializer.context.get("pack")
    assert isinstance(pack, RulePack), "views pass the pack in force in the serializer context"
    return pack


class SectionSerializer(serializers.ModelSerializer[Section]):
    project_type_label = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = Section
        fields = [
            "code",
            "name",
            "project_code",
            "project_name",
            "project_type",
            "project_type_label",
            "location",
            "deposit_amount",
            "deposit_deadline",
            "opening_time",
            "postponed_from",
            "opened_at",
            "bid_validity_days",
            "status",
            "status_label",
        ]

    def get_project_type_label(self, section: Section) -> str:
        return {pt.code: pt.label for pt in _pack(self).sections.project_types}.get(
            section.project_type, section.project_type
        )


class OrderListSerializer(serializers.ModelSerializer[Order]):
    section_code = serializers.CharField(source="section.code")
    section_name = serializers.CharField(source="section.name")
    state_label = serializers.SerializerMethodField()
    issuer_name = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "number",
            "section_code",
            "section_name",
            "deposit_kind",
            "issuer_kind",
            "issuer_code",
            "issuer_name",
            "state",
            "state_label",
            "insured_amount",
            "rate",
            "premium",
            "payable_amount",
            "guarantee_number",
            "created_at",
            "submitted_at",
            "issued_at",
        ]

    def get_state_label(self, order: Order) -> str:
        return state_label(pack=_pack(self), state=order.state)

    def get_issuer_name(self, order: Order) -> str:
        return {i.code: i.name for i in _pack(self).issuers}.get(order.issuer_code, order.issuer_code)


class RefundSerializer(serializers.ModelSerializer[Refund]):
    order_number = serializers.CharField(source="order.number")
    account_number = MaskedField(read_only=True)
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = Refund
        fields = [
            "number",
            "order_number",
            "state",
            "state_label",
            "trigger",
            "reason_text",
            "section_status",
            "bid_opened",
            "rule_code",
            "rule_text",
            "rule_pack_version",
            "amount",
            "account_name",
            "account_number",
            "bank_name",
            "review_reason",
            "created_at",
            "refunded_at",
        ]


class InvoiceSerializer(serializers.ModelSerializer[Invoice]):
    order_number = serializers.CharField(source="order.number")
    state_label = serializers.CharField(source="get_state_display")
    bank_account = MaskedField(read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "order_number",
            "form",
            "type",
            "state",
            "state_label",
            "amount",
            "title",
            "taxpayer_id",
            "registered_address",
            "registered_phone",
            "bank_name",
            "bank_account",
            "email",
            "recipient",
            "recipient_phone",
            "recipient_address",
            "invoice_number",
            "carrier",
            "tracking_number",
            "created_at",
            "issued_at",
        ]


class InvoiceTitleSerializer(serializers.ModelSerializer[InvoiceTitle]):
    bank_account = MaskedField(read_only=True)

    class Meta:
        model = InvoiceTitle
        fields = ["id", "title", "taxpayer_id", "registered_address", "registered_phone", "bank_name", "bank_account"]


class InvoiceAddressSerializer(serializers.ModelSerializer[InvoiceAddress]):
    class Meta:
        model = InvoiceAddress
        fields = ["id", "recipient", "phone", "address"]


class AfterSalesSerializer(serializers.ModelSerializer[AfterSalesRequest]):
    order_number = serializers.CharField(source="order.number")
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = AfterSalesRequest
        fields = [
            "id",
            "order_number",
            "category",
            "kind",
            "description",
            "state",
            "state_label",
            "resolution",
            "created_at",
        ]


class EventSerializer(Ser[Any]):
    subject = serializers.CharField()
    transition = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor_kind = serializers.CharField()
    actor_label = serializers.CharField()
    reason = serializers.CharField()
    rule_pack_version = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class ConsentSerializer(Ser[Any]):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    documents = serializers.ListField(child=serializers.CharField())
    digest = serializers.CharField()
    accepted_at = serializers.DateTimeField()
    ip = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    rule_pack_version = serializers.IntegerField()


class StepSerializer(Ser[Any]):
    label = serializers.CharField()  # type: ignore[assignment]
    milestone = serializers.CharField()
    reached_at = serializers.DateTimeField(allow_null=True)


class ProgressSerializer(Ser[Any]):
    order = StepSerializer(many=True)
    refund = StepSerializer(many=True)


class OfferSerializer(Ser[Any]):
    issuer_code = serializers.CharField()
    issuer_name = serializers.CharField()
    status = serializers.CharField()
    rate = serializers.DecimalField(max_digits=8, decimal_places=6, allow_null=True)
    premium = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    reason = serializers.CharField()


class PaymentInstructionsSerializer(Ser[Any]):
    payable_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    remark_code = serializers.CharField(allow_null=True, help_text="订单附言：转账时填入附言、用途、摘要或备注")
    account_name = serializers.CharField(allow_null=True)
    bank_name = serializers.CharField(allow_null=True)
    branch = serializers.CharField(allow_null=True)
    account_number = serializers.CharField(allow_null=True)
    deadline = serializers.DateTimeField()
    pay_before = serializers.DateTimeField(help_text="建议付款时间：截止时间前的提前量")
    payer = serializers.CharField(help_text="basic_account / enterprise_account / any")
    methods = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())


class DrawSerializer(Ser[Any]):
    candidates = serializers.ListField(child=serializers.CharField())
    random_value = serializers.IntegerField()
    drawn_index = serializers.IntegerField()
    drawn_code = serializers.CharField()
    method = serializers.CharField()
    drawn_at = serializers.DateTimeField()


class OrderDetailSerializer(OrderListSerializer):
    section = SectionSerializer()
    form = serializers.SerializerMethodField()
    remark_code = serializers.CharField()
    offers = OfferSerializer(many=True, source="offer_rows")
    draw = DrawSerializer(allow_null=True, source="draw_row")
    consents = ConsentSerializer(many=True, source="consent_rows")
    timeline = EventSerializer(many=True, source="event_rows")
    progress = ProgressSerializer(source="progress_steps")
    payment = PaymentInstructionsSerializer(allow_null=True, source="payment_instructions")
    refund = RefundSerializer(allow_null=True, source="current_refund")
    invoice = InvoiceSerializer(allow_null=True, source="invoice_row")
    valid_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    rule_pack_version = serializers.IntegerField()

    class Meta(OrderListSerializer.Meta):
        fields = [
            *OrderListSerializer.Meta.fields,
            "section",
            "form",
            "remark_code",
            "offers",
            "draw",
            "consents",
            "timeline",
            "progress",
            "payment",
            "refund",
            "invoice",
            "valid_from",
            "valid_until",
            "rule_pack_version",
        ]

    def get_form(self, order: Order) -> list[dict[str, Any]]:
        """The form as filled in: canonical name, the region's label, value. The operator's checks (picture and
        SMS codes) are verified, never kept: they are not part of what was filled in."""
        return [
            {"name": name, "label": label, "value": order.form_data.get(name)}
            for name, label in order.form_labels.items()
            if not (name in CANONICAL_FIELDS and CANONICAL_FIELDS[name].source == FieldSource.CHECK)
        ]


class FormFieldSerializer(Ser[Any]):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    required = serializers.BooleanField()  # type: ignore[assignment]
    hint = serializers.CharField(allow_null=True)
    choices = serializers.ListField(child=serializers.DictField(), allow_null=True)
    max_mb = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    types = serializers.ListField(child=serializers.CharField(), allow_null=True)
