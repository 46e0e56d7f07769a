"""The application wizard: 1 完善基本信息 → 2 确认信息 → 3 完成, in the centre's own steps.

Step 1 picks the deposit kind, guarantee kind and issuers the pack's way and fills the pack's
form; it makes a draft order. Step 2 shows the draft with the notices and clauses to consent
to and submits it. Its 上一步 reopens step 1 on the same draft (``?edit=<number>``), whose answers
are changed in place. Sending a step twice, or reloading it, leads back to the same order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from baohan.guarantees.errors import Conflict, DomainError, InvalidInput
from baohan.guarantees.models import Enterprise, Order, Upload
from baohan.guarantees.quotes import quote_for_issuer
from baohan.guarantees.selectors import order_get_for_enterprise, state_label, upload_get_for_enterprise
from baohan.guarantees.services import orders
from baohan.portal.pages.common import (
    FieldView,
    actor_of,
    allocation_label,
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
from baohan.portal.pages.order_display import value_shown
from baohan.portal.templatetags.portal_format import yuan
from baohan.rulepacks.fields import CANONICAL_FIELDS, FieldKind, FieldSource
from baohan.rulepacks.models import FormField, IssuerChoiceMode, OrderState, RulePack
from baohan.sections.models import Section
from tenants.themes import theme_static_url

WIZARD = ("完善基本信息", "确认信息", "完成")
CHOICE_FIELDS = ("section", "deposit_kind", "issuer_kind", "issuer_codes")
KEEP = "keep_"  # a file already uploaded on a refused submit: sent back as keep_<field> = its id


@dataclass
class ApplyField(FieldView):
    """A form field, with the file the bidder already uploaded (kept across a refused submit)."""

    kept_id: str = ""
    kept_name: str = ""


@dataclass
class GroupView:
    """One heading of the form or the confirm page, as the pack names it."""

    code: str
    title: str
    note: str = ""
    notices: list[str] = field(default_factory=list)
    issuer_choice: bool = False
    fields: list[ApplyField] = field(default_factory=list)
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (label, shown value, field name)


def _groups(pack: RulePack) -> list[GroupView]:
    """The pack's groups in order; a pack without groups gets one, after the issuer choice."""
    if pack.forms.application_groups:
        return [
            GroupView(
                code=g.code, title=g.title, note=g.note or "", notices=list(g.notices), issuer_choice=g.issuer_choice
            )
            for g in pack.forms.application_groups
        ]
    return [
        GroupView(code="_issuer", title=gettext("选择保函"), issuer_choice=True),
        GroupView(code="_form", title=gettext("完善基本信息")),
    ]


def _group_of(pack: RulePack, form_field: FormField) -> str:
    return form_field.group or ("_form" if not pack.forms.application_groups else "")


def _form_notices(pack: RulePack) -> list[str]:
    """The form's 温馨提醒 not already shown in one of its groups."""
    shown = {n for g in pack.forms.application_groups for n in [*g.notices, *([g.note] if g.note else [])]}
    return [n for n in pack.forms.notices if n not in shown]


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
                "premium": quote.premium,
                "minimum_applied": quote.minimum_applied,
                "documents": [d.title for d in issuer.documents],
                "checked": issuer.code in chosen,
                "sample": issuer.sample,
                "logo": theme_static_url(issuer.logo) if issuer.logo else "",
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


def _own_upload(enterprise: Enterprise, purpose: str, upload_id: str) -> Upload | None:
    return upload_get_for_enterprise(enterprise=enterprise, purpose=purpose, upload_id=upload_id)


def _kept_uploads(request: HttpRequest, file_fields: list[FormField]) -> tuple[dict[str, Upload], dict[str, str]]:
    """Every file sent is stored at once (a refused form need not be uploaded again); a file kept
    from an earlier submit is taken when it is this enterprise's, for this field."""
    operator = operator_of(request)
    kept: dict[str, Upload] = {}
    errors: dict[str, str] = {}
    for f in file_fields:
        sent = request.FILES.get(f.name)
        if sent is not None:
            try:
                stored = upload_id(operator=operator, purpose=f.name, file=sent)
            except InvalidInput as exc:
                errors[f.name] = exc.message
                continue
            upload = _own_upload(operator.enterprise, f.name, stored)
        else:
            upload = _own_upload(operator.enterprise, f.name, request.POST.get(KEEP + f.name, ""))
        if upload is not None:
            kept[f.name] = upload
    return kept, errors


def _draft_to_edit(request: HttpRequest, section: Section, number: str) -> Order:
    """The enterprise's own order of ``section`` that 上一步 goes back to; any other number is not found."""
    order = order_get_for_enterprise(enterprise=operator_of(request).enterprise, number=number[:40])
    if order is None or order.section_id != section.pk:
        raise Http404("订单不存在")
    return order


def _edit_url(order: Order) -> str:
    return f"{reverse('portal_apply', args=[order.section.code])}?{urlencode({'edit': order.number})}"


def _answers_of(pack: RulePack, order: Order) -> tuple[dict[str, Any], dict[str, Upload], list[str]]:
    """What the bidder sent with ``order``: typed values (account and ID numbers, stored masked, only
    so the form asks for them again), its uploads, and the issuers chosen."""
    values: dict[str, Any] = {}
    kept: dict[str, Upload] = {}
    for f in pack.forms.application:
        canonical = CANONICAL_FIELDS[f.name]
        value = order.form_data.get(f.name)
        if value in (None, "") or canonical.source != FieldSource.BIDDER:
            continue
        if canonical.kind == FieldKind.FILE:
            upload = _own_upload(order.enterprise, f.name, str(value))
            if upload is not None:
                kept[f.name] = upload
        else:
            values[f.name] = value
    chosen = (
        [] if order.choice_mode == IssuerChoiceMode.RANDOM_ALLOCATION else [o.issuer_code for o in order.offers.all()]
    )
    return values, kept, chosen


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
    file_fields = [f for f in bidder_fields if CANONICAL_FIELDS[f.name].kind == FieldKind.FILE]
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    kept: dict[str, Upload] = {}
    top_error = ""

    edit_number = source.get("edit") or request.GET.get("edit", "")
    editing = _draft_to_edit(request, section, edit_number) if edit_number else None
    if editing is not None:
        # 上一步 from the confirm page: the same draft, its answers to change; nothing new is made.
        if editing.state != OrderState.DRAFT:
            messages.info(request, gettext("该订单已提交或已结束，不能再修改申请信息。"))
            return redirect(_next_step(editing))
        deposit_kind = editing.deposit_kind
        if request.method == "GET":
            values, kept, chosen = _answers_of(pack, editing)
            issuer_kind = editing.issuer_kind
    live = _live_order(request, section, deposit_kind) if deposit_kind in kinds and editing is None else None
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
        kept, upload_errors = _kept_uploads(request, file_fields)
        for name, upload in kept.items():
            values[name] = str(upload.pk)
        errors.update(form_errors(pack=pack, fields=bidder_fields, values=values, defaults=_defaults(request, section)))
        errors.update(upload_errors)  # a refused file: its own reason, not 请上传
        if not errors:
            codes = [] if pack.issuer_choice.mode == IssuerChoiceMode.RANDOM_ALLOCATION else chosen
            form = {k: v for k, v in values.items() if v != ""}
            try:
                with transaction.atomic():
                    if editing is not None:
                        order = orders.order_revise(
                            operator=operator_of(request),
                            order_id=editing.pk,
                            issuer_kind=issuer_kind,
                            issuer_codes=codes,
                            form=form,
                        )
                    else:
                        order = orders.order_create(
                            operator=operator_of(request),
                            section_code=section.code,
                            deposit_kind=deposit_kind,
                            issuer_kind=issuer_kind,
                            issuer_codes=codes,
                            form=form,
                        )
            except Conflict as exc:
                if editing is not None:  # submitted meanwhile in another tab: show where it stands
                    stands = Order.objects.filter(pk=editing.pk).exclude(state=OrderState.DRAFT).first()
                else:  # sent twice: the first one made it
                    stands = _live_order(request, section, deposit_kind) if exc.code == "order_exists" else None
                if stands is not None:
                    messages.info(request, exc.message)
                    return redirect(_next_step(stands))
                top_error = exc.message
            except DomainError as exc:
                errors, top_error = error_place(exc, [*values, *CHOICE_FIELDS])
            else:
                return redirect("portal_apply_confirm", number=order.number)

    views = field_views(pack=pack, fields=fields, values=values, errors=errors, shown=_defaults(request, section))
    groups = _groups(pack)
    by_code = {g.code: g for g in groups}
    for form_field, view in zip(fields, views, strict=True):
        item = ApplyField(**asdict(view))
        kept_upload = kept.get(form_field.name)
        if kept_upload is not None:
            item.kept_id, item.kept_name = str(kept_upload.pk), kept_upload.original_name or gettext("已上传的文件")
        if item.readonly and item.kind == FieldKind.MONEY and item.value:
            item.value = yuan(item.value)  # shown, never sent back
        if item.is_sms_code and request.method == "POST" and values.get(form_field.name) and not item.error:
            # A code is never written back into the page; the one sent stays good for this application.
            still_valid = gettext("短信验证码仍然有效，请重新填写。")
            item.hint = f"{item.hint} {still_valid}".strip()
        by_code[_group_of(pack, form_field)].fields.append(item)
    allocated = pack.issuer_choice.mode == IssuerChoiceMode.RANDOM_ALLOCATION
    rows = _issuer_rows(pack=pack, section=section, chosen=chosen)
    context = {
        "section": section,
        "steps": WIZARD,
        "step": 1,
        "deposit_kinds": pack.products.deposit_kinds,
        "issuer_kinds": pack.products.issuer_kinds,
        "deposit_kind": deposit_kind,
        "deposit_kind_label": _label(pack.products.deposit_kinds, deposit_kind),
        "issuer_kind": issuer_kind,
        "choice_mode": pack.issuer_choice.mode.value,
        "platform_label": allocation_label(pack),
        "issuers": rows,
        # Random allocation: the panel the draw is made from, for this deposit kind and guarantee kind.
        "candidates": [r for r in rows if r["kind"] == issuer_kind and deposit_kind in r["deposit_kinds"].split()]
        if allocated
        else [],
        "groups": groups,
        "errors": errors,
        "top_error": top_error,
        "notices": _form_notices(pack),
        "buttons": pack.forms.application_buttons,
        "editing": editing,
        "back_url": reverse("portal_apply_confirm", args=[editing.number])
        if editing is not None
        else reverse("portal_section", args=[section.code]),
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


def confirm_groups(*, pack: RulePack, order: Order) -> list[GroupView]:
    """The order's form in the pack's groups and order, formatted; checks and empty values left out."""
    groups = _groups(pack)
    by_code = {g.code: g for g in groups}
    listed = set()
    for form_field in pack.forms.application:
        listed.add(form_field.name)
        if CANONICAL_FIELDS[form_field.name].source == FieldSource.CHECK:
            continue  # a picture or SMS code proves the operator; it is not data to confirm
        shown = value_shown(
            pack=pack, name=form_field.name, value=order.form_data.get(form_field.name), enterprise=order.enterprise
        )
        if shown:
            label = order.form_labels.get(form_field.name, form_field.label)
            by_code[_group_of(pack, form_field)].rows.append((label, shown, form_field.name))
    # A field the pack no longer lists (the order was made under an older pack) still shows.
    extra = [
        (label, shown, name)
        for name, label in order.form_labels.items()
        if name not in listed
        and (shown := value_shown(pack=pack, name=name, value=order.form_data.get(name), enterprise=order.enterprise))
    ]
    if extra:
        groups.append(GroupView(code="_other", title=gettext("其他信息"), rows=extra))
    return [g for g in groups if g.rows or g.issuer_choice]


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
    if request.method == "POST" and request.POST.get("action", "submit") != "submit":
        return redirect(_edit_url(order))  # 上一步 sent as a button rather than followed as the link
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
    issuers = {i.code: i for i in pack.issuers}
    offers = [
        {
            "name": issuers[o.issuer_code].name if o.issuer_code in issuers else o.issuer_code,
            "logo": theme_static_url(logo) if (logo := getattr(issuers.get(o.issuer_code), "logo", None)) else "",
        }
        for o in order.offers.all()
    ]
    return render(
        request,
        "portal/apply_confirm.html",
        {
            "order": order,
            "steps": WIZARD,
            "step": 2,
            "groups": confirm_groups(pack=pack, order=order),
            "offers": offers,
            "allocated": pack.issuer_choice.mode == IssuerChoiceMode.RANDOM_ALLOCATION,
            "several": len(offers) > 1,
            "platform_label": allocation_label(pack),
            "show_deposit_kind": len(pack.products.deposit_kinds) > 1,
            "deposit_kind_label": _label(pack.products.deposit_kinds, order.deposit_kind),
            "issuer_kind_label": _label(pack.products.issuer_kinds, order.issuer_kind),
            "amount_in_form": any(f.name == "deposit_amount" for f in pack.forms.application),
            "consents": [(c, c.code in accepted) for c in pack.issuer_choice.consents],
            "notices": _form_notices(pack),
            "buttons": pack.forms.application_buttons,
            "edit_url": _edit_url(order),
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
