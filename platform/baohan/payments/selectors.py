"""Reads over money: an order's balances and the ledger check."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from baohan.payments.models import StatementLine


@dataclass(frozen=True)
class LedgerProblem:
    order_id: int
    number: str
    problem: str


# Each ledger movement with its order (the order of the payment or payout it records).
LEDGER = """(SELECT coalesce(p.order_id, po.order_id) AS order_id, l.cash, l.premium, l.fee, l.refunds_due
              FROM payments_ledgerentry l
              LEFT JOIN payments_payment p ON p.id = l.payment_id
              LEFT JOIN payments_payout po ON po.id = l.payout_id)"""


def ledger_problems() -> list[LedgerProblem]:
    """Every order whose ledger disagrees with the money records, with what is wrong:

    - money owed back (the refunds-due account) that differs from its open payouts;
    - premium held that differs from what was paid and kept;
    - cash held that differs from the money received less the money paid back;
    - a paid order without an applied payment.

    (Each movement balancing is the database's to enforce: ``ledger_movement_balances``.)
    """
    checks = {
        "refunds due differ from open payouts": """
            SELECT o.id FROM guarantees_order o
              LEFT JOIN (SELECT order_id, sum(refunds_due) AS owed FROM {LEDGER} m
                          GROUP BY order_id) l ON l.order_id = o.id
              LEFT JOIN (SELECT order_id, sum(amount) AS open FROM payments_payout
                          WHERE state <> 'paid' GROUP BY order_id) p ON p.order_id = o.id
             WHERE coalesce(-l.owed, 0) <> coalesce(p.open, 0)""",
        "premium differs from the applied payment": """
            SELECT o.id FROM guarantees_order o
              LEFT JOIN (SELECT order_id, sum(premium) AS premium FROM {LEDGER} m
                          GROUP BY order_id) l ON l.order_id = o.id
              LEFT JOIN (SELECT order_id, sum(amount) AS paid FROM payments_payment
                          WHERE outcome IN ('applied', 'overpaid') GROUP BY order_id) pay ON pay.order_id = o.id
              LEFT JOIN (SELECT order_id, sum(amount) AS surplus FROM payments_payout
                          WHERE kind IN ('surplus', 'surrender') GROUP BY order_id) back ON back.order_id = o.id
             WHERE coalesce(-l.premium, 0) <> coalesce(pay.paid, 0) - coalesce(back.surplus, 0)""",
        "cash differs from money received less money paid back": """
            SELECT o.id FROM guarantees_order o
              LEFT JOIN (SELECT order_id, sum(cash) AS cash FROM {LEDGER} m
                          GROUP BY order_id) l ON l.order_id = o.id
              LEFT JOIN (SELECT order_id, sum(amount) AS received FROM payments_payment
                          GROUP BY order_id) pay ON pay.order_id = o.id
              LEFT JOIN (SELECT order_id, sum(amount) AS back FROM payments_payout
                          WHERE state = 'paid' GROUP BY order_id) back ON back.order_id = o.id
             WHERE coalesce(l.cash, 0) <> coalesce(pay.received, 0) - coalesce(back.back, 0)""",
        "paid order without an applied payment": """
            SELECT o.id FROM guarantees_order o
             WHERE o.state IN ('awaiting_issue', 'issued', 'surrendered')
               AND o.paid_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM payments_payment p
                                WHERE p.order_id = o.id AND p.outcome IN ('applied', 'overpaid'))""",
    }
    checks = {problem: sql.replace("{LEDGER}", LEDGER) for problem, sql in checks.items()}
    found: dict[int, list[str]] = {}
    with connection.cursor() as cursor:
        for problem, sql in checks.items():
            cursor.execute(sql)
            for (order_id,) in cursor.fetchall():
                found.setdefault(int(order_id), []).append(problem)
        if not found:
            return []
        cursor.execute("SELECT id, number FROM guarantees_order WHERE id = ANY(%s)", [sorted(found)])
        numbers = dict(cursor.fetchall())
    return [
        LedgerProblem(order_id=oid, number=numbers.get(oid, "?"), problem="; ".join(problems))
        for oid, problems in sorted(found.items())
    ]


def order_balances(*, order_id: int) -> dict[str, Decimal]:
    """Each account's sum for the order (cash held, premium kept, fee kept, refunds owed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT coalesce(sum(cash), 0), coalesce(sum(premium), 0), coalesce(sum(fee), 0),
                      coalesce(sum(refunds_due), 0)
                 FROM payments_ledgerentry
                WHERE payment_id IN (SELECT id FROM payments_payment WHERE order_id = %s)
                   OR payout_id IN (SELECT id FROM payments_payout WHERE order_id = %s)""",
            [order_id, order_id],
        )
        row = cursor.fetchone()
    return dict(zip(["cash", "premium", "fee", "refunds_due"], (Decimal(v) for v in row), strict=True))


def statement_lines_of(*, issuer_code: str, status: str = "") -> QuerySet[StatementLine]:
    """An issuer's statement lines, oldest first; with ``status``, only those. Lines still
    waiting (new, unmatched) are read through the queue of open lines."""
    lines = StatementLine.objects.filter(issuer_code=issuer_code).select_related("payment__order")
    if status in (StatementLine.Status.NEW, StatementLine.Status.UNMATCHED):
        return lines.filter(open__isnull=False, status=status)
    return lines.filter(status=status) if status else lines
