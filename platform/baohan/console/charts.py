"""The console overview's charts: guarantees issued and their premium per centre per month (read in
each centre's own schema, one grouped query per centre, narrowed to an issuer's own orders for
issuer staff), and the billing usage reported per centre per month (one query, public schema)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from baohan.billing.models import UsageReport
from baohan.billing.periods import BILLING_TZ
from baohan.billing.services import COUNTED_STATES
from baohan.console.access import is_platform_admin, issuer_codes_of, tenants_visible
from baohan.guarantees.models import Order
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


@dataclass(frozen=True)
class CentreMonths:
    tenant: Tenant
    issued: dict[date, int]
    premium: dict[date, Decimal]


def centre_months(*, tenant: Tenant, span: DateRange, issuer_codes: list[str] | None) -> CentreMonths:
    """Guarantees ``tenant`` issued within ``span``, and their premium, per month (Asia/Shanghai), read
    in its schema in one grouped query; ``issuer_codes`` narrows them to those issuers' orders."""
    with tenant_context(tenant):
        orders = Order.objects.filter(issued_at__gte=span.start_at, issued_at__lt=span.end_at, state__in=COUNTED_STATES)
        if issuer_codes is not None:
            orders = orders.filter(issuer_code__in=issuer_codes)
        rows = list(
            orders.annotate(month=TruncMonth("issued_at", tzinfo=BILLING_TZ))
            .order_by()
            .values("month")
            .annotate(n=Count("id"), premium=Sum("premium"))
        )
    issued: dict[date, int] = {}
    premium: dict[date, Decimal] = {}
    for row in rows:  # one row per month
        month = row["month"].astimezone(BILLING_TZ).date() if hasattr(row["month"], "astimezone") else row["month"]
        issued[month] = row["n"]
        premium[month] = row["premium"] or ZERO
    return CentreMonths(tenant, issued, premium)


def _matrix(
    name: str,
    title: str,
    months: list[date],
    centres: Sequence[Tenant],
    value: dict[str, dict[date, int | Decimal]],
    zero: int | Decimal,
) -> tuple[Table, list[Series]]:
    """Months down, centres across (and their total): the table of a stacked chart."""
    rows = []
    for month in months:
        cells = [value[c.code].get(month, zero) for c in centres]
        rows.append([month_label(month), *cells, sum(cells, zero)])
    table = Table(name, title, [_("月份"), *(c.name for c in centres), _("合计")], rows)
    series = [Series(c.name, [value[c.code].get(m, zero) for m in months]) for c in centres]
    return table, series


def volume_charts(*, figures: Sequence[CentreMonths], span: DateRange) -> list[Chart]:
    months = months_of(span)
    centres = [f.tenant for f in figures]
    issued_table, issued_series = _matrix(
        "issued", _("各交易中心每月出函笔数"), months, centres, {f.tenant.code: dict(f.issued) for f in figures}, 0
    )
    premium_table, premium_series = _matrix(
        "premium", _("各交易中心每月保费"), months, centres, {f.tenant.code: dict(f.premium) for f in figures}, ZERO
    )
    labels = [month_label(m) for m in months]
    return [
        Chart(issued_table, labels, issued_series, stacked=True, empty=_("所选期间没有出函")),
        Chart(
            premium_table,
            labels,
            [Series(s.label, s.data, axis="money") for s in premium_series],
            stacked=True,
            empty=_("所选期间没有出函"),
        ),
    ]


def billing_chart(*, tenants: Sequence[Tenant], span: DateRange) -> Chart:
    """The amounts of the usage reports of ``tenants`` for the months of ``span``, per centre. One query."""
    months = months_of(span)
    amounts: dict[str, dict[date, int | Decimal]] = {t.code: {} for t in tenants}
    by_id = {t.pk: t.code for t in tenants}
    reports = (
        UsageReport.objects.filter(tenant_id__in=list(by_id), period_start__gte=months[0], period_start__lte=months[-1])
        .order_by()
        .values("tenant_id", "period_start")
        .annotate(amount=Sum("amount"))
    )
    for r in reports:
        amounts[by_id[r["tenant_id"]]][r["period_start"]] = r["amount"] or ZERO
    table, series = _matrix("billing", _("各交易中心每月计费金额"), months, list(tenants), amounts, ZERO)
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
    unless ``from``/``to`` say otherwise): one query per visible centre, one for billing (platform
    admins only)."""
    choice = range_parse(params, default=last_months(CONSOLE_MONTHS))
    tenants = list(tenants_visible(user).order_by("code"))
    figures = [centre_months(tenant=t, span=choice.range, issuer_codes=issuer_codes_of(user, t)) for t in tenants]
    charts = volume_charts(figures=figures, span=choice.range)
    if is_platform_admin(user):
        charts.append(billing_chart(tenants=tenants, span=choice.range))
    return ConsoleOverview(choice, charts)
