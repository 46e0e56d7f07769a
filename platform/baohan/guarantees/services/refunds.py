"""Refunds (退保): the pack's rules decide; the decision and its rule are recorded with the
pack version they were made under."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from baohan.guarantees.checks import operator_check
from baohan.guarantees.errors import Conflict, InvalidInput, NotAllowed, NotFound
from baohan.guarantees.forms import form_clean
from baohan.guarantees.models import Order, OrderEvent, Refund
from baohan.guarantees.services.orders import (
    number_make,
    order_lock,
    order_transition,
    row_id_next,
    subject_move,
    transition_check,
)
from baohan.guarantees.states import REFUND_TRANSITIONS, Actor, ActorKind
from baohan.rulepacks.models import Decision, OrderState, RefundTrigger, RulePack, SectionStatus
from baohan.sections.models import Section
from tenants.selectors import pack_in_force

ABNORMAL = {SectionStatus.SUSPENDED, SectionStatus.PAUSED, SectionStatus.TERMINATED, SectionStatus.FAILED_TENDER}


@dataclass(frozen=True)
class RefundEligibility:
    allowed: bool
    trigger: RefundTrigger
    section_status: SectionStatus
    bid_opened: bool
    rule_code: str  # empty when no rule matched and the pack's default decided
    rule_text: str
    version: int


def section_bid_opened(section: Section, *, now: datetime | None = None) -> bool:
    """Opened by the centre's event, or by the clock: the opening time (moved by a postponement) is past."""
    if section.opened_at is not None or section.status == Section.Status.OPENED:
        return True
    return (now or timezone.now()) >= section.opening_time


def refund_trigger_default(section: Section) -> RefundTrigger:
    """A section in an abnormal state is the reason; otherwise the bidder is giving up."""
    if SectionStatus(section.status) in ABNORMAL:
        return RefundTrigger.SECTION_EVENT
    return RefundTrigger.BIDDER_ABANDONS


def refund_rules_evaluate(
    *, pack: RulePack, version: int, section: Section, trigger: RefundTrigger
) -> RefundEligibility:
    """The first rule whose every stated condition holds decides; else the pack's default."""
    return refund_rules_decide(
        pack=pack,
        version=version,
        status=SectionStatus(section.status),
        opened=section_bid_opened(section),
        trigger=trigger,
    )


def refund_rules_decide(
    *, pack: RulePack, version: int, status: SectionStatus, opened: bool, trigger: RefundTrigger
) -> RefundEligibility:
    """The decision on given facts (also used to replay recorded requests under another pack)."""
    for rule in pack.refund_rules:
        when = rule.when
        if when.bid_opened is not None and when.bid_opened != opened:
            continue
        if when.trigger is not None and when.trigger != trigger:
            continue
        if when.section_status is not None and status not in when.section_status:
            continue
        return RefundEligibility(
            allowed=rule.decision == Decision.ALLOW,
            trigger=trigger,
            section_status=status,
            bid_opened=opened,
            rule_code=rule.code,
            rule_text=rule.text,
            version=version,
        )
    return RefundEligibility(
        allowed=pack.refund.default == Decision.ALLOW,
        trigger=trigger,
        section_status=status,
        bid_opened=opened,
        rule_code="",
        rule_text=pack.refund.default_text
        or ("默认允许退保" if pack.refund.default == Decision.ALLOW else "不符合退保条件"),
        version=version,
    )


def refund_eligibility(*, order: Order, trigger: RefundTrigger | None = None) -> RefundEligibility:
    pack, version = pack_in_force()
    if not pack.refund.enabled:
        raise NotAllowed("refund_not_offered", "本中心不支持在线退保")
    return refund_rules_evaluate(
        pack=pack, version=version, section=order.section, trigger=trigger or refund_trigger_default(order.section)
    )


def _refund_lock(refund_id: int) -> Refund:
    try:
        return Refund.objects.select_for_update().select_related("order").get(pk=refund_id)
    except Refund.DoesNotExist as exc:
        raise NotFound("refund_not_found", "退保申请不存在") from exc


def _refund_move(
    *, refund: Refund, name: str, actor: Actor, reason: str = "", data: Mapping[str, Any] | None = None
) -> None:
    subject_move(
        row=refund,
        order=refund.order,
        subject=OrderEvent.Subject.REFUND,
        machine=REFUND_TRANSITIONS,
        name=name,
        actor=actor,
        reason=reason,
        data=data,
    )


def refund_request(
    *, order_id: int, actor: Actor, trigger: RefundTrigger | None = None, reason_text: str = ""
) -> Refund:
    pack, _ = pack_in_force()
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if order.state != OrderState.ISSUED:
            raise Conflict("refund_not_available", "只有已出函的订单可以申请退保")
        if order.refunds.exclude(state=Refund.State.REFUSED).exists():
            raise Conflict("refund_exists", "该订单已有退保申请")
        # A guarantee that has been claimed on (and not refused) is what the deposit was for: it is
        # no longer surrendered for its premium.
        if order.claims.exclude(state="rejected").exists():
            raise Conflict("claimed", "该保函已有索赔（处理中或已赔付），不能退保")
        decision = refund_eligibility(order=order, trigger=trigger)
        if not decision.allowed:
            raise NotAllowed("refund_refused", f"不符合退保条件：{decision.rule_text}", field="trigger")
        ident = row_id_next("guarantees_refund")
        refund = Refund.objects.create(
            id=ident,
            number=number_make(prefix="T", ident=ident),
            order=order,
            state="",
            trigger=decision.trigger.value,
            reason_text=reason_text[:500],
            section_status=decision.section_status.value,
            bid_opened=decision.bid_opened,
            rule_code=decision.rule_code,
            rule_text=decision.rule_text,
            rule_pack_version=decision.version,
            amount=order.premium,
        )
        name = "refund_request_account" if pack.refund.account_confirmation else "refund_request"
        _refund_move(
            refund=refund,
            name=name,
            actor=actor,
            reason=reason_text,
            data={
                "rule": decision.rule_code,
                "trigger": decision.trigger.value,
                "section_status": decision.section_status.value,
            },
        )
    return refund


def refund_account_confirm(*, refund_id: int, actor: Actor, values: Mapping[str, Any]) -> Refund:
    pack, _ = pack_in_force()
    current = Refund.objects.select_related("order").filter(pk=refund_id).first()
    if current is None:
        raise NotFound("refund_not_found", "退保申请不存在")
    transition_check(machine=REFUND_TRANSITIONS, name="refund_confirm_account", state=current.state, actor=actor)
    fields = list(pack.forms.refund_account)
    if not fields:
        raise InvalidInput("no_account_form", "本中心未配置退费账户表单")
    clean = form_clean(pack=pack, fields=fields, values=dict(values), defaults={})
    check = ""
    if any(f.name == "sms_code" for f in fields) or "operator_phone" in clean.data:
        # Outside the transaction: a wrong code's try is counted even though nothing else changes.
        check = operator_check(
            phone_on_record=current.order.operator_phone,
            phone=str(clean.data.get("operator_phone", "")),
            codes=clean.checks,
            purpose="refund_account",
            subject=f"refund_account:{current.number}",
        )
    with transaction.atomic():
        refund = _refund_lock(refund_id)
        transition_check(machine=REFUND_TRANSITIONS, name="refund_confirm_account", state=refund.state, actor=actor)
        refund.account_name = str(clean.data.get("account_name", ""))
        refund.account_number = clean.private.get("account_number", "")
        refund.bank_name = str(clean.data.get("bank_name", ""))
        _refund_move(refund=refund, name="refund_confirm_account", actor=actor, data={"operator_check": check})
    return refund


def refund_review(*, refund_id: int, actor: Actor, approve: bool, reason: str = "") -> Refund:
    with transaction.atomic():
        refund = _refund_lock(refund_id)
        if actor.kind == ActorKind.ISSUER and refund.order.issuer_code != actor.id:
            raise NotFound("refund_not_found", "退保申请不存在")
        if not approve and not reason.strip():
            raise InvalidInput("required", "请填写拒绝原因", field="reason")
        refund.review_reason = reason[:500]
        # Approved, the premium is owed back: payments registers the payout for "refund_approve"
        # (baohan.guarantees.effects), made in this transaction.
        _refund_move(refund=refund, name="refund_approve" if approve else "refund_refuse", actor=actor, reason=reason)
    return refund


def refund_complete(*, refund_id: int, actor: Actor, reference: str) -> Refund:
    """The refund's money went back (its payout is paid): 退保完成, and the order is surrendered.
    Called by payments when the refund's payout is paid (``payout_settle``)."""
    with transaction.atomic():
        refund = _refund_lock(refund_id)
        refund.payout_reference = reference[:64]
        refund.refunded_at = timezone.now()
        _refund_move(refund=refund, name="refund_payout", actor=actor, data={"reference": reference[:64]})
        order_transition(
            order_id=refund.order_id, name="surrender", actor=Actor.system(), data={"refund": refund.number}
        )
    return refund
