"""Xuancheng's manual, replayed through the API: the insurer is allocated at random (and the draw
is on record), the system reviews, the bidder pays, and a refund after opening is refused."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from baohan.guarantees.models import AllocationDraw, Refund
from tests.api import bidder_api, centre_api, issuer_api, section_payload, sms_code, tenant

pytestmark = pytest.mark.django_db

SECTION = "XC-2026-001-01"


def test_xuancheng_random_allocation_and_refused_refund_after_opening() -> None:
    centre = centre_api("xuancheng")
    bidder, operator = bidder_api("xuancheng")
    status, _ = centre.put(f"/api/v1/centre/sections/{SECTION}", section_payload(project_type="construction"))
    assert status == 201

    # The bidder picks 工保网, not an insurer: naming one is refused.
    status, error = bidder.post(
        "/api/v1/orders/",
        {"section": SECTION, "deposit_kind": "bid", "issuer_kind": "insurer", "issuer_codes": ["sample_insurer_a"]},
    )
    assert (status, error["code"], error["field"]) == (400, "issuer_allocated", "issuer_codes")

    form = {
        "operator_name": operator.name,
        "operator_phone": operator.phone,
        "captcha": "1234",
        "sms_code": sms_code(bidder, "xuancheng", operator.phone, "application"),
    }
    status, order = bidder.post(
        "/api/v1/orders/", {"section": SECTION, "deposit_kind": "bid", "issuer_kind": "insurer", "form": form}
    )
    assert status == 201, order
    draw = order["draw"]
    assert draw["candidates"] == ["sample_insurer_a", "sample_insurer_b", "sample_insurer_c"]
    assert draw["drawn_code"] == draw["candidates"][draw["random_value"] % 3] == order["issuer_code"]
    with tenant_context(tenant("xuancheng")):
        assert AllocationDraw.objects.get(order__number=order["number"]).drawn_index == draw["drawn_index"]

    # 我已阅读投保须知并同意授权 → 立即投保; the system review approves at once (pack's auto-approval).
    number = order["number"]
    status, order = bidder.post(f"/api/v1/orders/{number}/submit", {"consents": ["application_notice_authorisation"]})
    assert status == 200, order
    assert order["state"] == "awaiting_payment"
    approve = next(e for e in order["timeline"] if e["transition"] == "approve")
    assert approve["actor_kind"] == "system"
    assert order["payment"]["payer"] == "basic_account"

    # 确定付款 from the basic account: the drawn insurer confirms and issues.
    insurer = issuer_api("xuancheng", order["issuer_code"])
    status, order = insurer.post(
        f"/api/v1/issuer/orders/{number}/payment", {"outcome": "confirmed", "amount": order["payable_amount"]}
    )
    assert order["state"] == "awaiting_issue", order
    status, order = insurer.post(f"/api/v1/issuer/orders/{number}/issue", {})
    assert order["state_label"] == "投保成功"
    # Another insurer of the panel does not see the order.
    other = next(c for c in draw["candidates"] if c != order["issuer_code"])
    status, error = issuer_api("xuancheng", other).get(f"/api/v1/issuer/orders/{number}")
    assert (status, error["code"]) == (404, "order_not_found")

    # After opening, a bidder giving up is not one of the three cases: refused, with the rule shown.
    status, _ = centre.post(f"/api/v1/centre/sections/{SECTION}/events", {"kind": "opened"})
    assert status == 201
    status, eligibility = bidder.get(f"/api/v1/orders/{number}/refund-eligibility")
    assert eligibility == {
        "allowed": False,
        "order_state": "issued",
        "trigger": "bidder_abandons",
        "section_status": "opened",
        "bid_opened": True,
        "rule_code": "",
        "rule_text": "除上述3种情形外均不予退保。",
        "rule_pack_version": 1,
    }
    status, error = bidder.post(f"/api/v1/orders/{number}/refund", {"reason": "不再投标"})
    assert (status, error["code"]) == (403, "refund_refused")
    assert "除上述3种情形外均不予退保" in error["message"]
    with tenant_context(tenant("xuancheng")):
        assert not Refund.objects.filter(order__number=number).exists()
    status, order = bidder.get(f"/api/v1/orders/{number}")
    assert order["state"] == "issued"

    # Xuancheng offers no abandon.
    status, error = bidder.post(f"/api/v1/orders/{number}/abandon", {"operator_phone": operator.phone})
    assert (status, error["code"]) == (403, "abandon_not_offered")
