"""Claims (索赔): filed after bid opening by the trading centre or by the tenderee (who proves
it holds the policy with the guarantee number and its verification code), decided by the
issuer within the pack's time limit, then paid. An explicit state machine; every move is an
event on the order's timeline, and the bidder is told by text."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from baohan.claims.models import Claim, ClaimEvidence
from baohan.guarantees.errors import Conflict, InvalidInput, NotAllowed, NotFound
from baohan.guarantees.models import Order
from baohan.guarantees.numbers import amount_parse
from baohan.guarantees.services.orders import number_make, order_event_record
from baohan.guarantees.services.refunds import section_bid_opened
from baohan.guarantees.services.uploads import CONTENT_TYPES, content_kind
from baohan.guarantees.states import Actor, ActorKind
from baohan.payments.db import ids_take
from baohan.payments.services.notices import notice_send
from baohan.rulepacks.models import OrderState
from tenants.selectors import pack_in_force


@dataclass(frozen=True)
class Move:
    sources: frozenset[str]
    target: str
    actors: frozenset[ActorKind]


S = Claim.State
MOVES = {
    "accept": Move(frozenset({S.FILED}), S.ACCEPTED, frozenset({ActorKind.ISSUER, ActorKind.STAFF})),
    "reject": Move(frozenset({S.FILED}), S.REJECTED, frozenset({ActorKind.ISSUER, ActorKind.STAFF})),
    "pay": Move(frozenset({S.ACCEPTED}), S.PAID, frozenset({ActorKind.ISSUER, ActorKind.STAFF})),
}


def _amount(value: Any) -> Decimal:
    return amount_parse(value, field="amount", label="索赔金额")


def _evidence_checked(files: Sequence[Any], *, max_mb: int, max_files: int) -> list[tuple[Any, str]]:
    if len(files) > max_files:
        raise InvalidInput("too_many_files", f"证明材料最多 {max_files} 个文件", field="files", label="证明材料")
    checked = []
    for file in files:
        if file.size is None or file.size > max_mb * 1024 * 1024:
            raise InvalidInput(
                "file_too_large", f"证明材料 {file.name}：文件不能超过{max_mb}M", field="files", label="证明材料"
            )
        try:
            kind = content_kind(file)
        except ValueError as exc:
            raise InvalidInput(
                "file_type", f"证明材料 {file.name}：{exc}，只能上传 pdf/jpg/png", field="files", label="证明材料"
            ) from exc
        if kind not in CONTENT_TYPES:  # an image of another format (GIF, BMP…)
            raise InvalidInput(
                "file_type", f"证明材料 {file.name}：只能上传 pdf/jpg/png 格式文件", field="files", label="证明材料"
            )
        checked.append((file, kind))
    return checked


def claim_file(
    *,
    order: Order,
    actor: Actor,
    claimant_name: str,
    claimant_contact: str,
    reason: str,
    amount: Any,
    files: Sequence[Any] = (),
) -> Claim:
    """File a claim against ``order``'s guarantee; checked before anything is written."""
    pack, version = pack_in_force()
    if not pack.claims.enabled:
        raise NotAllowed("claims_not_offered", "本中心不受理线上索赔")
    for field, label, value in (
        ("claimant_name", "索赔人", claimant_name),
        ("claimant_contact", "联系方式", claimant_contact),
        ("reason", "索赔原因", reason),
    ):
        if not value.strip():
            raise InvalidInput("required", f"请填写{label}", field=field, label=label)
    money = _amount(amount)
    if money > order.insured_amount:
        raise InvalidInput(
            "amount_over_insured", f"索赔金额不能超过保险金额 {order.insured_amount}", field="amount", label="索赔金额"
        )
    evidence = _evidence_checked(files, max_mb=pack.claims.evidence_max_mb, max_files=pack.claims.evidence_max_files)
    now = timezone.now()
    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("section").get(pk=order.pk)
        if locked.state != OrderState.ISSUED:
            raise Conflict("guarantee_not_in_force", "该保函不在有效状态，不能索赔")
        if not section_bid_opened(locked.section, now=now):
            raise Conflict("claim_before_opening", "开标后方可索赔")
        if locked.valid_until is not None and locked.valid_until < timezone.localdate(now):
            raise Conflict("guarantee_expired", "该保函已过保险期间，不能索赔")
        claimed = Claim.objects.filter(order=locked).exclude(state=Claim.State.REJECTED).aggregate(total=Sum("amount"))[
            "total"
        ] or Decimal("0")
        if claimed + money > locked.insured_amount:
            left = max(locked.insured_amount - claimed, Decimal("0"))
            raise InvalidInput(
                "amount_over_insured",
                f"索赔金额合计不能超过保险金额 {locked.insured_amount}（尚可索赔 {left}）",
                field="amount",
                label="索赔金额",
            )
        # The id first, so the number is whole from the insert on (a placeholder number would
        # collide with another centre's claim filed at the same moment).
        [ident] = ids_take("claims_claim", 1)
        claim = Claim(
            id=ident,
            number=number_make(prefix="C", ident=ident, when=now),
            order=locked,
            claimant_kind=Claim.Claimant.TENDEREE if actor.kind == ActorKind.TENDEREE else Claim.Claimant.CENTRE,
            claimant_name=claimant_name.strip()[:200],
            claimant_contact=claimant_contact.strip()[:100],
            reason=reason.strip()[:1000],
            amount=money,
            decide_by=timezone.localdate(now) + timedelta(days=pack.claims.decide_within_days),
        )
        try:
            with transaction.atomic():
                claim.save(force_insert=True)
        except IntegrityError as exc:
            raise Conflict("claim_in_progress", "该保函已有处理中的索赔") from exc
        for file, kind in evidence:
            digest = hashlib.sha256()
            for chunk in file.chunks():
                digest.update(chunk)
            file.seek(0)
            item = ClaimEvidence(
                claim=claim,
                original_name=file.name[:200],
                content_type=CONTENT_TYPES[kind],
                size=file.size,
                sha256=digest.hexdigest(),
            )
            item.file.save(f"evidence.{ {'JPEG': 'jpg', 'PNG': 'png', 'PDF': 'pdf'}[kind] }", file, save=False)
            item.save()
        _record(claim=claim, transition="file_claim", actor=actor, from_state="", version=version)
        _tell_bidder(claim)
    return claim


def claim_move(*, number: str, name: str, actor: Actor, reason: str = "", reference: str = "") -> Claim:
    """Accept, reject (with a reason) or pay (with the payment's reference) a claim."""
    move = MOVES.get(name)
    if move is None:
        raise InvalidInput("invalid", f"未知操作 {name}", field="action")
    if name == "reject" and not reason.strip():
        raise InvalidInput("required", "请填写拒赔原因", field="reason", label="拒赔原因")
    if name == "pay" and not reference.strip():
        raise InvalidInput("required", "请填写赔付流水号", field="reference", label="赔付流水号")
    pack, version = pack_in_force()
    now = timezone.now()
    with transaction.atomic():
        claim = Claim.objects.select_for_update().select_related("order").filter(number=number).first()
        if claim is None or (actor.kind == ActorKind.ISSUER and claim.order.issuer_code != actor.id):
            raise NotFound("claim_not_found", "索赔不存在")
        if actor.kind not in move.actors:
            raise NotAllowed("not_allowed", "无权处理该索赔")
        if claim.state not in move.sources:
            raise Conflict("illegal_transition", f"该索赔状态为「{claim.get_state_display()}」，不能{_verb(name)}")
        from_state = claim.state
        claim.state = move.target
        if name in ("accept", "reject"):
            claim.decided_at = now
            claim.decision_reason = reason.strip()[:500]
            if name == "accept":
                claim.pay_by = timezone.localdate(now) + timedelta(days=pack.claims.pay_within_days)
        else:
            claim.paid_at = now
            claim.paid_reference = reference.strip()[:64]
        claim.save()
        _record(claim=claim, transition=f"{name}_claim", actor=actor, from_state=from_state, version=version)
        _tell_bidder(claim)
    return claim


def _verb(name: str) -> str:
    return {"accept": "受理", "reject": "拒赔", "pay": "赔付"}[name]


def _record(*, claim: Claim, transition: str, actor: Actor, from_state: str, version: int) -> None:
    order_event_record(
        order=claim.order,
        subject="claim",
        subject_id=claim.pk,
        transition=transition,
        actor=actor,
        from_state=from_state,
        to_state=claim.state,
        version=version,
        reason=claim.decision_reason,
        data={"claim": claim.number, "amount": str(claim.amount), "reference": claim.paid_reference},
    )


def _tell_bidder(claim: Claim) -> None:
    """Once per claim and state; queued with the transaction (the text goes after commit)."""
    text = (
        f"您的保函 {claim.order.guarantee_number} 有一笔索赔（{claim.number}，金额 {claim.amount} 元）："
        f"{claim.get_state_display()}。"
    )
    notice_send(
        order=claim.order,
        code=f"claim:{claim.pk}:{claim.state}",
        template="claim_update",
        params={"number": claim.number, "state": claim.get_state_display()},
        text=text,
    )
