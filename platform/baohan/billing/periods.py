"""Billing periods: calendar months in Asia/Shanghai, whatever the server's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

BILLING_TZ = ZoneInfo("Asia/Shanghai")
_LABEL = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """A calendar month: ``start`` is its first day, ``end`` the first day of the next month."""

    start: date

    def __post_init__(self) -> None:
        if self.start.day != 1:
            raise ValueError(f"a billing period starts on the first of a month, not {self.start.isoformat()}")

    @property
    def end(self) -> date:
        if self.start.month == 12:
            return date(self.start.year + 1, 1, 1)
        return date(self.start.year, self.start.month + 1, 1)

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, 1, tzinfo=BILLING_TZ)

    @property
    def end_at(self) -> datetime:
        return datetime(self.end.year, self.end.month, 1, tzinfo=BILLING_TZ)

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    def next(self) -> Period:
        return Period(self.end)

    def ended(self, now: datetime) -> bool:
        return self.end_at <= now


def period_of(moment: datetime) -> Period:
    """The month ``moment`` falls in, in Asia/Shanghai."""
    local = moment.astimezone(BILLING_TZ)
    return Period(date(local.year, local.month, 1))


def period_parse(label: str) -> Period:
    """``2026-10`` → October 2026; ValueError otherwise."""
    match = _LABEL.match(label.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"not a month (YYYY-MM): {label!r}")
    return Period(date(int(match.group(1)), int(match.group(2)), 1))


def periods_between(first: Period, before: Period) -> list[Period]:
    """``first`` and every following month up to (not including) ``before``."""
    out: list[Period] = []
    period = first
    while period.start < before.start:
        out.append(period)
        period = period.next()
    return out
