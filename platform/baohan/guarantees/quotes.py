"""The quote: premium = insured sum × rate, never below the issuer's minimum. Money is
Decimal yuan; the premium is rounded once, here, to the fen."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from baohan.rulepacks.models import Issuer

FEN = Decimal("0.01")


def money_round(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Quote:
    insured_amount: Decimal
    rate: Decimal
    premium: Decimal
    minimum_applied: bool


def quote_compute(*, insured_amount: Decimal, rate: Decimal, minimum_premium: Decimal) -> Quote:
    if insured_amount <= 0:
        raise ValueError("insured amount must be positive")
    raw = money_round(insured_amount * rate)
    premium = max(raw, minimum_premium)
    return Quote(insured_amount=insured_amount, rate=rate, premium=premium, minimum_applied=premium != raw)


def quote_for_issuer(*, insured_amount: Decimal, issuer: Issuer, rate: Decimal | None = None) -> Quote:
    return quote_compute(
        insured_amount=insured_amount,
        rate=issuer.rate if rate is None else rate,
        minimum_premium=issuer.minimum_premium,
    )
