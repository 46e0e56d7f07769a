"""The application wizard: 1 完善基本信息 → 2 确认信息 → 3 完成, in the centre's own steps.

Step 1 picks the deposit kind, guarantee kind and issuers the pack's way and fills the pack's
form; it makes a draft order. Step 2 shows the draft with the notices and clauses to consent
to and submits it. Sending a step twice, or reloading it, leads back to the same order.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from baohan.guarantees.errors import Conflict, DomainError, InvalidInput
from baohan.guarantees.models import Enterprise, Order
from baohan.guarantees.quotes import quote_for_issuer
from baohan.guarantees.selectors import order_get_for_enterprise, state_label
from baohan.guarantees.services import orders
from baohan.portal.pages.common import (
    actor_of,
    bidder_page,
    captcha_context,
    client_ip,
    error_place,
    field_views,
    form_errors,
    operator_of,
    pack_now,
    upload_id,
)
from baohan.rulepacks.fields import CANONICAL_FIELDS, FieldKind, FieldSource
from baohan.rulepacks.models import IssuerChoiceMode, OrderState, RulePack
from baohan.sections.models import Section

WIZARD = ("完善基本信息", "确认信息", "完成")
CHOICE_FIELDS = ("section", "deposit_kind", "issuer_kind", "issuer_codes")


def _issuer_rows(*, pack: RulePack, section: Section, chosen: list[str]) -> list[dict[str, Any]]:
    rows = []
    for issuer in pack.issuers:
        quote = quote_for_issuer(insured_amount=section.deposit_amount, issuer=issuer)
        rows.append(
            {
                "code": issuer.code,
                "name": issuer.name,
                "short_name": issuer.short_name,
                "kind": issuer.kind.value,
                "deposit_kinds": " ".join(k.value for k in issuer.deposit_kinds),
                "rate": issuer.rate,
                "rate_percent": issuer.rate * 100,
                "premium": quote.premium,
                "minimum_applied": quote.minimum_applied,
                "documents": [d.title for d in issuer.documents],
                "checked": issuer.code in chosen,
                "sample": issuer.sample,
            }
        )
    return rows


def _defaults(request: HttpRequest, section: Section) -> dict[str, Any]:
    operator = operator_of(request)
    return orders.form_defaults(section=section, enterprise=operator.enterprise, operator=operator, quote=None)


def _live_order(request: HttpRequest, section: Section, deposit_kind: str) -> Order | None:
    return Order.objects.filter(
        enterprise=operator_of(request).enterprise, section=section, deposit_kind=deposit_kind, live=True
    ).first()


@bidder_page
@require_http_methods(["GET", "POST"])
def apply_start(request: HttpRequest, code: str) -> HttpResponse:
    pack = pack_now()
    section = Section.objects.filter(code=code).first()
    if section is None:
        raise Http404("标段不存在")
    kinds = [d.kind.value for d in pack.products.deposit_kinds]
    issuer_kinds = [k.kind.value for k in pack.products.issuer_kinds]
    source = request.POST if request.method == "POST" else request.GET
    deposit_kind = source.get("deposit_kind") or kinds[0]
    issuer_kind = source.get("issuer_kind") or issuer_kinds[0]
    chosen = source.getlist("issuer_codes")
    fields = list(pack.forms.application)
    bidder_fields = [f for f in fields if CANONICAL_FIELDS[f.name].source != FieldSource.QUOTE]
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    top_error = ""

    live = _live_order(request, section, deposit_kind) if deposit_kind in kinds else None
    if live is not None and request.method == "GET":
        # An application already exists for this section and deposit kind: carry on with it.
        return redirect(_next_step(live))

    if request.method == "POST":
        values = {
            f.name: request.POST.get(f.name, "")
            for f in bidder_fields
            if CANONICAL_FIELDS[f.name].kind != FieldKind.FILE
        }
        if deposit_kind not in kinds:
            errors["deposit_kind"] = "请选择保证金类型"
        if issuer_kind not in issuer_kinds:
            errors["issuer_kind"] = "请选择保函类型"
        if pack.issuer_choice.mode != IssuerChoiceMode.RANDOM_ALLOCATION and not chosen:
            errors["issuer_codes"] = (
                "请选择一家出函机构"
                if pack.issuer_choice.mode == IssuerChoiceMode.SINGLE_PICK
                else "请至少选择一家出函机构"
            )
        uploads = {
            f.name: request.FILES[f.name]
            for f in bidder_fields
            if CANONICAL_FIELDS[f.name].kind == FieldKind.FILE and f.name in request.FILES
        }
        for name in uploads:
            values[name] = "00000000-0000-0000-0000-000000000000"  # stands in for the file until it is stored
        errors.update(
            form_errors(
                pack=pack,
                fields=[f for f in bidder_fields if CANONICAL_FIELDS[f.name].source != FieldSource.CHECK],
                values=values,
                defaults=_defaults(request, section),
            )
        )
        if not errors:
            try:
                with transaction.atomic():  # a refused application keeps none of its uploads
                    operator = operator_of(request)
                    for name, file in uploads.items():
                        values[name] = upload_id(operator=operator, purpose=name, file=file)
                    order = orders.order_create(
                        operator=operator,
                        section_code=section.code,
                        deposit_kind=deposit_kind,
                        issuer_kind=issuer_kind,
                        issuer_codes=[] if pack.issuer_choice.mode == IssuerChoiceMode.RANDOM_ALLOCATION else chosen,
                        form={k: v for k, v in values.items() if v != ""},
                    )
            except Conflict as exc:
                existing = _live_order(request, section, deposit_kind) if exc.code == "order_exists" else None
                if existing is not None:  # sent twice: the first one made it
                    messages.info(request, exc.message)
                    return redirect(_next_step(existing))
                top_error = exc.message
            except DomainError as exc:
                errors, top_error = error_place(exc, [*values, *CHOICE_FIELDS, *uploads])
            else:
                return redirect("portal_apply_confirm", number=order.number)

    shown = _defaults(request, section)
    context = {
        "section": section,
        "steps": WIZARD,
        "step": 1,
        "deposit_kinds": pack.products.deposit_kinds,
        "issuer_kinds": pack.products.issuer_kinds,
        "deposit_kind": deposit_kind,
        "issuer_kind": issuer_kind,
        "choice_mode": pack.issuer_choice.mode.value,
        "platform_label": pack.issuer_choice.platform_label,
        "issuers": _issuer_rows(pack=pack, section=section, chosen=chosen),
        "fields": field_views(pack=pack, fields=fields, values=values, errors=errors, shown=shown),
        "errors": errors,
        "top_error": top_error,
        "notices": pack.forms.notices,
        "closed": "",
        **captcha_context(),
    }
    try:
        orders.section_accepting(section=section)
    except DomainError as exc:
        context["closed"] = exc.message
    enterprise = operator_of(request).enterprise
    if pack.enterprise.manual_review and enterprise.verification != Enterprise.Verification.VERIFIED:
        context["closed"] = "企业信息认证通过后才能申请保函，请先在用户中心完成企业信息认证。"
        context["verify_first"] = True
    return render(request, "portal/apply.html", context, status=400 if errors or top_error else 200)


def _next_step(order: Order) -> str:
    if order.state == OrderState.DRAFT:
        return f"/orders/{order.number}/confirm"
    return f"/orders/{order.number}/"


@bidder_page
@require_http_methods(["GET", "POST"])
def apply_confirm(request: HttpRequest, number: str) -> HttpResponse:
    pack = pack_now()
    order = order_get_for_enterprise(enterprise=operator_of(request).enterprise, number=number)
    if order is None:
        raise Http404("订单不存在")
    if order.state != OrderState.DRAFT:
        return redirect("portal_apply_done", number=order.number)
    accepted = request.POST.getlist("consents") if request.method == "POST" else []
    error = ""
    if request.method == "POST" and request.POST.get("action") == "withdraw":
        try:
            orders.order_cancel(order_id=order.pk, actor=actor_of(request), reason="投保人撤回申请")
        except DomainError:  # sent twice, or submitted meanwhile from another tab: show where it stands
            return redirect(_next_step(Order.objects.get(pk=order.pk)))
        messages.info(request, "申请已撤回，可重新填写")
        return redirect("portal_apply", code=order.section.code)
    if request.method == "POST":
        try:
            orders.order_submit(
                order_id=order.pk,
                actor=actor_of(request),
                consents=accepted,
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except Conflict as exc:
            fresh = Order.objects.get(pk=order.pk)
            if fresh.state != OrderState.DRAFT:  # sent twice: already submitted
                return redirect("portal_apply_done", number=order.number)
            error = exc.message
        except InvalidInput as exc:
            error = exc.message
        else:
            return redirect("portal_apply_done", number=order.number)
    names = {i.code: i.name for i in pack.issuers}
    offers = [(o, names.get(o.issuer_code, o.issuer_code)) for o in order.offers.all()]
    return render(
        request,
        "portal/apply_confirm.html",
        {
            "order": order,
            "steps": WIZARD,
            "step": 2,
            "form_rows": [(label, order.form_data.get(name)) for name, label in order.form_labels.items()],
            "offers": offers,
            "allocated": pack.issuer_choice.mode == IssuerChoiceMode.RANDOM_ALLOCATION,
            "platform_label": pack.issuer_choice.platform_label,
            "deposit_kind_label": _label(pack.products.deposit_kinds, order.deposit_kind),
            "issuer_kind_label": _label(pack.products.issuer_kinds, order.issuer_kind),
            "consents": [(c, c.code in accepted) for c in pack.issuer_choice.consents],
            "notices": pack.forms.notices,
            "error": error,
        },
        status=400 if error else 200,
    )


def _label(options: Any, kind: str) -> str:
    return next((o.label for o in options if o.kind.value == kind), kind)


@bidder_page
def apply_done(request: HttpRequest, number: str) -> HttpResponse:
    pack = pack_now()
    order = order_get_for_enterprise(enterprise=operator_of(request).enterprise, number=number)
    if order is None:
        raise Http404("订单不存在")
    if order.state == OrderState.DRAFT:
        return redirect("portal_apply_confirm", number=order.number)
    return render(
        request,
        "portal/apply_done.html",
        {"order": order, "steps": WIZARD, "step": 3, "state_label": state_label(pack=pack, state=order.state)},
    )
