"""How the bidder's pages write money, rates and dates: ¥10,000.00, 4.00%, 2026年12月4日."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import get_language

register = template.Library()

CENT = Decimal("0.01")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def yuan(value: Any) -> str:
    """``Decimal("10000")`` → ``¥10,000.00``; empty for no value."""
    amount = _decimal(value)
    if amount is None:
        return ""
    return f"¥{amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"


@register.filter
def percent(value: Any) -> str:
    """A rate as a fraction (``0.04``) → ``4.00%``."""
    rate = _decimal(value)
    if rate is None:
        return ""
    return f"{(rate * 100).quantize(CENT, rounding=ROUND_HALF_UP)}%"


def _chinese() -> bool:
    return (get_language() or "zh-hans").startswith("zh")


@register.filter
def cn_date(value: Any) -> str:
    """A date (or the local date of a datetime) as 2026年12月4日 (2026-12-04 in English)."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    if not isinstance(value, dt.date):
        return str(value)
    return f"{value.year}年{value.month}月{value.day}日" if _chinese() else value.isoformat()


@register.filter
def cn_datetime(value: Any) -> str:
    """A datetime in local time as 2026年12月4日 10:00 (2026-12-04 10:00 in English)."""
    if not value:
        return ""
    if not isinstance(value, dt.datetime):
        return cn_date(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{cn_date(local.date())} {local:%H:%M}"
