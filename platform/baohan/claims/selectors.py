"""Reads over claims."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from baohan.claims.models import Claim


def claim_overdue(claim: Claim, *, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    if claim.state == Claim.State.FILED:
        return today > claim.decide_by
    return claim.state == Claim.State.ACCEPTED and claim.pay_by is not None and today > claim.pay_by


def claim_list(*, issuer_code: str = "", state: str = "") -> QuerySet[Claim]:
    claims = Claim.objects.select_related("order", "order__section").prefetch_related("evidence")
    if issuer_code:
        claims = claims.filter(order__issuer_code=issuer_code)
    return claims.filter(state=state) if state else claims
