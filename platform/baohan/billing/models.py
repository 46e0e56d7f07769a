"""Public-schema billing records: plans, the plan each centre is on, and one usage report per
centre and calendar month (Asia/Shanghai) with what was sent to Stripe for it.

Amounts are yuan in ``Decimal`` (two places); Stripe receives fen. A report keeps a copy of the
plan's terms it was computed with, so a later change of plan never rewrites a billed month."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from tenants.models import Tenant

ZERO = Decimal("0.00")


class Plan(models.Model):
    """What a centre pays: a monthly fee, a fee per guarantee issued and a share of the premium
    of the guarantees issued, each optional."""

    code = models.SlugField("方案代码", max_length=40, unique=True)
    name = models.CharField("方案名称", max_length=100)
    monthly_fee = models.DecimalField(
        "月费（元）", max_digits=12, decimal_places=2, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    per_guarantee_fee = models.DecimalField(
        "每笔出函费（元）", max_digits=12, decimal_places=2, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    # A rate: 0.015 is 1.5 % of the premium volume.
    premium_share = models.DecimalField(
        "保费分成比例",
        max_digits=7,
        decimal_places=6,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    currency = models.CharField("币种", max_length=3, default="cny")
    active = models.BooleanField("可用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_fee__gte=0, per_guarantee_fee__gte=0, premium_share__gte=0)
                & models.Q(premium_share__lte=1),
                name="billing_plan_terms_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class TenantPlan(models.Model):
    """The plan a centre is on, and the Stripe customer its invoices go to (created once)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    # Billing starts with the calendar month this falls in (Asia/Shanghai).
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tenant_id} → {self.plan_id}"


class UsageReport(models.Model):
    """One centre's usage over one calendar month, its amounts, and the Stripe invoice it was
    reported with. ``reported_at`` set: done, never reported again."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()  # the first day of the month
    period_end = models.DateField()  # the first day of the next month (exclusive)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    # The plan's terms as they were when the month was counted.
    monthly_fee = models.DecimalField(max_digits=12, decimal_places=2)
    per_guarantee_fee = models.DecimalField(max_digits=12, decimal_places=2)
    premium_share = models.DecimalField(max_digits=7, decimal_places=6)
    currency = models.CharField(max_length=3)
    guarantees_issued = models.PositiveIntegerField()
    premium_volume = models.DecimalField(max_digits=16, decimal_places=2)
    monthly_amount = models.DecimalField(max_digits=14, decimal_places=2)
    guarantees_amount = models.DecimalField(max_digits=14, decimal_places=2)
    premium_amount = models.DecimalField(max_digits=14, decimal_places=2)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    counted_at = models.DateTimeField()
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    stripe_invoice_id = models.CharField(max_length=64, blank=True)
    stripe_invoice_number = models.CharField(max_length=64, blank=True)
    stripe_invoice_status = models.CharField(max_length=20, blank=True)
    stripe_invoice_url = models.URLField(max_length=500, blank=True)
    stripe_items: models.JSONField[Any] = models.JSONField(default=dict)  # component → invoice item id
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant", "-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "period_start"], name="billing_usage_once_per_period"),
            models.CheckConstraint(condition=models.Q(period_end__gt=models.F("period_start")), name="billing_period"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.period_label}"

    @property
    def period_label(self) -> str:
        return f"{self.period_start:%Y-%m}"
