"""The charts in a real browser: the staff dashboard (Benxi at a desktop's width, Xinjiang on a
phone) and the console's overview draw their charts with the bundled Chart.js from the same numbers
as the data tables beside them, in colours of at least 3:1 against white. Screenshots as
``staff-dashboard…`` in each centre's folder and ``overview-charts…`` in the console's."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from baohan.console.models import ConsoleRole
from tests.browser.conftest import LiveSite, PageFactory, assert_clean, screenshot
from tests.browser.walk import accessible, fits_phone
from tests.money import benxi_like_waiting, xinjiang_waiting
from tests.test_dashboard_charts import issue, refund, usage_report
from tests.test_staff_pages import PASSWORD, staff_make

# Every drawn chart: its datasets' numbers and colours, and the numbers of its table's columns.
CHARTS = """() => Array.from(document.querySelectorAll("canvas[data-chart]")).map((canvas) => {
  const chart = Chart.getChart(canvas);
  const card = canvas.closest("[data-chart-card]");
  const rows = Array.from(card.querySelectorAll("table[data-table] tbody tr:not(.is-empty)"));
  const columns = rows.length ? rows[0].children.length : 0;
  const table = [];
  for (let i = 1; i < columns; i++) {
    table.push(rows.map((r) => r.children[i].textContent.trim()));
  }
  return {
    name: card.dataset.chartCard,
    labels: chart ? chart.data.labels : null,
    datasets: chart ? chart.data.datasets.map((d) => ({label: d.label, data: d.data, colour: d.borderColor})) : null,
    header: Array.from(card.querySelectorAll("table[data-table] thead th")).map((th) => th.textContent.trim()),
    table: table,
  };
})"""


def number(cell: str) -> float:
    return float(Decimal(cell.replace("¥", "").replace(",", "")))


def contrast_on_white(colour: str) -> float:
    r, g, b = (int(float(v)) for v in re.findall(r"[\d.]+", colour)[:3])

    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else float(((c + 0.055) / 1.055) ** 2.4)

    lum = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (lum + 0.05)


def drawn(page: Page) -> dict[str, Any]:
    """Wait for Chart.js to draw every canvas; each chart's numbers must be its table's."""
    page.wait_for_function(
        "() => window.Chart && Array.from(document.querySelectorAll('canvas[data-chart]'))"
        ".every((c) => Chart.getChart(c))"
    )
    charts = {c["name"]: c for c in page.evaluate(CHARTS)}
    for name, chart in charts.items():
        assert chart["datasets"], name
        for dataset in chart["datasets"]:
            column = chart["header"].index(dataset["label"]) - 1
            assert dataset["data"] == [number(v) for v in chart["table"][column]], (name, dataset["label"])
            assert contrast_on_white(dataset["colour"]) >= 3, (name, dataset["colour"])
    return charts


def staff_sign_in(page: Page, region: str) -> None:
    phone = staff_make(region, name="统计员")
    page.goto("/staff/login/")
    page.get_by_label("手机号码").fill(phone)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/staff/$"))


def test_the_staff_dashboard_draws_its_charts_at_a_desktop(page_factory: PageFactory) -> None:
    a = benxi_like_waiting(issuer="zijin")
    b = benxi_like_waiting(issuer="yongan")
    benxi_like_waiting(issuer="zijin")
    issue("benxi", a.number, premium="1500.00")
    issue("benxi", b.number, premium="620.00")
    refund("benxi", a.number, amount="1500.00", rule="开标前放弃投标，全额退保")
    page = page_factory("benxi")
    staff_sign_in(page, "benxi")
    charts = drawn(page)
    assert set(charts) == {"daily", "funnel", "issuers", "refunds", "deadlines"}
    assert charts["issuers"]["labels"] == ["紫金", "永安"]
    assert charts["issuers"]["datasets"][0]["data"] == [1500.0, 620.0]
    assert charts["funnel"]["labels"] == ["待保险审核", "待支付订单", "待出函", "订单已完成"]
    assert charts["funnel"]["datasets"][0]["data"] == [3, 3, 2, 2]
    # The tables sit in <details> for screen readers and anyone who would rather read.
    details = page.locator('[data-chart-card="issuers"] details')
    details.locator("summary").click()
    expect(details.locator("tbody tr").first).to_contain_text("¥1,500.00")
    accessible(page)
    screenshot(page, "benxi", "staff-dashboard")

    # A narrower range from the form: the numbers follow.
    page.get_by_label("开始日期").fill("2020-01-01")
    page.get_by_label("结束日期").fill("2020-01-31")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"from=2020-01-01&to=2020-01-31"))
    expect(page.locator('[data-empty="issuers"]')).to_have_text("所选期间没有出函")
    expect(page.locator('[data-table="daily"] tbody tr')).to_have_count(31)
    screenshot(page, "benxi", "staff-dashboard-range")
    assert_clean(page)


def test_the_staff_dashboard_on_a_phone(page_factory: PageFactory) -> None:
    w = xinjiang_waiting()
    issue("xinjiang", w.number, premium="2400.00")
    page = page_factory("xinjiang", mobile=True)
    staff_sign_in(page, "xinjiang")
    charts = drawn(page)
    assert charts["issuers"]["labels"] == ["国任保险"]
    assert charts["funnel"]["labels"] == ["申请中", "待支付", "待出函", "已完成"]
    width = page.evaluate("() => document.getElementById('chart-daily').getBoundingClientRect().width")
    assert 200 < width <= 390
    accessible(page)
    fits_phone(page, "xinjiang", "staff-dashboard")
    assert_clean(page)


def test_the_console_overview_draws_volume_premium_and_billing(live_site: LiveSite, page_factory: PageFactory) -> None:
    issue("benxi", benxi_like_waiting().number, premium="880.00")
    issue("xinjiang", xinjiang_waiting().number, premium="1320.00")
    usage_report("benxi", timezone.localdate().replace(day=1), amount="318.00")
    password = "Charts-2026-console"
    user = User.objects.create_user(username=f"charts-{secrets.token_hex(4)}", password=password)
    ConsoleRole.objects.create(user=user, kind="platform_admin")
    page = page_factory()
    page.goto(live_site.platform_url("/console/login/"))
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(password)
    page.locator("form button[type=submit]").first.click()
    expect(page.locator('[data-chart-card="premium"]')).to_be_visible()
    charts = drawn(page)
    assert set(charts) == {"issued", "premium", "billing"}
    assert len(charts["premium"]["labels"]) == 12
    totals = {d["label"]: d["data"][-1] for d in charts["premium"]["datasets"]}
    assert max(v for k, v in totals.items() if "本溪" in k) >= 880.0
    billing = {d["label"]: d["data"][-1] for d in charts["billing"]["datasets"]}
    assert billing["本溪市公共资源交易中心"] == 318.0
    accessible(page)
    screenshot(page, "console", "overview-charts")
    fits_phone(page, "console", "overview-charts")
    assert_clean(page)
