"""Fifty confirmations of one payment racing each other on real PostgreSQL: the same bank line
imported again and again, the same Stripe event delivered again and again, the same voucher
approved again and again. One paid order, one issuance trigger, a ledger that balances."""

from __future__ import annotations

import io
import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django_tenants.utils import tenant_context

from baohan.guarantees.models import Order, OrderEvent
from baohan.identity.models import SmsMessage
from baohan.payments.models import Payment, StatementLine, StripeEvent
from baohan.payments.selectors import ledger_problems
from tests.api import tenant
from tests.fake_stripe import event_payload, signature_header
from tests.money import WEBHOOK_SECRET, benxi_like_waiting, line, statement_csv, stripe_fake

pytestmark = pytest.mark.usefixtures("committed_db")
RACERS = 50


def test_fifty_racing_confirmations_pay_once_and_trigger_issuance_once() -> None:
    waiting = benxi_like_waiting("paytest")
    _, upload = waiting.bidder.upload("/api/v1/uploads", "payment_voucher", "r.png", _png())
    status, _ = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/voucher", {"upload": upload["id"]})
    assert status == 201
    _, page = waiting.issuer.get("/api/v1/issuer/vouchers/", state="submitted")
    voucher_id = next(v["id"] for v in page["results"] if v["order"] == waiting.number)
    statement = statement_csv([line(waiting)], account_number="2100000000000000001")
    issuer_auth = waiting.issuer.client.defaults["HTTP_AUTHORIZATION"]

    with stripe_fake() as fake:
        _, checkout = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/checkout")
        payload = event_payload("checkout.session.completed", fake.complete(checkout["session_id"]))
        barrier = threading.Barrier(RACERS)
        answers: list[tuple[str, int]] = []
        lock = threading.Lock()

        def racer(i: int) -> None:
            client = Client(HTTP_HOST="paytest.localhost", HTTP_AUTHORIZATION=issuer_auth)
            try:
                barrier.wait(timeout=60)
                if i % 3 == 0:
                    file = io.BytesIO(statement)
                    file.name = "statement.csv"
                    kind, response = "statement", client.post("/api/v1/issuer/statements", {"file": file})
                elif i % 3 == 1:
                    kind, response = (
                        "webhook",
                        client.post(
                            "/api/v1/stripe/webhook",
                            payload,
                            content_type="application/json",
                            HTTP_STRIPE_SIGNATURE=signature_header(payload, WEBHOOK_SECRET),
                        ),
                    )
                else:
                    kind, response = (
                        "voucher",
                        client.post(
                            f"/api/v1/issuer/vouchers/{voucher_id}/decision",
                            {"approve": True},
                            content_type="application/json",
                        ),
                    )
                with lock:
                    answers.append((kind, response.status_code))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)

    tally = Counter(answers)
    assert sum(tally.values()) == RACERS, tally
    assert tally[("voucher", 200)] == 1  # decided once; the others were told it was decided
    assert tally[("voucher", 409)] == RACERS // 3 - 1 + (1 if RACERS % 3 > 2 else 0)
    assert {kind for (kind, code) in tally if code >= 500} == set()

    with tenant_context(tenant("paytest")):
        order = Order.objects.get(number=waiting.number)
        payments = list(Payment.objects.filter(order=order))
        applied = [p for p in payments if p.outcome in ("applied", "overpaid")]
        confirmations = OrderEvent.objects.filter(order=order, transition="confirm_payment").count()
        triggers = SmsMessage.objects.filter(phone=waiting.operator.phone, template="payment_confirmed").count()
        lines = StatementLine.objects.filter(payment__order=order).count()
        events = StripeEvent.objects.filter(type="checkout.session.completed", outcome__gt="").count()
        channels = Counter(p.channel for p in payments)
        problems = ledger_problems()
    connection.set_schema_to_public()
    assert order.state == "awaiting_issue"
    assert len(applied) == 1
    assert (confirmations, triggers) == (1, 1)
    assert lines == 1  # the statement was imported 17 times; its line is stored once
    assert events >= 1
    # Each source of money once: the bank line (or the voucher it proves), the online payment.
    assert all(n == 1 for n in channels.values()), channels
    assert problems == []


def _png() -> bytes:
    from tests.api import png_bytes

    return png_bytes()


def test_a_racing_pair_of_different_events_for_one_order_refunds_the_second(**_: Any) -> None:
    """Two genuine payments (an online one and a bank transfer) at once: the second is refunded."""
    waiting = benxi_like_waiting("paytest")
    statement = statement_csv([line(waiting)], account_number="2100000000000000001")
    issuer_auth = waiting.issuer.client.defaults["HTTP_AUTHORIZATION"]
    with stripe_fake() as fake:
        _, checkout = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/checkout")
        payload = event_payload("checkout.session.completed", fake.complete(checkout["session_id"]))
        barrier = threading.Barrier(2)

        def bank() -> None:
            client = Client(HTTP_HOST="paytest.localhost", HTTP_AUTHORIZATION=issuer_auth)
            try:
                file = io.BytesIO(statement)
                file.name = "s.csv"
                barrier.wait(timeout=30)
                client.post("/api/v1/issuer/statements", {"file": file})
            finally:
                connections.close_all()

        def online() -> None:
            client = Client(HTTP_HOST="paytest.localhost")
            try:
                barrier.wait(timeout=30)
                client.post(
                    "/api/v1/stripe/webhook",
                    payload,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=signature_header(payload, WEBHOOK_SECRET),
                )
            finally:
                connections.close_all()

        threads = [threading.Thread(target=bank), threading.Thread(target=online)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    with tenant_context(tenant("paytest")):
        outcomes = sorted(Payment.objects.filter(order__number=waiting.number).values_list("outcome", flat=True))
        refunds = list(
            Payment.objects.filter(order__number=waiting.number, outcome="duplicate").values_list(
                "payouts__amount", flat=True
            )
        )
        problems = ledger_problems()
    connection.set_schema_to_public()
    assert outcomes == ["applied", "duplicate"]
    assert refunds == [waiting.payable]
    assert problems == []
