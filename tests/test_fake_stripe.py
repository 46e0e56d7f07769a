"""The Stripe fake, driven by the real stripe-python client over HTTP (no database needed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from tests.fake_stripe import FakeStripe, event_payload, signature_header

KEY = "sk_test_fake_key"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe(api_key=KEY) as server:
        yield server


@pytest.fixture
def client(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(KEY, base_addresses={"api": fake.base_url}, max_network_retries=0)


def session_params(amount: int = 12345, **extra: Any) -> dict[str, Any]:
    return {
        "mode": "payment",
        "success_url": "https://xinjiang.example.com/pay/done?session={CHECKOUT_SESSION_ID}",
        "line_items": [
            {"price_data": {"currency": "cny", "unit_amount": amount, "product_data": {"name": "保函"}}, "quantity": 1}
        ],
        "allowed_payment_method_types": ["card", "alipay"],
        "metadata": {"schema": "xinjiang", "order": "42"},
        "client_reference_id": "order-42",
        **extra,
    }


def test_create_and_retrieve_session(fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "order-42"})
    assert session.id.startswith("cs_test_")
    assert session.url == f"https://checkout.stripe.com/c/pay/{session.id}"
    assert (session.amount_total, session.currency, session.status, session.payment_status) == (
        12345,
        "cny",
        "open",
        "unpaid",
    )
    assert session.metadata.to_dict() == {"schema": "xinjiang", "order": "42"}
    assert session.payment_intent is None
    method, path, params, headers = fake.requests[-1]
    assert (method, path, headers["Idempotency-Key"]) == ("POST", "/v1/checkout/sessions", "order-42")
    assert params["line_items"][0]["price_data"]["unit_amount"] == "12345"
    assert params["allowed_payment_method_types"] == ["card", "alipay"]
    assert session.payment_method_types == ["card", "alipay"]

    fake.complete(session.id, payment_method_type="alipay")
    again = client.v1.checkout.sessions.retrieve(session.id)
    assert (again.status, again.payment_status) == ("complete", "paid")
    assert again.payment_intent.startswith("pi_")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.checkout.sessions.retrieve("cs_test_unknown")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")


def test_validation_like_stripe(client: stripe.StripeClient) -> None:
    bad = session_params()
    del bad["line_items"][0]["price_data"]["currency"]
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(params=bad)
    assert error.value.param == "line_items[0][price_data][currency]"
    with pytest.raises(stripe.InvalidRequestError, match="unknown parameter: idempotency_key"):
        client.v1.checkout.sessions.create(params=session_params(idempotency_key="misplaced"))
    with pytest.raises(stripe.InvalidRequestError, match=r"wechat_pay\]\[client\]"):
        client.v1.checkout.sessions.create(params=session_params(allowed_payment_method_types=["wechat_pay"]))
    with pytest.raises(stripe.InvalidRequestError) as old_param:  # not a parameter at stripe.api_version
        client.v1.checkout.sessions.create(params=session_params(payment_method_types=["card"]))
    assert old_param.value.code == "parameter_unknown"


def test_idempotent_replay_and_conflict(fake: FakeStripe, client: stripe.StripeClient) -> None:
    first = client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "k1"})
    second = client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "k1"})
    assert second.id == first.id
    assert len(fake.sessions) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(params=session_params(amount=1), options={"idempotency_key": "k1"})
    assert len(fake.sessions) == 1


def test_refunds_cannot_exceed_the_charge(fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=session_params(amount=10000))
    intent = fake.complete(session.id)["payment_intent"]
    refund = client.v1.refunds.create(
        params={"payment_intent": intent, "amount": 4000, "metadata": {"order": "42"}},
        options={"idempotency_key": "refund-42-1"},
    )
    assert (refund.object, refund.amount, refund.currency, refund.status) == ("refund", 4000, "cny", "succeeded")
    assert refund.id.startswith("re_")
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 6001})
    assert error.value.code == "charge_exceeds_source_limit"
    fake.refund_status = "pending"
    rest = client.v1.refunds.create(params={"payment_intent": intent})
    assert (rest.amount, rest.status) == (6000, "pending")
    assert [r["amount"] for r in fake.refunds] == [4000, 6000]


def test_wrong_key_and_injected_failure(fake: FakeStripe, client: stripe.StripeClient) -> None:
    wrong = stripe.StripeClient("sk_test_wrong", base_addresses={"api": fake.base_url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        wrong.v1.checkout.sessions.create(params=session_params())
    fake.fail_next(500)
    with pytest.raises(stripe.APIError) as error:
        client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "k2"})
    assert error.value.http_status == 500
    assert not fake.sessions
    client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "k2"})
    assert len(fake.sessions) == 1


def test_webhook_signature_verifies_with_stripe() -> None:
    secret = "whsec_test_secret"
    payload = event_payload("checkout.session.completed", {"id": "cs_test_1", "object": "checkout.session"})
    header = signature_header(payload, secret)
    event = stripe.Webhook.construct_event(payload, header, secret, tolerance=300)
    assert (event.type, event.data.object.id) == ("checkout.session.completed", "cs_test_1")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload.replace(b"cs_test_1", b"cs_test_2"), header, secret, tolerance=300)
