"""Platform billing: a centre's usage is counted from the guarantees it issued in a calendar month
(Asia/Shanghai), billed by its plan in Decimal, and reported to Stripe (the fake, at the HTTP
boundary, driven by the real stripe-python client) once per month, whatever is retried or lost."""

from __future__ import annotations

import io
import itertools
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.billing.errors import BillingError
from baohan.billing.models import Plan, TenantPlan, UsageReport
from baohan.billing.periods import Period, period_of, period_parse
from baohan.billing.services import (
    Usage,
    billing_report_due,
    plan_assign,
    usage_amounts,
    usage_count,
    usage_report,
)
from baohan.billing.stripe_invoices import billing_stripe_client, to_fen
from baohan.console.models import ConsoleAction, ConsoleRole
from baohan.guarantees.models import Order
from tenants.models import Tenant
from tests.api import tenant
from tests.fake_stripe import FakeStripe
from tests.money import Waiting, benxi_like_waiting, stripe_fake

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
OCTOBER = date(2025, 10, 1)
_serial = itertools.count(1)


# --- helpers -----------------------------------------------------------------------------------------------


def issue(waiting: Waiting) -> None:
    """Pay and issue an approved order through the issuer's API, as the manual goes."""
    status, order = waiting.issuer.post(
        f"/api/v1/issuer/orders/{waiting.number}/payment", {"outcome": "confirmed", "amount": str(waiting.payable)}
    )
    assert status == 200, order
    status, order = waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/issue", {})
    assert (status, order["state"]) == (200, "issued"), order


def issued(centre: str, at: datetime, *, surrendered: bool = False) -> Order:
    """A guarantee issued through the API, then dated ``at`` (and surrendered if asked)."""
    waiting = benxi_like_waiting(centre)
    issue(waiting)
    with tenant_context(tenant(centre)):
        changes: dict[str, Any] = {"issued_at": at}
        if surrendered:
            changes["state"] = "surrendered"
        Order.objects.filter(number=waiting.number).update(**changes)
        order = Order.objects.get(number=waiting.number)
    connection.set_schema_to_public()
    return order


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def plan_make(**terms: Any) -> Plan:
    values = {
        "code": f"plan-{next(_serial)}",
        "name": "标准方案",
        "monthly_fee": Decimal("1000.00"),
        "per_guarantee_fee": Decimal("50.00"),
        "premium_share": Decimal("0.015"),
    }
    values.update(terms)
    return Plan.objects.create(**values)


def on_plan(code: str, plan: Plan, *, since: datetime | None = None) -> TenantPlan:
    since = since or shanghai(2025, 10, 1)
    tenant_plan = plan_assign(tenant=tenant(code), plan=plan, actor=None)
    TenantPlan.objects.filter(pk=tenant_plan.pk).update(started_at=since)
    tenant_plan.refresh_from_db()
    return tenant_plan


def console_user(kind: str, code: str = "", issuer: str = "") -> tuple[User, Client]:
    connection.set_schema_to_public()
    user = User.objects.create_user(username=f"billing{next(_serial)}", password="console-pass-2026")
    ConsoleRole.objects.create(
        user=user, kind=kind, tenant=Tenant.objects.get(code=code) if code else None, issuer_code=issuer
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return user, client


def text(response: Any) -> str:
    return str(response.content.decode())


def posts(fake: FakeStripe) -> list[tuple[str, str]]:
    return [(r.path, r.headers.get("Idempotency-Key", "")) for r in fake.requests if r.method == "POST"]


@pytest.fixture
def october() -> dict[str, Any]:
    """Benxi's October 2025: two guarantees issued (one surrendered since, one at 23:59:59 on the 31st,
    Shanghai time), one issued a second later (November), an order never issued; and one issued in
    another centre in October."""
    a = issued("benxi", shanghai(2025, 10, 10, 9, 30))
    b = issued("benxi", shanghai(2025, 10, 31, 23, 59, 59), surrendered=True)
    c = issued("benxi", shanghai(2025, 11, 1, 0, 0, 0))
    benxi_like_waiting("benxi")  # approved, never paid: not a guarantee
    other = issued("paytest", shanghai(2025, 10, 15, 12, 0))
    return {"counted": [a, b], "november": [c], "other": other}


# --- counting and amounts ----------------------------------------------------------------------------------


def test_usage_is_the_guarantees_issued_in_the_month_in_shanghai_time(october: dict[str, Any]) -> None:
    period = Period(OCTOBER)
    usage = usage_count(tenant=tenant("benxi"), period_start=period.start_at, period_end=period.end_at)
    assert usage == Usage(2, sum((o.premium for o in october["counted"]), Decimal("0.00")))
    november = period.next()
    usage = usage_count(tenant=tenant("benxi"), period_start=november.start_at, period_end=november.end_at)
    assert usage == Usage(1, october["november"][0].premium)
    # The other centre's guarantee counts there, not here.
    usage = usage_count(tenant=tenant("paytest"), period_start=period.start_at, period_end=period.end_at)
    assert usage == Usage(1, october["other"].premium)


def test_amounts_are_decimal_half_up_to_the_fen() -> None:
    amounts = usage_amounts(
        monthly_fee=Decimal("1999.99"),
        per_guarantee_fee=Decimal("12.50"),
        premium_share=Decimal("0.005"),
        usage=Usage(3, Decimal("101.00")),
    )
    # 101.00 × 0.005 = 0.505 → 0.51 (half up; banker's rounding would say 0.50)
    assert (amounts.monthly, amounts.guarantees, amounts.premium) == (
        Decimal("1999.99"),
        Decimal("37.50"),
        Decimal("0.51"),
    )
    assert amounts.total == Decimal("2038.00")
    assert all(isinstance(v, Decimal) for v in (amounts.monthly, amounts.guarantees, amounts.premium, amounts.total))
    share = usage_amounts(
        monthly_fee=Decimal(0),
        per_guarantee_fee=Decimal(0),
        premium_share=Decimal("0.0125"),
        usage=Usage(7, Decimal("12345.67")),
    )
    assert share.premium == Decimal("154.32")  # 154.320875
    assert (to_fen(Decimal("1234.56")), to_fen(Decimal("0.505")), to_fen(Decimal("0.00"))) == (123456, 51, 0)


# --- reporting to Stripe -------------------------------------------------------------------------------------


def test_the_month_reported_to_stripe_is_the_guarantees_issued_in_it(october: dict[str, Any]) -> None:
    on_plan("benxi", plan_make())
    premium = sum((o.premium for o in october["counted"]), Decimal("0.00"))
    share = (premium * Decimal("0.015")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    with stripe_fake() as fake:
        outcome = usage_report(tenant=tenant("benxi"), period_start=OCTOBER)
        assert outcome.outcome == "reported", outcome.message
        [customer] = fake.customers.values()
        assert (customer["name"], customer["metadata"]) == (
            tenant("benxi").name,
            {"tenant": "benxi", "schema": "benxi"},
        )
        [invoice] = fake.invoices.values()
        assert (invoice["customer"], invoice["currency"], invoice["status"]) == (customer["id"], "cny", "open")
        assert invoice["metadata"]["period"] == "2025-10"
        lines = {line["metadata"]["component"]: line for line in fake.invoice_lines(invoice["id"])}
        assert {k: v["amount"] for k, v in lines.items()} == {
            "monthly": 100000,
            "guarantees": 2 * 5000,  # two guarantees issued in October, one of them surrendered since
            "premium": to_fen(share),
        }
        assert "出函 2 笔" in lines["guarantees"]["description"]
        assert invoice["total"] == 100000 + 10000 + to_fen(share)
        assert posts(fake) == [
            ("/v1/customers", "customer-benxi"),
            ("/v1/invoices", "usage-benxi-2025-10-invoice"),
            ("/v1/invoiceitems", "usage-benxi-2025-10-monthly"),
            ("/v1/invoiceitems", "usage-benxi-2025-10-guarantees"),
            ("/v1/invoiceitems", "usage-benxi-2025-10-premium"),
            (f"/v1/invoices/{invoice['id']}/finalize", "usage-benxi-2025-10-finalize"),
        ]

    report = UsageReport.objects.get(tenant__code="benxi", period_start=OCTOBER)
    assert (report.guarantees_issued, report.premium_volume) == (2, premium)
    assert (report.monthly_amount, report.guarantees_amount, report.premium_amount) == (
        Decimal("1000.00"),
        Decimal("100.00"),
        share,
    )
    assert report.amount == Decimal("1100.00") + share
    assert (report.stripe_invoice_id, report.stripe_invoice_number) == (invoice["id"], invoice["number"])
    assert report.stripe_invoice_status == "open"
    assert report.stripe_customer_id == customer["id"]
    assert report.reported_at is not None
    assert TenantPlan.objects.get(tenant__code="benxi").stripe_customer_id == customer["id"]
    action = ConsoleAction.objects.get(action="billing_usage_report", tenant__code="benxi")
    assert (action.actor_label, action.detail["outcome"], action.detail["invoice"]) == (
        "命令行",
        "reported",
        invoice["id"],
    )


def test_reporting_a_month_twice_reports_nothing_new(october: dict[str, Any]) -> None:
    on_plan("benxi", plan_make())
    with stripe_fake() as fake:
        first = usage_report(tenant=tenant("benxi"), period_start=OCTOBER)
        seen = len(fake.requests)
        again = usage_report(tenant=tenant("benxi"), period_start=OCTOBER)
        assert again.outcome == "already_reported"
        assert again.report is not None
        assert first.report is not None
        assert again.report.stripe_invoice_id == first.report.stripe_invoice_id
        assert len(fake.requests) == seen  # the database says it is done: Stripe is not even asked

        # Our write is lost after Stripe answered: the idempotency keys replay Stripe's first answers.
        UsageReport.objects.all().delete()
        TenantPlan.objects.update(stripe_customer_id="")
        replayed = usage_report(tenant=tenant("benxi"), period_start=OCTOBER)
        assert replayed.outcome == "reported"
        assert replayed.report is not None
        assert replayed.report.stripe_invoice_id == first.report.stripe_invoice_id
        assert (len(fake.customers), len(fake.invoices), len(fake.invoice_items)) == (1, 1, 3)

        # Lost again, a day later (Stripe has forgotten the keys): the month's invoice is found by its
        # metadata and its items by their component; nothing is created twice.
        UsageReport.objects.all().delete()
        TenantPlan.objects.update(stripe_customer_id="")
        fake._idempotency.clear()
        late = usage_report(tenant=tenant("benxi"), period_start=OCTOBER)
        assert late.outcome == "reported"
        assert late.report is not None
        assert late.report.stripe_invoice_id == first.report.stripe_invoice_id
        assert (len(fake.customers), len(fake.invoices), len(fake.invoice_items)) == (1, 1, 3)
        [invoice] = fake.invoices.values()
        assert invoice["total"] == to_fen(first.report.amount)


def test_an_attempt_stripe_refuses_is_kept_and_retried_without_duplicates(october: dict[str, Any]) -> None:
    on_plan("benxi", plan_make())
    with stripe_fake() as fake:
        fake.fail_next(status=400, times=1, error_type="invalid_request_error", message="Stripe is unhappy")
        failed = usage_report(tenant=tenant("benxi"), period_start=OCTOBER)
        assert failed.outcome == "failed"
        report = UsageReport.objects.get(tenant__code="benxi", period_start=OCTOBER)
        assert (report.reported_at, report.attempts, report.last_error) == (None, 1, "Stripe is unhappy")
        retried = usage_report(tenant=tenant("benxi"), period_start=OCTOBER)
        assert retried.outcome == "reported"
        assert (len(fake.customers), len(fake.invoices), len(fake.invoice_items)) == (1, 1, 3)
    report.refresh_from_db()
    assert (report.attempts, report.last_error) == (2, "")


def test_a_month_in_progress_or_before_the_plan_is_refused() -> None:
    on_plan("benxi", plan_make())
    this_month = period_of(timezone.now())
    with stripe_fake() as fake:
        with pytest.raises(BillingError) as error:
            usage_report(tenant=tenant("benxi"), period_start=this_month.start)
        assert error.value.code == "period_not_ended"
        with pytest.raises(BillingError) as error:
            usage_report(tenant=tenant("benxi"), period_start=date(2025, 9, 1))
        assert error.value.code == "before_plan"
        with pytest.raises(BillingError) as error:
            usage_report(tenant=tenant("benxi"), period_start=date(2025, 10, 2))
        assert error.value.code == "bad_period"
        with pytest.raises(BillingError) as error:
            usage_report(tenant=tenant("xinjiang"), period_start=OCTOBER)
        assert error.value.code == "no_plan"
        assert fake.requests == []
    assert not UsageReport.objects.exists()


def test_a_month_with_nothing_to_bill_sends_no_invoice() -> None:
    on_plan("xinjiang", plan_make(monthly_fee=Decimal(0)))
    with stripe_fake() as fake:
        outcome = usage_report(tenant=tenant("xinjiang"), period_start=date(2025, 12, 1))
        assert outcome.outcome == "nothing_to_bill"
        assert (len(fake.customers), len(fake.invoices)) == (1, 0)
    report = UsageReport.objects.get(tenant__code="xinjiang")
    assert (report.amount, report.stripe_invoice_id, report.reported_at is not None) == (Decimal("0.00"), "", True)


def test_live_keys_are_refused_unless_switched_on() -> None:
    with override_settings(STRIPE_SECRET_KEY="sk_live_abc", BAOHAN_BILLING_LIVE=False):
        with pytest.raises(BillingError) as error:
            billing_stripe_client()
        assert error.value.code == "live_key_refused"
    with override_settings(STRIPE_SECRET_KEY="sk_live_abc", BAOHAN_BILLING_LIVE=True):
        billing_stripe_client()
    with override_settings(STRIPE_SECRET_KEY=""), pytest.raises(BillingError) as error:
        billing_stripe_client()
    assert error.value.code == "stripe_not_configured"


def test_the_daily_run_reports_every_ended_month_once(october: dict[str, Any]) -> None:
    on_plan("benxi", plan_make())
    on_plan("paytest", plan_make(per_guarantee_fee=Decimal("80.00")), since=shanghai(2025, 11, 20))
    now = shanghai(2025, 12, 5, 3, 0)
    with stripe_fake() as fake:
        outcomes = billing_report_due(now=now)
        assert [(o.tenant.code, o.period.label, o.outcome) for o in outcomes] == [
            ("benxi", "2025-10", "reported"),
            ("benxi", "2025-11", "reported"),
            ("paytest", "2025-11", "reported"),  # its October is before its plan
        ]
        guarantees = {
            (i["metadata"]["tenant"], i["metadata"]["period"]): i["amount"]
            for i in fake.invoice_items.values()
            if i["metadata"]["component"] == "guarantees"
        }
        assert guarantees == {("benxi", "2025-10"): 10000, ("benxi", "2025-11"): 5000}  # paytest issued none
        seen = len(fake.requests)
        assert billing_report_due(now=now) == []
        assert len(fake.requests) == seen


def test_the_command_reports_a_month_per_centre(october: dict[str, Any]) -> None:
    on_plan("benxi", plan_make())
    out = io.StringIO()
    with stripe_fake():
        call_command("billing_report", "--period", "2025-10", stdout=out)
        assert "benxi 2025-10: reported; 2 guarantee(s)" in out.getvalue()
        again = io.StringIO()
        call_command("billing_report", "--period", "2025-10", "benxi", stdout=again)
        assert "benxi 2025-10: already_reported" in again.getvalue()
        with pytest.raises(CommandError, match="not a month"):
            call_command("billing_report", "--period", "2025-13")
        with pytest.raises(CommandError, match="1 month"):
            call_command("billing_report", "--period", period_of(timezone.now()).label, "benxi", stdout=io.StringIO())


# --- console pages -------------------------------------------------------------------------------------------


def test_the_billing_page_for_a_platform_admin(october: dict[str, Any]) -> None:
    user, admin = console_user("platform_admin")
    page = text(admin.get("/console/billing/"))
    for code in ("xinjiang", "xuancheng", "benxi", "paytest"):
        assert f'data-tenant="{code}"' in page
    assert '<label for="id_code">' in page

    bad = admin.post("/console/billing/plans/new", {"code": "", "name": "空", "monthly_fee": "0"})
    assert bad.status_code == 400
    assert 'aria-describedby="id_code-error' in text(bad)
    assert "月费、每笔出函费、保费分成比例至少填写一项" in text(bad)
    assert not Plan.objects.exists()
    created = admin.post(
        "/console/billing/plans/new",
        {
            "code": "standard",
            "name": "标准方案",
            "monthly_fee": "1000",
            "per_guarantee_fee": "50",
            "premium_share": "0.015",
        },
    )
    assert created.status_code == 302
    plan = Plan.objects.get(code="standard")
    assert (plan.monthly_fee, plan.per_guarantee_fee, plan.premium_share) == (
        Decimal("1000.00"),
        Decimal("50.00"),
        Decimal("0.015"),
    )

    assert admin.post("/console/billing/centres/benxi/plan", {"plan": "nope"}).status_code == 400
    assigned = admin.post("/console/billing/centres/benxi/plan", {"plan": "standard"})
    assert assigned.status_code == 302
    TenantPlan.objects.filter(tenant__code="benxi").update(started_at=shanghai(2025, 10, 1))
    page = text(admin.get("/console/billing/"))
    assert 'data-due="2025-10"' in page

    with stripe_fake() as fake:
        response = admin.post("/console/billing/centres/benxi/report", {"period": "2025-10"}, follow=True)
        [invoice] = fake.invoices.values()
    page = text(response)
    assert f"发票 {invoice['id']}" in page  # the result, as a message
    assert 'data-due="2025-10"' not in page
    assert invoice["id"] in page  # listed among the centre's invoices
    actions = list(ConsoleAction.objects.filter(actor=user).order_by("id").values_list("action", flat=True))
    assert actions == ["billing_plan_create", "billing_plan_assign", "billing_usage_report"]

    centre = text(admin.get("/console/centres/benxi/billing/"))
    assert invoice["id"] in centre
    assert 'name="plan"' in centre


def test_centre_staff_see_their_own_billing_read_only_and_no_one_elses(october: dict[str, Any]) -> None:
    on_plan("benxi", plan_make())
    on_plan("xinjiang", plan_make())
    with stripe_fake():
        usage_report(tenant=tenant("benxi"), period_start=OCTOBER)
    invoice_id = UsageReport.objects.get(tenant__code="benxi").stripe_invoice_id
    _, staff = console_user("centre_staff", "benxi")
    page = text(staff.get("/console/centres/benxi/billing/"))
    assert invoice_id in page
    assert 'name="period"' not in page
    assert 'name="plan"' not in page
    assert staff.get("/console/centres/xinjiang/billing/").status_code == 404
    assert staff.get("/console/billing/").status_code == 403
    before = ConsoleAction.objects.count()
    assert staff.post("/console/billing/centres/benxi/report", {"period": "2025-11"}).status_code == 403
    assert staff.post("/console/billing/centres/benxi/plan", {"plan": "x"}).status_code == 403
    assert ConsoleAction.objects.count() == before
    assert UsageReport.objects.count() == 1
    # An issuer's staff see only their own orders: not the centre's billing.
    _, issuer = console_user("issuer_staff", "benxi", "zijin")
    assert issuer.get("/console/centres/benxi/billing/").status_code == 404


def test_the_centre_page_card_shows_plan_usage_and_invoices(october: dict[str, Any]) -> None:
    on_plan("benxi", plan_make(name="基础方案"))
    with stripe_fake():
        usage_report(tenant=tenant("benxi"), period_start=OCTOBER)
    report = UsageReport.objects.get(tenant__code="benxi")
    user, _ = console_user("centre_staff", "benxi")
    request = RequestFactory().get("/console/centres/benxi/")
    request.user = user
    with override_settings(ROOT_URLCONF="baohan.urls_public"):  # the console's host (public schema)
        card = render_to_string("console/_tenant_billing.html", {"tenant": tenant("benxi")}, request=request)
    assert "基础方案" in card
    assert report.stripe_invoice_id in card
    assert 'data-period="2025-10"' in card
    assert "/console/centres/benxi/billing/" in card
    # The same card on the centre's console page.
    _, staff = console_user("centre_staff", "benxi")
    page = text(staff.get("/console/centres/benxi/"))
    assert 'id="t-billing"' in page
    assert report.stripe_invoice_id in page
    issuer_user, _ = console_user("issuer_staff", "benxi", "zijin")
    request.user = issuer_user
    assert render_to_string("console/_tenant_billing.html", {"tenant": tenant("benxi")}, request=request).strip() == ""


def test_periods_are_calendar_months() -> None:
    assert period_parse("2026-10") == Period(date(2026, 10, 1))
    assert Period(date(2026, 12, 1)).end == date(2027, 1, 1)
    assert period_of(datetime(2025, 10, 31, 16, 0, tzinfo=ZoneInfo("UTC"))).label == "2025-11"
    with pytest.raises(ValueError, match="not a month"):
        period_parse("2026-1")


# --- the fake's Stripe Billing, as the code above relies on it ----------------------------------------------


def test_the_fake_models_invoices_the_way_stripe_answers_them() -> None:
    import stripe

    with FakeStripe(api_key="sk_test_billing") as fake:
        client = stripe.StripeClient("sk_test_billing", base_addresses={"api": fake.base_url}, max_network_retries=0)
        customer = client.v1.customers.create(params={"name": "本溪", "metadata": {"tenant": "benxi"}})
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.invoices.create(params={"customer": customer.id, "auto_advance": False, "colour": "red"})  # type: ignore[typeddict-unknown-key]
        assert error.value.code == "parameter_unknown"
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.invoices.create(params={"customer": customer.id, "automatic_tax": {"enabled": True}})
        assert error.value.code == "fake_unsupported"
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.invoices.create(params={"customer": "cus_nobody"})
        assert error.value.code == "resource_missing"

        # A pending item is picked up only by an invoice that asks for pending items.
        pending = client.v1.invoice_items.create(params={"customer": customer.id, "amount": 700, "currency": "cny"})
        assert pending.invoice is None
        empty = client.v1.invoices.create(params={"customer": customer.id, "currency": "cny"})
        assert (empty.status, empty.total) == ("draft", 0)
        invoice = client.v1.invoices.create(
            params={
                "customer": customer.id,
                "currency": "cny",
                "collection_method": "send_invoice",
                "days_until_due": 30,
                "pending_invoice_items_behavior": "include",
            }
        )
        assert invoice.total == 700
        client.v1.invoice_items.create(
            params={"customer": customer.id, "invoice": invoice.id, "amount": 300, "currency": "cny"}
        )
        with pytest.raises(stripe.InvalidRequestError, match="must match"):
            client.v1.invoice_items.create(
                params={"customer": customer.id, "invoice": invoice.id, "amount": 300, "currency": "usd"}
            )
        final = client.v1.invoices.finalize_invoice(invoice.id)
        assert (final.status, final.total, final.amount_due) == ("open", 1000, 1000)
        assert final.number is not None
        assert final.number.endswith("-0001")
        assert final.hosted_invoice_url is not None
        assert final.due_date is not None
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.invoice_items.create(
                params={"customer": customer.id, "invoice": invoice.id, "amount": 1, "currency": "cny"}
            )
        assert error.value.code == "invoice_not_editable"
        with pytest.raises(stripe.InvalidRequestError, match="already finalized"):
            client.v1.invoices.finalize_invoice(invoice.id)
        assert client.v1.invoices.finalize_invoice(empty.id).status == "paid"  # nothing to collect

        listed = client.v1.invoices.list(params={"customer": customer.id, "limit": 1})
        assert ([i.id for i in listed.data], listed.has_more) == ([invoice.id], True)  # newest first
        assert [i.id for i in listed.auto_paging_iter()] == [invoice.id, empty.id]
        items = client.v1.invoice_items.list(params={"invoice": invoice.id})
        assert sorted(i.amount for i in items.data) == [300, 700]
        assert client.v1.invoices.retrieve(invoice.id).lines.total_count == 2  # type: ignore[attr-defined]


def test_the_daily_task_is_scheduled_and_calls_the_service() -> None:
    from django.conf import settings

    from baohan.billing.tasks import report_due_task

    assert settings.CELERY_BEAT_SCHEDULE["billing-report-due"]["task"] == report_due_task.name == "billing.report_due"
    assert report_due_task() == {}  # no centre has a plan: nothing to report
    on_plan("xinjiang", plan_make(monthly_fee=Decimal(0)), since=period_of(timezone.now()).start_at)
    assert report_due_task() == {}  # its first month is still running
