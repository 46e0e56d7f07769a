"""What the chart pages share: the date range asked for (``from``/``to``, checked, with an error
naming the field), the tables behind the charts, and their CSV export (UTF-8 with a BOM, so that
Excel opens Chinese text as it is)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from baohan.portal.templatetags.portal_format import cn_date, yuan

MAX_DAYS = 366


@dataclass(frozen=True)
class DateRange:
    """Whole local days from ``first`` to ``last``, both included."""

    first: date
    last: date

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def end_at(self) -> datetime:
        """The first moment after the range (exclusive)."""
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))


@dataclass
class RangeChoice:
    """The range in force, what was typed, and the error for each field that was refused."""

    range: DateRange
    typed: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def range_parse(params: Mapping[str, str], *, default: DateRange) -> RangeChoice:
    """``from`` and ``to`` (YYYY-MM-DD) from the query; either left out takes the default's.
    A refused value changes nothing: the default range stays in force and the field gets an error."""
    typed = {"from": params.get("from", "").strip()[:20], "to": params.get("to", "").strip()[:20]}
    errors: dict[str, str] = {}
    first, last = default.first, default.last
    if typed["from"]:
        parsed = _date(typed["from"])
        if parsed is None:
            errors["from"] = _("开始日期格式不正确，请按“年-月-日”填写，例如 2026-12-01")
        else:
            first = parsed
    if typed["to"]:
        parsed = _date(typed["to"])
        if parsed is None:
            errors["to"] = _("结束日期格式不正确，请按“年-月-日”填写，例如 2026-12-31")
        else:
            last = parsed
    if not errors and first > last:
        errors["to"] = _("结束日期不能早于开始日期")
    elif not errors and (last - first).days + 1 > MAX_DAYS:
        errors["to"] = _("日期范围不能超过 366 天")
    if errors:
        return RangeChoice(default, typed, errors)
    return RangeChoice(DateRange(first, last), typed)


def last_days(days: int, *, today: date | None = None) -> DateRange:
    today = today or timezone.localdate()
    return DateRange(today - timedelta(days=days - 1), today)


@dataclass(frozen=True)
class Table:
    """One chart's numbers: the header row and the body rows, shown beside the chart (money as
    ¥10,000.00, dates as 2026年12月4日) and exported as they are."""

    name: str
    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]

    @property
    def shown(self) -> list[list[str]]:
        return [[shown(v) for v in row] for row in self.rows]

    @property
    def numeric_columns(self) -> set[int]:
        """Which columns hold numbers (right-aligned)."""
        first = self.rows[0] if self.rows else []
        return {i for i, v in enumerate(first) if isinstance(v, (int, Decimal)) and not isinstance(v, bool)}


def shown(value: Any) -> str:
    if isinstance(value, Decimal):
        return yuan(value)
    if isinstance(value, date):
        return cn_date(value)
    return str(value)


@dataclass(frozen=True)
class Series:
    label: str
    data: Sequence[int | Decimal]
    kind: str = "bar"  # or "line"
    axis: str = "count"  # or "money": drawn against its own scale, written as ¥


@dataclass(frozen=True)
class Chart:
    """A chart drawn in the browser (``static/staff/charts.js``) from exactly the numbers of its
    table: ``series`` are columns of ``table``, ``labels`` its first column as the axis shows it."""

    table: Table
    labels: Sequence[str]
    series: Sequence[Series]
    horizontal: bool = False
    stacked: bool = False
    wide: bool = False  # across the whole page on wide screens
    empty: str = ""  # said instead of the chart when there is nothing to draw

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def has_data(self) -> bool:
        return any(v for s in self.series for v in s.data)

    @property
    def spec(self) -> dict[str, Any]:
        """What the script draws, for ``json_script``."""
        return {
            "title": self.table.title,
            "labels": list(self.labels),
            "horizontal": self.horizontal,
            "stacked": self.stacked,
            "series": [
                {"label": s.label, "data": [float(v) for v in s.data], "kind": s.kind, "axis": s.axis}
                for s in self.series
            ],
        }


def csv_response(*, table: Table, filename: str) -> HttpResponse:
    """The table as CSV, UTF-8 with a BOM, offered as a download."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    response = HttpResponse(out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _cell(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    text = str(value)
    # A cell Excel would read as a formula is kept as text.
    return "'" + text if text[:1] in {"=", "+", "-", "@"} and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
