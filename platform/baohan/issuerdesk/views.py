"""The issuer workbench (``/issuer/``): an issuer's own staff review applications, accept payment
vouchers, issue, review refunds and pay them out, issue invoices, answer after-sales and claims.

Views check who is asking and what was sent, read through ``selectors`` and act through the same
services the issuer API calls (``baohan.guarantees.services``, ``baohan.payments.services``,
``baohan.claims.services``), as the person (name and organisation) in the issuer's scope. Each action
is a POST followed by a redirect and a message; an input the service refuses is shown next to its
field with what was typed, and nothing changes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import wraps
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from baohan.claims.services import claim_move
from baohan.guarantees.errors import DomainError, InvalidInput, NotFound
from baohan.guarantees.forms import phone_clean
from baohan.guarantees.models import Order
from baohan.guarantees.numbers import NumberRefused, decimal_parse
from baohan.guarantees.selectors import order_taken_by_other_issuer
from baohan.guarantees.services import aftersales, invoices, orders, refunds
from baohan.guarantees.states import Actor
from baohan.identity.fields import mask_phone, mask_tail
from baohan.identity.lockout import login_failure_record, login_failures_reset, login_locked_check
from baohan.issuerdesk import selectors as sel
from baohan.issuerdesk import statements as stm
from baohan.issuerdesk.services import (
    issuer_actor,
    issuer_login_code_check,
    issuer_login_code_send,
    issuer_login_record,
    issuer_member_of,
    issuer_of_pack,
)
from baohan.payments.services import confirmations, intake, payouts, vouchers
from baohan.portal.staff_selectors import INLINE_TYPES, upload_content
from baohan.rulepacks.models import Issuer, RulePack
from tenants.selectors import pack_in_force

P = ParamSpec("P")
PER_PAGE = 20
PENDING_KEY = "issuerdesk_pending"
PENDING_SECONDS = 600


@dataclass(frozen=True)
class Desk:
    """Who works at the bench: the person, the issuer they work for, and how they are recorded."""

    user: User
    issuer: Issuer
    actor: Actor
    pack: RulePack


DeskView = Callable[Concatenate[HttpRequest, Desk, P], HttpResponse]
View = Callable[Concatenate[HttpRequest, P], HttpResponse]


def desk_of(user: object) -> Desk | None:
    member = issuer_member_of(user)
    if member is None:
        return None
    issuer = issuer_of_pack(code=member.issuer_code)
    if issuer is None:
        return None
    assert isinstance(user, User)
    pack, _version = pack_in_force()
    return Desk(user=user, issuer=issuer, actor=issuer_actor(user=user, issuer=issuer), pack=pack)


def issuer_required(view: DeskView[P]) -> View[P]:
    """Issuer staff of this centre only: anonymous visitors are sent to the sign-in, anyone else gets 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url=reverse("issuerdesk:login"))
        desk = desk_of(request.user)
        if desk is None:
            return render(request, "issuer/forbidden.html", status=403)
        return view(request, desk, *args, **kwargs)

    return wrapped


def _render(
    request: HttpRequest, desk: Desk, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    base = {"desk": desk, "counts": sel.queue_counts(issuer_code=desk.issuer.code)}
    return render(request, template, {**base, **context}, status=status)


# --- signing in: phone and password, then an SMS code ----------------------------------------------------


class LoginForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("手机号码"), max_length=11, error_messages={"required": gettext_lazy("请填写手机号码")}
    )
    password = forms.CharField(
        label=gettext_lazy("密码"),
        max_length=128,
        strip=False,
        error_messages={"required": gettext_lazy("请填写密码")},
    )

    def clean_phone(self) -> str:
        try:
            return phone_clean(self.cleaned_data["phone"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if ok and target.startswith("/issuer/") else reverse("issuerdesk:home")


def _pending(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    return pending


@require_http_methods(["GET", "POST"])
def issuer_login(request: HttpRequest) -> HttpResponse:
    """Step 1: phone and password of an issuer's staff account; a code is then texted to that phone."""
    if desk_of(request.user) is not None:
        return redirect(_next_url(request))
    form = LoginForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            login_locked_check(request=request, identity=phone)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            user = authenticate(request, phone=phone, password=form.cleaned_data["password"])
            if user is not None and desk_of(user) is not None:
                try:
                    issuer_login_code_send(phone=phone, client=request.META.get("REMOTE_ADDR") or None)
                except DomainError as exc:
                    sent = _pending(request)
                    if exc.code == "sms_too_soon" and sent is not None and sent.get("user") == user.pk:
                        messages.info(request, exc.message)  # the code sent a moment ago still stands
                        return redirect("issuerdesk:login_code")
                    form.add_error("phone", exc.message)
                else:
                    request.session[PENDING_KEY] = {"user": user.pk, "phone": phone, "at": time.time()}
                    target = reverse("issuerdesk:login_code")
                    next_url = request.POST.get("next", "")
                    return redirect(
                        f"{target}?{urlencode({'next': next_url})}" if next_url.startswith("/issuer/") else target
                    )
            else:
                if user is not None:  # a bidder's or the centre staff's own password: counted like any failure
                    login_failure_record(request=request, identity=phone)
                form.add_error("password", _("手机号或密码错误，或该账户不是出函机构工作人员账户"))
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next") or ""}
    return render(request, "issuer/login.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def issuer_login_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the code texted to the account's phone; a right code signs in, a wrong one counts as a failure."""
    pending = _pending(request)
    if pending is None:
        messages.info(request, _("请先输入手机号码和密码"))
        return redirect("issuerdesk:login")
    phone = str(pending["phone"])
    error = ""
    status = 200
    if request.method == "POST" and request.POST.get("action") == "resend":
        try:
            issuer_login_code_send(phone=phone, client=request.META.get("REMOTE_ADDR") or None)
        except DomainError as exc:
            error, status = exc.message, 400
        else:
            messages.success(request, _("验证码已重新发送至 %(phone)s") % {"phone": mask_phone(phone)})
            return redirect(request.get_full_path())
    elif request.method == "POST":
        try:
            login_locked_check(request=request, identity=phone)
            issuer_login_code_check(phone=phone, code=request.POST.get("code", "").strip()[:12])
        except DomainError as exc:
            if exc.code != "locked":
                login_failure_record(request=request, identity=phone)
            error, status = exc.message, 400
        else:
            user = User.objects.filter(pk=pending["user"]).first()
            desk = desk_of(user)
            if user is None or desk is None:
                request.session.pop(PENDING_KEY, None)
                messages.error(request, _("该账户已停用，请联系本机构管理员"))
                return redirect("issuerdesk:login")
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            login_failures_reset(request=request, identity=phone)
            issuer_login_record(user=user, issuer=desk.issuer, path=request.path)
            return redirect(_next_url(request))
    context = {"phone": mask_phone(phone), "error": error, "next": request.GET.get("next", "")}
    return render(request, "issuer/login_code.html", context, status=status)


@require_POST
def issuer_logout(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("已退出登录"))
    return redirect("issuerdesk:login")


# --- helpers for list pages and actions -----------------------------------------------------------------------


@dataclass
class Failed:
    """An action the service refused because of one input: shown next to that field of that item."""

    item_id: Any
    errors: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class Row:
    item: Any
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


def _rows(items: Any, failed: Failed | None, key: Callable[[Any], Any]) -> list[Row]:
    return [
        Row(i, failed.errors, failed.values) if failed is not None and key(i) == failed.item_id else Row(i)
        for i in items
    ]


def _page(request: HttpRequest, items: Any) -> Page[Any]:
    return Paginator(items, PER_PAGE).get_page(request.GET.get("page"))


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if ok and target.startswith("/issuer/") else default


def _act(
    request: HttpRequest,
    *,
    item_id: Any,
    fields: tuple[str, ...],
    action: Callable[[], object],
    done: str,
    page: Callable[[Failed], HttpResponse],
    back: str,
) -> HttpResponse:
    """Run ``action`` (a service call); then redirect with ``done``, or show the refused field with what was typed."""
    values = {name: request.POST.get(name, "") for name in fields}
    try:
        action()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        if exc.field in fields:
            return page(Failed(item_id, {str(exc.field): exc.message}, values))
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(back)


def _choice(request: HttpRequest, name: str, allowed: set[str], message: str) -> str:
    value = request.POST.get(name, "")
    if value not in allowed:
        raise InvalidInput("invalid", message, field=name)
    return value


def _text(request: HttpRequest, name: str, limit: int) -> str:
    return request.POST.get(name, "").strip()[:limit]


# --- the bench ---------------------------------------------------------------------------------------------------


@require_GET
@issuer_required
def home(request: HttpRequest, desk: Desk) -> HttpResponse:
    code = desk.issuer.code
    context = {
        "nav": "home",
        "reviews": sel.order_rows(pack=desk.pack, orders=sel.review_queue(issuer_code=code)[:5]),
        "to_issue": sel.order_rows(pack=desk.pack, orders=sel.issue_queue(issuer_code=code)[:5]),
    }
    return _render(request, desk, "issuer/home.html", context)


@require_GET
@issuer_required
def review_list(request: HttpRequest, desk: Desk) -> HttpResponse:
    page_obj = _page(request, sel.review_queue(issuer_code=desk.issuer.code))
    context = {"nav": "review", "page_obj": page_obj, "rows": sel.order_rows(pack=desk.pack, orders=page_obj)}
    return _render(request, desk, "issuer/review_list.html", context)


@require_GET
@issuer_required
def issue_list(request: HttpRequest, desk: Desk) -> HttpResponse:
    return _issue_page(request, desk)


def _issue_page(request: HttpRequest, desk: Desk, failed: Failed | None = None) -> HttpResponse:
    page_obj = _page(request, sel.issue_queue(issuer_code=desk.issuer.code))
    rows = _rows(sel.order_rows(pack=desk.pack, orders=page_obj), failed, lambda r: r.order.number)
    context = {"nav": "issue", "page_obj": page_obj, "rows": rows}
    return _render(request, desk, "issuer/issue_list.html", context, status=400 if failed else 200)


@require_GET
@issuer_required
def order_list(request: HttpRequest, desk: Desk) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    page_obj = _page(request, sel.order_search(issuer_code=desk.issuer.code, query=query))
    context = {
        "nav": "orders",
        "query": query,
        "page_obj": page_obj,
        "rows": sel.order_rows(pack=desk.pack, orders=page_obj),
    }
    return _render(request, desk, "issuer/orders.html", context)


def _order_or_404(desk: Desk, number: str) -> Order:
    order = sel.order_for_issuer(issuer_code=desk.issuer.code, number=number)
    if order is None:
        raise Http404(_("订单不存在"))
    return order


def _order_page(request: HttpRequest, desk: Desk, order: Order, failed: Failed | None = None) -> HttpResponse:
    view = sel.order_view(order=order, issuer=desk.issuer, pack=desk.pack)
    rate_default = ""
    if view.offer is not None and view.offer.status == "pending":
        rate_default = f"{(desk.issuer.rate * 100).normalize():f}"
    context = {
        "nav": "orders",
        "view": view,
        "order": order,
        "errors": failed.errors if failed else {},
        "values": failed.values if failed else {"rate": rate_default},
    }
    return _render(request, desk, "issuer/order.html", context, status=400 if failed else 200)


@require_GET
@issuer_required
def order_detail(request: HttpRequest, desk: Desk, number: str) -> HttpResponse:
    order = sel.order_for_issuer(issuer_code=desk.issuer.code, number=number)
    if order is None:
        if order_taken_by_other_issuer(issuer_code=desk.issuer.code, number=number):
            messages.error(request, _("订单 %(number)s 已由其他出函机构承保") % {"number": number})
            return redirect("issuerdesk:review")
        raise Http404(_("订单不存在"))
    return _order_page(request, desk, order)


def _rate(request: HttpRequest) -> Decimal:
    """The final rate typed as a percentage (3.5 → 0.035)."""
    typed = request.POST.get("rate", "").strip().rstrip("%").strip()
    if not typed:
        raise InvalidInput("required", _("请填写最终费率"), field="rate")
    try:
        percent = decimal_parse(typed, places=4, max_digits=8)
    except NumberRefused as exc:
        if exc.code == "places":
            raise InvalidInput("invalid", _("费率应大于0且小于100（%），最多四位小数"), field="rate") from exc
        raise InvalidInput(
            "invalid", _("费率请填写数字，例如 3.5（%(reason)s）") % {"reason": exc}, field="rate"
        ) from exc
    if not Decimal(0) < percent < Decimal(100):
        raise InvalidInput("invalid", _("费率应大于0且小于100（%），最多四位小数"), field="rate")
    return percent / 100


@require_POST
@issuer_required
def order_decide(request: HttpRequest, desk: Desk, number: str) -> HttpResponse:
    """Approve at the final rate, or reject with a reason (the issuer API's ``decision``)."""
    order = sel.order_for_issuer(issuer_code=desk.issuer.code, number=number)
    if order is None:
        if order_taken_by_other_issuer(issuer_code=desk.issuer.code, number=number):
            messages.error(request, _("订单 %(number)s 已由其他出函机构承保") % {"number": number})
            return redirect("issuerdesk:review")
        raise Http404(_("订单不存在"))
    approve = request.POST.get("decision") == "approve"

    def act() -> object:
        _choice(request, "decision", {"approve", "reject"}, _("请选择审核结果"))
        return orders.order_offer_decide(
            order_id=order.pk,
            issuer_code=desk.issuer.code,
            actor=desk.actor,
            approve=approve,
            rate=_rate(request) if approve else None,
            reason=_text(request, "reason", 500),
        )

    done = _("订单 %(number)s 已审核通过") if approve else _("订单 %(number)s 已拒绝承保")
    return _act(
        request,
        item_id=order.number,
        fields=("decision", "rate", "reason"),
        action=act,
        done=done % {"number": order.number},
        page=lambda failed: _order_page(request, desk, order, failed),
        back=_back(request, reverse("issuerdesk:review")),
    )


@require_POST
@issuer_required
def order_issue(request: HttpRequest, desk: Desk, number: str) -> HttpResponse:
    """出函 (the issuer API's ``issue``), with the guarantee's number if the issuer gives its own."""
    order = _order_or_404(desk, number)
    guarantee_number = _text(request, "guarantee_number", 40)
    on_order_page = request.POST.get("from") == "order"

    def page(failed: Failed) -> HttpResponse:
        return _order_page(request, desk, order, failed) if on_order_page else _issue_page(request, desk, failed)

    return _act(
        request,
        item_id=order.number,
        fields=("guarantee_number",),
        action=lambda: orders.order_issue(order_id=order.pk, actor=desk.actor, guarantee_number=guarantee_number),
        done=_("订单 %(number)s 已出函") % {"number": order.number},
        page=page,
        back=_back(request, reverse("issuerdesk:issue")),
    )


# --- 待确认付款 --------------------------------------------------------------------------------------------------


def _vouchers_page(request: HttpRequest, desk: Desk, failed: Failed | None = None) -> HttpResponse:
    page_obj = _page(request, sel.voucher_queue(issuer_code=desk.issuer.code))
    transfers = sel.transfer_queue(issuer_code=desk.issuer.code)[:50]
    context = {
        "nav": "vouchers",
        "page_obj": page_obj,
        "rows": _rows(page_obj, failed, lambda v: v.pk),
        "transfers": _rows(transfers, failed, lambda o: f"order-{o.number}"),
    }
    return _render(request, desk, "issuer/vouchers.html", context, status=400 if failed else 200)


@require_GET
@issuer_required
def voucher_list(request: HttpRequest, desk: Desk) -> HttpResponse:
    return _vouchers_page(request, desk)


@require_POST
@issuer_required
def voucher_decide(request: HttpRequest, desk: Desk, voucher_id: int) -> HttpResponse:
    voucher = sel.voucher_queue(issuer_code=desk.issuer.code).filter(pk=voucher_id).first()
    if voucher is None:
        messages.error(request, _("该支付凭证已处理或不存在"))
        return redirect("issuerdesk:vouchers")
    approve = request.POST.get("decision") == "approve"

    def act() -> object:
        _choice(request, "decision", {"approve", "reject"}, _("请选择审核结果"))
        return vouchers.voucher_decide(
            voucher_id=voucher.pk, actor=desk.actor, approve=approve, reason=_text(request, "reason", 500)
        )

    done = _("订单 %(number)s 的付款已确认，可以出函") if approve else _("订单 %(number)s 的支付凭证已驳回")
    return _act(
        request,
        item_id=voucher.pk,
        fields=("decision", "reason"),
        action=act,
        done=done % {"number": voucher.order.number},
        page=lambda failed: _vouchers_page(request, desk, failed),
        back=_back(request, reverse("issuerdesk:vouchers")),
    )


def _amount(request: HttpRequest) -> Decimal:
    typed = request.POST.get("amount", "").strip().replace(",", "").lstrip("¥").strip()
    if not typed:
        raise InvalidInput("required", _("请填写到账金额"), field="amount")
    try:
        amount = decimal_parse(typed)
    except NumberRefused as exc:
        if exc.code == "places":
            raise InvalidInput("invalid", _("到账金额应大于0，最多两位小数"), field="amount") from exc
        raise InvalidInput(
            "invalid", _("到账金额请填写数字，例如 350.00（%(reason)s）") % {"reason": exc}, field="amount"
        ) from exc
    if amount <= 0:
        raise InvalidInput("invalid", _("到账金额应大于0，最多两位小数"), field="amount")
    return amount


def _paid_at(request: HttpRequest) -> datetime | None:
    typed = request.POST.get("paid_at", "").strip()
    if not typed:
        return None
    try:
        moment = datetime.fromisoformat(typed)
    except ValueError as exc:
        raise InvalidInput("invalid", _("到账时间格式不正确"), field="paid_at") from exc
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@require_POST
@issuer_required
def order_payment(request: HttpRequest, desk: Desk, number: str) -> HttpResponse:
    """A transfer seen on the issuer's account confirmed by hand, or the payment marked failed (the issuer
    API's ``payment``)."""
    order = sel.transfer_queue(issuer_code=desk.issuer.code).filter(number=number).first()
    if order is None:
        messages.error(request, _("该订单不在待付款状态"))
        return redirect("issuerdesk:vouchers")
    outcome = request.POST.get("outcome", "")

    def act() -> object:
        _choice(request, "outcome", {"confirmed", "failed"}, _("请选择处理结果"))
        if outcome == "failed":
            return orders.order_payment_fail(order_id=order.pk, actor=desk.actor, reason=_text(request, "reason", 500))
        return confirmations.order_payment_confirm(
            order_id=order.pk,
            actor=desk.actor,
            amount=_amount(request),
            paid_at=_paid_at(request),
            reference=_text(request, "reference", 64),
        )

    done = (
        _("订单 %(number)s 的付款已确认，可以出函")
        if outcome == "confirmed"
        else _("订单 %(number)s 已标记为支付未通过")
    )
    return _act(
        request,
        item_id=f"order-{order.number}",
        fields=("outcome", "amount", "paid_at", "reference", "reason"),
        action=act,
        done=done % {"number": order.number},
        page=lambda failed: _vouchers_page(request, desk, failed),
        back=reverse("issuerdesk:vouchers"),
    )


# --- 退保 and payouts ----------------------------------------------------------------------------------------------


def _refunds_page(request: HttpRequest, desk: Desk, failed: Failed | None = None) -> HttpResponse:
    code = desk.issuer.code
    context = {
        "nav": "refunds",
        "refunds": _rows(sel.refund_queue(issuer_code=code)[:100], failed, lambda r: f"refund-{r.number}"),
        "payouts": _rows(_masked(sel.payout_queue(issuer_code=code)[:100]), failed, lambda p: f"payout-{p.number}"),
    }
    return _render(request, desk, "issuer/refunds.html", context, status=400 if failed else 200)


def _masked(payouts: Any) -> list[Any]:
    """Payouts with the payee's account as its last four characters, the only way pages show it."""
    items = list(payouts)
    for item in items:
        item.account_masked = mask_tail(item.payee_account) if item.payee_account else ""
    return items


@require_GET
@issuer_required
def refund_list(request: HttpRequest, desk: Desk) -> HttpResponse:
    return _refunds_page(request, desk)


@require_POST
@issuer_required
def refund_decide(request: HttpRequest, desk: Desk, number: str) -> HttpResponse:
    refund = sel.refund_queue(issuer_code=desk.issuer.code).filter(number=number).first()
    if refund is None:
        messages.error(request, _("该退保申请已处理或不存在"))
        return redirect("issuerdesk:refunds")
    approve = request.POST.get("decision") == "approve"

    def act() -> object:
        _choice(request, "decision", {"approve", "reject"}, _("请选择审核结果"))
        return refunds.refund_review(
            refund_id=refund.pk, actor=desk.actor, approve=approve, reason=_text(request, "reason", 500)
        )

    done = _("退保 %(number)s 已审核通过，待退款") if approve else _("退保 %(number)s 已拒绝")
    return _act(
        request,
        item_id=f"refund-{refund.number}",
        fields=("decision", "reason"),
        action=act,
        done=done % {"number": refund.number},
        page=lambda failed: _refunds_page(request, desk, failed),
        back=reverse("issuerdesk:refunds"),
    )


@require_POST
@issuer_required
def payout_paid(request: HttpRequest, desk: Desk, number: str) -> HttpResponse:
    payout = sel.payout_queue(issuer_code=desk.issuer.code).filter(number=number).first()
    if payout is None:
        messages.error(request, _("该退款已处理或不存在"))
        return redirect("issuerdesk:refunds")
    return _act(
        request,
        item_id=f"payout-{payout.number}",
        fields=("reference",),
        action=lambda: payouts.payout_mark_paid(
            payout_id=payout.pk, actor=desk.actor, reference=_text(request, "reference", 64)
        ),
        done=_("退款 %(number)s 已登记为已退款") % {"number": payout.number},
        page=lambda failed: _refunds_page(request, desk, failed),
        back=reverse("issuerdesk:refunds"),
    )


# --- 发票 -------------------------------------------------------------------------------------------------------


def _invoices_page(request: HttpRequest, desk: Desk, failed: Failed | None = None) -> HttpResponse:
    context = {
        "nav": "invoices",
        "rows": _rows(sel.invoice_queue(issuer_code=desk.issuer.code)[:100], failed, lambda i: i.pk),
    }
    return _render(request, desk, "issuer/invoices.html", context, status=400 if failed else 200)


@require_GET
@issuer_required
def invoice_list(request: HttpRequest, desk: Desk) -> HttpResponse:
    return _invoices_page(request, desk)


@require_POST
@issuer_required
def invoice_advance(request: HttpRequest, desk: Desk, invoice_id: int) -> HttpResponse:
    invoice = sel.invoice_queue(issuer_code=desk.issuer.code).filter(pk=invoice_id).first()
    if invoice is None:
        messages.error(request, _("该发票申请已处理或不存在"))
        return redirect("issuerdesk:invoices")
    action = request.POST.get("action", "")

    def act() -> object:
        _choice(request, "action", {"start", "issue"}, _("请选择处理方式"))
        return invoices.invoice_advance(
            invoice_id=invoice.pk,
            actor=desk.actor,
            name=f"invoice_{action}",
            invoice_number=_text(request, "invoice_number", 40),
            carrier=_text(request, "carrier", 60),
            tracking_number=_text(request, "tracking_number", 60),
            document=request.FILES.get("document"),
        )

    done = _("订单 %(number)s 的发票已开具") if action == "issue" else _("订单 %(number)s 的发票已开始开具")
    return _act(
        request,
        item_id=invoice.pk,
        fields=("action", "invoice_number", "carrier", "tracking_number", "document"),
        action=act,
        done=done % {"number": invoice.order.number},
        page=lambda failed: _invoices_page(request, desk, failed),
        back=reverse("issuerdesk:invoices"),
    )


# --- 售后 and 索赔 ------------------------------------------------------------------------------------------------

AFTER_SALES_ACTIONS = {"start": "after_sales_start", "resolve": "after_sales_resolve", "close": "after_sales_close"}


def _after_sales_page(request: HttpRequest, desk: Desk, failed: Failed | None = None) -> HttpResponse:
    labels = {c.code: c.label for c in desk.pack.after_sales}
    items = list(sel.after_sales_queue(issuer_code=desk.issuer.code)[:100])
    for item in items:
        item.category_label = labels.get(item.category, item.category)  # type: ignore[attr-defined]
    context = {"nav": "after_sales", "rows": _rows(items, failed, lambda r: r.pk)}
    return _render(request, desk, "issuer/after_sales.html", context, status=400 if failed else 200)


@require_GET
@issuer_required
def after_sales_list(request: HttpRequest, desk: Desk) -> HttpResponse:
    return _after_sales_page(request, desk)


@require_POST
@issuer_required
def after_sales_advance(request: HttpRequest, desk: Desk, request_id: int) -> HttpResponse:
    item = sel.after_sales_queue(issuer_code=desk.issuer.code).filter(pk=request_id).first()
    if item is None:
        messages.error(request, _("该售后申请已处理或不存在"))
        return redirect("issuerdesk:after_sales")
    action = request.POST.get("action", "")

    def act() -> object:
        _choice(request, "action", set(AFTER_SALES_ACTIONS), _("请选择处理方式"))
        return aftersales.after_sales_advance(
            request_id=item.pk,
            actor=desk.actor,
            name=AFTER_SALES_ACTIONS[action],
            resolution=_text(request, "resolution", 1000),
        )

    done = {
        "start": _("售后申请已开始处理"),
        "resolve": _("售后申请已标记为已解决"),
        "close": _("售后申请已关闭"),
    }.get(action, "")
    return _act(
        request,
        item_id=item.pk,
        fields=("action", "resolution"),
        action=act,
        done=done,
        page=lambda failed: _after_sales_page(request, desk, failed),
        back=reverse("issuerdesk:after_sales"),
    )


def _claims_page(request: HttpRequest, desk: Desk, failed: Failed | None = None) -> HttpResponse:
    items = sel.claim_queue(issuer_code=desk.issuer.code)[:100]
    context = {"nav": "claims", "rows": _rows(items, failed, lambda c: c.number)}
    return _render(request, desk, "issuer/claims.html", context, status=400 if failed else 200)


@require_GET
@issuer_required
def claim_list(request: HttpRequest, desk: Desk) -> HttpResponse:
    return _claims_page(request, desk)


@require_POST
@issuer_required
def claim_action(request: HttpRequest, desk: Desk, number: str) -> HttpResponse:
    claim = sel.claim_queue(issuer_code=desk.issuer.code).filter(number=number).first()
    if claim is None:
        messages.error(request, _("该索赔已处理或不存在"))
        return redirect("issuerdesk:claims")
    action = request.POST.get("action", "")

    def act() -> object:
        _choice(request, "action", {"accept", "reject", "pay"}, _("请选择处理方式"))
        return claim_move(
            number=claim.number,
            name=action,
            actor=desk.actor,
            reason=_text(request, "reason", 500),
            reference=_text(request, "reference", 64),
        )

    done = {
        "accept": _("索赔 %(number)s 已受理"),
        "reject": _("索赔 %(number)s 已拒赔"),
        "pay": _("索赔 %(number)s 已登记赔付"),
    }.get(action, "%(number)s")
    return _act(
        request,
        item_id=claim.number,
        fields=("action", "reason", "reference"),
        action=act,
        done=done % {"number": claim.number},
        page=lambda failed: _claims_page(request, desk, failed),
        back=reverse("issuerdesk:claims"),
    )


# --- files -------------------------------------------------------------------------------------------------------


@require_GET
@issuer_required
def upload_file(request: HttpRequest, desk: Desk, upload_id: uuid.UUID) -> HttpResponse:
    """A file of an application or a voucher on one of this issuer's orders; never cached."""
    upload = sel.upload_for_issuer(issuer_code=desk.issuer.code, upload_id=upload_id)
    if upload is None:
        raise Http404(_("文件不存在"))
    inline = upload.content_type in INLINE_TYPES
    response = HttpResponse(
        upload_content(upload=upload), content_type=upload.content_type if inline else "application/octet-stream"
    )
    suffix = str(upload.file.name).rsplit(".", 1)[-1]
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{upload.purpose}-{upload.pk}.{suffix}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- statements: import with a preview, unmatched lines ------------------------------------------------------


def _statements_page(
    request: HttpRequest,
    desk: Desk,
    *,
    preview: stm.Preview | None = None,
    file_error: str = "",
    failed: Failed | None = None,
) -> HttpResponse:
    layouts, own = stm.statement_layouts(issuer_code=desk.issuer.code)
    page_obj = _page(request, sel.unmatched_lines(issuer_code=desk.issuer.code))
    context = {
        "nav": "statements",
        "layouts": layouts,
        "layout": request.POST.get("layout", "") or own,
        "preview": preview,
        "file_error": file_error,
        "page_obj": page_obj,
        "rows": _rows(page_obj, failed, lambda line: line.pk),
    }
    status = 400 if (file_error or failed) else 200
    return _render(request, desk, "issuer/statements.html", context, status=status)


@require_GET
@issuer_required
def statements(request: HttpRequest, desk: Desk) -> HttpResponse:
    return _statements_page(request, desk)


@require_POST
@issuer_required
def statement_preview(request: HttpRequest, desk: Desk) -> HttpResponse:
    """Read the chosen file and show what each line will do; nothing is imported yet."""
    upload = request.FILES.get("file")
    try:
        preview = stm.statement_preview(
            issuer_code=desk.issuer.code,
            user_id=desk.user.pk,
            content=upload.read() if upload is not None else b"",
            filename=(upload.name or "") if upload is not None else "",
            layout_code=request.POST.get("layout", "")[:40],
        )
    except DomainError as exc:
        return _statements_page(request, desk, file_error=exc.message)
    return _statements_page(request, desk, preview=preview)


@require_POST
@issuer_required
def statement_apply(request: HttpRequest, desk: Desk) -> HttpResponse:
    """Import the previewed file through the issuer API's service; matching follows by itself."""
    token = request.POST.get("token", "")[:64]
    kept = stm.statement_pending(issuer_code=desk.issuer.code, user_id=desk.user.pk, token=token)
    if kept is None:
        messages.error(request, _("预览已过期，请重新选择对账单文件"))
        return redirect("issuerdesk:statements")
    try:
        result = intake.statement_import_file(
            issuer_code=desk.issuer.code,
            content=bytes(kept["content"]),  # type: ignore[call-overload]
            filename=str(kept["filename"]),
            actor=desk.actor,
            layout_code=str(kept["layout"]),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        stm.statement_pending_drop(user_id=desk.user.pk, token=token)
        messages.success(
            request,
            _("对账单已导入：共 %(total)s 笔，新增 %(new)s 笔，系统正在自动对账")
            % {"total": result.lines_total, "new": result.lines_new},
        )
    return redirect("issuerdesk:statements")


def _line_or_none(desk: Desk, line_id: int) -> int | None:
    line = sel.unmatched_lines(issuer_code=desk.issuer.code).filter(pk=line_id).first()
    return line.pk if line is not None else None


@require_POST
@issuer_required
def line_assign(request: HttpRequest, desk: Desk, line_id: int) -> HttpResponse:
    pk = _line_or_none(desk, line_id)
    if pk is None:
        messages.error(request, _("该笔流水已处理或不存在"))
        return redirect("issuerdesk:statements")
    number = _text(request, "order", 32)

    def act() -> object:
        if not number:
            raise InvalidInput("required", _("请填写订单编号"), field="order")
        return intake.statement_line_assign(line_id=pk, order_number=number, actor=desk.actor)

    return _act(
        request,
        item_id=pk,
        fields=("order",),
        action=act,
        done=_("该笔流水已指定给订单 %(number)s") % {"number": number},
        page=lambda failed: _statements_page(request, desk, failed=failed),
        back=reverse("issuerdesk:statements"),
    )


@require_POST
@issuer_required
def line_dismiss(request: HttpRequest, desk: Desk, line_id: int) -> HttpResponse:
    pk = _line_or_none(desk, line_id)
    if pk is None:
        messages.error(request, _("该笔流水已处理或不存在"))
        return redirect("issuerdesk:statements")
    return _act(
        request,
        item_id=pk,
        fields=("reason",),
        action=lambda: intake.statement_line_dismiss(
            line_id=pk, actor=desk.actor, reason=_text(request, "reason", 200)
        ),
        done=_("该笔流水已忽略"),
        page=lambda failed: _statements_page(request, desk, failed=failed),
        back=reverse("issuerdesk:statements"),
    )
