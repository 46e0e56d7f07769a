"""Matching a large statement in parallel shares, on real PostgreSQL with committed data: each
share on its own connection, set to the centre it was started in; every line settled once;
a payment and its duplicate decided together; another centre's lines untouched."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from baohan.guarantees.models import Order
from baohan.guarantees.states import Actor
from baohan.payments.models import OpenLine, Payment, StatementLine
from baohan.payments.selectors import ledger_problems
from baohan.payments.services import intake
from tests.api import tenant
from tests.money import benxi_like_waiting, line, xinjiang_waiting

pytestmark = pytest.mark.usefixtures("committed_db")
ACCOUNT = "3000000000000000001"  # 国任's receiving account in Xinjiang's pack


def _store(centre: str, issuer: str, account: str, lines: list[Any]) -> None:
    with tenant_context(tenant(centre)):
        intake.statement_lines_store(
            issuer_code=issuer, account_number=account, lines=lines, source="command", actor=Actor.system()
        )
    connection.set_schema_to_public()


def test_shares_settle_each_line_once_in_their_own_centre(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stored lines would be matched as soon as they are committed; here the test matches them.
    monkeypatch.setattr(intake, "_match_soon", lambda: None)
    shares: list[int] = []
    settle_shares = intake._shares_settle

    def counted(parts: Any, **kwargs: Any) -> Any:
        shares.append(len(parts))
        return settle_shares(parts, **kwargs)

    monkeypatch.setattr(intake, "_shares_settle", counted)
    orders = [xinjiang_waiting() for _ in range(6)]
    numbers = [w.number for w in orders]
    twice = orders[0]
    lines = [line(w) for w in orders] + [line(twice), line(orders[1], remark="没有附言的转账")]
    refs = [ln.reference for ln in lines]
    _store("xinjiang", "guoren", ACCOUNT, lines)
    elsewhere = benxi_like_waiting("paytest")
    there_line = line(elsewhere)
    _store("paytest", "zijin", "2100000000000000001", [there_line])

    with tenant_context(tenant("xinjiang")):
        result = intake.statement_lines_match(workers=2, parallel_from=1, chunk=2)
        states = dict(Order.objects.filter(number__in=numbers).values_list("number", "state"))
        outcomes = Counter(Payment.objects.filter(order__number__in=numbers).values_list("outcome", flat=True))
        mine = StatementLine.objects.filter(reference__in=refs)
        paid_lines = Payment.objects.filter(statement_line__in=mine).count()
        statuses = Counter(mine.values_list("status", flat=True))
        waiting_lines = list(OpenLine.objects.filter(line__in=mine).values_list("line__status", flat=True))
        problems = [p for p in ledger_problems() if p.number in numbers]
    with tenant_context(tenant("paytest")):
        there = StatementLine.objects.get(reference=there_line.reference)
        there_state = (there.status, OpenLine.objects.filter(line=there).exists(), hasattr(there, "payment"))
    connection.set_schema_to_public()

    assert shares == [2]  # the lines were shared between two threads
    assert result.outcomes == {"applied": 6, "duplicate": 1}
    assert result.unmatched == 1
    assert states == dict.fromkeys(numbers, "awaiting_issue")
    assert outcomes == {"applied": 6, "duplicate": 1}
    assert statuses == {"matched": 7, "unmatched": 1}
    assert paid_lines == 7  # every matched line made one payment
    assert waiting_lines == ["unmatched"]  # only the unmatched line waits, for staff
    assert problems == []
    # The other centre's line was neither matched nor claimed by a thread set to Xinjiang.
    assert there_state == ("new", True, False)
    with tenant_context(tenant("paytest")):  # leave nothing for a later test's matcher there
        OpenLine.objects.filter(line=there).delete()
        StatementLine.objects.filter(pk=there.pk).update(status="dismissed")
    connection.set_schema_to_public()


def test_two_runs_side_by_side_settle_each_line_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake, "_match_soon", lambda: None)
    orders = [xinjiang_waiting() for _ in range(8)]
    numbers = [w.number for w in orders]
    _store("xinjiang", "guoren", ACCOUNT, [line(w) for w in orders])
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with tenant_context(tenant("xinjiang")):
                barrier.wait(timeout=30)
                results.append(intake.statement_lines_match(workers=2, parallel_from=1, chunk=1))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with tenant_context(tenant("xinjiang")):
        applied = Payment.objects.filter(order__number__in=numbers, outcome="applied").count()
        others = Payment.objects.filter(order__number__in=numbers).exclude(outcome="applied").count()
    connection.set_schema_to_public()
    # Between them the two runs settled every line, once.
    assert sum(r.outcomes.get("applied", 0) for r in results) == 8
    assert (applied, others) == (8, 0)
