"""Xinjiang's manual, replayed through the API: pick 国任, pay, issued, failed tender after
opening → refund allowed, account confirmed, insurer review, refunded."""

from __future__ import annotations

import pytest

from tests.api import bidder_api, centre_api, issuer_api, money, png_bytes, section_payload, sms_code

pytestmark = pytest.mark.django_db

SECTION = "E6500003901001877002004"


def test_xinjiang_bid_bond_from_application_to_refund() -> None:
    centre = centre_api("xinjiang")
    guoren = issuer_api("xinjiang", "guoren")
    bidder, operator = bidder_api("xinjiang")

    status, section = centre.put(f"/api/v1/centre/sections/{SECTION}", section_payload(project_type="construction"))
    assert status == 201, section
    assert section["status"] == "accepting"
    assert section["project_type_label"] == "建设工程"

    # 我的投标保函 → 立即申请 → pick the section; 选择 国任保险; fill the form (开户许可证 upload).
    status, upload = bidder.upload("/api/v1/uploads", "account_permit", "permit.png", png_bytes())
    assert status == 201, upload
    form = {
        "project_type": "construction",
        "bid_validity_days": 90,
        "account_name": operator.enterprise.name,
        "bank_name": "中国建设银行乌鲁木齐分行",
        "account_number": operator.enterprise.basic_account_number,
        "account_permit": upload["id"],
        "operator_name": operator.name,
        "operator_phone": operator.phone,
        "captcha": "0532",
        "sms_code": sms_code(bidder, "xinjiang", operator.phone, "application"),
    }
    status, order = bidder.post(
        "/api/v1/orders/",
        {"section": SECTION, "deposit_kind": "bid", "issuer_kind": "insurer", "issuer_codes": ["guoren"], "form": form},
    )
    assert status == 201, order
    number = order["number"]
    assert order["state"] == "draft"
    # 保费 ¥1,000 on 保险金额 ¥1,000,000 (the manual's example).
    assert money(order["insured_amount"]) == money("1000000.00")
    assert money(order["premium"]) == money("1000.00")
    labels = {f["name"]: f["label"] for f in order["form"]}
    assert labels["account_permit"] == "上传开户许可证"
    assert "captcha" not in {f["name"] for f in order["form"] if f["value"] is not None}

    # 提交 without reading the notice is refused; then with the consent.
    status, error = bidder.post(f"/api/v1/orders/{number}/submit", {"consents": []})
    assert (status, error["code"], error["field"]) == (400, "consent_required", "consents")
    status, order = bidder.post(f"/api/v1/orders/{number}/submit", {"consents": ["notice_and_clauses_read"]})
    assert status == 200, order
    assert order["state"] == "underwriting"
    assert order["state_label"] == "申请中"
    [consent] = order["consents"]
    assert consent["code"] == "notice_and_clauses_read"
    assert consent["documents"] == ["投保须知", "保险条款"]
    assert len(consent["digest"]) == 64
    assert consent["user_agent"] == "pytest-client/1.0"

    # 投保审核 by 国任.
    status, pending = guoren.get("/api/v1/issuer/orders/", pending="true")
    assert [o["number"] for o in pending["results"]] == [number]
    status, order = guoren.post(f"/api/v1/issuer/orders/{number}/decision", {"approve": True})
    assert status == 200, order
    assert order["state"] == "awaiting_payment"
    assert order["state_label"] == "待支付"

    # 订单支付: the receiving account, the remark code, the basic-account rule for construction.
    payment = order["payment"]
    assert payment["remark_code"] == order["remark_code"]
    assert len(payment["remark_code"]) == 8
    assert payment["account_number"] == "3000000000000000001"
    assert payment["payer"] == "basic_account"
    assert money(payment["payable_amount"]) == money("1000.00")
    assert any("订单附言" in w for w in payment["warnings"])

    # A payment of the wrong amount is refused and changes nothing; the right one moves the order on.
    status, error = guoren.post(f"/api/v1/issuer/orders/{number}/payment", {"outcome": "confirmed", "amount": "999.00"})
    assert (status, error["code"], error["field"]) == (400, "amount_mismatch", "amount")
    status, order = guoren.post(
        f"/api/v1/issuer/orders/{number}/payment", {"outcome": "confirmed", "amount": "1000.00", "reference": "BANK-1"}
    )
    assert status == 200, order
    assert order["state"] == "awaiting_issue"
    status, order = guoren.post(f"/api/v1/issuer/orders/{number}/issue", {})
    assert status == 200, order
    assert order["state"] == "issued"
    assert order["state_label"] == "已完成"
    assert order["guarantee_number"].startswith("BH")

    # 投保进度: the four steps, each dated.
    steps = order["progress"]["order"]
    assert [s["label"] for s in steps] == ["提交订单", "投保审核", "付款成功", "投保成功"]
    assert all(s["reached_at"] for s in steps)
    # Every transition left an event naming who made it and under which pack version.
    transitions = [(e["transition"], e["from_state"], e["to_state"], e["actor_kind"]) for e in order["timeline"]]
    assert transitions == [
        ("create", "", "draft", "bidder"),
        ("submit", "draft", "underwriting", "bidder"),
        ("approve", "underwriting", "awaiting_payment", "issuer"),
        ("confirm_payment", "awaiting_payment", "awaiting_issue", "issuer"),
        ("issue", "awaiting_issue", "issued", "issuer"),
    ]
    assert {e["rule_pack_version"] for e in order["timeline"]} == {1}

    # Issued twice? 409 with a machine-readable code.
    status, error = guoren.post(f"/api/v1/issuer/orders/{number}/issue", {})
    assert (status, error["code"]) == (409, "illegal_transition")

    # Before opening, giving up is allowed by rule 1; after opening it is not — until the tender fails.
    status, eligibility = bidder.get(f"/api/v1/orders/{number}/refund-eligibility")
    assert (eligibility["allowed"], eligibility["rule_code"]) == (True, "before_opening_abandon")
    status, event = centre.post(f"/api/v1/centre/sections/{SECTION}/events", {"kind": "opened", "event_id": "ev-1"})
    assert status == 201, event
    status, eligibility = bidder.get(f"/api/v1/orders/{number}/refund-eligibility")
    assert (eligibility["allowed"], eligibility["rule_code"]) == (False, "")
    assert eligibility["rule_text"] == "除上述 3 种情形外均不予退保。"
    status, event = centre.post(
        f"/api/v1/centre/sections/{SECTION}/events",
        {"kind": "failed_tender", "event_id": "ev-2", "reason": "投标人不足三家"},
    )
    assert status == 201, event
    assert event["section"]["status"] == "failed_tender"
    # Replaying the centre's event changes nothing.
    status, replay = centre.post(
        f"/api/v1/centre/sections/{SECTION}/events",
        {"kind": "failed_tender", "event_id": "ev-2", "reason": "投标人不足三家"},
    )
    assert (status, replay["replayed"]) == (200, True)

    status, eligibility = bidder.get(f"/api/v1/orders/{number}/refund-eligibility")
    assert eligibility["allowed"] is True
    assert eligibility["rule_code"] == "after_opening_failed"
    assert eligibility["rule_text"] == "开标后项目发生流标的，可进行退保；"

    # 申请退保 → 确认退费账户 → 退保审核 → 退保完成.
    status, refund = bidder.post(f"/api/v1/orders/{number}/refund", {"reason": "项目流标"})
    assert status == 201, refund
    assert refund["state"] == "pending_account"
    assert refund["rule_code"] == "after_opening_failed"
    assert refund["number"].startswith("T")
    status, error = bidder.post(
        f"/api/v1/refunds/{refund['number']}/account",
        {
            "account_name": "x",
            "account_number": "12ab",
            "bank_name": "y",
            "operator_phone": operator.phone,
            "captcha": "1",
            "sms_code": "1",
        },
    )
    assert (status, error["field"], error["label"]) == (400, "account_number", "账户号码")
    status, refund = bidder.post(
        f"/api/v1/refunds/{refund['number']}/account",
        {
            "account_name": operator.enterprise.name,
            "account_number": operator.enterprise.basic_account_number,
            "bank_name": "中国建设银行乌鲁木齐分行",
            "operator_phone": operator.phone,
            "captcha": "0532",
            "sms_code": sms_code(bidder, "xinjiang", operator.phone, "refund_account"),
        },
    )
    assert status == 200, refund
    assert refund["state"] == "pending_review"
    status, refund = guoren.post(f"/api/v1/issuer/refunds/{refund['number']}/decision", {"approve": True})
    assert refund["state"] == "pending_payout"
    status, refund = guoren.post(f"/api/v1/issuer/refunds/{refund['number']}/payout", {"reference": "REFUND-1"})
    assert status == 200, refund
    assert refund["state"] == "refunded"

    status, order = bidder.get(f"/api/v1/orders/{number}")
    assert order["state"] == "surrendered"
    assert order["state_label"] == "已退保"
    assert [s["label"] for s in order["progress"]["refund"]] == ["提交退保", "退保审核", "退保完成"]
    assert all(s["reached_at"] for s in order["progress"]["refund"])

    # The centre checks the guarantee: surrendered.
    status, check = centre.get(f"/api/v1/centre/guarantees/{order['guarantee_number']}")
    assert (status, check["status"]) == (200, "surrendered")
