"""Console billing pages: plans, each centre's plan, usage and Stripe invoices (platform admins),
and a centre's own billing page, read-only for its staff."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from baohan.billing.errors import BillingError
from baohan.billing.forms import PlanAssignForm, PlanForm, ReportForm
from baohan.billing.models import Plan
from baohan.billing.selectors import billing_overview, plan_list, tenant_billing
from baohan.billing.services import plan_assign, plan_create, usage_report
from baohan.console.access import console_page, is_platform_admin, issuer_codes_of, platform_admin_page, tenant_for
from baohan.console.views import console_render
from tenants.models import Tenant

OUTCOME_MESSAGES = {
    "reported": "{tenant} {period} 用量已上报 Stripe，发票 {invoice}（{amount} 元）",
    "nothing_to_bill": "{tenant} {period} 应付金额为零，已记录，未开具发票",
    "already_reported": "{tenant} {period} 已上报过（发票 {invoice}），未重复上报",
    "failed": "{tenant} {period} 上报失败，稍后将重试：{message}",
}


def billing_tenant_for(user: User | AnonymousUser, code: str) -> Tenant:
    """A centre's billing is for platform admins and that centre's staff; anyone else gets 404
    (issuer staff see only their own orders, not the centre's volume)."""
    tenant = tenant_for(user, code)
    if issuer_codes_of(user, tenant) is not None:
        raise Http404("没有该交易中心")
    return tenant


def _home(*, plan_form: PlanForm | None = None, assign_errors: dict[str, str] | None = None) -> dict[str, Any]:
    tenants = Tenant.objects.exclude(schema_name="public").order_by("code")
    errors = assign_errors or {}
    return {
        "plans": plan_list(),
        "plan_form": plan_form or PlanForm(),
        "rows": [(b, errors.get(b.tenant.code, "")) for b in billing_overview(tenants=tenants, now=timezone.now())],
        "active_plans": Plan.objects.filter(active=True).order_by("code"),
    }


@platform_admin_page
def billing_home(request: HttpRequest) -> HttpResponse:
    return console_render(request, "console/billing.html", _home())


@platform_admin_page
@require_POST
def plan_create_view(request: HttpRequest) -> HttpResponse:
    form = PlanForm(request.POST)
    if form.is_valid():
        try:
            plan = plan_create(**form.cleaned_data, actor=request.user)
        except BillingError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"已创建计费方案 {plan.name}（{plan.code}）")
            return redirect("console:billing")
    return console_render(request, "console/billing.html", _home(plan_form=form), status=400)


def _back(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    if request.POST.get("back") == "centre":
        return redirect("console:tenant_billing", code=tenant.code)
    return redirect("console:billing")


@platform_admin_page
@require_POST
def plan_assign_view(request: HttpRequest, code: str) -> HttpResponse:
    tenant = get_object_or_404(Tenant.objects.exclude(schema_name="public"), code=code)
    form = PlanAssignForm(request.POST)
    if form.is_valid():
        try:
            plan_assign(tenant=tenant, plan=form.cleaned_data["plan"], actor=request.user)
        except BillingError as exc:
            form.add_error("plan", exc.message)
        else:
            messages.success(request, f"{tenant.name} 的计费方案已设为 {form.cleaned_data['plan'].name}")
            return _back(request, tenant)
    errors = {tenant.code: " ".join(str(e) for e in form.errors.get("plan", []))}
    if request.POST.get("back") == "centre":
        context = _centre_context(request, tenant)
        context["assign_error"] = errors[tenant.code]
        return console_render(request, "console/billing_centre.html", context, status=400)
    return console_render(request, "console/billing.html", _home(assign_errors=errors), status=400)


@platform_admin_page
@require_POST
def usage_report_view(request: HttpRequest, code: str) -> HttpResponse:
    tenant = get_object_or_404(Tenant.objects.exclude(schema_name="public"), code=code)
    form = ReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{tenant.name}：{form.errors['period'][0]}")
        return _back(request, tenant)
    period = form.cleaned_data["period"]
    try:
        outcome = usage_report(tenant=tenant, period_start=period.start, actor=request.user)
    except BillingError as exc:
        messages.error(request, f"{tenant.name} {period.label}：{exc.message}")
        return _back(request, tenant)
    report = outcome.report
    text = OUTCOME_MESSAGES[outcome.outcome].format(
        tenant=tenant.name,
        period=period.label,
        invoice=report.stripe_invoice_id if report else "",
        amount=report.amount if report else "",
        message=outcome.message,
    )
    level = messages.ERROR if outcome.outcome == "failed" else messages.SUCCESS
    messages.add_message(request, level, text)
    return _back(request, tenant)


def _centre_context(request: HttpRequest, tenant: Tenant) -> dict[str, Any]:
    admin = is_platform_admin(request.user)
    return {
        "tenant": tenant,
        "billing": tenant_billing(tenant=tenant, now=timezone.now()),
        "active_plans": Plan.objects.filter(active=True).order_by("code") if admin else [],
        "can_manage": admin,
    }


@console_page
@require_http_methods(["GET"])
def tenant_billing_view(request: HttpRequest, code: str) -> HttpResponse:
    tenant = billing_tenant_for(request.user, code)
    return console_render(request, "console/billing_centre.html", _centre_context(request, tenant))
