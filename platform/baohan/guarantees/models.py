"""Guarantee orders and everything hanging off them, in the centre's own schema.

State lives in explicit columns changed only by services (``services/``); every change
writes an ``OrderEvent``. Models carry no business logic.
"""

from __future__ import annotations

import functools
import operator
import uuid
from typing import Any

from django.conf import settings
from django.db import models

from baohan.identity.fields import EncryptedCharField
from baohan.rulepacks.models import (
    AfterSalesKind,
    DepositKind,
    InvoiceForm,
    InvoiceType,
    IssuerChoiceMode,
    IssuerKind,
    OrderState,
    RefundTrigger,
)
from baohan.sections.models import Section
from tenants.db import connection


def _choices(enum: Any) -> list[tuple[str, str]]:
    return [(member.value, member.value) for member in enum]


# --- enterprises and the people acting for them ----------------------------------------------


class Enterprise(models.Model):
    class Verification(models.TextChoices):
        UNVERIFIED = "unverified", "未认证"
        PENDING = "pending", "审核中"
        VERIFIED = "verified", "已认证"
        REJECTED = "rejected", "未通过"

    name = models.CharField("企业名称", max_length=200)
    uscc = models.CharField("统一社会信用代码", max_length=18, unique=True)
    legal_rep_name = models.CharField("法人姓名", max_length=100, blank=True)
    legal_rep_id_type = models.CharField("证件类型", max_length=40, blank=True)
    legal_rep_id_number = EncryptedCharField("证件号码", blank=True)
    basic_account_name = models.CharField("基本户账户名称", max_length=200, blank=True)
    basic_bank_name = models.CharField("基本户开户银行", max_length=200, blank=True)
    basic_account_number = EncryptedCharField("基本户账号", blank=True)
    nature = models.CharField("企业性质", max_length=40, blank=True)
    location = models.CharField("企业所在地", max_length=200, blank=True)
    address = models.CharField("企业地址", max_length=300, blank=True)
    verification = models.CharField(max_length=20, choices=Verification.choices, default=Verification.UNVERIFIED)
    # Where the data came from: the application form, the trading platform, a certificate, a review.
    source = models.CharField(max_length=20, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.uscc})"


class Operator(models.Model):
    """A bidder's operator (经办人): the person behind an account, acting for one enterprise."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="operators")
    name = models.CharField("经办人姓名", max_length=100)
    phone = models.CharField("手机号码", max_length=11)
    email = models.EmailField("邮箱", blank=True)

    def __str__(self) -> str:
        return f"{self.name} / {self.enterprise.name}"


# --- callers of the integration API -----------------------------------------------------------


class ApiCredential(models.Model):
    class Kind(models.TextChoices):
        CENTRE = "centre", "交易中心"
        ISSUER = "issuer", "出函机构"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    issuer_code = models.CharField(max_length=40, blank=True)
    key_id = models.CharField(max_length=32, unique=True)
    secret_hash = models.CharField(max_length=64)
    label = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Set when the credential is rotated: it keeps working until then (the overlap), never after.
    expires_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="issuer") & ~models.Q(issuer_code=""))
                | (models.Q(kind="centre") & models.Q(issuer_code="")),
                name="credential_issuer_code_matches_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.issuer_code or '-'}:{self.key_id}"


# --- uploads ------------------------------------------------------------------------------------


def upload_key(instance: Upload, filename: str) -> str:
    """Every object sits under its centre's own prefix."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"tenants/{connection.schema_name}/uploads/{instance.id}.{suffix}"


class Upload(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # None until the uploader's enterprise is verified (the business licence of 企业信息认证).
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="uploads", null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    purpose = models.CharField("用途", max_length=40)
    file = models.FileField(upload_to=upload_key, max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.purpose} {self.id}"


# --- orders -------------------------------------------------------------------------------------

LIVE_STATES = [
    OrderState.DRAFT,
    OrderState.UNDERWRITING,
    OrderState.AWAITING_PAYMENT,
    OrderState.PAYMENT_REVIEW,
    OrderState.PAYMENT_FAILED,
    OrderState.AWAITING_ISSUE,
    OrderState.ISSUED,
]


ORDER_STATE_CHOICES = _choices(OrderState)

# Spelt as ORs, not IN: PostgreSQL prints an IN list differently after a dump round trip, and
# cloned schemas are compared with migrated ones index by index.
LIVE_CONDITION = functools.reduce(operator.or_, (models.Q(state=s.value) for s in LIVE_STATES))


class Order(models.Model):
    """A bidder's application for one guarantee, from draft to its end.

    Orders are updated often (every step of the workflow) and in batches (a bank statement
    settles thousands at once), so the table is laid out for updates that rewrite no index
    (heap-only tuples): pages keep free room (``fillfactor``, see migration 0005), and no index
    covers the columns a step changes: ``state``, times, references. The one rule that needs
    the state, one live order per enterprise, section and deposit kind, is kept on ``live``,
    a column PostgreSQL derives from the state: it changes only when an order ends."""

    number = models.CharField("订单编号", max_length=32)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="orders")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="orders")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    deposit_kind = models.CharField(max_length=20, choices=_choices(DepositKind))
    issuer_kind = models.CharField(max_length=20, choices=_choices(IssuerKind))
    choice_mode = models.CharField(max_length=20, choices=_choices(IssuerChoiceMode))
    issuer_code = models.CharField("出函机构", max_length=40, blank=True)
    state = models.CharField(max_length=20, choices=ORDER_STATE_CHOICES, default=OrderState.DRAFT)
    form_data = models.JSONField(default=dict)
    form_labels = models.JSONField(default=dict)
    # ID and bank account numbers typed into the form, as JSON, encrypted; ``form_data`` shows them masked.
    form_private = EncryptedCharField(blank=True, default="")
    insured_amount = models.DecimalField("保险金额", max_digits=14, decimal_places=2)
    rate = models.DecimalField("费率", max_digits=8, decimal_places=6)
    premium = models.DecimalField("保费", max_digits=14, decimal_places=2)
    payable_amount = models.DecimalField("应付金额", max_digits=14, decimal_places=2)
    remark_code = models.CharField("订单附言", max_length=12)
    operator_name = models.CharField(max_length=100, blank=True)
    operator_phone = models.CharField(max_length=11, blank=True)
    operator_email = models.EmailField(blank=True)
    rule_pack_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(max_length=64, blank=True)
    # The account the premium must come from where the pack asks for the basic account (基本户):
    # its name, and a keyed digest of its number (the number itself sits encrypted elsewhere).
    payer_account_name = models.CharField(max_length=200, blank=True)
    payer_account_digest = models.CharField(max_length=64, blank=True)
    # NULL until issued: unique among issued orders only (NULLs are distinct).
    guarantee_number = models.CharField("保函编号", max_length=40, null=True, blank=True)  # noqa: DJ001
    issued_at = models.DateTimeField(null=True, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    # True while the order is live, NULL once it has ended (so ended orders never collide in
    # ``order_one_live_per_section_and_kind``: NULLs are distinct).
    live = models.GeneratedField(
        expression=models.Case(models.When(LIVE_CONDITION, then=models.Value(True)), default=models.Value(None)),
        output_field=models.BooleanField(null=True),
        db_persist=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        # Unique constraints rather than ``unique=True``: the field option adds a second
        # (pattern) index per column that no query uses and every write pays for.
        constraints = [
            models.UniqueConstraint(fields=["number"], name="order_number_unique"),
            models.UniqueConstraint(fields=["remark_code"], name="order_remark_code_unique"),
            models.UniqueConstraint(fields=["guarantee_number"], name="order_guarantee_number_unique"),
            models.UniqueConstraint(
                fields=["enterprise", "section", "deposit_kind", "live"], name="order_one_live_per_section_and_kind"
            ),
            models.CheckConstraint(condition=models.Q(premium__gte=0), name="order_premium_not_negative"),
        ]
        indexes = [models.Index(fields=["-created_at"], name="order_newest_first")]

    def __str__(self) -> str:
        return self.number


class IssuerOffer(models.Model):
    """An issuer asked to underwrite an order; several when the bidder may select several."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审核"
        ACCEPTED = "accepted", "已承保"
        DECLINED = "declined", "已拒绝"
        RELEASED = "released", "已释放"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="offers")
    issuer_code = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rate = models.DecimalField(max_digits=8, decimal_places=6, null=True, blank=True)
    premium = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "issuer_code"], name="offer_one_per_issuer"),
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(status="accepted"), name="offer_one_accepted_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.issuer_code}:{self.status}"


class AllocationDraw(models.Model):
    """The record of a random allocation: what was drawn from, the number drawn and the result."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="draw")
    candidates = models.JSONField()
    random_value = models.BigIntegerField()
    drawn_index = models.PositiveIntegerField()
    drawn_code = models.CharField(max_length=40)
    method = models.CharField(max_length=60)
    rule_pack_version = models.PositiveIntegerField()
    drawn_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.order_id}→{self.drawn_code}"


class OrderConsent(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="consents")
    code = models.CharField(max_length=40)
    label = models.CharField(max_length=500)
    documents = models.JSONField(default=list)
    digest = models.CharField("文本摘要", max_length=64)
    accepted_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    rule_pack_version = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["order", "code"], name="consent_once_per_order")]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.code}"


class OrderEvent(models.Model):
    """One row per state change of an order or of anything hanging off it."""

    class Subject(models.TextChoices):
        ORDER = "order", "订单"
        REFUND = "refund", "退保"
        INVOICE = "invoice", "发票"
        AFTER_SALES = "after_sales", "售后"
        SECTION = "section", "标段"
        PAYMENT = "payment", "付款"
        PAYOUT = "payout", "退费"
        VOUCHER = "voucher", "支付凭证"
        DOCUMENT = "document", "保单"
        CLAIM = "claim", "索赔"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    subject = models.CharField(max_length=12, choices=Subject.choices, default=Subject.ORDER)
    subject_id = models.BigIntegerField(null=True, blank=True)
    transition = models.CharField(max_length=40)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    actor_kind = models.CharField(max_length=10)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    rule_pack_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.transition} {self.from_state}→{self.to_state}"


# --- refunds (退保) -------------------------------------------------------------------------------


class Refund(models.Model):
    class State(models.TextChoices):
        PENDING_ACCOUNT = "pending_account", "待确认退费账户"
        PENDING_REVIEW = "pending_review", "退保审核中"
        PENDING_PAYOUT = "pending_payout", "待退款"
        REFUNDED = "refunded", "退保成功"
        REFUSED = "refused", "退保被拒"

    number = models.CharField("退保编号", max_length=32, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    state = models.CharField(max_length=20, choices=State.choices)
    trigger = models.CharField(max_length=20, choices=_choices(RefundTrigger))
    reason_text = models.CharField("退保原因", max_length=500, blank=True)
    section_status = models.CharField(max_length=20)
    bid_opened = models.BooleanField()
    rule_code = models.CharField(max_length=40, blank=True)
    rule_text = models.CharField(max_length=500)
    rule_pack_version = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    account_name = models.CharField(max_length=200, blank=True)
    account_number = EncryptedCharField(blank=True)
    bank_name = models.CharField(max_length=200, blank=True)
    review_reason = models.CharField(max_length=500, blank=True)
    payout_reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=~models.Q(state="refused"), name="refund_one_open_per_order"
            )
        ]

    def __str__(self) -> str:
        return self.number


# --- invoices ---------------------------------------------------------------------------------------


class InvoiceTitle(models.Model):
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="invoice_titles")
    title = models.CharField("发票抬头", max_length=200)
    taxpayer_id = models.CharField("纳税人识别号", max_length=20)
    registered_address = models.CharField("注册地址", max_length=300, blank=True)
    registered_phone = models.CharField("注册电话", max_length=20, blank=True)
    bank_name = models.CharField("开户银行", max_length=200, blank=True)
    bank_account = EncryptedCharField("银行账号", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class InvoiceAddress(models.Model):
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="invoice_addresses")
    recipient = models.CharField("收件人", max_length=100)
    phone = models.CharField("联系电话", max_length=11)
    address = models.CharField("收件地址", max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.recipient} {self.address}"


def invoice_key(instance: Invoice, filename: str) -> str:
    """Under the centre's own prefix; names cannot be guessed."""
    return f"tenants/{connection.schema_name}/invoices/{uuid.uuid4().hex}.pdf"


class Invoice(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", "已申请"
        PROCESSING = "processing", "开票中"
        ISSUED = "issued", "已开票"

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="invoice")
    form = models.CharField(max_length=12, choices=_choices(InvoiceForm))
    type = models.CharField(max_length=12, choices=_choices(InvoiceType))
    state = models.CharField(max_length=12, choices=State.choices, default=State.REQUESTED)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    title = models.CharField(max_length=200)
    taxpayer_id = models.CharField(max_length=20)
    registered_address = models.CharField(max_length=300, blank=True)
    registered_phone = models.CharField(max_length=20, blank=True)
    bank_name = models.CharField(max_length=200, blank=True)
    bank_account = EncryptedCharField(blank=True)
    email = models.EmailField(blank=True)
    recipient = models.CharField(max_length=100, blank=True)
    recipient_phone = models.CharField(max_length=11, blank=True)
    recipient_address = models.CharField(max_length=300, blank=True)
    invoice_number = models.CharField("发票号码", max_length=40, blank=True)
    # The electronic invoice itself (PDF), stored when it is issued.
    document = models.FileField(upload_to=invoice_key, max_length=300, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    carrier = models.CharField("快递公司", max_length=60, blank=True)
    tracking_number = models.CharField("快递单号", max_length=60, blank=True)
    rule_pack_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.order_id}:{self.form}/{self.type}:{self.state}"


# --- after-sales (售后) --------------------------------------------------------------------------


class AfterSalesRequest(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "待处理"
        IN_PROGRESS = "in_progress", "处理中"
        RESOLVED = "resolved", "已解决"
        CLOSED = "closed", "已关闭"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="after_sales")
    category = models.CharField(max_length=40)
    kind = models.CharField(max_length=20, choices=_choices(AfterSalesKind))
    description = models.CharField("问题描述", max_length=1000)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    resolution = models.CharField("处理结果", max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.category}:{self.state}"
