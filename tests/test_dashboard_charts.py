"""The numbers behind the charts: the staff dashboard's tables (guarantees and premium per day, the
orders' funnel in the pack's words, premium by issuer, refund reasons, deposit deadlines) and the
console overview's (per centre per month, billing) match the database; the date range is checked
with an error naming the field; each table exports as CSV (UTF-8 with a BOM); and a centre's
dashboard counts only its own schema, an issuer's console only its own orders."""

from __future__ import annotations

import csv
import html
import io
import itertools
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count, Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.billing.models import Plan, UsageReport
from baohan.console.models import ConsoleRole
from baohan.console.rollup import centre_rollup_refresh
from baohan.guarantees.models import Order, Refund
from baohan.portal.templatetags.portal_format import cn_date, yuan
from tenants.models import Tenant
from tests.api import tenant
from tests.money import benxi_like_waiting, xinjiang_waiting
from tests.test_staff_pages import staff_client

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)
BOM = "\ufeff"


def text(response: Any) -> str:
    return str(response.content.decode())


def table(page: str, name: str) -> list[list[str]]:
    """The body rows of the data table ``name`` as the page shows them."""
    found = re.search(rf'data-table="{name}">(.*?)</table>', page, flags=re.S)
    assert found, f"no table {name}"
    body = found.group(1).split("<tbody>", 1)[1]
    rows = re.findall(r"<tr([^>]*)>(.*?)</tr>", body, flags=re.S)
    return [
        [html.unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", r)]
        for attrs, r in rows
        if "is-empty" not in attrs  # the line saying there is nothing
    ]


def issue(centre: str, number: str, *, premium: str, when: Any = None) -> None:
    """Mark an order issued (with this premium) as the issuer's service would leave it."""
    with tenant_context(tenant(centre)):
        Order.objects.filter(number=number).update(
            state="issued",
            premium=Decimal(premium),
            issued_at=when or timezone.now(),
            guarantee_number=f"G-CHART-{next(_serial)}",
        )
    connection.set_schema_to_public()
    # The issuer's transition marks the centre's console figures due; here they are counted at once.
    centre_rollup_refresh(tenant=tenant(centre))


def refund(centre: str, number: str, *, amount: str, rule: str, trigger: str = "bidder_abandons") -> None:
    with tenant_context(tenant(centre)):
        order = Order.objects.get(number=number)
        Refund.objects.create(
            number=f"R-CHART-{next(_serial)}",
            order=order,
            state="pending_review",
            trigger=trigger,
            rule_text=rule,
            section_status="accepting",
            bid_opened=False,
            rule_pack_version=1,
            amount=Decimal(amount),
        )
    connection.set_schema_to_public()


def today_cn() -> str:
    return cn_date(timezone.localdate())


# --- the staff dashboard -------------------------------------------------------------------------------


def test_the_staff_dashboards_tables_match_the_database() -> None:
    a = benxi_like_waiting(issuer="zijin")
    b = benxi_like_waiting(issuer="yongan")
    c = benxi_like_waiting(issuer="zijin")
    benxi_like_waiting(issuer="zijin")  # still waiting for payment
    issue("benxi", a.number, premium="1200.50")
    issue("benxi", b.number, premium="800.00")
    issue("benxi", c.number, premium="300.25")
    refund("benxi", a.number, amount="1200.50", rule="开标前放弃投标，全额退保")
    refund("benxi", b.number, amount="800.00", rule="开标前放弃投标，全额退保")

    page = text(staff_client("benxi").get("/staff/"))
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in page or "vendor/chartjs/chart.umd.min.js" in page
    assert 'data-chart="chart-daily-data"' in page

    with tenant_context(tenant("benxi")):
        since = timezone.now() - timedelta(days=40)
        issued = Order.objects.filter(issued_at__gte=since)
        totals = issued.aggregate(n=Count("id"), premium=Sum("premium"))
        per_issuer = dict(issued.values_list("issuer_code").annotate(p=Sum("premium")).values_list("issuer_code", "p"))
        states = dict(Order.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
        refunds = Refund.objects.aggregate(n=Count("id"), amount=Sum("amount"))
    connection.set_schema_to_public()

    # Per day: today's row carries every guarantee issued today and their premium.
    daily = table(page, "daily")
    assert len(daily) == 30
    assert daily[-1][0] == today_cn()
    assert daily[-1][2:] == [str(totals["n"]), yuan(totals["premium"])]
    assert {row[2] for row in daily[:-1]} == {"0"}

    # By issuer, in the pack's short names, most premium first.
    issuers = table(page, "issuers")
    assert issuers == [
        ["紫金", "2", yuan(per_issuer["zijin"])],
        ["永安", "1", yuan(per_issuer["yongan"])],
    ]
    assert per_issuer["zijin"] == Decimal("1500.75")

    # The funnel in Benxi's words: submitted, approved, paid, issued.
    submitted = sum(n for s, n in states.items() if s != "draft")
    funnel = table(page, "funnel")
    assert [row[0] for row in funnel] == ["待保险审核", "待支付订单", "待出函", "订单已完成"]
    assert [int(row[1]) for row in funnel] == [submitted, submitted, states["issued"], states["issued"]]
    assert funnel[0][2] == "100%"

    # Refund reasons: grouped by what caused them and the rule that decided them.
    assert table(page, "refunds") == [
        ["投标人放弃投标", "开标前放弃投标，全额退保", str(refunds["n"]), yuan(refunds["amount"])]
    ]

    # Deposit deadlines in the coming week: the four sections fall due in five days.
    deadlines = table(page, "deadlines")
    assert len(deadlines) == 7
    assert deadlines[0][0] == today_cn()
    due = cn_date(timezone.localtime(a.order().section.deposit_deadline).date())
    assert [row for row in deadlines if row[0] == due] == [[due, "4", "3"]]


def test_the_date_range_filters_and_a_bad_date_names_its_field() -> None:
    a = benxi_like_waiting()
    issue("benxi", a.number, premium="500.00", when=timezone.now() - timedelta(days=45))
    c = staff_client("benxi")
    old = timezone.localdate() - timedelta(days=45)

    # The default range (30 days) leaves the old guarantee out; a range around it shows it.
    assert table(text(c.get("/staff/")), "issuers") == []
    page = text(c.get("/staff/", {"from": str(old - timedelta(days=1)), "to": str(old + timedelta(days=1))}))
    daily = table(page, "daily")
    assert [row[0] for row in daily] == [cn_date(old + timedelta(days=i)) for i in (-1, 0, 1)]
    assert daily[1][2:] == ["1", "¥500.00"]
    assert table(page, "issuers") == [["紫金", "1", "¥500.00"]]

    response = c.get("/staff/", {"from": "2026-13-01", "to": "2026-12-01"})
    assert response.status_code == 400
    page = text(response)
    error = re.search(r'<p class="field-error" id="range-from-error">([^<]+)</p>', page)
    assert error
    assert "开始日期" in error.group(1)
    assert 'aria-describedby="range-from-error"' in page
    assert len(table(page, "daily")) == 30  # nothing changed: the default range stays

    response = c.get("/staff/", {"from": "2026-12-10", "to": "2026-12-01"})
    assert response.status_code == 400
    assert "结束日期不能早于开始日期" in text(response)
    response = c.get("/staff/", {"from": "2024-01-01", "to": "2026-12-01"})
    assert response.status_code == 400
    assert "日期范围不能超过 366 天" in text(response)
    assert c.get("/staff/", {"from": "x", "format": "csv", "table": "daily"}).status_code == 400
    assert c.get("/staff/", {"format": "csv", "table": "nothing"}).status_code == 404


def test_each_table_exports_as_csv_with_a_bom() -> None:
    a = benxi_like_waiting(issuer="yongan")
    issue("benxi", a.number, premium="1234.56")
    c = staff_client("benxi")
    page = text(c.get("/staff/"))
    for name in ("daily", "funnel", "issuers", "refunds", "deadlines", "states"):
        assert f"format=csv&amp;table={name}" in page, name
    today = timezone.localdate()
    first = today - timedelta(days=29)
    response = c.get("/staff/", {"from": str(first), "to": str(today), "format": "csv", "table": "issuers"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="issuers-{first:%Y%m%d}-{today:%Y%m%d}.csv"' in response["Content-Disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith(BOM)
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows == [["出函机构", "出函笔数", "保费（元）"], ["永安", "1", "1234.56"]]

    rows = list(csv.reader(io.StringIO(c.get("/staff/", {"format": "csv", "table": "daily"}).content.decode()[1:])))
    assert rows[0] == ["日期", "新增订单", "出函笔数", "保费（元）"]
    assert rows[-1] == [str(today), "1", "1", "1234.56"]
    assert len(rows) == 31

    states = list(csv.reader(io.StringIO(c.get("/staff/", {"format": "csv", "table": "states"}).content.decode()[1:])))
    assert ["订单已完成", "1"] in states


def test_a_centres_dashboard_counts_only_its_own_schema() -> None:
    here = benxi_like_waiting()
    issue("benxi", here.number, premium="100.00")
    there = xinjiang_waiting()
    issue("xinjiang", there.number, premium="99999.00")
    refund("xinjiang", there.number, amount="99999.00", rule="仅新疆的规则")

    page = text(staff_client("benxi").get("/staff/"))
    assert table(page, "issuers") == [["紫金", "1", "¥100.00"]]
    assert "国任" not in page
    assert "99,999.00" not in page
    assert "仅新疆的规则" not in page
    assert table(page, "refunds") == []
    assert table(page, "daily")[-1][2:] == ["1", "¥100.00"]

    page = text(staff_client("xinjiang").get("/staff/"))
    assert table(page, "issuers") == [["国任保险", "1", "¥99,999.00"]]
    assert [row[0] for row in table(page, "funnel")] == ["申请中", "待支付", "待出函", "已完成"]
    # A Benxi staff member is no one on Xinjiang's dashboard.
    benxi_staff = staff_client("benxi")
    benxi_staff.defaults["HTTP_HOST"] = "xinjiang.localhost"
    assert benxi_staff.get("/staff/").status_code in (302, 403)


def test_the_dashboard_costs_the_same_queries_however_many_orders() -> None:
    c = staff_client("benxi")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert c.get("/staff/").status_code == 200
        return len(captured)

    issue("benxi", benxi_like_waiting().number, premium="10.00")
    one = queries()
    for _ in range(3):
        issue("benxi", benxi_like_waiting(issuer="yongan").number, premium="20.00")
    assert queries() == one


# --- the console's overview ---------------------------------------------------------------------------


def console_client(kind: str, code: str = "", issuer: str = "") -> Client:
    connection.set_schema_to_public()
    user = User.objects.create_user(username=f"charts{next(_serial)}", password="charts-pass-2026")
    ConsoleRole.objects.create(
        user=user, kind=kind, tenant=Tenant.objects.get(code=code) if code else None, issuer_code=issuer
    )
    client = Client(HTTP_HOST="localhost")
    response = client.post("/console/login/", {"username": user.username, "password": "charts-pass-2026"})
    assert response.status_code == 302
    return client


def month_figures(code: str, issuers: list[str] | None = None) -> tuple[int, Decimal]:
    """This month's guarantees issued in ``code`` and their premium, read straight from its schema."""
    today = timezone.localdate()
    start = timezone.make_aware(datetime(today.year, today.month, 1))
    with tenant_context(tenant(code)):
        orders = Order.objects.filter(issued_at__gte=start, state__in=("issued", "surrendered"))
        if issuers is not None:
            orders = orders.filter(issuer_code__in=issuers)
        totals = orders.aggregate(n=Count("id"), premium=Sum("premium"))
    connection.set_schema_to_public()
    return totals["n"], totals["premium"] or Decimal("0.00")


def month_row(page: str, name: str) -> list[str]:
    today = timezone.localdate()
    rows = table(page, name)
    assert len(rows) == 12
    assert rows[-1][0] == f"{today.year}年{today.month}月"
    return rows[-1]


def test_the_console_overview_matches_each_centres_schema() -> None:
    issue("benxi", benxi_like_waiting(issuer="zijin").number, premium="1000.00")
    issue("benxi", benxi_like_waiting(issuer="yongan").number, premium="250.00")
    issue("xinjiang", xinjiang_waiting().number, premium="777.77")
    admin = console_client("platform_admin")
    page = text(admin.get("/console/"))
    header = re.search(r'data-table="issued">\s*<caption[^>]*>[^<]*</caption>\s*<thead><tr>(.*?)</tr>', page, re.S)
    assert header
    centres = [html.unescape(h) for h in re.findall(r"<th[^>]*>([^<]*)</th>", header.group(1))][1:-1]
    codes = list(Tenant.objects.exclude(schema_name="public").order_by("code").values_list("code", flat=True))
    assert centres == list(Tenant.objects.exclude(schema_name="public").order_by("code").values_list("name", flat=True))
    figures = [month_figures(code) for code in codes]
    issued, premium = month_row(page, "issued"), month_row(page, "premium")
    assert issued[1:] == [str(n) for n, _ in figures] + [str(sum(n for n, _ in figures))]
    assert premium[1:] == [yuan(p) for _, p in figures] + [yuan(sum((p for _, p in figures), Decimal("0.00")))]
    assert 'data-chart="chart-issued-data"' in page
    assert 'data-chart="chart-premium-data"' in page

    # CSV of what the table shows, with a BOM.
    body = admin.get("/console/", {"format": "csv", "table": "premium"}).content.decode("utf-8")
    assert body.startswith(BOM)
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0] == ["月份", *centres, "合计"]
    assert rows[-1][1:-1] == [f"{p:.2f}" for _, p in figures]

    response = admin.get("/console/", {"to": "2026-02-30"})
    assert response.status_code == 400
    assert "结束日期格式不正确" in text(response)


def usage_report(code: str, period_start: date, *, amount: str) -> None:
    """A month's usage as billing counts it (the Stripe side is not this test's)."""
    connection.set_schema_to_public()
    plan = Plan.objects.create(code=f"chart-{next(_serial)}", name="图表方案")
    end = (period_start + timedelta(days=32)).replace(day=1)
    UsageReport.objects.create(
        tenant=Tenant.objects.get(code=code),
        period_start=period_start,
        period_end=end,
        plan=plan,
        monthly_fee=Decimal(amount),
        per_guarantee_fee=Decimal("0.00"),
        premium_share=Decimal("0"),
        currency="cny",
        guarantees_issued=5,
        premium_volume=Decimal("5000.00"),
        monthly_amount=Decimal(amount),
        guarantees_amount=Decimal("0.00"),
        premium_amount=Decimal("0.00"),
        amount=Decimal(amount),
        counted_at=timezone.now(),
    )


def test_billing_usage_is_charted_for_platform_admins_only() -> None:
    month = timezone.localdate().replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    usage_report("benxi", last_month, amount="105.00")
    page = text(console_client("platform_admin").get("/console/"))
    rows = table(page, "billing")
    assert len(rows) == 12
    label = f"{last_month.year}年{last_month.month}月"
    codes = list(Tenant.objects.exclude(schema_name="public").order_by("code").values_list("code", flat=True))
    [row] = [r for r in rows if r[0] == label]
    assert row[1 + codes.index("benxi")] == "¥105.00"
    assert row[-1] == "¥105.00"

    staff_page = text(console_client("centre_staff", "benxi").get("/console/"))
    assert 'data-table="billing"' not in staff_page
    assert 'data-table="issued"' in staff_page


def test_issuer_and_centre_staff_see_only_their_own_numbers() -> None:
    issue("benxi", benxi_like_waiting(issuer="zijin").number, premium="111.00")
    issue("benxi", benxi_like_waiting(issuer="yongan").number, premium="222.00")
    issue("xinjiang", xinjiang_waiting().number, premium="333.00")

    page = text(console_client("issuer_staff", "benxi", "zijin").get("/console/"))
    n, premium = month_figures("benxi", ["zijin"])
    assert month_row(page, "issued")[1:] == [str(n), str(n)]
    assert month_row(page, "premium")[1:] == [yuan(premium), yuan(premium)]
    assert "新疆" not in re.search(r'data-table="premium">(.*?)</table>', page, re.S).group(1)  # type: ignore[union-attr]

    page = text(console_client("centre_staff", "xinjiang").get("/console/"))
    n, premium = month_figures("xinjiang")
    assert month_row(page, "issued")[1:] == [str(n), str(n)]
    assert month_row(page, "premium")[1:] == [yuan(premium), yuan(premium)]


def test_the_overview_reads_each_centre_once_however_many_orders() -> None:
    admin = console_client("platform_admin")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin.get("/console/").status_code == 200
        return len(captured)

    issue("benxi", benxi_like_waiting().number, premium="10.00")
    one = queries()
    for _ in range(3):
        issue("benxi", benxi_like_waiting(issuer="yongan").number, premium="20.00")
    assert queries() == one


def test_month_ranges_cover_whole_months() -> None:
    from baohan.console.charts import last_months, months_of
    from baohan.portal.charts import DateRange

    span = last_months(12, today=date(2026, 12, 4))
    assert span == DateRange(date(2026, 1, 1), date(2026, 12, 4))
    assert months_of(DateRange(date(2025, 11, 20), date(2026, 2, 1))) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
