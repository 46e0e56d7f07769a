"""One parser for every number that comes in: amounts, rates, days, counts.

Only ASCII digits are numbers here. Python's ``Decimal()`` and ``int()`` also take fullwidth
(「１０００」), Arabic-Indic and other Unicode digits, exponents (``1e3``), ``NaN`` and ``Infinity``;
each of those is refused with a message that says what to type instead. Amounts have at most two
decimals (fen); a longer fraction is refused, never rounded.

Used by the API (``AmountField``, ``AsciiDecimalField``, ``AsciiIntegerField``), the pages' Django forms
(``AmountFormField``, ``AsciiDecimalFormField``, ``AsciiIntegerFormField``), the pack-driven application
form, the workbenches and the statement import (``decimal_parse``, ``amount_parse``, ``integer_parse``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from baohan.guarantees.errors import InvalidInput

AMOUNT_PLACES = 2
RATE_PLACES = 6  # rates are stored as fractions: 0.035000
AMOUNT_MAX_DIGITS = 14  # the database's amount columns: numeric(14, 2)
_NUMBER = re.compile(r"\A(-?)([0-9]+)(?:\.([0-9]+))?\Z")
_BLANKS = " \t\r\n"


class NumberRefused(ValueError):
    """Not a number as we accept them; the message (Chinese) says what is wrong, ``code`` which rule:
    ``not_a_number``, ``not_ascii``, ``negative``, ``places`` (too many decimals) or ``too_large``."""

    def __init__(self, message: str, code: str = "not_a_number") -> None:
        super().__init__(message)
        self.code = code


def _text(raw: Any) -> str:
    if raw is None or isinstance(raw, bool):
        raise NumberRefused("应为数字")
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise NumberRefused("应为数字")
        return repr(raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise NumberRefused("应为数字")
        return format(raw, "f")
    if isinstance(raw, str):
        return raw.strip(_BLANKS)
    raise NumberRefused("应为数字")


def _refusal(text: str) -> NumberRefused:
    if any(not ("0" <= ch <= "9") and unicodedata.category(ch) == "Nd" for ch in text) or any(
        "\uff01" <= ch <= "\uff5e" for ch in text
    ):
        return NumberRefused("请使用半角数字（0-9），不能使用全角或其他文字的数字", "not_ascii")
    if not text:
        return NumberRefused("应为数字")
    return NumberRefused("应为数字，只能包含0-9和小数点")


def decimal_parse(
    raw: Any, *, places: int = AMOUNT_PLACES, max_digits: int = AMOUNT_MAX_DIGITS, negative: bool = False
) -> Decimal:
    """A decimal typed or sent as ASCII digits with at most ``places`` decimals; raises ``NumberRefused``.

    Accepts ``str`` (surrounding blanks ignored), ``int``, ``Decimal`` and a JSON number (``float``,
    by its shortest text, so ``0.1`` stays ``0.1``)."""
    text = _text(raw)
    match = _NUMBER.match(text)
    if match is None:
        raise _refusal(text)
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    if sign and not negative:
        raise NumberRefused("不能为负数", "negative")
    if len(fraction) > places:
        raise NumberRefused(f"最多{places}位小数" if places else "应为整数", "places")
    if len(whole.lstrip("0")) > max_digits - places:
        raise NumberRefused("数值过大", "too_large")
    return Decimal(text)


def integer_parse(raw: Any, *, max_digits: int = 12, negative: bool = False) -> int:
    """A whole number of ASCII digits (``"30"``, ``30``; not ``"３０"``, ``"30.0"`` or ``1e3``)."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return int(decimal_parse(raw, places=0, max_digits=max_digits, negative=negative))


def amount_parse(
    raw: Any, *, field: str, label: str | None = None, positive: bool = True, max_digits: int = AMOUNT_MAX_DIGITS
) -> Decimal:
    """A sum of money in yuan (ASCII digits, at most two decimals), as ``Decimal`` with two places;
    raises ``InvalidInput`` naming ``field``."""
    name = label or field
    try:
        amount = decimal_parse(raw, places=AMOUNT_PLACES, max_digits=max_digits)
    except NumberRefused as exc:
        raise InvalidInput("invalid", f"{name}：{exc}", field=field, label=label) from exc
    if positive and amount <= 0:
        raise InvalidInput("invalid", f"{name}：应大于零", field=field, label=label)
    return amount.quantize(Decimal("0.01"))


# --- API fields -------------------------------------------------------------------------------------------


class AsciiDecimalField(serializers.DecimalField):
    """DRF's ``DecimalField`` that takes ASCII digits only and refuses, never rounds, extra decimals."""

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            value = decimal_parse(
                data, places=self.decimal_places or 0, max_digits=self.max_digits or 30, negative=True
            )
        except NumberRefused as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from exc
        result: Decimal = super().to_internal_value(value)
        return result


class AmountField(AsciiDecimalField):
    """A sum of money: ASCII digits, at most two decimals."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", AMOUNT_MAX_DIGITS)
        kwargs.setdefault("decimal_places", AMOUNT_PLACES)
        super().__init__(**kwargs)


class AsciiIntegerField(serializers.IntegerField):
    """DRF's ``IntegerField`` that takes ASCII digits only."""

    def to_internal_value(self, data: Any) -> int:
        try:
            value = integer_parse(data, max_digits=18, negative=True)
        except NumberRefused as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from exc
        result: int = super().to_internal_value(value)
        return result


# --- form fields ------------------------------------------------------------------------------------------


class AsciiDecimalFormField(forms.DecimalField):
    """Django's ``DecimalField`` that takes ASCII digits only."""

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        try:
            parsed = decimal_parse(
                value, places=self.decimal_places or 0, max_digits=self.max_digits or 30, negative=True
            )
        except NumberRefused as exc:
            raise DjangoValidationError(str(exc), code="invalid") from exc
        result: Decimal | None = super().to_python(parsed)
        return result


class AmountFormField(AsciiDecimalFormField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", AMOUNT_MAX_DIGITS)
        kwargs.setdefault("decimal_places", AMOUNT_PLACES)
        super().__init__(**kwargs)


class AsciiIntegerFormField(forms.IntegerField):
    """Django's ``IntegerField`` that takes ASCII digits only."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        try:
            parsed = integer_parse(value, max_digits=18, negative=True)
        except NumberRefused as exc:
            raise DjangoValidationError(str(exc), code="invalid") from exc
        result: int | None = super().to_python(parsed)
        return result
