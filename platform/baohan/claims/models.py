"""Claims (索赔) against an issued guarantee, and the files that support them."""

from __future__ import annotations

import uuid

from django.db import models

from baohan.guarantees.models import Order
from tenants.db import connection


class Claim(models.Model):
    class State(models.TextChoices):
        FILED = "filed", "已提交，待出函机构受理"
        ACCEPTED = "accepted", "已受理，待赔付"
        REJECTED = "rejected", "已拒赔"
        PAID = "paid", "已赔付"

    class Claimant(models.TextChoices):
        CENTRE = "centre", "交易中心"
        TENDEREE = "tenderee", "招标人"

    number = models.CharField("索赔编号", max_length=32)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="claims")
    state = models.CharField(max_length=10, choices=State.choices, default=State.FILED)
    claimant_kind = models.CharField(max_length=10, choices=Claimant.choices)
    claimant_name = models.CharField("索赔人", max_length=200)
    claimant_contact = models.CharField("联系方式", max_length=100)
    reason = models.CharField("索赔原因", max_length=1000)
    amount = models.DecimalField("索赔金额", max_digits=14, decimal_places=2)
    decide_by = models.DateField("受理期限")
    pay_by = models.DateField("赔付期限", null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    paid_reference = models.CharField("赔付流水号", max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="claim_number_unique"),
            # One claim in progress per guarantee at a time.
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(state="filed") | models.Q(state="accepted"),
                name="claim_one_open_per_order",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="claim_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.number


def evidence_key(instance: ClaimEvidence, filename: str) -> str:
    return f"tenants/{connection.schema_name}/claims/{uuid.uuid4().hex}.{filename.rsplit('.', 1)[-1]}"


class ClaimEvidence(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to=evidence_key, max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.original_name
