"""The console overview's charts: guarantees issued and their premium per centre per month (from the
public rollup, ``baohan.console.rollup``, narrowed to an issuer's own orders for issuer staff), and
the billing usage reported per centre per month. Whole months; the centres with the most are drawn
one by one and the rest as one column, so a page costs the same however many centres there are."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import F, QuerySet, Sum
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from baohan.billing.models import UsageReport
from baohan.console.access import is_platform_admin, tenants_visible
from baohan.console.models import CentreMonthFigure
from baohan.console.rollup import rollup_visible
from baohan.portal.charts import Chart, DateRange, RangeChoice, Series, Table, csv_response, range_parse
from tenants.models import Tenant

ZERO = Decimal("0.00")


def last_months(months: int, *, today: date | None = None) -> DateRange:
    """From the first day of the month ``months - 1`` months ago up to today."""
    today = today or timezone.localdate()
    index = today.year * 12 + today.month - 1 - (months - 1)
    return DateRange(date(index // 12, index % 12 + 1, 1), today)


def months_of(span: DateRange) -> list[date]:
    """The first day of every calendar month ``span`` touches."""
    out = []
    index = span.first.year * 12 + span.first.month - 1
    end = span.last.year * 12 + span.last.month - 1
    while index <= end:
        out.append(date(index // 12, index % 12 + 1, 1))
        index += 1
    return out


def month_label(month: date) -> str:
    return f"{month.year}年{month.month}月"


def month_span(span: DateRange) -> DateRange:
    """``span`` widened to the whole months it touches: the rollup counts by month."""
    months = months_of(span)
    index = months[-1].year * 12 + months[-1].month  # the month after the last
    return DateRange(months[0], date(index // 12, index % 12 + 1, 1) - timedelta(days=1))


# Each chart draws this many centres (the most of what it counts in the range) and the rest as one.
CHART_CENTRES = 10

Value = int | Decimal


@dataclass(frozen=True)
class Column:
    label: str
    values: dict[date, Value]


def _columns(
    *,
    rows: QuerySet[Any],
    measure: str,
    visible: Sequence[Tenant],
    more: bool,
    months: list[date],
    zero: Value,
) -> tuple[list[Column], dict[date, Value]]:
    """The chart's columns from ``rows`` (rollup or usage rows of what may be seen, in the range,
    with ``tenant_id``, a month field ``month`` and ``measure``): every visible centre when there
    are few (``visible``, by code), else the ``CHART_CENTRES`` with the most and one for the rest;
    and the months' totals. Three statements, whatever the number of centres."""
    totals: dict[date, Value] = {
        r["month"]: r["v"] or zero for r in rows.order_by().values("month").annotate(v=Sum(measure))
    }
    if more:
        top = list(
            rows.order_by()
            .values("tenant_id")
            .annotate(v=Sum(measure))
            .order_by("-v", "tenant_id")
            .values_list("tenant_id", flat=True)[:CHART_CENTRES]
        )
        by_id = Tenant.objects.in_bulk(top)
        centres = [by_id[pk] for pk in top if pk in by_id]
    else:
        centres = list(visible)
    per: dict[int, dict[date, Value]] = {t.pk: {} for t in centres}
    for r in rows.filter(tenant_id__in=list(per)).order_by().values("tenant_id", "month").annotate(v=Sum(measure)):
        per[r["tenant_id"]][r["month"]] = r["v"] or zero
    columns = [Column(t.name, per[t.pk]) for t in centres]
    if more:
        rest: dict[date, Value] = {}
        for month in months:
            shown = sum((c.values.get(month, zero) for c in columns), zero)
            rest[month] = totals.get(month, zero) - shown
        columns.append(Column(_("其他交易中心"), rest))
    return columns, totals


def _matrix(
    name: str,
    title: str,
    months: list[date],
    columns: Sequence[Column],
    totals: dict[date, Value],
    zero: Value,
) -> tuple[Table, list[Series]]:
    """Months down, centres across (and their total): the table of a stacked chart."""
    rows = []
    for month in months:
        cells = [c.values.get(month, zero) for c in columns]
        rows.append([month_label(month), *cells, totals.get(month, zero)])
    table = Table(name, title, [_("月份"), *(c.label for c in columns), _("合计")], rows)
    series = [Series(c.label, [c.values.get(m, zero) for m in months]) for c in columns]
    return table, series


@dataclass(frozen=True)
class Visible:
    """The centres a user may see, for the charts: the first few by code, and whether there are more."""

    first: list[Tenant]
    more: bool


def visible_centres(*, user: User | AnonymousUser) -> Visible:
    first = list(tenants_visible(user).order_by("code")[: CHART_CENTRES + 1])
    return Visible(first[:CHART_CENTRES], len(first) > CHART_CENTRES)


def volume_charts(*, user: User | AnonymousUser, visible: Visible, span: DateRange) -> list[Chart]:
    """Guarantees issued and their premium per month, per centre, from the rollup rows ``user`` may see."""
    months = months_of(span)
    rows = rollup_visible(CentreMonthFigure.objects.filter(month__gte=months[0], month__lte=months[-1]), user=user)
    labels = [month_label(m) for m in months]
    charts = []
    for name, title, measure, zero, axis in (
        ("issued", _("各交易中心每月出函笔数"), "issued", 0, "count"),
        ("premium", _("各交易中心每月保费"), "premium", ZERO, "money"),
    ):
        columns, totals = _columns(
            rows=rows, measure=measure, visible=visible.first, more=visible.more, months=months, zero=zero
        )
        table, series = _matrix(name, title, months, columns, totals, zero)
        charts.append(
            Chart(
                table,
                labels,
                [Series(s.label, s.data, axis=axis) for s in series],
                stacked=True,
                empty=_("所选期间没有出函"),
            )
        )
    return charts


def billing_chart(*, visible: Visible, span: DateRange) -> Chart:
    """The amounts of the centres' usage reports for the months of ``span``, per centre (platform
    admins: every centre)."""
    months = months_of(span)
    rows = UsageReport.objects.filter(period_start__gte=months[0], period_start__lte=months[-1]).annotate(
        month=F("period_start")
    )
    columns, totals = _columns(
        rows=rows, measure="amount", visible=visible.first, more=visible.more, months=months, zero=ZERO
    )
    table, series = _matrix("billing", _("各交易中心每月计费金额"), months, columns, totals, ZERO)
    return Chart(
        table,
        [month_label(m) for m in months],
        [Series(s.label, s.data, axis="money") for s in series],
        stacked=True,
        empty=_("所选期间没有计费记录"),
    )


CONSOLE_MONTHS = 12


@dataclass(frozen=True)
class ConsoleOverview:
    range: RangeChoice
    charts: list[Chart]

    def csv(self, *, table: str) -> HttpResponse:
        """One chart's table as CSV; 400 naming the field for a refused range, 404 for no such table."""
        if self.range.errors:
            return HttpResponse(
                "\n".join(self.range.errors.values()), status=400, content_type="text/plain; charset=utf-8"
            )
        found = {c.name: c.table for c in self.charts}.get(table)
        if found is None:
            raise Http404(_("没有这张表"))
        span = self.range.range
        return csv_response(table=found, filename=f"{found.name}-{span.first:%Y%m%d}-{span.last:%Y%m%d}.csv")


def console_overview(*, user: User | AnonymousUser, params: Mapping[str, str]) -> ConsoleOverview:
    """The overview's charts for what ``user`` may see over the range asked for (the last 12 months
    unless ``from``/``to`` say otherwise), in whole months, read from the rollup and the usage
    reports: a fixed number of statements, whatever the number of centres."""
    choice = range_parse(params, default=last_months(CONSOLE_MONTHS))
    choice = RangeChoice(month_span(choice.range), choice.typed, choice.errors)
    visible = visible_centres(user=user)
    charts = volume_charts(user=user, visible=visible, span=choice.range)
    if is_platform_admin(user):
        charts.append(billing_chart(visible=visible, span=choice.range))
    return ConsoleOverview(choice, charts)
