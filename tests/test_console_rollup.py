"""The console overview reads every centre's figures from the public rollup: its statements do not
grow with the number of centres; an order's move marks its centre due, and the refresh beat then
queues makes the rollup equal to what the centre's schema says; issuer staff see only their
issuer's rows; one centre's refresh never touches another's rows."""

from __future__ import annotations

import html
import itertools
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.billing.periods import BILLING_TZ
from baohan.console import charts, views
from baohan.console.models import CentreMonthFigure, CentreRollup, CentreStateFigure, ConsoleRole
from baohan.console.rollup import ROLLUP_JOB, centre_rollup_refresh
from baohan.guarantees.models import Order
from baohan.ops.due import centre_due_fan_out
from baohan.ops.models import CentreDue
from baohan.portal.templatetags.portal_format import yuan
from tenants.models import Tenant
from tenants.services import tenant_onboard
from tests.api import tenant
from tests.money import Waiting, benxi_like_waiting

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)
PASSWORD = "rollup-pass-2026"


def console_client(kind: str, code: str = "", issuer: str = "") -> Client:
    connection.set_schema_to_public()
    user = User.objects.create_user(username=f"rollup{next(_serial)}", password=PASSWORD)
    ConsoleRole.objects.create(
        user=user, kind=kind, tenant=Tenant.objects.get(code=code) if code else None, issuer_code=issuer
    )
    client = Client(HTTP_HOST="localhost")
    assert client.post("/console/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def issued(waiting: Waiting) -> None:
    """The insurer confirms the premium and issues, through its API (transitions and their effects)."""
    number = waiting.number
    status, order = waiting.issuer.post(
        f"/api/v1/issuer/orders/{number}/payment", {"outcome": "confirmed", "amount": str(waiting.payable)}
    )
    assert status == 200, order
    status, order = waiting.issuer.post(f"/api/v1/issuer/orders/{number}/issue", {})
    assert order["state"] == "issued", order
    connection.set_schema_to_public()


def rollup_run(code: str) -> int:
    """What beat does a minute later: queue ``console.rollup`` where it is due (inline in tests)."""
    connection.set_schema_to_public()
    return centre_due_fan_out(job=ROLLUP_JOB, now=timezone.now() + timedelta(seconds=61))


def centres_table(page: str) -> str:
    found = re.search(r'<table class="data-table console-tenants">(.*?)</table>', page, re.S)
    assert found
    return found.group(1)


def listed(page: str) -> list[str]:
    return re.findall(r'<tr data-tenant="([^"]+)"', centres_table(page))


def centre_row(page: str, code: str) -> str:
    found = re.search(rf'<tr data-tenant="{code}">(.*?)</tr>', centres_table(page), re.S)
    assert found, code
    return html.unescape(found.group(1))


def more_centre(code: str) -> Tenant:
    data = yaml.safe_load((settings.REGIONS_DIR / "xuancheng.yaml").read_text(encoding="utf-8"))
    data["centre"].update(code=code, name=f"{code}公共资源交易中心", site_title=f"{code}电子保函服务平台", theme=None)
    source = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return tenant_onboard(source_text=source, source_name=f"{code}.yaml", domains=[f"{code}.localhost"]).tenant


def test_the_overview_costs_the_same_statements_however_many_centres(monkeypatch: pytest.MonkeyPatch) -> None:
    # Few enough columns that the charts draw their top centres and the rest as one, both times.
    monkeypatch.setattr(charts, "CHART_CENTRES", 2)
    admin = console_client("platform_admin")
    issued(benxi_like_waiting())
    centre_rollup_refresh(tenant=tenant("benxi"))

    def statements() -> tuple[int, str]:
        admin.get("/console/")
        with CaptureQueriesContext(connection) as captured:
            response = admin.get("/console/")
            assert response.status_code == 200
            assert admin.get("/console/", {"format": "csv", "table": "premium"}).status_code == 200
        return len(captured), response.content.decode()

    before, page = statements()
    centres = Tenant.objects.exclude(schema_name="public").count()
    assert len(listed(page)) == centres
    for i in range(3):
        more_centre(f"rollup{i}")
    after, page = statements()
    assert len(listed(page)) == centres + 3
    assert after == before
    # A centre just onboarded shows zeros, not nothing; the rest of the centres are one column.
    assert "暂无订单" in centre_row(page, "rollup0")
    assert "0.00" in centre_row(page, "rollup0")
    assert "其他交易中心" in page
    assert "各中心数据截至" in page

    # A page at a time: the same statements on the second page.
    monkeypatch.setattr(views, "CENTRES_PER_PAGE", 2)
    admin.get("/console/")
    with CaptureQueriesContext(connection) as captured:
        second = admin.get("/console/", {"page": "2"}).content.decode()
    assert len(listed(second)) == 2
    assert 'page=3"' in second
    assert 'page=1"' in second
    with CaptureQueriesContext(connection) as first:
        admin.get("/console/")
    assert len(captured) == len(first)


def direct_figures(code: str) -> tuple[dict[tuple[str, str], tuple[int, Decimal]], dict[Any, tuple[int, Decimal]]]:
    with tenant_context(tenant(code)):
        states = {
            (r["issuer_code"], r["state"]): (r["n"], r["p"])
            for r in Order.objects.order_by().values("issuer_code", "state").annotate(n=Count("id"), p=Sum("premium"))
        }
        months = {
            (r["m"].astimezone(BILLING_TZ).date(), r["issuer_code"]): (r["n"], r["p"])
            for r in Order.objects.filter(state__in=("issued", "surrendered"))
            .annotate(m=TruncMonth("issued_at", tzinfo=BILLING_TZ))
            .order_by()
            .values("m", "issuer_code")
            .annotate(n=Count("id"), p=Sum("premium"))
        }
    connection.set_schema_to_public()
    return states, months


def rolled_up(code: str) -> tuple[dict[tuple[str, str], tuple[int, Decimal]], dict[Any, tuple[int, Decimal]]]:
    t = tenant(code)
    states = {(f.issuer_code, f.state): (f.orders, f.premium) for f in CentreStateFigure.objects.filter(tenant=t)}
    months = {(f.month, f.issuer_code): (f.issued, f.premium) for f in CentreMonthFigure.objects.filter(tenant=t)}
    return states, months


def test_an_orders_move_marks_its_centre_and_the_refresh_matches_the_schema() -> None:
    centre_rollup_refresh(tenant=tenant("benxi"))
    CentreDue.objects.filter(job=ROLLUP_JOB).delete()
    before = rolled_up("benxi")
    waiting = benxi_like_waiting(issuer="yongan")
    issued(waiting)
    issued(benxi_like_waiting(issuer="zijin"))
    benxi_like_waiting(issuer="zijin")  # approved, waiting for its premium

    # The moves marked Benxi (and only Benxi) due a minute on; nothing was counted yet.
    due = list(CentreDue.objects.filter(job=ROLLUP_JOB).values_list("schema_name", "due_at"))
    assert [schema for schema, _ in due] == ["benxi"]
    assert due[0][1] > timezone.now()
    assert rolled_up("benxi") == before
    assert rolled_up("benxi") != direct_figures("benxi")

    assert rollup_run("benxi") == 1
    assert not CentreDue.objects.filter(job=ROLLUP_JOB).exists()
    assert rolled_up("benxi") == direct_figures("benxi")
    states, _ = direct_figures("benxi")

    # The overview shows the counts and the issued premium the schema has.
    page = console_client("platform_admin").get("/console/").content.decode()
    row = centre_row(page, "benxi")
    for _, state in states:
        assert f"state-{state}" in row
    total = sum(n for n, _ in states.values())
    shown = sum(int(n) for n in re.findall(r'class="badge state-[a-z_]+">[^<]*?(\d+)</span>', row))
    assert shown == total
    premium = sum((p for (_, s), (_, p) in states.items() if s in ("issued", "surrendered")), Decimal("0.00"))
    assert premium > 0
    assert f"{premium:,.2f}" in row


def test_issuer_staff_see_only_their_issuers_rows() -> None:
    zijin = benxi_like_waiting(issuer="zijin", amount="20000.00")
    yongan = benxi_like_waiting(issuer="yongan", amount="30000.00")
    issued(zijin)
    issued(yongan)
    assert rollup_run("benxi") >= 1
    states, months = direct_figures("benxi")
    mine = sum((p for (issuer, s), (_, p) in states.items() if issuer == "zijin" and s == "issued"), Decimal())
    theirs = sum((p for (issuer, s), (_, p) in states.items() if issuer == "yongan" and s == "issued"), Decimal())
    assert mine
    assert theirs

    page = console_client("issuer_staff", "benxi", "zijin").get("/console/").content.decode()
    assert listed(page) == ["benxi"]
    row = centre_row(page, "benxi")
    assert f"{mine:,.2f}" in row
    assert f"{mine + theirs:,.2f}" not in row
    zijin_orders = sum(n for (issuer, _), (n, _) in states.items() if issuer == "zijin")
    assert sum(int(n) for n in re.findall(r"state-[a-z_]+\">[^<]*?(\d+)</span>", row)) == zijin_orders
    month = timezone.localdate().replace(day=1)
    premium = re.search(r'data-table="premium">(.*?)</table>', page, re.S)
    assert premium
    this_month = [r for r in re.findall(r"<tr>(.*?)</tr>", premium.group(1), re.S) if f"{month.month}月<" in r]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", this_month[-1])
    assert cells[-2:] == [yuan(months[(month, "zijin")][1]), yuan(months[(month, "zijin")][1])]

    everyone = console_client("centre_staff", "benxi").get("/console/").content.decode()
    assert f"{mine + theirs:,.2f}" in centre_row(everyone, "benxi")


def test_a_centres_refresh_never_writes_another_centres_rows() -> None:
    for code in ("benxi", "xinjiang"):
        centre_rollup_refresh(tenant=tenant(code))
    xinjiang = tenant("xinjiang")

    def theirs() -> Any:
        return (
            list(CentreStateFigure.objects.filter(tenant=xinjiang).order_by("pk").values()),
            list(CentreMonthFigure.objects.filter(tenant=xinjiang).order_by("pk").values()),
            CentreRollup.objects.get(tenant=xinjiang).refreshed_at,
        )

    kept = theirs()
    issued(benxi_like_waiting())
    benxi = tenant("benxi")
    with CaptureQueriesContext(connection) as captured:
        centre_rollup_refresh(tenant=benxi)
    assert theirs() == kept
    writes = [q["sql"] for q in captured if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes
    for sql in writes:  # every write names Benxi's rows, and only them
        assert re.search(rf"\b{benxi.pk}\b", sql), sql
        assert not re.search(rf"\"tenant_id\" = {xinjiang.pk}\b", sql), sql
    assert rolled_up("benxi") == direct_figures("benxi")
