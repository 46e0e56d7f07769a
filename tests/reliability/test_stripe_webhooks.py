"""Stripe webhooks, signed by Stripe's own code (``stripe.WebhookSignature``, the documented scheme
``t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>``) and checked by ``stripe.Webhook.construct_event``:
unsigned, wrongly signed, stale, future-dated, replayed and other centres' events are refused or ignored
and change nothing in any centre; the genuine event is applied once."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import stripe
from django.core.management import call_command
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from baohan.guarantees.models import Order, OrderEvent
from baohan.identity.services.integrations import stripe_settings_set
from baohan.ops.dev_secrets import DEV_STRIPE_WEBHOOK_SECRET
from baohan.payments.models import CheckoutSession, Payment, Payout, StripeEvent
from baohan.payments.services.online import WebhookRefused, webhook_event_verify
from tests.api import tenant
from tests.fake_stripe import FakeStripe, event_payload
from tests.money import WEBHOOK_SECRET, Waiting, benxi_like_waiting, in_centre, stripe_fake

pytestmark = pytest.mark.django_db

CENTRE = "paytest"
OTHERS = ("benxi", "xinjiang")
TOLERANCE = 300  # settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, *, at: int | None = None) -> str:
    """The header Stripe sends, by stripe-python's own signing code."""
    return str(stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, timestamp=at))


def v1(payload: bytes, at: int, secret: str = WEBHOOK_SECRET) -> str:
    """The documented scheme by hand: hex HMAC-SHA256 of "<t>.<body>" (stripe's ``_compute_signature``)."""
    return str(stripe.WebhookSignature._compute_signature(f"{at}.{payload.decode()}", secret))


def post(centre: str, payload: bytes, header: str | None) -> Any:
    extra = {"HTTP_HOST": f"{centre}.localhost"}
    if header is not None:
        extra["HTTP_STRIPE_SIGNATURE"] = header
    return Client().post("/api/v1/stripe/webhook", payload, content_type="application/json", **extra)


def everything() -> dict[str, Any]:
    """What a webhook could change, in the centre and in the others."""

    def rows() -> tuple[Any, ...]:
        return (
            list(Order.objects.order_by("id").values_list("number", "state", "updated_at")),
            list(Payment.objects.order_by("id").values_list("id", "outcome", "amount")),
            list(StripeEvent.objects.order_by("id").values_list("event_id", "outcome")),
            list(Payout.objects.order_by("id").values_list("id", "state")),
            list(CheckoutSession.objects.order_by("id").values_list("session_id", "payment_intent")),
            OrderEvent.objects.count(),
        )

    return {code: in_centre(code, rows) for code in (CENTRE, *OTHERS)}


def paid(fake: FakeStripe, waiting: Waiting, **kw: Any) -> tuple[bytes, dict[str, Any]]:
    status, checkout = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/checkout")
    assert status == 201, checkout
    session = fake.complete(checkout["session_id"], payment_method_type="card")
    return event_payload("checkout.session.completed", session, **kw), session


def forgeries(payload: bytes, other: bytes) -> dict[str, Callable[[], tuple[bytes, str | None]]]:
    """Each forged or unusable request, built when it is sent (timestamps are relative to then)."""

    def at(delta: int, *, secret: str = WEBHOOK_SECRET, body: bytes = payload) -> Callable[[], tuple[bytes, str]]:
        def make() -> tuple[bytes, str]:
            then = int(time.time()) + delta
            return payload, f"t={then},v1={v1(body, then, secret)}"

        return make

    def header(make: Callable[[int], str], body: bytes = payload) -> Callable[[], tuple[bytes, str | None]]:
        return lambda: (body, make(int(time.time())))

    tampered = payload.replace(b'"amount_total": ', b'"amount_total": 9')
    assert tampered != payload
    return {
        "unsigned": lambda: (payload, None),
        "empty header": header(lambda now: ""),
        "timestamp only": header(lambda now: f"t={now}"),
        "signature only": header(lambda now: f"v1={v1(payload, now)}"),
        "wrong secret": at(0, secret="whsec_wrong"),
        "the published development secret": at(0, secret=DEV_STRIPE_WEBHOOK_SECRET),
        "another centre's own secret": at(0, secret="whsec_benxi_own_secret_0000"),
        "another body's signature": at(0, body=other),
        "tampered body": header(lambda now: sign(payload, at=now), body=tampered),
        "signature of another timestamp": header(lambda now: f"t={now},v1={v1(payload, now - 1)}"),
        "v0 scheme only": header(lambda now: f"t={now},v0={v1(payload, now)}"),
        "upper-case hex": header(lambda now: f"t={now},v1={v1(payload, now).upper()}"),
        "truncated signature": header(lambda now: f"t={now},v1={v1(payload, now)[:32]}"),
        "garbage timestamp": header(lambda now: f"t=abc,v1={v1(payload, now)}"),
        "negative timestamp": header(lambda now: f"t=-1,v1={v1(payload, -1)}"),
        "stale by tolerance + 1 s": at(-(TOLERANCE + 1)),
        "stale by a day": at(-86_400),
        "future by 60 s": at(60),
        "future by a day": at(86_400),
    }


def test_the_signing_scheme_is_stripes_own() -> None:
    payload = b'{"id": "evt_1", "object": "event", "type": "ping", "data": {"object": {}}}'
    now = int(time.time())
    assert sign(payload, at=now) == f"t={now},v1={v1(payload, now)}"
    event = stripe.Webhook.construct_event(payload.decode(), f"t={now},v1={v1(payload, now)}", WEBHOOK_SECRET)
    assert event.id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload.decode(), f"t={now},v1={v1(payload, now, 'whsec_x')}", WEBHOOK_SECRET)


def test_forged_events_are_refused_and_change_nothing_then_the_genuine_one_applies_once() -> None:
    waiting = benxi_like_waiting(CENTRE)
    with stripe_fake() as fake:
        payload, _ = paid(fake, waiting, event_id="evt_reliability_paid")
        other = event_payload("checkout.session.completed", {"id": "cs_other", "payment_status": "paid"})
        before = everything()
        cases = forgeries(payload, other)
        accepted = 0
        for name, make in cases.items():
            body, header = make()
            response = post(CENTRE, body, header)
            accepted += response.status_code == 200
            assert response.status_code == 400, (name, response.content)
            assert response.json()["code"] == "bad_signature", name
        assert accepted == 0
        assert everything() == before  # no order, payment, event record, payout or session changed anywhere

        # The genuine event, once; then replays: the same request, and the same event signed afresh.
        header = sign(payload)
        response = post(CENTRE, payload, header)
        assert (response.status_code, response.json()["outcome"]) == (200, "applied")
        after = everything()
        assert after != before
        assert in_centre(CENTRE, lambda: Order.objects.get(number=waiting.number).state) == "awaiting_issue"
        replays = [post(CENTRE, payload, header), post(CENTRE, payload, sign(payload))]
        assert [(r.status_code, r.json()["outcome"]) for r in replays] == [(200, "duplicate event")] * 2
        # A replay after the tolerance is stale before it is a duplicate.
        stale = post(CENTRE, payload, sign(payload, at=int(time.time()) - TOLERANCE - 1))
        assert stale.status_code == 400
        assert everything() == after
        assert in_centre(CENTRE, lambda: Payment.objects.filter(order__number=waiting.number).count()) == 1


def test_signed_events_of_the_wrong_shape_are_refused_without_a_5xx_and_pay_nothing() -> None:
    waiting = benxi_like_waiting(CENTRE)
    with stripe_fake() as fake:
        _, session = paid(fake, waiting)
        wrong = {**session, "amount_total": "abc", "metadata": "paytest"}
        bodies = [
            b"not json",
            b"[]",
            b'{"id": "evt_x", "type": "checkout.session.completed"}',
            b'{"id": "evt_y", "type": "checkout.session.completed", "data": []}',
            event_payload("checkout.session.completed", wrong),
            event_payload("checkout.session.completed", {**session, "customer_details": "x"}),
            event_payload("refund.updated", {"status": "succeeded"}),
            event_payload("refund.updated", {"id": "", "status": "succeeded"}),
        ]

        def money() -> dict[str, Any]:  # orders, payments, payouts, sessions (not the record of handled events)
            return {code: (s[0], s[1], s[3], s[4]) for code, s in everything().items()}

        before = money()
        for body in bodies:
            response = post(CENTRE, body, sign(body))
            assert response.status_code < 500, (body[:80], response.content)
            assert response.status_code == 400 or response.json()["outcome"] in ("unknown session", "unknown refund")
        assert money() == before
        assert in_centre(CENTRE, lambda: Payment.objects.filter(order__number=waiting.number).count()) == 0


def test_another_centres_events_change_nothing_in_either_centre() -> None:
    waiting = benxi_like_waiting(CENTRE)
    with stripe_fake() as fake:
        payload, session = paid(fake, waiting)
        before = everything()
        # This centre's genuine event, delivered to the other centres' endpoints (one Stripe account).
        for code in OTHERS:
            response = post(code, payload, sign(payload))
            assert response.status_code == 200
            assert response.json()["outcome"] == "ignored: another centre's event", code
        # An event naming another centre, delivered here.
        foreign = event_payload("checkout.session.completed", {**session, "metadata": {"schema": "benxi"}})
        response = post(CENTRE, foreign, sign(foreign))
        assert response.json()["outcome"] == "ignored: another centre's event"
        # Without a centre in its metadata, another centre's session is unknown here.
        bare = event_payload("checkout.session.completed", {**session, "metadata": {}})
        response = post("benxi", bare, sign(bare))
        assert response.json()["outcome"] == "unknown session"
        assert everything() == before

        # A centre with its own Stripe account accepts only its own secret, and this centre never that one.
        own = "whsec_benxi_own_secret_0000"
        with tenant_context(tenant("benxi")):
            stripe_settings_set(secret_key="sk_test_benxi_000000", webhook_secret=own, overlap_hours=0)
        assert post("benxi", payload, sign(payload)).status_code == 400
        assert post(CENTRE, payload, sign(payload, own)).status_code == 400
        assert post("benxi", payload, sign(payload, own)).json()["outcome"] == "ignored: another centre's event"
        assert everything() == before


def test_development_has_a_published_webhook_secret_to_sign_events_with() -> None:
    payload = event_payload("ping", {"id": "x"})
    with override_settings(STRIPE_WEBHOOK_SECRET=DEV_STRIPE_WEBHOOK_SECRET, DEBUG=True):
        out = io.StringIO()
        with tenant_context(tenant(CENTRE)):
            header = _signed_by_command(payload, out)
            assert webhook_event_verify(payload=payload, signature=header).type == "ping"
            with pytest.raises(WebhookRefused):
                webhook_event_verify(payload=payload, signature=sign(payload))  # another secret
    assert header.startswith("t=")
    assert ",v1=" in header


def _signed_by_command(payload: bytes, out: io.StringIO) -> str:
    import sys

    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(payload))
    try:
        call_command("stripe_event_sign", "-", stdout=out)
    finally:
        sys.stdin = stdin
    return out.getvalue().strip()


def test_deep_and_huge_webhook_bodies_are_refused_before_any_signature_work() -> None:
    before = everything()
    deep = b"[" * 10_000 + b"]" * 10_000
    response = post(CENTRE, deep, sign(deep))
    assert (response.status_code, response.json()["code"]) == (400, "too_deep")
    assert everything() == before
    assert json.loads(post(CENTRE, b"{}", None).content)["code"] == "bad_signature"
