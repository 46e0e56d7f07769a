"""Pages for the centre's own staff (``/staff/``): a dashboard, sections and orders, and the queues
of work: enterprise verifications, payment vouchers, unmatched bank lines, after-sales, claims.

Views only check who is asking and what was sent, read through ``staff_selectors`` and act through
the services (which record an event for every change). Each action is a POST followed by a redirect
and a flash message; an input the service refuses is shown next to its field, and nothing changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from baohan.claims.models import Claim
from baohan.guarantees.errors import DomainError, InvalidInput, NotFound
from baohan.guarantees.forms import phone_clean
from baohan.guarantees.services.aftersales import after_sales_advance
from baohan.identity.lockout import login_failure_record, login_failures_reset, login_locked_check
from baohan.identity.services.staff import is_staff_member, staff_actor, staff_login_record
from baohan.identity.services.verification import enterprise_verification_review
from baohan.payments.services.intake import statement_line_assign, statement_line_dismiss
from baohan.payments.services.vouchers import voucher_decide
from baohan.portal import staff_charts
from baohan.portal import staff_selectors as sel
from baohan.portal.charts import csv_response, last_days, range_parse
from baohan.portal.staff_selectors import INLINE_TYPES
from tenants.selectors import pack_in_force

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]
PER_PAGE = 20


# --- who may see the pages ------------------------------------------------------------------------


def staff_required(view: View[P]) -> View[P]:
    """Staff of this centre only: anonymous visitors are sent to the staff login, others get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url=reverse("staff:login"))
        if not is_staff_member(request.user):
            return render(request, "staff/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # behind staff_required
    return request.user


# --- signing in -------------------------------------------------------------------------------------


class StaffLoginForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("手机号码"),
        max_length=11,
        error_messages={"required": gettext_lazy("请填写手机号码")},
        widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "numeric"}),
    )
    password = forms.CharField(
        label=gettext_lazy("密码"),
        max_length=128,
        strip=False,
        error_messages={"required": gettext_lazy("请填写密码")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean_phone(self) -> str:
        try:
            return phone_clean(self.cleaned_data["phone"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if ok and target.startswith("/staff/") else reverse("staff:dashboard")


@require_http_methods(["GET", "POST"])
def staff_login(request: HttpRequest) -> HttpResponse:
    """Password login for staff accounts, offered on every centre whatever its pack lets bidders use."""
    if is_staff_member(request.user):
        return redirect(_next_url(request))
    form = StaffLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            login_locked_check(request=request, identity=phone)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            user = authenticate(request, phone=phone, password=form.cleaned_data["password"])
            if user is not None and is_staff_member(user):
                assert isinstance(user, User)
                login(request, user)
                login_failures_reset(request=request, identity=phone)  # failures count against the phone typed
                staff_login_record(user=user, path=request.path)
                return redirect(_next_url(request))
            if user is not None:  # a bidder's own password: counted like any failure
                login_failure_record(request=request, identity=phone)
            form.add_error("password", _("手机号或密码错误，或该账户不是工作人员账户"))
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next") or ""}
    return render(request, "staff/login.html", context, status=400 if form.errors else 200)


@require_POST
def staff_logout(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("已退出登录"))
    return redirect("staff:login")


# --- forms on list pages ----------------------------------------------------------------------------


@dataclass
class Failed:
    """An action the service refused because of one input: shown next to that field of that item."""

    item_id: int
    errors: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class Row:
    """One item of a queue with its form's state."""

    item: Any
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


def _rows(items: Any, failed: Failed | None, key: Callable[[Any], int]) -> list[Row]:
    rows = []
    for item in items:
        if failed is not None and key(item) == failed.item_id:
            rows.append(Row(item, failed.errors, failed.values))
        else:
            rows.append(Row(item))
    return rows


def _page(request: HttpRequest, items: Any) -> Page[Any]:
    return Paginator(items, PER_PAGE).get_page(request.GET.get("page"))


def _list_url(request: HttpRequest, name: str) -> str:
    url = reverse(name)
    page = request.GET.get("page", "")
    return f"{url}?page={page}" if page.isdigit() and page != "1" else url


def _act(
    request: HttpRequest,
    *,
    item_id: int,
    fields: tuple[str, ...],
    action: Callable[[], object],
    done: str,
    page: Callable[[HttpRequest, Failed], HttpResponse],
    back: str,
) -> HttpResponse:
    """Run ``action`` (a service call); then redirect with ``done``, or show the refused field."""
    values = {name: request.POST.get(name, "") for name in fields}
    try:
        action()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        if exc.field in fields:
            return page(request, Failed(item_id, {str(exc.field): exc.message}, values))
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(_list_url(request, back))


def _choice(request: HttpRequest, name: str, allowed: set[str], message: str) -> str:
    value = request.POST.get(name, "")
    if value not in allowed:
        raise InvalidInput("invalid", message, field=name)
    return value


# --- the dashboard, sections and orders ---------------------------------------------------------------


DASHBOARD_DAYS = 30


@require_GET
@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The waiting work, then the centre's numbers over a date range (the last 30 days unless
    ``from``/``to`` say otherwise) as charts with their tables; ``?format=csv&table=…`` exports one."""
    pack, _version = pack_in_force()
    choice = range_parse(request.GET, default=last_days(DASHBOARD_DAYS))
    span = choice.range
    charts = staff_charts.dashboard_charts(pack=pack, span=span)
    state_table, by_state = staff_charts.state_table(pack=pack, span=span)
    if request.GET.get("format") == "csv":
        if choice.errors:
            return HttpResponse("\n".join(choice.errors.values()), status=400, content_type="text/plain; charset=utf-8")
        tables = {t.name: t for t in [*(c.table for c in charts), state_table]}
        table = tables.get(request.GET.get("table", ""))
        if table is None:
            raise Http404(_("没有这张表"))
        return csv_response(table=table, filename=f"{table.name}-{span.first:%Y%m%d}-{span.last:%Y%m%d}.csv")
    context = {
        "work": sel.staff_work_counts(),
        "by_state": by_state,
        "state_table": state_table,
        "orders_total": sum(s.count for s in by_state),
        "charts": charts,
        "range": choice,
        "nav": "dashboard",
    }
    return render(request, "staff/dashboard.html", context, status=400 if choice.errors else 200)


@require_GET
@staff_required
def sections(request: HttpRequest) -> HttpResponse:
    pack, _version = pack_in_force()
    query = request.GET.get("q", "").strip()[:100]
    page_obj = _page(request, sel.section_search(query=query))
    context = {
        "query": query,
        "page_obj": page_obj,
        "rows": sel.section_rows(pack=pack, sections=page_obj.object_list),
        "nav": "sections",
    }
    return render(request, "staff/sections.html", context)


@require_GET
@staff_required
def section_detail(request: HttpRequest, code: str) -> HttpResponse:
    pack, _version = pack_in_force()
    section = sel.section_get(code=code)
    if section is None:
        raise Http404(_("标段不存在"))
    page_obj = _page(request, sel.section_orders(section=section))
    context = {
        "section": section,
        "page_obj": page_obj,
        "rows": sel.order_rows(pack=pack, orders=page_obj.object_list),
        "project_type": sel.project_type_labels(pack=pack).get(section.project_type, section.project_type),
        "nav": "sections",
    }
    return render(request, "staff/section_detail.html", context)


@require_GET
@staff_required
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    pack, _version = pack_in_force()
    order = sel.order_get(number=number)
    if order is None:
        raise Http404(_("订单不存在"))
    [row] = sel.order_rows(pack=pack, orders=[order])
    context = {
        "row": row,
        "order": order,
        "deposit_kind": sel.deposit_kind_labels(pack=pack).get(order.deposit_kind, order.deposit_kind),
        "timeline": sel.order_timeline(order=order),
        "nav": "sections",
    }
    return render(request, "staff/order_detail.html", context)


# --- 企业信息认证 ------------------------------------------------------------------------------------


def _verifications_page(request: HttpRequest, failed: Failed | None = None) -> HttpResponse:
    pack, _version = pack_in_force()
    page_obj = _page(request, sel.verification_queue())
    items = sel.verification_rows(pack=pack, verifications=page_obj.object_list)
    context = {
        "page_obj": page_obj,
        "rows": _rows(items, failed, lambda r: r.verification.pk),
        "review_hint": pack.enterprise.review_hint,
        "nav": "verifications",
    }
    return render(request, "staff/verifications.html", context, status=400 if failed else 200)


@require_GET
@staff_required
def verifications(request: HttpRequest) -> HttpResponse:
    return _verifications_page(request)


@require_POST
@staff_required
def verification_review(request: HttpRequest, verification_id: int) -> HttpResponse:
    verification = sel.verification_get(verification_id=verification_id)
    if verification is None:
        raise Http404(_("企业认证申请不存在"))
    actor = staff_actor(user=_staff(request))

    def act() -> object:
        decision = _choice(request, "decision", {"approve", "reject"}, _("请选择审核结果"))
        return enterprise_verification_review(
            verification_id=verification.pk,
            approve=decision == "approve",
            reason=request.POST.get("reason", ""),
            actor_kind=actor.kind.value,
            actor_label=actor.label,
        )

    approve = request.POST.get("decision") == "approve"
    done = _("已通过「%(name)s」的企业认证") if approve else _("已驳回「%(name)s」的企业认证")
    return _act(
        request,
        item_id=verification.pk,
        fields=("decision", "reason"),
        action=act,
        done=done % {"name": verification.enterprise_name},
        page=_verifications_page,
        back="staff:verifications",
    )


# --- payment vouchers -----------------------------------------------------------------------------------


def _vouchers_page(request: HttpRequest, failed: Failed | None = None) -> HttpResponse:
    pack, _version = pack_in_force()
    page_obj = _page(request, sel.voucher_queue())
    context = {
        "page_obj": page_obj,
        "rows": _rows(sel.voucher_rows(pack=pack, vouchers=page_obj.object_list), failed, lambda r: r.voucher.pk),
        "nav": "vouchers",
    }
    return render(request, "staff/vouchers.html", context, status=400 if failed else 200)


@require_GET
@staff_required
def vouchers(request: HttpRequest) -> HttpResponse:
    return _vouchers_page(request)


@require_POST
@staff_required
def voucher_review(request: HttpRequest, voucher_id: int) -> HttpResponse:
    voucher = sel.voucher_get(voucher_id=voucher_id)
    if voucher is None:
        raise Http404(_("支付凭证不存在"))
    actor = staff_actor(user=_staff(request))

    def act() -> object:
        decision = _choice(request, "decision", {"approve", "reject"}, _("请选择审核结果"))
        return voucher_decide(
            voucher_id=voucher.pk, actor=actor, approve=decision == "approve", reason=request.POST.get("reason", "")
        )

    approve = request.POST.get("decision") == "approve"
    done = _("订单 %(number)s 的支付凭证已审核通过") if approve else _("订单 %(number)s 的支付凭证已驳回")
    return _act(
        request,
        item_id=voucher.pk,
        fields=("decision", "reason"),
        action=act,
        done=done % {"number": voucher.order.number},
        page=_vouchers_page,
        back="staff:vouchers",
    )


# --- unmatched bank lines ---------------------------------------------------------------------------------


def _bank_lines_page(request: HttpRequest, failed: Failed | None = None) -> HttpResponse:
    pack, _version = pack_in_force()
    page_obj = _page(request, sel.unmatched_lines())
    context = {
        "page_obj": page_obj,
        "rows": _rows(sel.line_rows(pack=pack, lines=page_obj.object_list), failed, lambda r: r.line.pk),
        "nav": "bank_lines",
    }
    return render(request, "staff/bank_lines.html", context, status=400 if failed else 200)


@require_GET
@staff_required
def bank_lines(request: HttpRequest) -> HttpResponse:
    return _bank_lines_page(request)


def _line_or_404(line_id: int) -> int:
    line = sel.line_get(line_id=line_id)
    if line is None:
        raise Http404(_("对账单明细不存在"))
    return line.pk


@require_POST
@staff_required
def bank_line_assign(request: HttpRequest, line_id: int) -> HttpResponse:
    pk = _line_or_404(line_id)
    actor = staff_actor(user=_staff(request))
    number = request.POST.get("order", "").strip()

    def act() -> object:
        if not number:
            raise InvalidInput("required", _("请填写订单编号"), field="order")
        return statement_line_assign(line_id=pk, order_number=number[:32], actor=actor)

    return _act(
        request,
        item_id=pk,
        fields=("order",),
        action=act,
        done=_("该笔流水已指定给订单 %(number)s") % {"number": number},
        page=_bank_lines_page,
        back="staff:bank_lines",
    )


@require_POST
@staff_required
def bank_line_dismiss(request: HttpRequest, line_id: int) -> HttpResponse:
    pk = _line_or_404(line_id)
    actor = staff_actor(user=_staff(request))
    return _act(
        request,
        item_id=pk,
        fields=("reason",),
        action=lambda: statement_line_dismiss(line_id=pk, actor=actor, reason=request.POST.get("reason", "")),
        done=_("该笔流水已忽略"),
        page=_bank_lines_page,
        back="staff:bank_lines",
    )


# --- after-sales ------------------------------------------------------------------------------------------

AFTER_SALES_ACTIONS = {"start": "after_sales_start", "resolve": "after_sales_resolve", "close": "after_sales_close"}


def _after_sales_page(request: HttpRequest, failed: Failed | None = None) -> HttpResponse:
    pack, _version = pack_in_force()
    page_obj = _page(request, sel.after_sales_queue())
    context = {
        "page_obj": page_obj,
        "rows": _rows(sel.after_sales_rows(pack=pack, requests=page_obj.object_list), failed, lambda r: r.request.pk),
        "nav": "after_sales",
    }
    return render(request, "staff/after_sales.html", context, status=400 if failed else 200)


@require_GET
@staff_required
def after_sales(request: HttpRequest) -> HttpResponse:
    return _after_sales_page(request)


@require_POST
@staff_required
def after_sales_move(request: HttpRequest, request_id: int) -> HttpResponse:
    item = sel.after_sales_get(request_id=request_id)
    if item is None:
        raise Http404(_("售后申请不存在"))
    actor = staff_actor(user=_staff(request))

    def act() -> object:
        action = _choice(request, "action", set(AFTER_SALES_ACTIONS), _("请选择处理方式"))
        return after_sales_advance(
            request_id=item.pk,
            actor=actor,
            name=AFTER_SALES_ACTIONS[action],
            resolution=request.POST.get("resolution", ""),
        )

    done = {
        "start": _("售后申请已开始处理"),
        "resolve": _("售后申请已标记为已解决"),
        "close": _("售后申请已关闭"),
    }.get(request.POST.get("action", ""), "")
    return _act(
        request,
        item_id=item.pk,
        fields=("action", "resolution"),
        action=act,
        done=done,
        page=_after_sales_page,
        back="staff:after_sales",
    )


# --- claims ------------------------------------------------------------------------------------------------


@require_GET
@staff_required
def claims(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in Claim.State.values:
        state = ""
    page_obj = _page(request, sel.claims_of(state=state))
    context = {
        "page_obj": page_obj,
        "rows": sel.claim_rows(claims=page_obj.object_list),
        "state": state,
        "states": Claim.State.choices,
        "nav": "claims",
    }
    return render(request, "staff/claims.html", context)


# --- files uploaded by bidders -------------------------------------------------------------------------------


@require_GET
@staff_required
def upload_file(request: HttpRequest, upload_id: uuid.UUID) -> HttpResponse:
    """A licence or voucher a bidder uploaded, from this centre's storage; staff only, never cached."""
    upload = sel.upload_get(upload_id=upload_id)
    if upload is None:
        raise Http404(_("文件不存在"))
    inline = upload.content_type in INLINE_TYPES
    response = HttpResponse(
        sel.upload_content(upload=upload), content_type=upload.content_type if inline else "application/octet-stream"
    )
    suffix = str(upload.file.name).rsplit(".", 1)[-1]
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{upload.purpose}-{upload.pk}.{suffix}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
