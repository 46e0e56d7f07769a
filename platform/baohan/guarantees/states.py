"""The order's state machine: named transitions, where each may start, where it ends, who may
make it and which progress milestone it reaches. Services call ``order_transition`` (in
``services/orders.py``), the only code that changes ``Order.state``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from baohan.rulepacks.models import Milestone, OrderState

S = OrderState


class ActorKind(StrEnum):
    BIDDER = "bidder"
    ISSUER = "issuer"
    CENTRE = "centre"
    STAFF = "staff"
    SYSTEM = "system"
    TENDEREE = "tenderee"  # the insured party of a bid guarantee (files claims)


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "系统") -> Actor:
        return cls(ActorKind.SYSTEM, "system", label)

    @classmethod
    def issuer_person(cls, *, issuer_code: str, name: str, organisation: str) -> Actor:
        """A person of an issuer acting in its scope (``id`` is the issuer's code, as for its API
        credential); recorded by name and organisation, 「李核保（紫金财产保险股份有限公司）」."""
        label = f"{name.strip()}（{organisation}）" if name.strip() else organisation
        return cls(ActorKind.ISSUER, issuer_code, label[:200])


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    actors: frozenset[ActorKind]
    milestone: Milestone | None = None
    label: str = ""


def _t(
    name: str,
    sources: set[str],
    target: str,
    actors: set[ActorKind],
    label: str,
    milestone: Milestone | None = None,
) -> Transition:
    return Transition(name, frozenset(sources), target, frozenset(actors), milestone, label)


A = ActorKind
TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t("submit", {S.DRAFT}, S.UNDERWRITING, {A.BIDDER}, "提交订单", Milestone.SUBMITTED),
        _t(
            "approve",
            {S.UNDERWRITING},
            S.AWAITING_PAYMENT,
            {A.ISSUER, A.SYSTEM},
            "审核通过",
            Milestone.UNDERWRITING_APPROVED,
        ),
        _t("reject", {S.UNDERWRITING}, S.REJECTED, {A.ISSUER, A.SYSTEM}, "审核未通过"),
        _t(
            "submit_payment",
            {S.AWAITING_PAYMENT, S.PAYMENT_FAILED},
            S.PAYMENT_REVIEW,
            {A.BIDDER},
            "提交支付凭证",
            Milestone.PAYMENT_SUBMITTED,
        ),
        _t(
            "confirm_payment",
            {S.AWAITING_PAYMENT, S.PAYMENT_REVIEW, S.PAYMENT_FAILED},
            S.AWAITING_ISSUE,
            {A.ISSUER, A.STAFF, A.SYSTEM},
            "付款成功",
            Milestone.PAYMENT_CONFIRMED,
        ),
        _t(
            "fail_payment",
            {S.AWAITING_PAYMENT, S.PAYMENT_REVIEW},
            S.PAYMENT_FAILED,
            {A.ISSUER, A.STAFF, A.SYSTEM},
            "支付未通过",
        ),
        _t("issue", {S.AWAITING_ISSUE}, S.ISSUED, {A.ISSUER, A.SYSTEM}, "出函成功", Milestone.ISSUED),
        _t("abandon", {S.AWAITING_PAYMENT, S.PAYMENT_FAILED}, S.ABANDONED, {A.BIDDER}, "放弃购买保函"),
        # The bidder may withdraw before approval; after it, leaving goes through abandon (and its checks).
        _t("withdraw", {S.DRAFT, S.UNDERWRITING}, S.CANCELLED, {A.BIDDER}, "撤回申请"),
        _t(
            "cancel",
            {S.DRAFT, S.UNDERWRITING, S.AWAITING_PAYMENT, S.PAYMENT_FAILED},
            S.CANCELLED,
            {A.SYSTEM, A.STAFF},
            "订单取消",
        ),
        _t("surrender", {S.ISSUED}, S.SURRENDERED, {A.SYSTEM}, "退保成功"),
        # Money that breaks the pack's rules (wrong account, amount or time) cancels the order; the
        # payment goes back less the pack's service fee.
        _t(
            "refuse_payment",
            {S.AWAITING_PAYMENT, S.PAYMENT_REVIEW, S.PAYMENT_FAILED},
            S.CANCELLED,
            {A.SYSTEM, A.ISSUER, A.STAFF},
            "支付不符合要求，订单已取消",
        ),
        _t(
            "expire",
            {S.DRAFT, S.UNDERWRITING, S.AWAITING_PAYMENT, S.PAYMENT_FAILED},
            S.CANCELLED,
            {A.SYSTEM},
            "逾期未支付，订单已取消",
        ),
    ]
}

# The engine's own words for each state; a pack's ``progress.status_labels`` override them.
STATE_LABELS: dict[OrderState, str] = {
    S.DRAFT: "待提交",
    S.UNDERWRITING: "审核中",
    S.AWAITING_PAYMENT: "待支付",
    S.PAYMENT_REVIEW: "支付审核中",
    S.PAYMENT_FAILED: "支付失败",
    S.AWAITING_ISSUE: "待出函",
    S.ISSUED: "已出函",
    S.REJECTED: "审核未通过",
    S.CANCELLED: "已取消",
    S.ABANDONED: "已放弃",
    S.SURRENDERED: "已退保",
}

# Orders the bidder no longer sees in the list (kept for audit).
HIDDEN_FROM_BIDDER = frozenset({S.ABANDONED})

# --- refunds (退保) ----------------------------------------------------------------------------

PENDING_ACCOUNT, PENDING_REVIEW, PENDING_PAYOUT, REFUNDED, REFUSED = (
    "pending_account",
    "pending_review",
    "pending_payout",
    "refunded",
    "refused",
)
NEW = ""  # the source of a subject's first transition

REFUND_TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t("refund_request", {NEW}, PENDING_REVIEW, {A.BIDDER}, "提交退保", Milestone.REFUND_REQUESTED),
        _t("refund_request_account", {NEW}, PENDING_ACCOUNT, {A.BIDDER}, "提交退保", Milestone.REFUND_REQUESTED),
        _t("refund_confirm_account", {PENDING_ACCOUNT}, PENDING_REVIEW, {A.BIDDER}, "确认退费账户"),
        _t(
            "refund_approve",
            {PENDING_REVIEW},
            PENDING_PAYOUT,
            {A.ISSUER, A.STAFF},
            "退保审核通过",
            Milestone.REFUND_REVIEWED,
        ),
        _t(
            "refund_refuse", {PENDING_REVIEW}, REFUSED, {A.ISSUER, A.STAFF}, "退保审核未通过", Milestone.REFUND_REVIEWED
        ),
        _t("refund_payout", {PENDING_PAYOUT}, REFUNDED, {A.ISSUER, A.STAFF, A.SYSTEM}, "退保完成", Milestone.REFUNDED),
    ]
}

# --- invoices and after-sales -----------------------------------------------------------------

INVOICE_TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t("invoice_request", {NEW}, "requested", {A.BIDDER}, "申请发票"),
        _t("invoice_start", {"requested"}, "processing", {A.ISSUER, A.STAFF}, "开票中"),
        _t("invoice_issue", {"requested", "processing"}, "issued", {A.ISSUER, A.STAFF}, "已开票"),
    ]
}

AFTER_SALES_TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t("after_sales_open", {NEW}, "open", {A.BIDDER}, "提交售后"),
        _t("after_sales_start", {"open"}, "in_progress", {A.ISSUER, A.STAFF}, "售后处理中"),
        _t("after_sales_resolve", {"open", "in_progress"}, "resolved", {A.ISSUER, A.STAFF}, "售后已解决"),
        _t("after_sales_close", {"open", "in_progress"}, "closed", {A.BIDDER, A.ISSUER, A.STAFF}, "售后已关闭"),
    ]
}
