"""Matching a large statement in parallel shares, on real PostgreSQL with committed data: each
share on its own connection, set to the centre it was started in; every line settled once;
a payment and its duplicate decided together; another centre's lines untouched."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import connection
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
    orders = [xinjiang_waiting() for _ in range(5)]
    twice = orders[0]
    lines = [line(w) for w in orders] + [line(twice), line(orders[1], remark="没有附言的转账")]
    _store("xinjiang", "guoren", ACCOUNT, lines)
    elsewhere = benxi_like_waiting("paytest")
    _store("paytest", "zijin", "2100000000000000001", [line(elsewhere)])

    with tenant_context(tenant("xinjiang")):
        result = intake.statement_lines_match(workers=2, parallel_from=1, chunk=2)
        states = dict(Order.objects.filter(number__in=[w.number for w in orders]).values_list("number", "state"))
        outcomes = Counter(Payment.objects.values_list("outcome", flat=True))
        paid_lines = Payment.objects.exclude(statement_line=None).count()
        matched = StatementLine.objects.filter(status="matched").count()
        unmatched = list(StatementLine.objects.filter(status="unmatched").values_list("pk", flat=True))
        open_lines = list(OpenLine.objects.values_list("line_id", flat=True))
        problems = ledger_problems()
    with tenant_context(tenant("paytest")):
        there = list(StatementLine.objects.values_list("status", flat=True))
        there_open = OpenLine.objects.count()
        there_paid = Payment.objects.filter(order__number=elsewhere.number).count()
    connection.set_schema_to_public()

    assert result.outcomes == {"applied": 5, "duplicate": 1}
    assert result.unmatched == 1
    assert states == {w.number: "awaiting_issue" for w in orders}
    assert outcomes == {"applied": 5, "duplicate": 1}
    assert paid_lines == matched == 6  # every matched line made one payment
    assert len(unmatched) == 1
    assert open_lines == unmatched  # only the unmatched line waits, for staff
    assert problems == []
    # The other centre's line was neither matched nor claimed by a thread set to Xinjiang.
    assert (there, there_open, there_paid) == (["new"], 1, 0)


def test_a_second_run_beside_or_after_the_first_settles_nothing_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake, "_match_soon", lambda: None)
    orders = [xinjiang_waiting() for _ in range(3)]
    _store("xinjiang", "guoren", ACCOUNT, [line(w) for w in orders])
    with tenant_context(tenant("xinjiang")):
        first = intake.statement_lines_match(workers=2, parallel_from=1, chunk=1)
        again = intake.statement_lines_match(workers=2, parallel_from=1, chunk=1)
        applied = Payment.objects.filter(order__number__in=[w.number for w in orders], outcome="applied").count()
    connection.set_schema_to_public()
    assert first.outcomes == {"applied": 3}
    assert (again.outcomes, again.payments) == ({}, [])
    assert applied == 3
