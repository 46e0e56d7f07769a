"""What each event on an order's timeline is called, for the bidder's and the staff's pages."""

from __future__ import annotations

from baohan.guarantees.states import AFTER_SALES_TRANSITIONS, INVOICE_TRANSITIONS, REFUND_TRANSITIONS, TRANSITIONS
from baohan.payments.models import Payment
from baohan.sections.models import SectionEvent

_EVENT_LABELS: dict[str, str] = {
    **{name: t.label for name, t in TRANSITIONS.items()},
    **{name: t.label for name, t in REFUND_TRANSITIONS.items()},
    **{name: t.label for name, t in INVOICE_TRANSITIONS.items()},
    **{name: t.label for name, t in AFTER_SALES_TRANSITIONS.items()},
    "create": "创建订单",
    "revise": "修改申请信息",
    "offer_decline": "出函机构拒绝承保",
    "voucher_submit": "上传支付凭证",
    "voucher_approve": "支付凭证审核通过",
    "voucher_reject": "支付凭证审核未通过",
    "payment_reconciled": "银行流水与已确认付款一致",
    "payout_due": "应退款",
    "payout_paid": "已退款",
    "policy_generated": "保单已生成",
    "file_claim": "提交索赔",
    "accept_claim": "索赔已受理",
    "reject_claim": "已拒赔",
    "pay_claim": "已赔付",
}


def event_label(transition: str) -> str:
    if transition in _EVENT_LABELS:
        return _EVENT_LABELS[transition]
    if transition.startswith("payment_"):
        outcome = transition.removeprefix("payment_")
        if outcome in Payment.Outcome.values:
            return f"收到付款：{Payment.Outcome(outcome).label}"
    if transition.startswith("section_"):
        kind = transition.removeprefix("section_")
        if kind in SectionEvent.Kind.values:
            return f"标段{SectionEvent.Kind(kind).label}"
    return transition
