"""Settling money that arrived: the one path every channel goes through (bank lines, vouchers,
online payments, an issuer's confirmation), for one receipt or a hundred thousand.

For a batch of receipts: lock their orders (one statement, in id order), drop receipts already
settled (same channel and source), decide each receipt against the order and the pack, then
write payments, ledger legs, payouts, order moves and their events with set-based statements.
The decision is a pure function (``receipt_assess``); the database's unique constraints
(one payment per source, one applied payment per order) stand behind it.

Outcomes:
- applied: the order is paid (``confirm_payment``) and waits for issue;
- overpaid: paid, and the surplus goes back to the payer;
- refused (late, wrong payer account or name, short amount, order not payable): the order is
  cancelled (``refuse_payment``) where it still could be paid, and the amount less the pack's
  service fee goes back;
- duplicate: the order was already paid; the whole amount goes back.
"""

from __future__ import annotations

import functools
import gc
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from baohan.guarantees.services.orders import number_make
from baohan.guarantees.states import TRANSITIONS, Actor
from baohan.ops.due import centre_due_mark
from baohan.payments.db import bulk_cursor, ids_take, rows_copy, rows_update
from baohan.payments.models import LedgerEntry, Payment, Payout
from baohan.rulepacks.models import OrderState, PayerAccount, RulePack
from tenants.selectors import pack_in_force, pack_of_version

PAYABLE = {OrderState.AWAITING_PAYMENT.value, OrderState.PAYMENT_REVIEW.value, OrderState.PAYMENT_FAILED.value}
APPLIED = {Payment.Outcome.APPLIED.value, Payment.Outcome.OVERPAID.value}
ZERO = Decimal("0.00")
L = LedgerEntry


class Receipt(NamedTuple):
    """Money that arrived for an order. ``payer_account`` is the stored (encrypted) form, copied
    as is; ``payer_account_digest`` its blind index, compared with the order's basic account."""

    channel: str
    source_ref: str
    order_id: int
    amount: Decimal
    paid_at: datetime
    payer_name: str = ""
    payer_account: str = ""
    payer_account_digest: str = ""
    payer_account_tail: str = ""
    payer_bank: str = ""
    statement_line_id: int | None = None
    # Whether the payer rule is checked here: bank lines carry the payer; a voucher's reviewer
    # and an online payment's checkout stand for it instead.
    payer_checked: bool = True


class OrderFacts(NamedTuple):
    id: int
    number: str
    state: str
    payable: Decimal
    deadline: datetime
    project_type: str
    payer_name: str
    payer_digest: str
    enterprise_name: str
    version: int
    issuer_code: str
    operator_phone: str
    paid: bool
    voucher_unlinked: tuple[int, Decimal] | None = None  # (payment id, amount)


class Decision(NamedTuple):
    outcome: str
    reason_code: str = ""
    reason: str = ""
    refund: Decimal = Decimal("0.00")
    fee: Decimal = Decimal("0.00")
    transition: str = ""  # confirm_payment, refuse_payment or none


@dataclass
class SettleResult:
    payments: list[int] = field(default_factory=list)
    skipped: int = 0  # already settled earlier (a replay)
    outcomes: dict[str, int] = field(default_factory=dict)
    paid_orders: list[int] = field(default_factory=list)
    unmatched: int = 0  # statement lines left for staff
    lines: list[int] = field(default_factory=list)  # statement lines settled (as payments, or reconciled)

    def merge(self, other: SettleResult) -> None:
        self.payments += other.payments
        self.paid_orders += other.paid_orders
        self.skipped += other.skipped
        self.unmatched += other.unmatched
        self.lines += other.lines
        for outcome, count in other.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + count


@functools.lru_cache(maxsize=4096)  # the same few payers and enterprises, line after line
def name_normal(name: str) -> str:
    """Names compared as a bank prints them: full-width brackets and spaces don't count."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def payer_rule(pack: RulePack, project_type: str) -> PayerAccount:
    for rule in pack.payment.payer_rules:
        if project_type in rule.project_types:
            return rule.payer
    return pack.payment.payer_default


def _payer_problem(*, facts: OrderFacts, receipt: Receipt, rule: PayerAccount) -> tuple[str, str]:
    if rule == PayerAccount.ANY or not receipt.payer_checked:
        return "", ""
    name_ok = name_normal(receipt.payer_name) == name_normal(
        facts.payer_name if rule == PayerAccount.BASIC_ACCOUNT else facts.enterprise_name
    )
    if rule == PayerAccount.ENTERPRISE_ACCOUNT:
        if name_ok:
            return "", ""
        return "payer_name_mismatch", f"付款户名（{receipt.payer_name}）与投保企业名称（{facts.enterprise_name}）不一致"
    if not facts.payer_digest:
        return "basic_account_unknown", "订单未登记企业基本户，无法核对付款账户"
    account_ok = bool(receipt.payer_account_digest) and receipt.payer_account_digest == facts.payer_digest
    if account_ok and name_ok:
        return "", ""
    if not account_ok and not name_ok:
        return "payer_account_and_name_mismatch", "付款账号和户名均与企业基本户不一致：未使用企业基本户支付"
    if not account_ok:
        return "payer_account_mismatch", "付款账号与企业基本户账号不一致：未使用企业基本户支付"
    return "payer_name_mismatch", f"付款户名（{receipt.payer_name}）与企业基本户户名（{facts.payer_name}）不一致"


def receipt_assess(*, facts: OrderFacts, receipt: Receipt, pack: RulePack, paid: bool) -> Decision:
    """What happens to one receipt, given the order as it stands (``paid``: already paid)."""
    amount = receipt.amount
    fee = min(pack.payment.auto_refund_service_fee, amount)
    if paid:
        return Decision(Payment.Outcome.DUPLICATE, "duplicate", "订单已付款，本笔为重复支付，全额退回", refund=amount)
    if facts.state not in PAYABLE:
        return Decision(
            Payment.Outcome.REFUSED,
            "order_not_payable",
            f"订单当前状态（{facts.state}）不能付款",
            refund=amount - fee,
            fee=fee,
        )
    problems: list[tuple[str, str]] = []
    if receipt.paid_at > facts.deadline:
        problems.append(("payment_late", "付款时间晚于保证金缴纳截止时间"))
    code, text = _payer_problem(facts=facts, receipt=receipt, rule=payer_rule(pack, facts.project_type))
    if code:
        problems.append((code, text))
    if amount < facts.payable:
        problems.append(("amount_short", f"付款金额 {amount} 少于应付金额 {facts.payable}"))
    if problems:
        return Decision(
            Payment.Outcome.REFUSED,
            problems[0][0],
            "；".join(text for _, text in problems),
            refund=amount - fee,
            fee=fee,
            transition="refuse_payment",
        )
    if amount > facts.payable:
        surplus = amount - facts.payable
        return Decision(
            Payment.Outcome.OVERPAID,
            "overpaid",
            f"付款金额 {amount} 多于应付金额 {facts.payable}，差额 {surplus} 退回",
            refund=surplus,
            transition="confirm_payment",
        )
    return Decision(Payment.Outcome.APPLIED, transition="confirm_payment")


def _facts_lock(order_ids: Sequence[int]) -> dict[int, OrderFacts]:
    with bulk_cursor() as cursor:
        cursor.execute(
            """
            SELECT o.id, o.number, o.state, o.payable_amount, s.deposit_deadline, s.project_type,
                   o.payer_account_name, o.payer_account_digest, e.name, o.rule_pack_version,
                   o.issuer_code, o.operator_phone
              FROM guarantees_order o
              JOIN sections_section s ON s.id = o.section_id
              JOIN guarantees_enterprise e ON e.id = o.enterprise_id
             WHERE o.id = ANY(%b)
             ORDER BY o.id
               FOR UPDATE OF o
            """,
            [list(order_ids)],
        )
        rows = cursor.fetchall()
        cursor.execute(
            """SELECT order_id, id, channel, statement_line_id, amount FROM payments_payment
                WHERE order_id = ANY(%b) AND outcome = ANY(%b)""",
            [list(order_ids), sorted(APPLIED)],
        )
        applied = cursor.fetchall()
    paid = {int(row[0]) for row in applied}
    # A voucher approved before its bank line arrived: the line, when it comes, is that payment.
    unlinked = {
        int(row[0]): (int(row[1]), row[4]) for row in applied if row[2] == Payment.Channel.VOUCHER and row[3] is None
    }
    return {
        int(r[0]): OrderFacts(
            id=int(r[0]),
            number=r[1],
            state=r[2],
            payable=r[3],
            deadline=r[4],
            project_type=r[5],
            payer_name=r[6],
            payer_digest=r[7],
            enterprise_name=r[8],
            version=int(r[9]),
            issuer_code=r[10],
            operator_phone=r[11],
            paid=int(r[0]) in paid,
            voucher_unlinked=unlinked.get(int(r[0])),
        )
        for r in rows
    }


def _already_settled(receipts: Sequence[Receipt]) -> set[tuple[str, str]]:
    by_channel: dict[str, list[str]] = {}
    for r in receipts:
        by_channel.setdefault(r.channel, []).append(r.source_ref)
    seen: set[tuple[str, str]] = set()
    with bulk_cursor() as cursor:
        for channel, refs in by_channel.items():
            cursor.execute(
                "SELECT source_ref FROM payments_payment WHERE channel = %s AND source_ref = ANY(%b)", [channel, refs]
            )
            seen.update((channel, row[0]) for row in cursor.fetchall())
    return seen


def _working_days_after(start: date, days: int) -> date:
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def receipts_settle(*, receipts: Sequence[Receipt], actor: Actor, claimed: bool = False) -> SettleResult:
    """Settle ``receipts`` in one transaction. Safe to call twice with the same receipts.

    ``claimed``: the caller took these receipts' sources in this transaction (statement lines
    off the queue of open lines), so none can have been settled before, and the look-up is
    skipped (the unique source constraint still stands behind it)."""
    if len(receipts) < 1000 or not gc.isenabled():
        return _settle(receipts=receipts, actor=actor, claimed=claimed)
    # A large batch makes a million short-lived objects and no cycles: collecting them meanwhile
    # only costs time.
    gc.disable()
    try:
        return _settle(receipts=receipts, actor=actor, claimed=claimed)
    finally:
        gc.enable()


def _settle(*, receipts: Sequence[Receipt], actor: Actor, claimed: bool) -> SettleResult:
    result = SettleResult()
    if not receipts:
        return result
    now = timezone.now()
    _, version_now = pack_in_force()
    packs: dict[int, RulePack] = {}
    with transaction.atomic():
        facts = _facts_lock(sorted({r.order_id for r in receipts}))
        settled = set() if claimed else _already_settled(receipts)
        fresh: list[Receipt] = []
        seen_refs: set[tuple[str, str]] = set()
        for r in sorted(receipts, key=lambda r: (r.order_id, r.paid_at, r.source_ref)):
            key = (r.channel, r.source_ref)
            if key in settled or key in seen_refs or r.order_id not in facts:
                result.skipped += 1
                continue
            seen_refs.add(key)
            voucher = facts[r.order_id].voucher_unlinked
            if r.statement_line_id is not None and voucher is not None and voucher[1] == r.amount:
                _voucher_line_link(payment_id=voucher[0], receipt=r, actor=actor, version=version_now)
                facts[r.order_id] = facts[r.order_id]._replace(voucher_unlinked=None)
                result.outcomes["reconciled"] = result.outcomes.get("reconciled", 0) + 1
                result.lines.append(r.statement_line_id)
                continue
            fresh.append(r)
        if not fresh:
            return result

        payment_ids = ids_take("payments_payment", len(fresh))
        state = {oid: (f.state, f.paid) for oid, f in facts.items()}
        decided: list[tuple[int, Receipt, Decision]] = []
        for pid, r in zip(payment_ids, fresh, strict=True):
            f = facts[r.order_id]
            if f.version not in packs:
                packs[f.version] = pack_of_version(f.version)
            current, paid = state[r.order_id]
            d = receipt_assess(
                facts=f if current == f.state else f._replace(state=current),
                receipt=r,
                pack=packs[f.version],
                paid=paid,
            )
            if d.transition:
                move = TRANSITIONS[d.transition]
                if current not in move.sources or actor.kind not in move.actors:
                    raise RuntimeError(f"settlement chose {d.transition} from {current} for {actor.kind}")
                state[r.order_id] = (move.target, d.outcome in APPLIED)
            decided.append((pid, r, d))

        refunds = [(pid, r, d) for pid, r, d in decided if d.refund > 0]
        payout_ids = ids_take("payments_payout", len(refunds))
        payout_of = dict(zip([pid for pid, _, _ in refunds], payout_ids, strict=True))
        today = timezone.localdate(now)

        rows_copy(
            "payments_payment",
            [
                "id",
                "order_id",
                "channel",
                "source_ref",
                "statement_line_id",
                "amount",
                "paid_at",
                "payer_name",
                "payer_account",
                "payer_account_tail",
                "payer_bank",
                "outcome",
                "reason_code",
                "reason",
                "created_at",
            ],
            (
                [
                    pid,
                    r.order_id,
                    r.channel,
                    r.source_ref,
                    r.statement_line_id,
                    r.amount,
                    r.paid_at,
                    r.payer_name[:200],
                    r.payer_account,
                    r.payer_account_tail,
                    r.payer_bank[:200],
                    d.outcome,
                    d.reason_code,
                    d.reason[:500],
                    now,
                ]
                for pid, r, d in decided
            ),
        )
        payout_rows = []
        for pid, r, d in refunds:
            pack = packs[facts[r.order_id].version]
            working = pack.payment.auto_refund_working_days
            payout_rows.append(
                [
                    payout_of[pid],
                    number_make(prefix="R", ident=payout_of[pid], when=now),
                    r.order_id,
                    pid,
                    {
                        Payment.Outcome.REFUSED: Payout.Kind.REFUSED,
                        Payment.Outcome.DUPLICATE: Payout.Kind.DUPLICATE,
                        Payment.Outcome.OVERPAID: Payout.Kind.SURPLUS,
                    }[Payment.Outcome(d.outcome)].value,
                    Payout.Method.ONLINE if r.channel == Payment.Channel.ONLINE else Payout.Method.BANK,
                    Payout.State.DUE,
                    d.refund,
                    d.fee,
                    d.reason[:500],
                    r.payer_name[:200],
                    r.payer_account,
                    r.payer_bank[:200],
                    "",
                    "",
                    0,
                    _working_days_after(today, working) if working else None,
                    now,
                ]
            )
        rows_copy(
            "payments_payout",
            [
                "id",
                "number",
                "order_id",
                "payment_id",
                "kind",
                "method",
                "state",
                "amount",
                "fee",
                "reason",
                "payee_name",
                "payee_account",
                "payee_bank",
                "reference",
                "failure",
                "attempts",
                "due_by",
                "created_at",
            ],
            payout_rows,
        )
        if any(row[5] == Payout.Method.ONLINE for row in payout_rows):  # sent back through Stripe by a job
            centre_due_mark(job="payments.online_payouts_send")
        # One movement per receipt: the cash in, split into premium kept, refund owed and fee.
        rows_copy(
            "payments_ledgerentry",
            ["kind", "payment_id", "cash", "premium", "fee", "refunds_due", "created_at"],
            (
                [
                    L.Kind.PAYMENT_RECEIVED.value,
                    pid,
                    r.amount,
                    -(r.amount - d.refund) if d.outcome in APPLIED else ZERO,
                    -d.fee,
                    -d.refund,
                    now,
                ]
                for pid, r, d in decided
            ),
        )

        events: list[list[Any]] = []
        moves: list[tuple[int, str, datetime | None, str]] = []
        for pid, r, d in decided:
            f = facts[r.order_id]
            data = {
                "payment": pid,
                "channel": r.channel,
                "amount": str(r.amount),
                "paid_at": r.paid_at.isoformat(),
                "outcome": d.outcome,
            }
            if d.refund:
                data["refund"] = str(d.refund)
                data["payout"] = payout_of[pid]
            if d.fee:
                data["fee"] = str(d.fee)
            # One event per receipt: the order's move when it makes one (with the payment in its
            # data), else the payment's own outcome on the order's timeline.
            moved = TRANSITIONS[d.transition] if d.transition else None
            events.append(
                [
                    r.order_id,
                    "order" if moved else "payment",
                    None if moved else pid,
                    d.transition if moved else f"payment_{d.outcome}",
                    f.state if moved else "",
                    moved.target if moved else "",
                    actor.kind.value,
                    actor.id,
                    actor.label,
                    d.reason[:500],
                    data,
                    version_now,
                    now,
                ]
            )
            if moved:
                paid_at = r.paid_at if d.outcome in APPLIED else None
                moves.append((r.order_id, moved.target, paid_at, r.source_ref[:64]))
        rows_copy(
            "guarantees_orderevent",
            [
                "order_id",
                "subject",
                "subject_id",
                "transition",
                "from_state",
                "to_state",
                "actor_kind",
                "actor_id",
                "actor_label",
                "reason",
                "data",
                "rule_pack_version",
                "created_at",
            ],
            events,
        )
        # Grouped by the state they reach (a receipt pays an order or cancels it): one update each.
        by_target: dict[str, list[list[Any]]] = {}
        for order_id, target, paid_at, reference in moves:
            by_target.setdefault(target, []).append([order_id, paid_at, reference])
        for target, rows in by_target.items():
            if rows[0][1] is not None:  # paid
                rows_update(
                    "guarantees_order",
                    "id",
                    {"id": "bigint", "paid_at": "timestamptz", "payment_reference": "text"},
                    rows,
                    fixed={"state": target, "updated_at": now},
                )
            else:
                rows_update(
                    "guarantees_order",
                    "id",
                    {"id": "bigint"},
                    [r[:1] for r in rows],
                    fixed={"state": target, "updated_at": now},
                )
        for _, _, d in decided:
            result.outcomes[d.outcome] = result.outcomes.get(d.outcome, 0) + 1
        result.payments = payment_ids
        result.lines += [r.statement_line_id for _, r, _ in decided if r.statement_line_id is not None]
        result.paid_orders = [m[0] for m in moves if m[2] is not None]
        _after_commit(payment_ids)
    return result


def _voucher_line_link(*, payment_id: int, receipt: Receipt, actor: Actor, version: int) -> None:
    """The bank line of a transfer whose voucher was approved: the same money, recorded once."""
    from baohan.guarantees.models import Order
    from baohan.guarantees.services.orders import order_event_record

    with connection.cursor() as cursor:  # the payer account is copied as stored (encrypted)
        cursor.execute(
            """UPDATE payments_payment SET statement_line_id = %s, payer_name = %s, payer_account = %s,
                      payer_account_tail = %s, payer_bank = %s
                WHERE id = %s AND statement_line_id IS NULL""",
            [
                receipt.statement_line_id,
                receipt.payer_name[:200],
                receipt.payer_account,
                receipt.payer_account_tail,
                receipt.payer_bank[:200],
                payment_id,
            ],
        )
    order = Order.objects.get(pk=receipt.order_id)
    order_event_record(
        order=order,
        subject="payment",
        subject_id=payment_id,
        transition="payment_reconciled",
        actor=actor,
        from_state="",
        to_state="",
        version=version,
        reason="银行流水与已审核的支付凭证核对一致",
        data={"statement_line": receipt.statement_line_id, "amount": str(receipt.amount)},
    )


def _after_commit(payment_ids: list[int]) -> None:
    """Tell the bidders once the money is on record: the texts' task is queued in this
    transaction (the outbox), so it is sent if and only if the settlement commits."""
    from baohan.outbox.services import outbox_enqueue

    for i in range(0, len(payment_ids), 500):
        outbox_enqueue(task="payments.settled", args=[payment_ids[i : i + 500]])
