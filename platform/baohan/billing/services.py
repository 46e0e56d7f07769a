"""Billing actions: plans, counting a centre's usage in its own schema, reporting a month to Stripe.

A month is counted once (the first time it is reported) and the counts and amounts are kept on its
``UsageReport`` with the plan's terms of that moment; reporting it again returns what is there and
sends nothing. Stripe calls happen inside the row lock of the centre's plan and the month's report,
so two reporters (the daily task, a console button) never race; an attempt Stripe refuses is
recorded on the report and retried later with the same idempotency keys."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import stripe
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.billing.errors import BillingError
from baohan.billing.models import ZERO, Plan, TenantPlan, UsageReport
from baohan.billing.periods import Period, period_of, periods_between
from baohan.billing.stripe_invoices import billing_stripe_client, customer_ensure, invoice_push, to_fen
from baohan.console.audit import console_action_record
from baohan.guarantees.models import Order
from baohan.rulepacks.models import OrderState
from tenants.models import Tenant

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
# A guarantee issued and later surrendered was still issued in its month.
COUNTED_STATES = (OrderState.ISSUED.value, OrderState.SURRENDERED.value)
Actor = User | AnonymousUser | None


@dataclass(frozen=True)
class Usage:
    guarantees_issued: int
    premium_volume: Decimal


@dataclass(frozen=True)
class Amounts:
    monthly: Decimal
    guarantees: Decimal
    premium: Decimal

    @property
    def total(self) -> Decimal:
        return self.monthly + self.guarantees + self.premium


@dataclass(frozen=True)
class ReportOutcome:
    """``reported``, ``nothing_to_bill`` (a zero month: nothing sent), ``already_reported``
    (nothing new sent), ``failed`` (Stripe refused or was unreachable: retried later) or
    ``refused`` (not reportable: see ``message``)."""

    tenant: Tenant
    period: Period
    outcome: str
    report: UsageReport | None = None
    message: str = ""


def plan_create(
    *,
    code: str,
    name: str,
    monthly_fee: Decimal,
    per_guarantee_fee: Decimal,
    premium_share: Decimal,
    actor: Actor,
) -> Plan:
    if min(monthly_fee, per_guarantee_fee, premium_share) < 0 or premium_share > 1:
        raise BillingError("plan_terms", "费用不能为负数，保费分成比例须在 0 与 1 之间")
    if monthly_fee == 0 and per_guarantee_fee == 0 and premium_share == 0:
        raise BillingError("plan_empty", "月费、每笔出函费、保费分成比例至少填写一项")
    with transaction.atomic():
        if Plan.objects.filter(code=code).exists():
            raise BillingError("plan_exists", "该方案代码已存在")
        plan = Plan.objects.create(
            code=code,
            name=name,
            monthly_fee=monthly_fee,
            per_guarantee_fee=per_guarantee_fee,
            premium_share=premium_share,
        )
        console_action_record(
            actor=actor,
            action="billing_plan_create",
            detail={
                "plan": code,
                "monthly_fee": str(monthly_fee),
                "per_guarantee_fee": str(per_guarantee_fee),
                "premium_share": str(premium_share),
            },
        )
    return plan


def plan_assign(*, tenant: Tenant, plan: Plan, actor: Actor) -> TenantPlan:
    """Put ``tenant`` on ``plan``. Billing starts with the month of the first assignment; a change
    of plan applies to every month not yet reported."""
    if not plan.active:
        raise BillingError("plan_inactive", "该方案已停用")
    with transaction.atomic():
        current = TenantPlan.objects.select_for_update().filter(tenant=tenant).first()
        previous = ""
        if current is None:
            current = TenantPlan.objects.create(tenant=tenant, plan=plan, started_at=timezone.now())
        elif current.plan_id == plan.pk:
            return current
        else:
            previous = Plan.objects.values_list("code", flat=True).get(pk=current.plan_id)
            current.plan = plan
            current.save(update_fields=["plan", "updated_at"])
        console_action_record(
            actor=actor, action="billing_plan_assign", tenant=tenant, detail={"plan": plan.code, "previous": previous}
        )
    return current


def usage_count(*, tenant: Tenant, period_start: datetime, period_end: datetime) -> Usage:
    """Guarantees ``tenant`` issued in [start, end) and their premium, read in its own schema."""
    with tenant_context(tenant):
        totals = Order.objects.filter(
            issued_at__gte=period_start, issued_at__lt=period_end, state__in=COUNTED_STATES
        ).aggregate(n=Count("id"), premium=Sum("premium"))
    return Usage(guarantees_issued=totals["n"], premium_volume=totals["premium"] or ZERO)


def usage_amounts(*, monthly_fee: Decimal, per_guarantee_fee: Decimal, premium_share: Decimal, usage: Usage) -> Amounts:
    """Each component rounded half up to the fen; the total is their sum."""
    return Amounts(
        monthly=monthly_fee.quantize(CENT, rounding=ROUND_HALF_UP),
        guarantees=(per_guarantee_fee * usage.guarantees_issued).quantize(CENT, rounding=ROUND_HALF_UP),
        premium=(usage.premium_volume * premium_share).quantize(CENT, rounding=ROUND_HALF_UP),
    )


def plan_amounts(*, plan: Plan, usage: Usage) -> Amounts:
    return usage_amounts(
        monthly_fee=plan.monthly_fee,
        per_guarantee_fee=plan.per_guarantee_fee,
        premium_share=plan.premium_share,
        usage=usage,
    )


def _report_count(*, tenant: Tenant, period: Period, plan: Plan) -> UsageReport:
    """The month's report, counted now if it is not there yet; locked."""
    report = UsageReport.objects.select_for_update().filter(tenant=tenant, period_start=period.start).first()
    if report is not None:
        return report
    usage = usage_count(tenant=tenant, period_start=period.start_at, period_end=period.end_at)
    amounts = plan_amounts(plan=plan, usage=usage)
    try:
        with transaction.atomic():
            UsageReport.objects.create(
                tenant=tenant,
                period_start=period.start,
                period_end=period.end,
                plan=plan,
                monthly_fee=plan.monthly_fee,
                per_guarantee_fee=plan.per_guarantee_fee,
                premium_share=plan.premium_share,
                currency=plan.currency,
                guarantees_issued=usage.guarantees_issued,
                premium_volume=usage.premium_volume,
                monthly_amount=amounts.monthly,
                guarantees_amount=amounts.guarantees,
                premium_amount=amounts.premium,
                amount=amounts.total,
                counted_at=timezone.now(),
            )
    except IntegrityError:  # counted by a concurrent reporter: take theirs
        pass
    return UsageReport.objects.select_for_update().get(tenant=tenant, period_start=period.start)


def usage_report(
    *, tenant: Tenant, period_start: date, actor: Actor = None, now: datetime | None = None
) -> ReportOutcome:
    """Report one ended month of ``tenant`` to Stripe, once."""
    now = now or timezone.now()
    try:
        period = Period(period_start)
    except ValueError as exc:
        raise BillingError("bad_period", "计费周期须为自然月（从每月 1 日开始）") from exc
    if not period.ended(now):
        raise BillingError("period_not_ended", f"{period.label} 尚未结束，不能上报")
    if not TenantPlan.objects.filter(tenant=tenant).exists():
        raise BillingError("no_plan", f"{tenant.name} 尚未设置计费方案")
    client = billing_stripe_client()
    with transaction.atomic():
        tenant_plan = TenantPlan.objects.select_for_update().select_related("tenant", "plan").get(tenant=tenant)
        if period.start < period_of(tenant_plan.started_at).start:
            raise BillingError("before_plan", f"{period.label} 早于计费开始月份，不计费")
        report = _report_count(tenant=tenant, period=period, plan=tenant_plan.plan)
        if report.reported_at is not None:
            return ReportOutcome(tenant, period, "already_reported", report)
        report.tenant = tenant
        report.attempts += 1
        outcome, message = _report_send(client=client, report=report, tenant_plan=tenant_plan)
        report.save()
        console_action_record(
            actor=actor,
            action="billing_usage_report",
            tenant=tenant,
            detail={
                "period": period.label,
                "outcome": outcome,
                "guarantees_issued": report.guarantees_issued,
                "amount": str(report.amount),
                "invoice": report.stripe_invoice_id,
                "error": report.last_error,
            },
        )
    return ReportOutcome(tenant, period, outcome, report, message)


def _report_send(*, client: stripe.StripeClient, report: UsageReport, tenant_plan: TenantPlan) -> tuple[str, str]:
    """Stripe's part of a report; what happened is written on ``report`` (saved by the caller)."""
    try:
        report.stripe_customer_id = customer_ensure(client=client, tenant_plan=tenant_plan)
        if report.amount == 0:
            report.last_error = ""
            report.reported_at = timezone.now()
            return "nothing_to_bill", "本月应付金额为零，未开具发票"
        invoice = invoice_push(client=client, report=report)
    except stripe.StripeError as exc:
        log.warning("billing: stripe refused %s %s: %s", report.tenant.code, report.period_label, exc)
        report.last_error = str(getattr(exc, "user_message", None) or exc)[:300]
        return "failed", report.last_error
    report.stripe_invoice_id = invoice.id
    report.stripe_invoice_number = invoice.number or ""
    report.stripe_invoice_status = invoice.status or ""
    report.stripe_invoice_url = invoice.hosted_invoice_url or ""
    if invoice.total != to_fen(report.amount) or invoice.currency != report.currency:
        report.last_error = f"Stripe 发票 {invoice.id} 金额 {invoice.total} {invoice.currency} 与用量不符，请人工核对"
        return "failed", report.last_error
    if invoice.status == "draft":
        report.last_error = f"Stripe 发票 {invoice.id} 仍为草稿"
        return "failed", report.last_error
    report.last_error = ""
    report.reported_at = timezone.now()
    return "reported", ""


def periods_due(*, tenant_plan: TenantPlan, now: datetime) -> list[Period]:
    """Ended months since billing started that are not reported yet."""
    done = set(
        UsageReport.objects.filter(tenant_id=tenant_plan.tenant_id, reported_at__isnull=False).values_list(
            "period_start", flat=True
        )
    )
    months = periods_between(period_of(tenant_plan.started_at), period_of(now))
    return [p for p in months if p.start not in done]


def billing_report_due(*, now: datetime) -> list[ReportOutcome]:
    """Report every ended, unreported month of every active centre with a plan (the daily task)."""
    outcomes: list[ReportOutcome] = []
    plans = (
        TenantPlan.objects.select_related("tenant")
        .filter(tenant__is_active=True)
        .exclude(tenant__schema_name="public")
        .order_by("tenant__code")
    )
    for tenant_plan in plans:
        for period in periods_due(tenant_plan=tenant_plan, now=now):
            try:
                outcomes.append(usage_report(tenant=tenant_plan.tenant, period_start=period.start, now=now))
            except BillingError as exc:
                outcomes.append(ReportOutcome(tenant_plan.tenant, period, "refused", message=exc.message))
    return outcomes
