"""After-sales requests (售后): payment problems and other questions about an order."""

from __future__ import annotations

from django.db import transaction

from baohan.guarantees.errors import InvalidInput, NotFound
from baohan.guarantees.models import AfterSalesRequest, OrderEvent
from baohan.guarantees.services.orders import order_lock, subject_move, transition_check
from baohan.guarantees.states import AFTER_SALES_TRANSITIONS, NEW, Actor, ActorKind
from tenants.selectors import pack_in_force


def after_sales_open(*, order_id: int, actor: Actor, category: str, description: str) -> AfterSalesRequest:
    pack, _ = pack_in_force()
    categories = {c.code: c for c in pack.after_sales}
    if category not in categories:
        choices = "、".join(c.label for c in pack.after_sales) or "无"
        raise InvalidInput("invalid", f"售后类型可选：{choices}", field="category", label="售后类型")
    if not description.strip():
        raise InvalidInput("required", "请描述遇到的问题", field="description", label="问题描述")
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        request = AfterSalesRequest.objects.create(
            order=order,
            state=NEW,
            category=category,
            kind=categories[category].kind.value,
            description=description.strip()[:1000],
        )
        _move(request=request, name="after_sales_open", actor=actor, data={"category": category})
    return request


def _move(
    *, request: AfterSalesRequest, name: str, actor: Actor, reason: str = "", data: dict[str, str] | None = None
) -> None:
    subject_move(
        row=request,
        order=request.order,
        subject=OrderEvent.Subject.AFTER_SALES,
        machine=AFTER_SALES_TRANSITIONS,
        name=name,
        actor=actor,
        reason=reason,
        data=data,
    )


def after_sales_advance(*, request_id: int, actor: Actor, name: str, resolution: str = "") -> AfterSalesRequest:
    with transaction.atomic():
        request = AfterSalesRequest.objects.select_for_update().select_related("order").filter(pk=request_id).first()
        if request is None or (actor.kind == ActorKind.ISSUER and request.order.issuer_code != actor.id):
            raise NotFound("after_sales_not_found", "售后申请不存在")
        transition_check(machine=AFTER_SALES_TRANSITIONS, name=name, state=request.state, actor=actor)
        if name == "after_sales_resolve" and not resolution.strip():
            raise InvalidInput("required", "请填写处理结果", field="resolution")
        if resolution.strip():
            request.resolution = resolution.strip()[:1000]
        _move(request=request, name=name, actor=actor, reason=resolution)
    return request
