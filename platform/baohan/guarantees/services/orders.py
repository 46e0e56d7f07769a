"""The order workflow: create, submit, underwrite, pay, issue, abandon, cancel.

``order_transition`` is the only code that changes ``Order.state``. It locks the order row,
checks the transition is allowed from the current state and for the actor, applies the
change and writes the event row, in one transaction. Two concurrent transitions on one
order are serialised by the row lock: the second sees the new state and is refused (409).

This module imports neither payments nor documents: what follows a transition in those apps
(a payout, a policy) is registered by them (``baohan.guarantees.effects``) and runs in the
transition's transaction; a payment confirmation is a settlement and lives in payments.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from baohan.guarantees.checks import operator_check
from baohan.guarantees.effects import TransitionDone, transition_effects_run
from baohan.guarantees.errors import TAKEN_BY_OTHER, Conflict, InvalidInput, NotAllowed, NotFound
from baohan.guarantees.forms import CleanForm, form_clean
from baohan.guarantees.models import (
    AllocationDraw,
    Enterprise,
    IssuerOffer,
    Operator,
    Order,
    OrderConsent,
    OrderEvent,
    Upload,
)
from baohan.guarantees.quotes import Quote, quote_for_issuer
from baohan.guarantees.services.accounts import enterprise_not_verified_message
from baohan.guarantees.states import TRANSITIONS, Actor, ActorKind, Transition
from baohan.identity.fields import blind_index
from baohan.ops.due import centre_due_mark
from baohan.rulepacks.models import Consent, Issuer, IssuerChoiceMode, OrderState, RulePack
from baohan.sections.models import Section
from tenants.selectors import pack_in_force, pack_of_version

REMARK_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: easy to type into a bank form
OFFER_DECISIONS = {"approve", "reject"}  # made by order_offer_decide, which checks the issuer's offer
ENDED_BEFORE_UNDERWRITING = {OrderState.CANCELLED, OrderState.REJECTED, OrderState.ABANDONED}
PRE_PAYMENT = {OrderState.DRAFT, OrderState.UNDERWRITING, OrderState.AWAITING_PAYMENT, OrderState.PAYMENT_FAILED}


# --- events and transitions --------------------------------------------------------------------


def order_event_record(
    *,
    order: Order,
    transition: str,
    actor: Actor,
    from_state: str,
    to_state: str,
    version: int,
    subject: str = OrderEvent.Subject.ORDER,
    subject_id: int | None = None,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        subject=subject,
        subject_id=subject_id,
        transition=transition,
        from_state=from_state,
        to_state=to_state,
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_label=actor.label,
        reason=reason[:500],
        data=dict(data or {}),
        rule_pack_version=version,
    )


def transition_check(*, machine: Mapping[str, Transition], name: str, state: str, actor: Actor) -> Transition:
    transition = machine[name]
    if actor.kind not in transition.actors:
        raise NotAllowed("actor_not_allowed", f"{transition.label}：当前身份无权执行此操作")
    if state not in transition.sources:
        raise Conflict("illegal_transition", f"当前状态（{state or '无'}）不能执行「{transition.label}」")
    return transition


def subject_move(
    *,
    row: Any,
    order: Order,
    subject: str,
    machine: Mapping[str, Transition],
    name: str,
    actor: Actor,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
) -> None:
    """Move a refund, invoice or after-sales request (``row``, locked by the caller) along ``name``
    and write the event on its order's timeline. A new row starts from state ``NEW`` ("")."""
    transition = transition_check(machine=machine, name=name, state=row.state, actor=actor)
    from_state = row.state
    row.state = transition.target
    row.save()
    _, version = pack_in_force()
    order_event_record(
        order=order,
        subject=subject,
        subject_id=row.pk,
        transition=name,
        actor=actor,
        from_state=from_state,
        to_state=row.state,
        version=version,
        reason=reason,
        data=data,
    )
    transition_effects_run(
        done=TransitionDone(
            order=order, subject=subject, row=row, name=name, from_state=from_state, to_state=row.state, actor=actor
        )
    )


def order_lock(*, order_id: int) -> Order:
    try:
        return Order.objects.select_for_update().get(pk=order_id)
    except Order.DoesNotExist as exc:
        raise NotFound("order_not_found", "订单不存在") from exc


def order_transition(
    *,
    order_id: int,
    name: str,
    actor: Actor,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
    guard: Callable[[Order], None] | None = None,
    changes: Mapping[str, Any] | None = None,
) -> Order:
    """Move an order along ``name``; refuse with 409 when its state does not allow it."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        # An issuer acts only on orders it underwrites; underwriting decisions go through its offer.
        if actor.kind == ActorKind.ISSUER and name not in OFFER_DECISIONS and order.issuer_code != actor.id:
            raise NotFound("order_not_found", "订单不存在")
        transition = transition_check(machine=TRANSITIONS, name=name, state=order.state, actor=actor)
        if guard is not None:
            guard(order)
        from_state = order.state
        order.state = transition.target
        for key, value in (changes or {}).items():
            setattr(order, key, value)
        order.save()
        if transition.target in ENDED_BEFORE_UNDERWRITING:
            order.offers.filter(status=IssuerOffer.Status.PENDING).update(
                status=IssuerOffer.Status.RELEASED, decided_at=timezone.now(), reason=transition.label
            )
        _, version = pack_in_force()
        order_event_record(
            order=order,
            transition=name,
            actor=actor,
            from_state=from_state,
            to_state=transition.target,
            version=version,
            reason=reason,
            data=data,
        )
        transition_effects_run(
            done=TransitionDone(
                order=order,
                subject=OrderEvent.Subject.ORDER,
                row=order,
                name=name,
                from_state=from_state,
                to_state=transition.target,
                actor=actor,
            )
        )
    return order


# --- numbers ------------------------------------------------------------------------------------


def row_id_next(table: str) -> int:
    """The id the next row of ``table`` will get, taken now so numbers can be made from it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def number_make(*, prefix: str, ident: int, when: datetime | None = None) -> str:
    """Human-friendly numbers: a prefix, the local date and the row's id, e.g. 2026112100000042."""
    day = timezone.localtime(when or timezone.now()).strftime("%Y%m%d")
    return f"{prefix}{day}{ident:08d}"


def account_digest(number: str) -> str:
    """The blind index of a bank account number (digits only), or "" for none."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return blind_index(f"account:{digits}") if digits else ""


def remark_code_new() -> str:
    return "".join(secrets.choice(REMARK_ALPHABET) for _ in range(8))


# --- creating an order --------------------------------------------------------------------------


def _issuer_by_code(pack: RulePack, code: str) -> Issuer:
    for issuer in pack.issuers:
        if issuer.code == code:
            return issuer
    raise InvalidInput("unknown_issuer", f"出函机构 {code} 不在本中心的名单中", field="issuer_codes")


def issuer_panel(*, pack: RulePack, deposit_kind: str, issuer_kind: str) -> list[Issuer]:
    return [
        i for i in pack.issuers if i.kind.value == issuer_kind and deposit_kind in {k.value for k in i.deposit_kinds}
    ]


def _choose_issuers(*, pack: RulePack, panel: list[Issuer], requested: list[str]) -> list[Issuer]:
    mode = pack.issuer_choice.mode
    if not panel:
        raise InvalidInput("no_issuer", "该保证金类型暂无可选的出函机构", field="issuer_kind")
    if mode == IssuerChoiceMode.RANDOM_ALLOCATION:
        if requested:
            raise InvalidInput("issuer_allocated", "本中心的出函机构由系统随机分配，不能指定", field="issuer_codes")
        return []
    if len(set(requested)) != len(requested):
        raise InvalidInput("invalid", "出函机构重复", field="issuer_codes")
    chosen = [_issuer_by_code(pack, code) for code in requested]
    panel_codes = {i.code for i in panel}
    for issuer in chosen:
        if issuer.code not in panel_codes:
            raise InvalidInput("unknown_issuer", f"{issuer.short_name} 不提供该保证金类型", field="issuer_codes")
    if mode == IssuerChoiceMode.SINGLE_PICK and len(chosen) != 1:
        raise InvalidInput("choose_one_issuer", "请选择一家出函机构", field="issuer_codes")
    if mode == IssuerChoiceMode.MULTI_SELECT:
        if not chosen:
            raise InvalidInput("choose_issuers", "请至少选择一家出函机构", field="issuer_codes")
        limit = pack.issuer_choice.max_selected
        if limit is not None and len(chosen) > limit:
            raise InvalidInput("too_many_issuers", f"最多可选择 {limit} 家出函机构", field="issuer_codes")
    return chosen


def _draw(*, panel: list[Issuer]) -> tuple[Issuer, int, int]:
    """An auditable draw: a 63-bit number from the OS's generator, taken modulo the panel size."""
    value = secrets.randbits(63)
    index = value % len(panel)
    return panel[index], value, index


def form_defaults(
    *, section: Section, enterprise: Enterprise, operator: Operator, quote: Quote | None
) -> dict[str, Any]:
    """What the application form holds before the bidder types: the section's, the enterprise's and
    the operator's data, and the quote once an issuer is known."""
    values: dict[str, Any] = {
        "deposit_amount": str(section.deposit_amount),
        "project_type": section.project_type,
        "bid_validity_days": section.bid_validity_days,
        "project_code": section.project_code,
        "project_name": section.project_name,
        "insured_amount": str(quote.insured_amount if quote else section.deposit_amount),
        "applicant_name": enterprise.name,
        "applicant_uscc": enterprise.uscc,
        "account_name": enterprise.basic_account_name,
        "bank_name": enterprise.basic_bank_name,
        "account_number": enterprise.basic_account_number,
        "operator_name": operator.name,
        "operator_phone": operator.phone,
        "operator_email": operator.email,
    }
    if quote is not None:
        values.update(premium_rate=str(quote.rate), premium_amount=str(quote.premium))
    return values


def section_accepting(*, section: Section, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if section.status != Section.Status.ACCEPTING:
        raise Conflict("section_not_accepting", f"标段{section.get_status_display()}，暂不接受投保", field="section")
    if section.deposit_deadline <= now:
        raise Conflict("deadline_passed", "已过保证金缴纳截止时间", field="section")


def _enterprise_may_apply(*, pack: RulePack, operator: Operator) -> None:
    if pack.enterprise.manual_review and operator.enterprise.verification != Enterprise.Verification.VERIFIED:
        raise NotAllowed("enterprise_not_verified", enterprise_not_verified_message(user=operator.user))


@dataclass
class _Application:
    """An application checked against the pack in force: the issuers asked and their quotes, the
    clean form and the operator check passed; ``draw`` is a new random allocation, if one was made."""

    version: int
    insured: Decimal
    panel: list[Issuer]
    chosen: list[Issuer]
    draw: tuple[Issuer, int, int] | None
    quotes: dict[str, Quote]
    reference: Quote
    clean: CleanForm
    check: str


def _application_check(
    *,
    pack: RulePack,
    version: int,
    operator: Operator,
    section: Section,
    deposit_kind: str,
    issuer_kind: str,
    issuer_codes: list[str],
    form: Mapping[str, Any],
    earlier_draw: AllocationDraw | None = None,
) -> _Application:
    """What ``order_create`` and ``order_revise`` both check and compute. Under random allocation an
    ``earlier_draw`` from the same panel stands (going back to change the form never draws again)."""
    section_accepting(section=section)
    if deposit_kind not in {d.kind.value for d in pack.products.deposit_kinds}:
        raise InvalidInput("deposit_kind_not_offered", "本中心不提供该保证金类型", field="deposit_kind")
    if issuer_kind not in {k.kind.value for k in pack.products.issuer_kinds}:
        raise InvalidInput("issuer_kind_not_offered", "本中心不提供该保函类型", field="issuer_kind")
    panel = issuer_panel(pack=pack, deposit_kind=deposit_kind, issuer_kind=issuer_kind)
    chosen = _choose_issuers(pack=pack, panel=panel, requested=issuer_codes)
    draw: tuple[Issuer, int, int] | None = None
    if pack.issuer_choice.mode == IssuerChoiceMode.RANDOM_ALLOCATION:
        if earlier_draw is not None and earlier_draw.candidates == [i.code for i in panel]:
            chosen = [_issuer_by_code(pack, earlier_draw.drawn_code)]
        else:
            draw = _draw(panel=panel)
            chosen = [draw[0]]

    insured = section.deposit_amount
    quotes = {issuer.code: quote_for_issuer(insured_amount=insured, issuer=issuer) for issuer in chosen}
    # Several issuers asked: the bidder sees the lowest reference premium until one accepts.
    reference = min(quotes.values(), key=lambda q: (q.premium, q.rate))
    enterprise = operator.enterprise
    clean = form_clean(
        pack=pack,
        fields=list(pack.forms.application),
        values=dict(form),
        defaults=form_defaults(section=section, enterprise=enterprise, operator=operator, quote=reference),
    )
    _uploads_check(enterprise=enterprise, uploads=clean.uploads, labels=clean.labels)
    check = ""
    if any(f.name == "sms_code" for f in pack.forms.application):  # the pack asks the operator to prove presence
        check = operator_check(
            phone_on_record=operator.phone,
            phone=str(clean.data.get("operator_phone", "")),
            codes=clean.checks,
            purpose="application",
            subject=f"application:{section.code}:{deposit_kind}",
        )
    if check and not operator.phone:  # the operator proved a phone for the first time: it goes on record
        Operator.objects.filter(pk=operator.pk, phone="").update(phone=str(clean.data.get("operator_phone", "")))
    if "start_date" in clean.data and "coverage_days" in clean.data:
        end = date.fromisoformat(clean.data["start_date"]) + timedelta(days=int(clean.data["coverage_days"]))
        clean.data["end_date"] = end.isoformat()
    return _Application(
        version=version,
        insured=insured,
        panel=panel,
        chosen=chosen,
        draw=draw,
        quotes=quotes,
        reference=reference,
        clean=clean,
        check=check,
    )


def _application_apply(
    *, order: Order, app: _Application, pack: RulePack, operator: Operator, issuer_kind: str
) -> None:
    """Set on ``order`` (not saved) what the application decides: issuers, quote and form."""
    enterprise = operator.enterprise
    clean, reference = app.clean, app.reference
    order.issuer_kind = issuer_kind
    order.choice_mode = pack.issuer_choice.mode.value
    order.issuer_code = app.chosen[0].code if len(app.chosen) == 1 else ""
    order.form_data = clean.data
    order.form_labels = clean.labels
    order.form_private = json.dumps(clean.private) if clean.private else ""
    order.insured_amount = app.insured
    order.rate = reference.rate
    order.premium = reference.premium
    order.payable_amount = reference.premium
    order.payer_account_name = str(clean.data.get("account_name") or enterprise.basic_account_name)
    order.payer_account_digest = account_digest(
        str(clean.private.get("account_number") or enterprise.basic_account_number or "")
    )
    order.operator_name = str(clean.data.get("operator_name", operator.name))
    order.operator_phone = str(clean.data.get("operator_phone", operator.phone))
    order.operator_email = str(clean.data.get("operator_email", operator.email))
    order.rule_pack_version = app.version


def _offers_make(*, order: Order, app: _Application) -> dict[str, Any]:
    """The offers to the issuers asked and a new draw's record; returns the event row's data."""
    IssuerOffer.objects.bulk_create(
        [
            IssuerOffer(
                order=order, issuer_code=i.code, rate=app.quotes[i.code].rate, premium=app.quotes[i.code].premium
            )
            for i in app.chosen
        ]
    )
    data: dict[str, Any] = {
        "issuers": [i.code for i in app.chosen],
        "premium": str(app.reference.premium),
        "operator_check": app.check,
    }
    if app.draw is not None:
        drawn, value, index = app.draw
        AllocationDraw.objects.create(
            order=order,
            candidates=[i.code for i in app.panel],
            random_value=value,
            drawn_index=index,
            drawn_code=drawn.code,
            method="secrets.randbits(63) % len(candidates)",
            rule_pack_version=app.version,
        )
        data["draw"] = {"candidates": [i.code for i in app.panel], "random_value": value, "drawn": drawn.code}
    return data


def order_create(
    *,
    operator: Operator,
    section_code: str,
    deposit_kind: str,
    issuer_kind: str,
    issuer_codes: list[str],
    form: Mapping[str, Any],
) -> Order:
    pack, version = pack_in_force()
    _enterprise_may_apply(pack=pack, operator=operator)
    section = Section.objects.filter(code=section_code).first()
    if section is None:
        raise InvalidInput("unknown_section", f"标段 {section_code} 不存在", field="section")
    app = _application_check(
        pack=pack,
        version=version,
        operator=operator,
        section=section,
        deposit_kind=deposit_kind,
        issuer_kind=issuer_kind,
        issuer_codes=issuer_codes,
        form=form,
    )
    with transaction.atomic():
        ident = row_id_next("guarantees_order")
        order = Order(
            id=ident,
            number=number_make(prefix="", ident=ident),
            section=section,
            enterprise=operator.enterprise,
            created_by=operator.user,
            deposit_kind=deposit_kind,
        )
        _application_apply(order=order, app=app, pack=pack, operator=operator, issuer_kind=issuer_kind)
        _insert_with_remark_code(order)
        data = _offers_make(order=order, app=app)
        order_event_record(
            order=order,
            transition="create",
            actor=Actor(ActorKind.BIDDER, str(operator.user.pk), operator.name),
            from_state="",
            to_state=order.state,
            version=version,
            data=data,
        )
        # Not paid by the section's deposit deadline, the order expires (payments.deadlines, baohan/ops/due.py).
        centre_due_mark(job="payments.deadlines", at=section.deposit_deadline)
    return order


def order_revise(
    *,
    operator: Operator,
    order_id: int,
    issuer_kind: str,
    issuer_codes: list[str],
    form: Mapping[str, Any],
) -> Order:
    """Change a draft application (上一步 on the confirm page): the same checks and computations as
    ``order_create``, on the same order, for the same section and deposit kind; the issuers asked
    are replaced. Refused once the order is no longer a draft (submitted meanwhile elsewhere)."""
    pack, version = pack_in_force()
    order = Order.objects.select_related("section").filter(pk=order_id, enterprise=operator.enterprise).first()
    if order is None:
        raise NotFound("order_not_found", "订单不存在")
    if order.state != OrderState.DRAFT:
        raise Conflict("not_draft", "订单已提交或已结束，不能再修改申请信息")
    _enterprise_may_apply(pack=pack, operator=operator)
    app = _application_check(
        pack=pack,
        version=version,
        operator=operator,
        section=order.section,
        deposit_kind=order.deposit_kind,
        issuer_kind=issuer_kind,
        issuer_codes=issuer_codes,
        form=form,
        earlier_draw=AllocationDraw.objects.filter(order=order).first(),
    )
    with transaction.atomic():
        order = order_lock(order_id=order.pk)
        if order.state != OrderState.DRAFT:
            raise Conflict("not_draft", "订单已提交或已结束，不能再修改申请信息")
        before = dict(order.form_data)
        _application_apply(order=order, app=app, pack=pack, operator=operator, issuer_kind=issuer_kind)
        order.save()
        order.offers.all().delete()  # a draft's offers were never seen by an issuer
        if app.draw is not None:
            AllocationDraw.objects.filter(order=order).delete()
        data = _offers_make(order=order, app=app)
        data["changed"] = sorted(k for k in {*before, *order.form_data} if before.get(k) != order.form_data.get(k))
        order_event_record(
            order=order,
            transition="revise",
            actor=Actor(ActorKind.BIDDER, str(operator.user.pk), operator.name),
            from_state=OrderState.DRAFT,
            to_state=OrderState.DRAFT,
            version=version,
            data=data,
        )
    return order


def _insert_with_remark_code(order: Order) -> None:
    for _ in range(5):
        order.remark_code = remark_code_new()
        try:
            with transaction.atomic():
                order.save(force_insert=True)
            return
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
            if constraint == "order_one_live_per_section_and_kind":
                raise Conflict("order_exists", "该标段已有同类保证金的有效订单，不能重复申请", field="section") from exc
            if "remark_code" not in constraint:
                raise
    raise Conflict("busy", "订单附言生成冲突，请重试")


def _uploads_check(*, enterprise: Enterprise, uploads: Mapping[str, str], labels: Mapping[str, str]) -> None:
    for name, upload_id in uploads.items():
        if not Upload.objects.filter(pk=upload_id, enterprise=enterprise, purpose=name).exists():
            raise InvalidInput(
                "unknown_upload", f"{labels[name]}：文件不存在或不属于本企业", field=name, label=labels[name]
            )


# --- submitting: consents, and underwriting -----------------------------------------------------


def consent_digest(consent: Consent) -> str:
    """The version of a consent's wording: any change to its label or documents changes it."""
    payload = json.dumps({"label": consent.label, "documents": consent.documents}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def order_submit(
    *,
    order_id: int,
    actor: Actor,
    consents: list[str],
    ip: str | None,
    user_agent: str,
) -> Order:
    pack, version = pack_in_force()
    required = list(pack.issuer_choice.consents)
    missing = [c for c in required if c.code not in set(consents)]
    if missing:
        raise InvalidInput("consent_required", f"请阅读并同意：{missing[0].label}", field="consents")
    unknown = set(consents) - {c.code for c in required}
    if unknown:
        raise InvalidInput("unknown_consent", f"未知的同意项：{sorted(unknown)[0]}", field="consents")

    def guard(order: Order) -> None:
        section_accepting(section=order.section)

    with transaction.atomic():
        now = timezone.now()
        order = order_transition(
            order_id=order_id,
            name="submit",
            actor=actor,
            guard=guard,
            changes={"submitted_at": now},
            data={"consents": [c.code for c in required]},
        )
        OrderConsent.objects.bulk_create(
            [
                OrderConsent(
                    order=order,
                    code=c.code,
                    label=c.label,
                    documents=list(c.documents),
                    digest=consent_digest(c),
                    accepted_at=now,
                    ip=ip,
                    user_agent=user_agent[:500],
                    rule_pack_version=version,
                )
                for c in required
            ]
        )
        auto = pack.underwriting.auto_approve
        if auto is not None and order.issuer_code and _auto_approves(pack=pack, order=order):
            order = order_offer_decide(
                order_id=order.pk,
                issuer_code=order.issuer_code,
                actor=Actor.system("系统自动审核"),
                approve=True,
                reason="符合自动审核规则",
            )
    return order


def _auto_approves(*, pack: RulePack, order: Order) -> bool:
    auto = pack.underwriting.auto_approve
    if auto is None:
        return False
    if auto.max_insured_amount is not None and order.insured_amount > auto.max_insured_amount:
        return False
    if auto.project_types is not None and order.section.project_type not in auto.project_types:
        return False
    return not (auto.deposit_kinds is not None and order.deposit_kind not in {k.value for k in auto.deposit_kinds})


def order_offer_decide(
    *,
    order_id: int,
    issuer_code: str,
    actor: Actor,
    approve: bool,
    rate: Decimal | None = None,
    reason: str = "",
) -> Order:
    """An issuer's underwriting decision. The first issuer to approve underwrites the order; the
    others asked are released. When every issuer asked has declined, the order is rejected."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        offer = IssuerOffer.objects.select_for_update().filter(order=order, issuer_code=issuer_code).first()
        if offer is None:
            raise NotFound("order_not_found", "订单不存在")
        if offer.status == IssuerOffer.Status.RELEASED:
            raise Conflict(*TAKEN_BY_OTHER)  # another issuer asked with it accepted first
        if order.state != OrderState.UNDERWRITING:
            code = "already_underwritten" if order.state == OrderState.AWAITING_PAYMENT else "illegal_transition"
            raise Conflict(code, "订单不在待审核状态")
        if offer.status != IssuerOffer.Status.PENDING:
            raise Conflict("already_decided", "该出函机构已作出审核决定")
        now = timezone.now()
        if not approve:
            if not reason.strip():
                raise InvalidInput("required", "请填写拒绝原因", field="reason")
            offer.status, offer.reason, offer.decided_at = IssuerOffer.Status.DECLINED, reason, now
            offer.save()
            if order.offers.filter(status=IssuerOffer.Status.PENDING).exists():
                _, version = pack_in_force()
                order_event_record(
                    order=order,
                    transition="offer_decline",
                    actor=actor,
                    from_state=order.state,
                    to_state=order.state,
                    version=version,
                    reason=reason,
                    data={"issuer": issuer_code},
                )
                return order
            return order_transition(
                order_id=order.pk, name="reject", actor=actor, reason=reason, data={"issuer": issuer_code}
            )

        pack = pack_of_version(order.rule_pack_version)
        issuer = _issuer_by_code(pack, issuer_code)
        if rate is not None and not (Decimal(0) < rate < 1):
            raise InvalidInput("invalid", "费率应大于0且小于1", field="rate")
        quote = quote_for_issuer(insured_amount=order.insured_amount, issuer=issuer, rate=rate)
        offer.status, offer.rate, offer.premium, offer.decided_at = (
            IssuerOffer.Status.ACCEPTED,
            quote.rate,
            quote.premium,
            now,
        )
        offer.reason = reason
        offer.save()
        released = list(
            order.offers.filter(status=IssuerOffer.Status.PENDING)
            .exclude(pk=offer.pk)
            .values_list("issuer_code", flat=True)
        )
        order.offers.filter(status=IssuerOffer.Status.PENDING).exclude(pk=offer.pk).update(
            status=IssuerOffer.Status.RELEASED, decided_at=now, reason="已由其他出函机构承保"
        )
        return order_transition(
            order_id=order.pk,
            name="approve",
            actor=actor,
            reason=reason,
            changes={
                "issuer_code": issuer_code,
                "rate": quote.rate,
                "premium": quote.premium,
                "payable_amount": quote.premium,
                "form_data": {
                    **order.form_data,
                    **(
                        {"premium_rate": str(quote.rate), "premium_amount": str(quote.premium)}
                        if "premium_amount" in order.form_data or "premium_rate" in order.form_data
                        else {}
                    ),
                },
            },
            data={"issuer": issuer_code, "rate": str(quote.rate), "premium": str(quote.premium), "released": released},
        )


# --- payment, issue, abandon, cancel -------------------------------------------------------------


def order_payment_fail(*, order_id: int, actor: Actor, reason: str) -> Order:
    if not reason.strip():
        raise InvalidInput("required", "请填写原因", field="reason")
    return order_transition(order_id=order_id, name="fail_payment", actor=actor, reason=reason)


def order_issue(*, order_id: int, actor: Actor, guarantee_number: str = "") -> Order:
    now = timezone.now()
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        days = int(
            order.form_data.get("coverage_days")
            or order.form_data.get("bid_validity_days")
            or order.section.bid_validity_days
        )
        number = guarantee_number.strip() or number_make(prefix="BH", ident=order.pk, when=now)
        valid_from = timezone.localdate(now)
        try:
            with transaction.atomic():
                issued = order_transition(
                    order_id=order_id,
                    name="issue",
                    actor=actor,
                    changes={
                        "guarantee_number": number,
                        "issued_at": now,
                        "valid_from": valid_from,
                        "valid_until": valid_from + timedelta(days=days),
                    },
                    data={"guarantee_number": number},
                )
        except IntegrityError as exc:
            raise Conflict("guarantee_number_taken", "保函编号已被使用", field="guarantee_number") from exc
        return issued


def order_abandon(
    *, order_id: int, actor: Actor, operator_phone: str = "", codes: Mapping[str, str] | None = None
) -> Order:
    pack, _ = pack_in_force()
    if not pack.abandon.enabled:
        raise NotAllowed("abandon_not_offered", "本中心不支持放弃购买保函")
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("order_not_found", "订单不存在")
    transition_check(machine=TRANSITIONS, name="abandon", state=order.state, actor=actor)
    check = ""
    if pack.abandon.operator_check:
        # Outside the transaction: a wrong code's try is counted even though nothing else changes.
        check = operator_check(
            phone_on_record=order.operator_phone,
            phone=operator_phone,
            codes=dict(codes or {}),
            purpose="abandon",
            subject=f"abandon:{order.number}",
        )
    return order_transition(order_id=order_id, name="abandon", actor=actor, data={"operator_check": check})


def order_cancel(*, order_id: int, actor: Actor, reason: str) -> Order:
    name = "withdraw" if actor.kind == ActorKind.BIDDER else "cancel"
    return order_transition(order_id=order_id, name=name, actor=actor, reason=reason)
