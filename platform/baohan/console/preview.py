"""What a pack change would do: the centre's recent decisions replayed under the new pack.

Each decision is replayed on the facts recorded when it was made (the section's status, whether
the bids were open, the reason given), once under the pack it was made under and once under the
candidate; every decision whose outcome differs is listed. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context
from pydantic import ValidationError

from baohan.guarantees.models import Invoice, Order, Refund
from baohan.guarantees.quotes import quote_for_issuer
from baohan.guarantees.services.invoices import invoice_rules_decide
from baohan.guarantees.services.orders import issuer_panel
from baohan.guarantees.services.refunds import refund_rules_decide
from baohan.rulepacks.loader import RulePackError, rulepack_load_text
from baohan.rulepacks.models import RefundTrigger, RulePack, SectionStatus
from tenants.models import RulePackVersion, Tenant
from tenants.selectors import tenant_rule_pack


@dataclass(frozen=True)
class DecisionChange:
    kind: str  # quote / issuer_choice / refund / invoice
    subject: str  # the order or refund number
    before: str
    after: str

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass
class Preview:
    days: int
    checked: dict[str, int] = field(default_factory=dict)
    changes: list[DecisionChange] = field(default_factory=list)

    def of(self, kind: str) -> list[DecisionChange]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def checked_labelled(self) -> list[tuple[str, int]]:
        return [(KIND_LABELS.get(kind, kind), n) for kind, n in self.checked.items()]


KIND_LABELS = {"quote": "保费报价", "issuer_choice": "出函机构选择", "refund": "退保判定", "invoice": "发票申请"}


def _packs_of(tenant: Tenant) -> dict[int, RulePack]:
    """Every published version as this engine reads it: its stored data, else its source text.
    A version this engine can no longer read at all is left out (its decisions are replayed
    under the pack in force instead)."""
    packs: dict[int, RulePack] = {}
    for version in RulePackVersion.objects.filter(tenant=tenant).only("number", "data", "source_text"):
        try:
            packs[version.number] = RulePack.model_validate(version.data)
        except ValidationError:
            try:
                packs[version.number] = rulepack_load_text(version.source_text, file=f"V{version.number}")
            except RulePackError:
                continue
    return packs


def _yes_no(allowed: bool, text: str) -> str:
    return f"{'允许' if allowed else '不允许'}（{text}）"


def pack_preview(*, tenant: Tenant, candidate: RulePack, days: int = 30) -> Preview:
    """Replay the last ``days`` days of ``tenant``'s decisions under ``candidate``."""
    since = timezone.now() - timedelta(days=days)
    packs = _packs_of(tenant)
    current = tenant_rule_pack(tenant=tenant)
    result = Preview(days=days)
    with tenant_context(tenant):
        orders = list(
            Order.objects.filter(created_at__gte=since).exclude(state="draft").select_related("section").order_by("id")
        )
        refunds = list(Refund.objects.filter(created_at__gte=since).select_related("order").order_by("id"))
        invoices = list(Invoice.objects.filter(created_at__gte=since).select_related("order__section").order_by("id"))
    result.checked = {"quote": 0, "issuer_choice": 0, "refund": len(refunds), "invoice": len(invoices)}

    for order in orders:
        then = packs.get(order.rule_pack_version, current)
        _replay_order(result, order=order, then=then, candidate=candidate)
    for refund in refunds:
        then = packs.get(refund.rule_pack_version, current)
        status, opened, trigger = (
            SectionStatus(refund.section_status),
            refund.bid_opened,
            RefundTrigger(refund.trigger),
        )
        before = refund_rules_decide(
            pack=then, version=refund.rule_pack_version, status=status, opened=opened, trigger=trigger
        )
        after = (
            refund_rules_decide(pack=candidate, version=0, status=status, opened=opened, trigger=trigger)
            if candidate.refund.enabled
            else None
        )
        after_text = _yes_no(after.allowed, after.rule_text) if after else "不允许（新规则包不支持在线退保）"
        if after is None or after.allowed != before.allowed or after.rule_code != before.rule_code:
            result.changes.append(
                DecisionChange("refund", refund.number, _yes_no(before.allowed, before.rule_text), after_text)
            )
    for invoice in invoices:
        then = packs.get(invoice.rule_pack_version, current)
        section = invoice.order.section
        opened = section.opened_at is not None and section.opened_at <= invoice.created_at
        opened = opened or section.opening_time <= invoice.created_at
        before_i = invoice_rules_decide(pack=then, version=0, issued=True, opened=opened)
        after_i = invoice_rules_decide(pack=candidate, version=0, issued=True, opened=opened)
        offered = {k.form.value: {t.value for t in k.types} for k in candidate.invoice.kinds}
        if after_i.allowed and invoice.type not in offered.get(invoice.form, set()):
            after_text = f"不允许（新规则包不提供{invoice.get_form_display()}{invoice.get_type_display()}）"
        else:
            after_text = _yes_no(after_i.allowed, after_i.reason)
        before_text = _yes_no(before_i.allowed, before_i.reason)
        if after_text != before_text:
            result.changes.append(DecisionChange("invoice", invoice.order.number, before_text, after_text))
    return result


def _replay_order(result: Preview, *, order: Order, then: RulePack, candidate: RulePack) -> None:
    if order.issuer_code:
        result.checked["quote"] += 1
        old_issuer = next((i for i in then.issuers if i.code == order.issuer_code), None)
        new_issuer = next((i for i in candidate.issuers if i.code == order.issuer_code), None)
        if old_issuer is not None:
            before = quote_for_issuer(insured_amount=order.insured_amount, issuer=old_issuer).premium
            if new_issuer is None:
                result.changes.append(
                    DecisionChange("quote", order.number, f"¥{before}", f"出函机构 {order.issuer_code} 不在新名单中")
                )
            else:
                after = quote_for_issuer(insured_amount=order.insured_amount, issuer=new_issuer).premium
                if after != before:
                    result.changes.append(DecisionChange("quote", order.number, f"¥{before}", f"¥{after}"))
    result.checked["issuer_choice"] += 1
    if then.issuer_choice.mode != candidate.issuer_choice.mode:
        result.changes.append(
            DecisionChange(
                "issuer_choice", order.number, then.issuer_choice.mode.value, candidate.issuer_choice.mode.value
            )
        )
        return
    old_panel = [
        i.code for i in issuer_panel(pack=then, deposit_kind=order.deposit_kind, issuer_kind=order.issuer_kind)
    ]
    new_panel = [
        i.code for i in issuer_panel(pack=candidate, deposit_kind=order.deposit_kind, issuer_kind=order.issuer_kind)
    ]
    if old_panel != new_panel:
        result.changes.append(
            DecisionChange("issuer_choice", order.number, "、".join(old_panel) or "—", "、".join(new_panel) or "—")
        )
