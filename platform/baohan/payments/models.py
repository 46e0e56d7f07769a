"""Money, in the centre's own schema: bank statement lines, payments by any channel, refunds
owed back (payouts), vouchers, online checkouts and the append-only ledger.

Rows change only through ``services/``; the database's constraints are the last word on
"never twice": one settled payment per source, one applied payment per order, one payout
per refused or surplus payment, one ledger posting per movement.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.lookups import Exact

from baohan.guarantees.models import Order, Refund, Upload
from baohan.identity.fields import EncryptedCharField


class StatementImport(models.Model):
    """One statement file or push, as received; its lines are stored once across imports."""

    class Source(models.TextChoices):
        FILE = "file", "文件上传"
        COMMAND = "command", "命令导入"
        PUSH = "push", "银行推送"

    issuer_code = models.CharField(max_length=40)
    account_number = models.CharField("收款账号", max_length=32)
    layout = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    filename = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64)
    lines_total = models.PositiveIntegerField(default=0)
    lines_new = models.PositiveIntegerField(default=0)
    actor_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.account_number} {self.filename or self.source} ({self.lines_new}/{self.lines_total})"


class StatementLine(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "待匹配"
        MATCHED = "matched", "已匹配"
        UNMATCHED = "unmatched", "待人工处理"
        DISMISSED = "dismissed", "已忽略"

    statement_import = models.ForeignKey(StatementImport, on_delete=models.PROTECT, related_name="lines")
    issuer_code = models.CharField(max_length=40)
    account_number = models.CharField(max_length=32)
    # The line's identity across files: the bank's serial number, else its content and its
    # occurrence among identical lines of the file (see services/statements.py).
    fingerprint = models.CharField(max_length=64)
    reference = models.CharField("交易流水号", max_length=64, blank=True)
    booked_at = models.DateTimeField("交易时间")
    amount = models.DecimalField("金额", max_digits=14, decimal_places=2)
    payer_name = models.CharField("对方户名", max_length=200, blank=True)
    payer_account = EncryptedCharField("对方账号", blank=True)
    payer_account_digest = models.CharField(max_length=64, blank=True)
    payer_account_tail = models.CharField(max_length=4, blank=True)
    payer_bank = models.CharField("对方开户行", max_length=200, blank=True)
    remark = models.CharField("附言", max_length=500, blank=True)
    remark_codes = ArrayField(models.CharField(max_length=12), default=list, blank=True)
    # Not indexed, nor is anything else matching writes: settling a line then rewrites no index
    # (the page keeps room for it, see migration 0003). Lines waiting for work are found
    # through ``OpenLine``; a matched line's order is its payment's.
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    note = models.CharField(max_length=500, blank=True)
    row = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booked_at", "id"]
        # Unique constraints rather than ``unique=True``: the field option adds a second
        # (pattern) index that no query uses and every write pays for.
        constraints = [models.UniqueConstraint(fields=["fingerprint"], name="statement_line_once")]
        indexes = [models.Index(fields=["issuer_code", "booked_at"], name="statement_line_by_issuer")]

    def __str__(self) -> str:
        return f"{self.account_number} {self.booked_at:%Y-%m-%d} {self.amount}"


class OpenLine(models.Model):
    """A statement line that still needs work: new (to be matched) or unmatched (for staff).

    The work queue of lines, apart from the lines themselves: a line enters when stored and
    leaves when matched, assigned or dismissed. Its status stays on the line."""

    line = models.OneToOneField(StatementLine, on_delete=models.CASCADE, primary_key=True, related_name="open")

    def __str__(self) -> str:
        return str(self.line_id)


class StatementLineEvent(models.Model):
    """A person's decision on a statement line the matcher left to staff: assigned or dismissed."""

    class Action(models.TextChoices):
        ASSIGNED = "assigned", "指定订单"
        DISMISSED = "dismissed", "忽略"

    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=10, choices=Action.choices)
    order_number = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    actor_kind = models.CharField(max_length=10)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.line_id} {self.action}"


class Payment(models.Model):
    """Money that arrived for an order, by any channel, and what was decided about it."""

    class Channel(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "银行转账"
        VOUCHER = "voucher", "支付凭证"
        ONLINE = "online", "在线支付"
        MANUAL = "manual", "人工确认"

    class Outcome(models.TextChoices):
        APPLIED = "applied", "已确认"
        OVERPAID = "overpaid", "多付（差额退回）"
        REFUSED = "refused", "被拒（已退费）"
        DUPLICATE = "duplicate", "重复支付（已退费）"

    # Indexed by ``payment_one_applied_per_order``, whose first column it is.
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments", db_index=False)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # Unique per channel: the statement line's fingerprint, the voucher's id, the payment
    # intent, or the confirming issuer's reference.
    source_ref = models.CharField(max_length=80)
    statement_line = models.OneToOneField(
        StatementLine, on_delete=models.PROTECT, related_name="payment", null=True, blank=True
    )
    amount = models.DecimalField("金额", max_digits=14, decimal_places=2)
    paid_at = models.DateTimeField("付款时间")
    payer_name = models.CharField("付款户名", max_length=200, blank=True)
    payer_account = EncryptedCharField("付款账号", blank=True)
    payer_account_tail = models.CharField(max_length=4, blank=True)
    payer_bank = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason_code = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # True for the payment that paid its order (applied or overpaid), NULL otherwise: at most
    # one per order (NULLs are distinct), and the same index finds an order's payments.
    applied = models.GeneratedField(
        expression=models.Case(
            models.When(models.Q(outcome="applied") | models.Q(outcome="overpaid"), then=models.Value(True)),
            default=models.Value(None),
        ),
        output_field=models.BooleanField(null=True),
        db_persist=True,
    )

    class Meta:
        ordering = ["paid_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "source_ref"], name="payment_once_per_source"),
            models.UniqueConstraint(fields=["order", "applied"], name="payment_one_applied_per_order"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.channel}:{self.amount}:{self.outcome}"


class Payout(models.Model):
    """Money owed back to a payer (退费): a refused, duplicate or surplus payment, or a surrender."""

    class Kind(models.TextChoices):
        REFUSED = "refused", "支付被拒退费"
        DUPLICATE = "duplicate", "重复支付退费"
        SURPLUS = "surplus", "多付退费"
        SURRENDER = "surrender", "退保退费"

    class State(models.TextChoices):
        DUE = "due", "待退款"
        SENDING = "sending", "退款处理中"
        PAID = "paid", "已退款"
        FAILED = "failed", "退款失败"

    class Method(models.TextChoices):
        BANK = "bank", "银行转账"
        ONLINE = "online", "原路退回"

    number = models.CharField("退费编号", max_length=32)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payouts")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="payouts", null=True, blank=True, db_index=False
    )  # found through payout_one_per_payment
    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, related_name="payout", null=True, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.BANK)
    state = models.CharField(max_length=8, choices=State.choices, default=State.DUE)
    amount = models.DecimalField("退款金额", max_digits=14, decimal_places=2)
    fee = models.DecimalField("服务费", max_digits=14, decimal_places=2, default=0)
    reason = models.CharField(max_length=500, blank=True)
    payee_name = models.CharField("收款户名", max_length=200, blank=True)
    payee_account = EncryptedCharField("收款账号", blank=True)
    payee_bank = models.CharField(max_length=200, blank=True)
    reference = models.CharField("退款流水号", max_length=64, blank=True)
    failure = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    due_by = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["payment"], name="payout_one_per_payment"),
            models.UniqueConstraint(fields=["number"], name="payout_number_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="payout_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return self.number


class LedgerEntry(models.Model):
    """One money movement on an order (through the payment or payout it records) and what it
    does to each account. Append-only: rows are never updated or deleted by the application.
    A movement balances, its amounts summing to zero (a database constraint), so an order's
    entries do too; each account's sum over the order is what the order holds there."""

    class Account(models.TextChoices):
        CASH = "cash", "收款账户"  # money held in the issuer's receiving account (or Stripe)
        PREMIUM = "premium", "保费收入"  # premium earned (negative: credited)
        FEE = "fee", "服务费"  # service fee kept from a refused payment (negative)
        REFUNDS_DUE = "refunds_due", "应退款"  # owed back to a payer (negative while owed)

    class Kind(models.TextChoices):
        PAYMENT_RECEIVED = "payment_received", "收到付款"  # cash in: premium, refund owed, fee kept
        REFUND_PAID = "refund_paid", "已退款"  # cash out: the refund owed is settled
        SURRENDER = "surrender", "退保"  # premium given back: a refund is owed

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What the movement records: a payment received, or a payout (owed or paid). Its order is
    # theirs (not copied here, so it cannot disagree). Found through the unique constraints
    # below: no index of their own.
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False
    )
    payout = models.ForeignKey(
        Payout, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False
    )
    cash = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    premium = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    fee = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    refunds_due = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(payment__isnull=False) | models.Q(payout__isnull=False),
                name="ledger_movement_recorded",
            ),
            models.CheckConstraint(
                condition=Exact(models.F("cash") + models.F("premium") + models.F("fee") + models.F("refunds_due"), 0),
                name="ledger_movement_balances",
            ),
            models.UniqueConstraint(
                fields=["payment", "kind"],
                condition=models.Q(payment__isnull=False) & models.Q(payout__isnull=True),
                name="ledger_payment_movement_once",
            ),
            models.UniqueConstraint(
                fields=["payout", "kind"],
                condition=models.Q(payout__isnull=False),
                name="ledger_payout_movement_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id or self.payout_id}:{self.kind}:{self.cash}"


class PaymentVoucher(models.Model):
    """A transfer receipt uploaded by the bidder (上传支付凭证), approved or rejected by a reviewer."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", "待审核"
        APPROVED = "approved", "审核通过"
        REJECTED = "rejected", "审核未通过"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="vouchers")
    upload = models.ForeignKey(Upload, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.SUBMITTED)
    reason = models.CharField("审核意见", max_length=500, blank=True)
    decided_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(state="submitted"), name="voucher_one_open_per_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.state}"


class CheckoutSession(models.Model):
    """A Stripe Checkout Session opened for an order."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="checkouts")
    session_id = models.CharField(max_length=255, unique=True)
    url = models.URLField(max_length=1000)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="cny")
    channels = models.JSONField(default=list)
    payment_intent = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.session_id


class StripeEvent(models.Model):
    """Every webhook event is handled once: its id is stored in the transaction that handles it."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    outcome = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event_id}:{self.type}"


class BankPushKey(models.Model):
    """The key a bank signs statement pushes with, for one receiving account of one issuer."""

    key_id = models.CharField(max_length=40, unique=True)
    issuer_code = models.CharField(max_length=40)
    account_number = models.CharField(max_length=32)
    secret = EncryptedCharField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.key_id} → {self.issuer_code}/{self.account_number}"


class BankPushNonce(models.Model):
    key_id = models.CharField(max_length=40)
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key_id", "nonce"], name="bank_push_nonce_once")]

    def __str__(self) -> str:
        return f"{self.key_id}:{self.nonce}"


class OrderNotice(models.Model):
    """A notice sent about an order (a payment reminder): sent once per order and code."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notices")
    code = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "code"], name="notice_once_per_order")]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.code}"
