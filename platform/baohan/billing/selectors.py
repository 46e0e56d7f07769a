"""Reads for the billing pages: a centre's plan, this month's usage so far, its reported months."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet

from baohan.billing.models import Plan, TenantPlan, UsageReport
from baohan.billing.periods import Period, period_of
from baohan.billing.services import Amounts, Usage, periods_due, plan_amounts, usage_count
from tenants.models import Tenant

RECENT_REPORTS = 12


@dataclass
class TenantBilling:
    tenant: Tenant
    tenant_plan: TenantPlan | None
    month: Period
    usage: Usage
    estimate: Amounts | None  # this month so far, at the current plan
    reports: list[UsageReport] = field(default_factory=list)
    due: list[Period] = field(default_factory=list)

    @property
    def plan(self) -> Plan | None:
        return self.tenant_plan.plan if self.tenant_plan else None


def tenant_billing(*, tenant: Tenant, now: datetime, tenant_plan: TenantPlan | None = None) -> TenantBilling:
    if tenant_plan is None:
        tenant_plan = TenantPlan.objects.select_related("plan").filter(tenant=tenant).first()
    month = period_of(now)
    usage = usage_count(tenant=tenant, period_start=month.start_at, period_end=now)
    return TenantBilling(
        tenant=tenant,
        tenant_plan=tenant_plan,
        month=month,
        usage=usage,
        estimate=plan_amounts(plan=tenant_plan.plan, usage=usage) if tenant_plan else None,
        reports=list(UsageReport.objects.filter(tenant=tenant).order_by("-period_start")[:RECENT_REPORTS]),
        due=periods_due(tenant_plan=tenant_plan, now=now) if tenant_plan else [],
    )


def billing_overview(*, tenants: QuerySet[Tenant], now: datetime) -> list[TenantBilling]:
    plans = {tp.tenant_id: tp for tp in TenantPlan.objects.select_related("plan")}
    return [tenant_billing(tenant=t, now=now, tenant_plan=plans.get(t.pk)) for t in tenants]


def plan_list() -> QuerySet[Plan]:
    return Plan.objects.order_by("-active", "code")
