"""Console pages on the platform host: centres, onboarding, packs, the action log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from baohan.console.access import (
    console_page,
    is_platform_admin,
    issuer_codes_of,
    platform_admin_page,
    tenant_for,
    tenants_visible,
)
from baohan.console.audit import action_describe, console_action_record
from baohan.console.charts import console_overview
from baohan.console.models import BulkOperation, ConsoleAction, ConsoleRole
from baohan.console.operations import bulk_operation_start
from baohan.console.pack_errors import ExplainedProblem, pack_problems_explain
from baohan.console.selectors import figures_as_of, tenant_figures, tenant_orders, tenants_figures
from baohan.guarantees.errors import Conflict
from baohan.issuerdesk.overview import issuer_overview
from baohan.rulepacks.loader import RulePackError
from tenants.services import OnboardingError, tenant_onboard


def console_render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, template, {"console_admin": is_platform_admin(request.user), **context}, status=status)


class ConsoleLogin(auth_views.LoginView):
    template_name = "console/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return "/console/"


CENTRES_PER_PAGE = 30


@console_page
def dashboard(request: HttpRequest) -> HttpResponse:
    """The centres a page at a time with their figures, and the charts of what the user may see
    (``baohan.console.charts``; ``?format=csv`` exports a table), all read from the public rollup
    (``baohan.console.rollup``): the same statements however many centres there are."""
    overview = console_overview(user=request.user, params=request.GET)
    if request.GET.get("format") == "csv":
        return overview.csv(table=request.GET.get("table", ""))
    visible = tenants_visible(request.user)
    centres = visible.select_related("current_rule_pack").prefetch_related("domains").order_by("name", "code")
    number = request.GET.get("page", "1")
    page = Paginator(centres, CENTRES_PER_PAGE).get_page(number if number.isascii() and number.isdigit() else 1)
    rows = tenants_figures(user=request.user, tenants=list(page.object_list))
    # An issuer's staff: their queues on each centre's workbench (baohan.issuerdesk), one query per centre.
    queues = issuer_overview(request=request, user=request.user)
    query = request.GET.copy()
    for key in ("page", "format", "table"):
        query.pop(key, None)
    context = {
        "rows": rows,
        "page": page,
        "query": query.urlencode(),
        "as_of": figures_as_of(tenants=visible),
        "issuer_queues": queues,
        "charts": overview.charts,
        "range": overview.range,
    }
    return console_render(request, "console/dashboard.html", context, status=400 if overview.range.errors else 200)


@console_page
def tenant_detail(request: HttpRequest, code: str) -> HttpResponse:
    tenant = tenant_for(request.user, code)
    port = request.get_port()
    suffix = "" if port in ("80", "443") else f":{port}"
    sites = [f"{request.scheme}://{d.domain}{suffix}/" for d in tenant.domains.order_by("-is_primary", "domain")]
    return console_render(
        request,
        "console/tenant.html",
        {
            "tenant": tenant,
            "sites": sites,
            "onboarded": request.GET.get("onboarded") == "1",
            "figures": tenant_figures(tenant=tenant, issuer_codes=issuer_codes_of(request.user, tenant)),
            "versions": tenant.rule_packs.order_by("-number"),
            "actions": [(a, action_describe(a)) for a in ConsoleAction.objects.filter(tenant=tenant)[:20]],
        },
    )


@platform_admin_page
@require_http_methods(["GET", "POST"])
def tenant_create(request: HttpRequest) -> HttpResponse:
    """接入交易中心: the same path as ``onboard_region``: a pack (uploaded or pasted), its hosts."""
    problems: Sequence[ExplainedProblem | str] = []
    source, domains = "", ""
    if request.method == "POST":
        upload = request.FILES.get("pack")
        source = upload.read().decode("utf-8", errors="replace") if upload else request.POST.get("source", "")
        domains = request.POST.get("domains", "")
        if not source.strip():
            problems = ["请上传或粘贴规则包（YAML）"]
        else:
            try:
                result = tenant_onboard(
                    source_text=source,
                    source_name=getattr(upload, "name", "") or "console.yaml",
                    domains=domains.replace(",", " ").split(),
                )
            except RulePackError as exc:
                problems = pack_problems_explain(source=source, problems=exc.problems)
            except OnboardingError as exc:
                problems = list(exc.problems)
            else:
                console_action_record(
                    actor=request.user,
                    action="tenant_onboard",
                    tenant=result.tenant,
                    detail={
                        "created": result.created,
                        "version": result.version.number,
                        "label": result.version.label,
                        "domains_added": result.domains_added,
                    },
                )
                verb = "已接入" if result.created else "已更新"
                messages.success(request, f"{result.tenant.name} {verb}，规则版本 V{result.version.number}")
                return redirect(f"{reverse('console:tenant', args=[result.tenant.code])}?onboarded=1")
    return console_render(
        request,
        "console/tenant_create.html",
        {"problems": problems, "source": source, "domains": domains},
        status=400 if problems else 200,
    )


@console_page
def actions(request: HttpRequest) -> HttpResponse:
    qs = ConsoleAction.objects.select_related("tenant")
    if not is_platform_admin(request.user):
        # A centre's whole log for its staff; issuer staff see only what they did themselves.
        staffed = ConsoleRole.objects.filter(user_id=request.user.pk or 0, kind=ConsoleRole.Kind.CENTRE_STAFF)
        qs = qs.filter(Q(tenant__in=staffed.values("tenant_id")) | Q(actor_id=request.user.pk or 0))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = [(a, action_describe(a)) for a in page.object_list]
    return console_render(request, "console/actions.html", {"page": page, "rows": rows})


@platform_admin_page
@require_http_methods(["GET", "POST"])
def operations(request: HttpRequest) -> HttpResponse:
    """批量操作: start one (POST), and follow the latest ones' progress (the page refreshes itself
    while one runs)."""
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        if kind not in BulkOperation.Kind.values:
            messages.error(request, "未知的批量操作")
        else:
            try:
                op = bulk_operation_start(kind=kind, actor=request.user)
            except Conflict as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"已开始：{op.get_kind_display()}")
        return redirect("console:operations")
    recent = list(BulkOperation.objects.select_related("started_by")[:10])
    running = any(op.state in (BulkOperation.State.QUEUED, BulkOperation.State.RUNNING) for op in recent)
    return console_render(
        request,
        "console/operations.html",
        {"operations": recent, "running": running, "kinds": BulkOperation.Kind.choices},
    )


@console_page
def tenant_orders_page(request: HttpRequest, code: str) -> HttpResponse:
    """A centre's orders; issuer staff see only their own issuer's."""
    tenant = tenant_for(request.user, code)
    search = request.GET.get("q", "").strip()[:64]
    state = request.GET.get("state", "").strip()[:20]
    rows = tenant_orders(tenant=tenant, issuer_codes=issuer_codes_of(request.user, tenant), search=search, state=state)
    return console_render(
        request, "console/orders.html", {"tenant": tenant, "rows": rows, "search": search, "state": state}
    )
