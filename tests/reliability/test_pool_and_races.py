"""Bounded connections and money races on real server processes and real PostgreSQL.

The orders are prepared in this process (committed rows); the racing calls go over HTTP, each on
a connection of its own and released together, to a server process: gunicorn with the production
configuration (2 processes x 4 threads, a pool of at most 4 connections per process), and the
development server as ``make run`` starts it. Measured each time: the answers (no 5xx, no call
without an answer), the effects (exactly one), and the server's own connections to PostgreSQL
(never more than processes x pool size, far under ``max_connections``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context

from baohan.documents.models import Policy
from baohan.guarantees.models import Order, OrderEvent, Refund
from baohan.identity.models import SmsMessage
from baohan.payments.models import Payment, StatementLine
from baohan.payments.selectors import ledger_problems
from tests.api import png_bytes, tenant
from tests.fake_stripe import FakeStripe, event_payload, signature_header
from tests.money import STRIPE_KEY, WEBHOOK_SECRET, Waiting, benxi_like_waiting, line, statement_csv, xinjiang_waiting
from tests.reliability.server import Call, ConnectionSampler, Server, Tally, burst, server_running, tally

pytestmark = pytest.mark.usefixtures("committed_db")
PROCESSES, THREADS, POOL_MAX = 2, 4, 4


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe(api_key=STRIPE_KEY) as fake:
        yield fake


def _stripe_env(fake: FakeStripe) -> dict[str, str]:
    return {"STRIPE_SECRET_KEY": STRIPE_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": fake.base_url}


@pytest.fixture(scope="module")
def gunicorn(
    django_db_setup: None, django_db_blocker: Any, fake_stripe: FakeStripe, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with server_running(
        "gunicorn",
        log_dir=tmp_path_factory.mktemp("gunicorn"),
        processes=PROCESSES,
        threads=THREADS,
        pool_max=POOL_MAX,
        env=_stripe_env(fake_stripe),
    ) as server:
        yield server


def _clean(server: Server, outcome: Tally, log: str) -> None:
    """No 5xx, no call without an HTTP answer, no error in what the server logged meanwhile."""
    assert outcome.server_errors == 0, (outcome.statuses, log[-3000:])
    assert outcome.connection_errors == 0, outcome.errors
    for sign in ("too many clients", "PoolTimeout", "connection refused", "Traceback"):
        assert sign not in log, log[-3000:]


def _confirmation_calls(waiting: Waiting, fake: FakeStripe, racers: int) -> list[Call]:
    """The same premium confirmed three ways at once: the bank statement imported again and again,
    Stripe's event delivered again and again, the voucher approved again and again."""
    _, upload = waiting.bidder.upload("/api/v1/uploads", "payment_voucher", "r.png", png_bytes())
    status, _ = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/voucher", {"upload": upload["id"]})
    assert status == 201
    _, page = waiting.issuer.get("/api/v1/issuer/vouchers/", state="submitted")
    voucher_id = next(v["id"] for v in page["results"] if v["order"] == waiting.number)
    statement = statement_csv([line(waiting)], account_number="2100000000000000001")
    issuer = {"Authorization": waiting.issuer.client.defaults["HTTP_AUTHORIZATION"]}
    with override_settings(
        STRIPE_SECRET_KEY=STRIPE_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_API_BASE=fake.base_url
    ):
        status, checkout = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/checkout")
    assert status in (200, 201), checkout
    payload = event_payload("checkout.session.completed", fake.complete(checkout["session_id"]))
    host = f"{waiting.centre}.localhost"
    kinds = [
        Call(
            "POST", "/api/v1/issuer/statements", host, issuer, files={"file": ("s.csv", statement)}, label="statement"
        ),
        Call(
            "POST",
            "/api/v1/stripe/webhook",
            host,
            {"Stripe-Signature": signature_header(payload, WEBHOOK_SECRET)},
            raw=payload,
            label="webhook",
        ),
        Call(
            "POST",
            f"/api/v1/issuer/vouchers/{voucher_id}/decision",
            host,
            issuer,
            json={"approve": True},
            label="voucher",
        ),
    ]
    return [kinds[i % 3] for i in range(racers)]


def _paid_once(waiting: Waiting) -> dict[str, Any]:
    with tenant_context(tenant(waiting.centre)):
        order = Order.objects.get(number=waiting.number)
        payments = list(Payment.objects.filter(order=order))
        facts = {
            "state": order.state,
            "applied": sum(1 for p in payments if p.outcome in ("applied", "overpaid")),
            "confirmations": OrderEvent.objects.filter(order=order, transition="confirm_payment").count(),
            "sms": SmsMessage.objects.filter(phone=waiting.operator.phone, template="payment_confirmed").count(),
            "statement_lines": StatementLine.objects.filter(payment__order=order).count(),
            "problems": [p for p in ledger_problems() if p.number == waiting.number],
        }
    connection.set_schema_to_public()
    return facts


@pytest.mark.parametrize("kind", ["gunicorn", "devserver"])
def test_fifty_concurrent_payment_confirmations_pay_once_with_no_5xx(
    kind: str, request: pytest.FixtureRequest, fake_stripe: FakeStripe, tmp_path: Path
) -> None:
    waiting = benxi_like_waiting("paytest")
    calls = _confirmation_calls(waiting, fake_stripe, 50)
    if kind == "gunicorn":
        server = request.getfixturevalue("gunicorn")
        race = _race(server, calls)
    else:
        # The development server (threads without a limit), one process, its pool of 4.
        with server_running("devserver", log_dir=tmp_path, pool_max=POOL_MAX, env=_stripe_env(fake_stripe)) as server:
            race = _race(server, calls)

    _clean(server, race.outcome, race.log)
    assert sum(race.outcome.statuses.values()) == 50
    assert race.outcome.statuses[("voucher", 200)] == 1, (
        race.outcome.statuses
    )  # the others are told it was decided (409)
    assert race.peak <= server.processes * POOL_MAX < race.max_connections
    assert _paid_once(waiting) == {
        "state": "awaiting_issue",
        "applied": 1,
        "confirmations": 1,
        "sms": 1,
        "statement_lines": 1,
        "problems": [],
    }


@dataclass
class Race:
    outcome: Tally
    peak: int  # the server's connections to PostgreSQL, at most, during the burst
    max_connections: int
    log: str  # what the server logged during the burst


def _race(server: Server, calls: list[Call]) -> Race:
    logged = len(server.log_text())
    with ConnectionSampler(server) as sampler:
        outcomes = burst(server, calls)
    time.sleep(0.5)  # the last lines of the log
    race = Race(tally(outcomes), sampler.peak, sampler.max_connections, server.log_text()[logged:])
    print(  # shown with -s: the figures of the README's Reliability table
        f"{server.kind}: {len(calls)} calls, answers {dict(race.outcome.statuses)}, "
        f"5xx {race.outcome.server_errors}, no answer {race.outcome.connection_errors}, "
        f"peak connections {race.peak} (limit {server.processes} x {server.pool_max}, "
        f"max_connections {race.max_connections})"
    )
    return race


def _awaiting_issue() -> Waiting:
    waiting = xinjiang_waiting()
    status, order = waiting.issuer.post(
        f"/api/v1/issuer/orders/{waiting.number}/payment",
        {"outcome": "confirmed", "amount": str(waiting.payable), "reference": f"BANK-RACE-{waiting.number}"},
    )
    assert (status, order.get("state")) == (200, "awaiting_issue"), order
    return waiting


def test_fifty_concurrent_issues_of_one_order_issue_it_once(gunicorn: Server) -> None:
    waiting = _awaiting_issue()
    issuer = {"Authorization": waiting.issuer.client.defaults["HTTP_AUTHORIZATION"]}
    call = Call("POST", f"/api/v1/issuer/orders/{waiting.number}/issue", "xinjiang.localhost", issuer, json={})
    race = _race(gunicorn, [call] * 50)

    _clean(gunicorn, race.outcome, race.log)
    assert race.outcome.statuses == {("", 200): 1, ("", 409): 49}, race.outcome.statuses
    assert race.peak <= PROCESSES * POOL_MAX < race.max_connections
    with tenant_context(tenant("xinjiang")):
        order = Order.objects.get(number=waiting.number)
        issues = OrderEvent.objects.filter(order=order, transition="issue").count()
        policies = Policy.objects.filter(order=order).count()
    connection.set_schema_to_public()
    assert (order.state, issues, policies) == ("issued", 1, 1)
    assert order.guarantee_number


def test_twenty_concurrent_refund_requests_make_one_refund(gunicorn: Server) -> None:
    waiting = _awaiting_issue()
    status, order = waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/issue", {})
    assert (status, order["state"]) == (200, "issued"), order
    bidder = {"Authorization": waiting.bidder.client.defaults["HTTP_AUTHORIZATION"]}
    call = Call(
        "POST", f"/api/v1/orders/{waiting.number}/refund", "xinjiang.localhost", bidder, json={"reason": "放弃投标"}
    )
    race = _race(gunicorn, [call] * 20)

    _clean(gunicorn, race.outcome, race.log)
    assert race.outcome.statuses == {("", 201): 1, ("", 409): 19}, race.outcome.statuses
    assert race.peak <= PROCESSES * POOL_MAX < race.max_connections
    with tenant_context(tenant("xinjiang")):
        refunds = Refund.objects.filter(order__number=waiting.number).count()
    connection.set_schema_to_public()
    assert refunds == 1


def test_fifty_concurrent_reads_hold_at_most_the_pool(gunicorn: Server) -> None:
    """Plain load: 50 callers at once on pages and API reads of two centres; every one answered,
    and the server never holds more connections than its processes' pools."""
    waiting = xinjiang_waiting()
    bidder = {"Authorization": waiting.bidder.client.defaults["HTTP_AUTHORIZATION"]}
    reads = [
        Call("GET", f"/api/v1/orders/{waiting.number}", "xinjiang.localhost", bidder, label="order"),
        Call("GET", "/", "benxi.localhost", label="home"),
        Call("GET", "/readyz", "localhost", label="readyz"),
    ]
    race = _race(gunicorn, [reads[i % 3] for i in range(50)])

    _clean(gunicorn, race.outcome, race.log)
    assert {status for (_, status) in race.outcome.statuses} == {200}, race.outcome.statuses
    assert 1 <= race.peak <= PROCESSES * POOL_MAX < race.max_connections
