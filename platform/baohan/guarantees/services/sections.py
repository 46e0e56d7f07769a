"""Sections as the trading centre pushes them, and the events that change them and their orders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from baohan.guarantees.errors import Conflict, InvalidInput, NotFound
from baohan.guarantees.models import LIVE_STATES, Order, OrderEvent
from baohan.guarantees.services.orders import PRE_PAYMENT, order_event_record, order_transition
from baohan.guarantees.states import Actor
from baohan.ops.due import centre_due_mark
from baohan.rulepacks.models import SectionStatus
from baohan.sections.models import Section, SectionEvent
from tenants.selectors import pack_in_force

St = SectionStatus
K = SectionEvent.Kind

# Which statuses each event may come from, and where it leaves the section (None: unchanged).
# After bid opening the centre may still report what the packs' refund rules speak of (中止, 暂停,
# 终止, 流标): the section takes the new status and keeps ``opened_at``, so the rules' ``bid_opened``
# still holds. 终止 and 流标 are final.
LIVE = frozenset({St.ACCEPTING, St.SUSPENDED, St.PAUSED})
SECTION_EVENTS: dict[str, tuple[frozenset[SectionStatus], SectionStatus | None]] = {
    K.OPENED: (frozenset({St.ACCEPTING}), St.OPENED),
    K.SUSPENDED: (frozenset({St.ACCEPTING, St.PAUSED, St.OPENED}), St.SUSPENDED),
    K.PAUSED: (frozenset({St.ACCEPTING, St.OPENED}), St.PAUSED),
    K.RESUMED: (frozenset({St.SUSPENDED, St.PAUSED}), St.ACCEPTING),  # St.OPENED when it had opened
    K.TERMINATED: (LIVE | {St.OPENED}, St.TERMINATED),
    K.FAILED_TENDER: (LIVE | {St.OPENED}, St.FAILED_TENDER),
    K.OPENING_POSTPONED: (LIVE, None),  # and only before bid opening
}
# Events after which an unpaid order can no longer be used: it is cancelled.
ENDS_UNPAID_ORDERS = {K.TERMINATED, K.FAILED_TENDER}


def section_upsert(*, code: str, values: Mapping[str, Any]) -> tuple[Section, bool]:
    """Create or update a section from the centre's data. Status changes only through events."""
    pack, _ = pack_in_force()
    if values["project_type"] not in {pt.code for pt in pack.sections.project_types}:
        raise InvalidInput("invalid", "项目类型不在本中心的项目类型中", field="project_type", label="项目类型")
    if values["deposit_deadline"] > values["opening_time"]:
        raise InvalidInput("invalid", "保证金缴纳截止时间不能晚于开标时间", field="deposit_deadline")
    if Decimal(values["deposit_amount"]) <= 0:
        raise InvalidInput("invalid", "保证金金额应大于零", field="deposit_amount")
    with transaction.atomic():
        section = Section.objects.select_for_update().filter(code=code).first()
        if section is None:
            return Section.objects.create(code=code, **values), True
        if section.status != Section.Status.ACCEPTING or section.opened_at is not None:
            locked = {"deposit_amount", "deposit_deadline", "opening_time"}
            for key in locked:
                if key in values and values[key] != getattr(section, key):
                    raise Conflict("section_locked", "标段已开标或状态异常，不能修改金额与时间", field=key)
        amount_changes = "deposit_amount" in values and values["deposit_amount"] != section.deposit_amount
        if amount_changes and section.orders.filter(state__in=LIVE_STATES).exclude(state="draft").exists():
            raise Conflict("section_has_orders", "标段已有保函订单，不能修改保证金金额", field="deposit_amount")
        for key, value in values.items():
            setattr(section, key, value)
        section.save()
        return section, False


@dataclass(frozen=True)
class SectionEventResult:
    event: SectionEvent
    replayed: bool
    orders_touched: int


def section_event_apply(
    *,
    section_code: str,
    kind: str,
    actor: Actor,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
    new_opening_time: datetime | None = None,
    new_deposit_deadline: datetime | None = None,
    reason: str = "",
) -> SectionEventResult:
    """Apply an event the centre reports. Replaying an event id changes nothing."""
    if kind not in SECTION_EVENTS:
        raise InvalidInput("invalid", f"未知的标段事件 {kind}", field="kind")
    _, version = pack_in_force()
    with transaction.atomic():
        if event_id:
            existing = SectionEvent.objects.filter(event_id=event_id).select_related("section").first()
            if existing is not None:
                if existing.section.code != section_code or existing.kind != kind:
                    raise Conflict("event_id_reused", "事件编号已用于另一事件", field="event_id")
                return SectionEventResult(existing, True, 0)
        section = Section.objects.select_for_update().filter(code=section_code).first()
        if section is None:
            raise NotFound("section_not_found", "标段不存在")
        sources, target = SECTION_EVENTS[kind]
        status = SectionStatus(section.status)
        if status not in sources:
            raise Conflict(
                "illegal_section_event",
                f"标段当前为「{section.get_status_display()}」，不能{K(kind).label}",
                field="kind",
            )
        if kind == K.OPENING_POSTPONED and section.opened_at is not None:
            raise Conflict("illegal_section_event", "标段已开标，不能延期开标", field="kind")
        if kind == K.RESUMED and section.opened_at is not None:
            target = St.OPENED  # a section suspended after opening resumes as opened
        occurred = occurred_at or timezone.now()
        if kind == K.OPENING_POSTPONED:
            if new_opening_time is None or new_opening_time <= section.opening_time:
                raise InvalidInput("invalid", "延期开标须给出晚于原开标时间的新开标时间", field="new_opening_time")
            if section.postponed_from is None:
                section.postponed_from = section.opening_time
            section.opening_time = new_opening_time
            if new_deposit_deadline is not None:
                if new_deposit_deadline > new_opening_time:
                    raise InvalidInput("invalid", "保证金缴纳截止时间不能晚于开标时间", field="new_deposit_deadline")
                section.deposit_deadline = new_deposit_deadline
                # Expiry and reminders of the section's orders are recomputed from the new deadline.
                centre_due_mark(job="payments.deadlines")
        if target is not None:
            section.status = target.value
        if kind == K.OPENED:
            section.opened_at = occurred
        section.save()
        try:
            with transaction.atomic():
                event = SectionEvent.objects.create(
                    section=section,
                    event_id=event_id or None,
                    kind=kind,
                    from_status=status.value,
                    to_status=section.status,
                    new_opening_time=new_opening_time if kind == K.OPENING_POSTPONED else None,
                    occurred_at=occurred,
                    reason=reason[:500],
                    rule_pack_version=version,
                )
        except IntegrityError as exc:
            raise Conflict("event_id_reused", "事件编号已被使用", field="event_id") from exc
        touched = _orders_follow(section=section, event=event, actor=actor, version=version)
    return SectionEventResult(event, False, touched)


def _orders_follow(*, section: Section, event: SectionEvent, actor: Actor, version: int) -> int:
    """Every live order of the section records the event; unpaid ones end when the section does."""
    touched = 0
    for order in Order.objects.filter(section=section, state__in=LIVE_STATES).order_by("id"):
        touched += 1
        if event.kind in ENDS_UNPAID_ORDERS and order.state in PRE_PAYMENT:
            order_transition(
                order_id=order.pk,
                name="cancel",
                actor=Actor.system(),
                reason=f"标段{K(event.kind).label}",
                data={"section_event": event.pk},
            )
            continue
        order_event_record(
            order=order,
            subject=OrderEvent.Subject.SECTION,
            subject_id=event.pk,
            transition=f"section_{event.kind}",
            actor=actor,
            from_state=order.state,
            to_state=order.state,
            version=version,
            reason=event.reason,
            data={"section_status": section.status},
        )
    return touched
