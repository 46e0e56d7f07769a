"""Reads over money: an order's balances and the ledger check."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection


@dataclass(frozen=True)
class LedgerProblem:
    order_id: int
    number: str
    problem: str


def ledger_problems() -> list[LedgerProblem]:
    """Every order whose ledger does not balance, with what is wrong:

    - a movement whose legs do not sum to zero (so the order's entries do not either);
    - money owed back (the refunds-due account) that differs from its open payouts;
    - premium held that differs from what the order's state says was paid and kept.
    """
    checks = {
        "movement does not sum to zero": """
            SELECT DISTINCT l.order_id FROM payments_ledgerentry l
             GROUP BY l.order_id, l.movement HAVING sum(l.amount) <> 0""",
        "refunds due differ from open payouts": """
            SELECT o.id FROM guarantees_order o
              LEFT JOIN (SELECT order_id, sum(amount) AS owed FROM payments_ledgerentry
                          WHERE account = 'refunds_due' GROUP BY order_id) l ON l.order_id = o.id
              LEFT JOIN (SELECT order_id, sum(amount) AS open FROM payments_payout
                          WHERE state <> 'paid' GROUP BY order_id) p ON p.order_id = o.id
             WHERE coalesce(-l.owed, 0) <> coalesce(p.open, 0)""",
        "premium differs from the applied payment": """
            SELECT o.id FROM guarantees_order o
              LEFT JOIN (SELECT order_id, sum(amount) AS premium FROM payments_ledgerentry
                          WHERE account = 'premium' GROUP BY order_id) l ON l.order_id = o.id
              LEFT JOIN (SELECT order_id, sum(amount) AS paid FROM payments_payment
                          WHERE outcome IN ('applied', 'overpaid') GROUP BY order_id) pay ON pay.order_id = o.id
              LEFT JOIN (SELECT order_id, sum(amount) AS surplus FROM payments_payout
                          WHERE kind IN ('surplus', 'surrender') GROUP BY order_id) back ON back.order_id = o.id
             WHERE coalesce(-l.premium, 0) <> coalesce(pay.paid, 0) - coalesce(back.surplus, 0)""",
        "paid order without an applied payment": """
            SELECT o.id FROM guarantees_order o
             WHERE o.state IN ('awaiting_issue', 'issued', 'surrendered')
               AND o.paid_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM payments_payment p
                                WHERE p.order_id = o.id AND p.outcome IN ('applied', 'overpaid'))""",
    }
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
            "SELECT account, sum(amount) FROM payments_ledgerentry WHERE order_id = %s GROUP BY account", [order_id]
        )
        return {account: Decimal(total) for account, total in cursor.fetchall()}
