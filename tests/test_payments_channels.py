"""Vouchers (Benxi), online payment with Stripe (a centre whose pack enables it), deadlines and
reminders: each channel settles through the same path and nothing is paid or refunded twice."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.identity.models import SmsMessage
from baohan.payments.models import OrderNotice, Payment, Payout, StripeEvent
from baohan.payments.selectors import ledger_problems
from baohan.payments.services.deadlines import payment_reminders_send
from baohan.payments.services.online import online_payouts_send
from baohan.sections.models import Section
from tests.api import png_bytes, tenant
from tests.fake_stripe import FakeStripe, event_payload, signature_header
from tests.money import WEBHOOK_SECRET, Waiting, benxi_like_waiting, in_centre, stripe_fake

pytestmark = pytest.mark.django_db


def voucher_upload(waiting: Waiting, content: bytes | None = None, name: str = "receipt.png") -> tuple[int, Any]:
    return waiting.bidder.upload("/api/v1/uploads", "payment_voucher", name, content or png_bytes())


def test_a_voucher_is_reviewed_and_its_approval_pays_the_order() -> None:
    waiting = benxi_like_waiting()
    # Checked by content: a PNG renamed, a text file called .jpg, a file over 2 MB.
    status, error = voucher_upload(waiting, b"not an image", "receipt.jpg")
    assert (status, error["code"]) == (400, "file_type")
    status, error = voucher_upload(waiting, png_bytes((1200, 1200)) + b"\0" * (2 * 1024 * 1024), "big.png")
    assert (status, error["code"], error["label"]) == (400, "file_too_large", "上传凭证")
    status, upload = voucher_upload(waiting)
    assert status == 201
    status, order = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/voucher", {"upload": upload["id"]})
    assert (status, order["state"]) == (201, "payment_review")
    reached = [s["label"] for s in order["progress"]["order"] if s["reached_at"]]
    assert reached[-1] == "缴纳审批"
    _, page = waiting.issuer.get("/api/v1/issuer/vouchers/", state="submitted")
    [voucher] = page["results"]
    status, error = waiting.issuer.post(f"/api/v1/issuer/vouchers/{voucher['id']}/decision", {"approve": False})
    assert (status, error["field"]) == (400, "reason")
    status, rejected = waiting.issuer.post(
        f"/api/v1/issuer/vouchers/{voucher['id']}/decision", {"approve": False, "reason": "凭证模糊，请重新上传"}
    )
    assert (status, rejected["state"]) == (200, "rejected")
    _, order = waiting.bidder.get(f"/api/v1/orders/{waiting.number}")
    assert order["state"] == "payment_failed"
    # Upload again; approval settles the payment once.
    _, upload = voucher_upload(waiting)
    waiting.bidder.post(f"/api/v1/orders/{waiting.number}/voucher", {"upload": upload["id"]})
    _, page = waiting.issuer.get("/api/v1/issuer/vouchers/", state="submitted")
    [voucher] = page["results"]
    status, approved = waiting.issuer.post(f"/api/v1/issuer/vouchers/{voucher['id']}/decision", {"approve": True})
    assert (status, approved["state"]) == (200, "approved")
    status, error = waiting.issuer.post(f"/api/v1/issuer/vouchers/{voucher['id']}/decision", {"approve": True})
    assert (status, error["code"]) == (409, "voucher_decided")
    _, order = waiting.bidder.get(f"/api/v1/orders/{waiting.number}")
    assert order["state"] == "awaiting_issue"
    _, money = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/payments")
    assert [(p["channel"], p["outcome"]) for p in money["payments"]] == [("voucher", "applied")]


def test_a_voucher_needs_a_voucher_upload_of_the_bidders_own() -> None:
    waiting = benxi_like_waiting()
    status, error = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/voucher", {"upload": "nope"})
    assert (status, error["code"], error["label"]) == (400, "unknown_upload", "上传凭证")
    other = benxi_like_waiting()
    _, theirs = voucher_upload(other)
    status, error = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/voucher", {"upload": theirs["id"]})
    assert (status, error["code"]) == (400, "unknown_upload")


def test_the_bank_line_of_an_approved_voucher_is_the_same_money() -> None:
    """Voucher approved first, its transfer's statement line later: one payment, no refund."""
    from baohan.guarantees.states import Actor
    from baohan.payments.services.intake import statement_lines_match, statement_lines_store
    from tests.money import line

    waiting = benxi_like_waiting("paytest")
    _, upload = voucher_upload(waiting)
    waiting.bidder.post(f"/api/v1/orders/{waiting.number}/voucher", {"upload": upload["id"]})
    _, page = waiting.issuer.get("/api/v1/issuer/vouchers/")
    waiting.issuer.post(f"/api/v1/issuer/vouchers/{page['results'][0]['id']}/decision", {"approve": True})

    def bank() -> Any:
        statement_lines_store(
            issuer_code="zijin",
            account_number="2100000000000000001",
            lines=[line(waiting), line(waiting, at=timezone.now() - timedelta(seconds=30))],
            source="command",
            actor=Actor.system(),
        )
        return statement_lines_match().outcomes

    assert in_centre("paytest", bank) == {"reconciled": 1, "duplicate": 1}

    def check() -> Any:
        payments = list(Payment.objects.filter(order__number=waiting.number).order_by("id"))
        assert ledger_problems() == []
        return [(p.channel, p.outcome, p.statement_line_id is not None) for p in payments]

    assert in_centre("paytest", check) == [("voucher", "applied", True), ("bank_transfer", "duplicate", True)]


# --- Stripe -------------------------------------------------------------------------------------------


def webhook(waiting: Waiting, payload: bytes, header: str) -> Any:
    return waiting.bidder.client.post(
        "/api/v1/stripe/webhook", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


def paid_event(fake: FakeStripe, session_id: str, **kw: Any) -> bytes:
    session = fake.complete(session_id, payment_method_type="alipay")
    return event_payload("checkout.session.completed", session, **kw)


def test_online_payment_is_confirmed_by_a_signed_webhook_once() -> None:
    waiting = benxi_like_waiting("paytest")
    with stripe_fake() as fake:
        status, checkout = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/checkout")
        assert status == 201, checkout
        assert checkout["url"].startswith("https://checkout.stripe.com/")
        session = fake.sessions[checkout["session_id"]]
        assert session["amount_total"] == int(waiting.payable * 100)
        assert session["metadata"] == {"schema": "paytest", "order": waiting.number}
        assert sorted(session["payment_method_types"]) == ["alipay", "card", "wechat_pay"]
        # Asked again: the open session is reused, not a second one.
        _, again = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/checkout")
        assert again["session_id"] == checkout["session_id"]
        assert len(fake.sessions) == 1

        payload = paid_event(fake, checkout["session_id"], event_id="evt_paid_1")
        now = int(time.time())
        for header in (
            signature_header(payload, "whsec_wrong"),
            signature_header(payload, WEBHOOK_SECRET, timestamp=now - 301),
            signature_header(payload, WEBHOOK_SECRET, timestamp=now + 120),
            "t=abc,v1=00",
            "",
        ):
            response = webhook(waiting, payload, header)
            assert (response.status_code, response.json()["code"]) == (400, "bad_signature")
        tampered = payload.replace(b'"amount_total": ', b'"amount_total": 1')
        assert webhook(waiting, tampered, signature_header(payload, WEBHOOK_SECRET)).status_code == 400
        assert in_centre(
            "paytest",
            lambda: (
                StripeEvent.objects.filter(event_id="evt_paid_1").count(),
                Payment.objects.filter(order__number=waiting.number).count(),
            ),
        ) == (0, 0)

        response = webhook(waiting, payload, signature_header(payload, WEBHOOK_SECRET))
        assert (response.status_code, response.json()["outcome"]) == (200, "applied")
        replay = webhook(waiting, payload, signature_header(payload, WEBHOOK_SECRET))
        assert (replay.status_code, replay.json()["outcome"]) == (200, "duplicate event")
    _, order = waiting.bidder.get(f"/api/v1/orders/{waiting.number}")
    assert order["state"] == "awaiting_issue"
    assert in_centre("paytest", lambda: Payment.objects.filter(order__number=waiting.number).count()) == 1


def test_another_centres_event_changes_nothing_here() -> None:
    waiting = benxi_like_waiting("paytest")
    with stripe_fake() as fake:
        _, checkout = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/checkout")
        session = fake.complete(checkout["session_id"])
        session["metadata"] = {"schema": "benxi", "order": waiting.number}
        payload = event_payload("checkout.session.completed", session)
        response = webhook(waiting, payload, signature_header(payload, WEBHOOK_SECRET))
    assert response.json()["outcome"] == "ignored: another centre's event"
    _, order = waiting.bidder.get(f"/api/v1/orders/{waiting.number}")
    assert order["state"] == "awaiting_payment"


def test_a_refused_online_payment_is_refunded_through_stripe_once() -> None:
    waiting = benxi_like_waiting("paytest")
    with stripe_fake() as fake:
        _, checkout = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/checkout")
        # The bidder pays after the deadline (the page was left open).
        with tenant_context(tenant("paytest")):
            Section.objects.filter(code=waiting.section).update(deposit_deadline=timezone.now() - timedelta(hours=1))
        connection.set_schema_to_public()
        payload = paid_event(fake, checkout["session_id"])
        response = webhook(waiting, payload, signature_header(payload, WEBHOOK_SECRET))
        assert response.json()["outcome"] == "refused"
        fake.fail_next(status=500, times=3)  # Stripe is down: the payout stays due, nothing is lost
        assert in_centre("paytest", online_payouts_send) == 0
        assert in_centre("paytest", lambda: Payout.objects.get(order__number=waiting.number).state) == "failed"
        assert in_centre("paytest", online_payouts_send) == 1
        assert in_centre("paytest", online_payouts_send) == 0
        [refund] = fake.refunds
        fee = Decimal("10.00")  # the test centre's pack
        assert refund["amount"] == int((waiting.payable - fee) * 100)
        keys = {r.headers.get("Idempotency-Key") for r in fake.requests if r.path == "/v1/refunds"}
        assert len(keys) == 1  # every attempt carried the payout's own key
    _, money = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/payments")
    [payout] = money["payouts"]
    assert (payout["state"], payout["method"], payout["reference"]) == ("paid", "online", refund["id"])
    assert in_centre("paytest", ledger_problems) == []


def test_online_payment_is_refused_where_the_pack_or_the_project_does_not_allow_it() -> None:
    benxi = benxi_like_waiting("benxi")
    with stripe_fake():
        status, error = benxi.bidder.post(f"/api/v1/orders/{benxi.number}/checkout")
    assert (status, error["code"]) == (403, "online_not_offered")
    waiting = benxi_like_waiting("paytest")
    status, error = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/checkout")  # no Stripe keys set
    assert (status, error["code"]) == (409, "online_unavailable")


# --- deadlines ----------------------------------------------------------------------------------------


def test_unpaid_orders_are_reminded_once_per_window() -> None:
    waiting = benxi_like_waiting()
    with tenant_context(tenant("benxi")):
        section = Section.objects.get(code=waiting.section)
        section.deposit_deadline = timezone.now() + timedelta(hours=20)
        section.save()
        assert payment_reminders_send() == 1
        assert payment_reminders_send() == 0
        section.deposit_deadline = timezone.now() + timedelta(minutes=90)
        section.save()
        assert payment_reminders_send() == 1
        assert payment_reminders_send() == 0
        codes = sorted(OrderNotice.objects.filter(order__number=waiting.number).values_list("code", flat=True))
        texts = list(
            SmsMessage.objects.filter(phone=waiting.operator.phone, template="payment_reminder").values_list(
                "text", flat=True
            )
        )
    connection.set_schema_to_public()
    assert codes == ["deadline:24h", "deadline:2h"]
    assert len(texts) == 2
    assert all(waiting.number in t and "截止时间" in t for t in texts)


def test_without_remark_codes_a_line_finds_its_order_by_payer_and_amount() -> None:
    """Benxi's pack asks for no remark code: the enterprise's name and the exact amount name the order."""
    from baohan.guarantees.states import Actor
    from baohan.payments.services.intake import statement_lines_match, statement_lines_store
    from tests.money import line

    waiting = benxi_like_waiting()
    stranger = line(waiting, remark="保费", payer_name="别的公司")

    def bank() -> Any:
        statement_lines_store(
            issuer_code="zijin",
            account_number="2100000000000000001",
            lines=[line(waiting, remark="保费"), stranger],
            source="command",
            actor=Actor.system(),
        )
        return statement_lines_match().outcomes

    assert in_centre("benxi", bank) == {"applied": 1}
    _, order = waiting.bidder.get(f"/api/v1/orders/{waiting.number}")
    assert order["state"] == "awaiting_issue"
