"""Benxi's manual, replayed through the API: a performance deposit, several insurers asked at
once, the first to accept underwrites and the other is released; invoices only after opening."""

from __future__ import annotations

import pytest

from tests.api import bidder_api, centre_api, issuer_api, money, section_payload

pytestmark = pytest.mark.django_db

SECTION = "BX-2026-007-02"


def benxi_form() -> dict[str, object]:
    return {
        "construction_period_days": 365,
        "project_address": "本溪市平山区",
        "start_date": "2026-12-01",
        "coverage_days": 1000,
        "applicant_address": "本溪市平山区胜利路1号",
        "qualification_level": "施工总承包二级",
        "registered_address": "本溪市平山区胜利路1号",
        "contact_phone": "13912345678",
        "contact_person": "李联系",
        "insured_name": "本溪市某建设单位",
    }


def test_benxi_multi_select_first_acceptance_wins_and_invoice_after_opening() -> None:
    centre = centre_api("benxi")
    zijin, yongan = issuer_api("benxi", "zijin"), issuer_api("benxi", "yongan")
    guarantor = issuer_api("benxi", "sample_guarantee")
    bidder, operator = bidder_api("benxi")
    status, _ = centre.put(
        f"/api/v1/centre/sections/{SECTION}",
        section_payload(project_type="housing", amount="10000.00", location="平山区"),
    )
    assert status == 201

    # Section search and filters (项目标段 menu).
    status, page = bidder.get("/api/v1/sections/", q="BX-2026-007", project_type="housing", status="accepting")
    assert [s["code"] for s in page["results"]] == [SECTION]
    status, page = bidder.get("/api/v1/sections/", q="BX-2026-007", location="溪湖区")
    assert page["results"] == []

    # The catalogue shows the rate table: 紫金 and 永安 at 0.04, reference premium ¥400 on ¥10,000.
    status, quotes = bidder.post(
        "/api/v1/quote", {"section": SECTION, "deposit_kind": "performance", "issuer_kind": "insurer"}
    )
    assert status == 200, quotes
    assert {q["issuer_code"]: money(q["premium"]) for q in quotes["quotes"]} == {
        "zijin": money("400.00"),
        "yongan": money("400.00"),
    }

    # A required field left out is named by its canonical name and Benxi's label.
    incomplete = benxi_form()
    del incomplete["insured_name"]
    request = {
        "section": SECTION,
        "deposit_kind": "performance",
        "issuer_kind": "insurer",
        "issuer_codes": ["zijin", "yongan"],
        "form": incomplete,
    }
    status, error = bidder.post("/api/v1/orders/", request)
    assert (status, error["code"], error["field"], error["label"]) == (400, "required", "insured_name", "名称")
    status, error = bidder.post(
        "/api/v1/orders/", {**request, "form": {**benxi_form(), "applicant_uscc": "91110000000000000X"}}
    )
    assert (status, error["field"]) == (400, "applicant_uscc")
    assert "统一社会信用代码" in error["message"]

    status, order = bidder.post("/api/v1/orders/", {**request, "form": benxi_form()})
    assert status == 201, order
    number = order["number"]
    assert order["deposit_kind"] == "performance"
    assert money(order["premium"]) == money("400.00")
    values = {f["name"]: f["value"] for f in order["form"]}
    assert values["end_date"] == "2029-08-27"  # 起保日期 + 1000 保障天数
    assert values["applicant_uscc"] == operator.enterprise.uscc
    assert values["premium_rate"] == "0.04"

    # A second live order for the same section and deposit kind is refused.
    status, error = bidder.post("/api/v1/orders/", {**request, "form": benxi_form()})
    assert (status, error["code"]) == (409, "order_exists")

    consents = ["broker_notice", "clauses_read", "broker_documents_read"]
    status, order = bidder.post(f"/api/v1/orders/{number}/submit", {"consents": consents})
    assert status == 200, order
    assert order["state_label"] == "待保险审核"
    assert len(order["consents"]) == 3

    # Both asked insurers see it; the guarantee company does not.
    for insurer in (zijin, yongan):
        status, pending = insurer.get("/api/v1/issuer/orders/", pending="1")
        assert [o["number"] for o in pending["results"]] == [number]
    status, pending = guarantor.get("/api/v1/issuer/orders/", pending="1")
    assert pending["results"] == []

    # 紫金 accepts first (at its final rate); 永安's acceptance comes too late.
    status, order = zijin.post(f"/api/v1/issuer/orders/{number}/decision", {"approve": True, "rate": "0.035"})
    assert status == 200, order
    assert order["state_label"] == "待支付订单"
    assert order["issuer_code"] == "zijin"
    assert money(order["premium"]) == money("350.00")
    assert {o["issuer_code"]: o["status"] for o in order["offers"]} == {"zijin": "accepted", "yongan": "released"}
    status, error = yongan.post(f"/api/v1/issuer/orders/{number}/decision", {"approve": True})
    # Released: told plainly that another insurer took it, not that it does not exist.
    assert (status, error["code"]) == (409, "taken_by_other_issuer")
    assert "其他出函机构" in error["message"], error
    status, error = yongan.get(f"/api/v1/issuer/orders/{number}")
    assert (status, error["code"]) == (409, "taken_by_other_issuer")
    status, mine = yongan.get("/api/v1/issuer/orders/")
    assert mine["results"] == []

    status, order = zijin.post(f"/api/v1/issuer/orders/{number}/payment", {"outcome": "confirmed", "amount": "350.00"})
    assert order["state_label"] == "待出函"
    status, order = zijin.post(f"/api/v1/issuer/orders/{number}/issue", {})
    assert order["state_label"] == "订单已完成"
    assert [s["label"] for s in order["progress"]["order"]] == [
        "提交缴纳信息",
        "缴纳流程",
        "缴纳审批",
        "审批通过",
        "完成",
    ]
    reached = [s["reached_at"] is not None for s in order["progress"]["order"]]
    assert reached == [True, True, False, True, True]  # no voucher was submitted on this path

    # Invoices only once the order is complete and the bids are opened.
    status, eligibility = bidder.get(f"/api/v1/orders/{number}/invoice-eligibility")
    assert eligibility["allowed"] is False
    invoice_request = {"form": "electronic", "type": "vat_general"}
    status, error = bidder.post(
        f"/api/v1/orders/{number}/invoice", {**invoice_request, "title": "x", "taxpayer_id": operator.enterprise.uscc}
    )
    assert (status, error["code"]) == (409, "invoice_not_available")
    status, _ = centre.post(f"/api/v1/centre/sections/{SECTION}/events", {"kind": "opened"})
    status, eligibility = bidder.get(f"/api/v1/orders/{number}/invoice-eligibility")
    assert eligibility["allowed"] is True

    # Saved titles and addresses (新增发票抬头 / 新增收件地址).
    status, title = bidder.post(
        "/api/v1/invoice-titles/", {"title": operator.enterprise.name, "taxpayer_id": operator.enterprise.uscc}
    )
    assert status == 201, title
    status, address = bidder.post(
        "/api/v1/invoice-addresses/",
        {"recipient": "王收件", "recipient_phone": "13700000000", "recipient_address": "本溪市明山区"},
    )
    assert status == 201, address
    # A special invoice needs the registered address, phone, bank and account, which the saved title lacks.
    status, error = bidder.post(
        f"/api/v1/orders/{number}/invoice",
        {"form": "paper", "type": "vat_special", "title_id": title["id"], "address_id": address["id"]},
    )
    assert (status, error["field"]) == (400, "registered_address")
    status, error = bidder.post(
        f"/api/v1/orders/{number}/invoice", {"form": "electronic", "type": "vat_special", "title_id": title["id"]}
    )
    assert (status, error["field"]) == (400, "type")
    status, invoice = bidder.post(
        f"/api/v1/orders/{number}/invoice",
        {"form": "paper", "type": "vat_general", "title_id": title["id"], "address_id": address["id"]},
    )
    assert status == 201, invoice
    assert (invoice["state"], invoice["state_label"], invoice["recipient"]) == ("requested", "已申请", "王收件")
    status, invoice = zijin.post(f"/api/v1/issuer/invoices/{invoice['id']}", {"action": "start"})
    assert invoice["state_label"] == "开票中"
    status, error = zijin.post(
        f"/api/v1/issuer/invoices/{invoice['id']}", {"action": "issue", "invoice_number": "No.1"}
    )
    assert (status, error["field"]) == (400, "tracking_number")
    status, invoice = zijin.post(
        f"/api/v1/issuer/invoices/{invoice['id']}",
        {"action": "issue", "invoice_number": "No.1", "carrier": "顺丰", "tracking_number": "SF100"},
    )
    assert invoice["state_label"] == "已开票"
    status, documents = bidder.get(f"/api/v1/orders/{number}/documents")
    paper = next(d for d in documents if d["kind"] == "invoice")
    assert (paper["label"], paper["available"], paper["note"]) == ("纸质发票", False, "纸质发票已寄出：顺丰 SF100")
    status, error = bidder.post(
        f"/api/v1/orders/{number}/invoice", {"form": "electronic", "type": "vat_general", "title_id": title["id"]}
    )
    assert (status, error["code"]) == (409, "invoice_exists")

    # 订单售后.
    status, item = bidder.post(
        f"/api/v1/orders/{number}/after-sales", {"category": "other", "description": "发票抬头需更正"}
    )
    assert status == 201, item
    assert (item["kind"], item["state"]) == ("other", "open")
    status, item = zijin.post(f"/api/v1/issuer/after-sales/{item['id']}", {"action": "resolve", "resolution": "已重开"})
    assert item["state"] == "resolved"
    # Benxi's pack has no refund rules: the default refuses.
    status, eligibility = bidder.get(f"/api/v1/orders/{number}/refund-eligibility")
    assert (eligibility["allowed"], eligibility["rule_code"]) == (False, "")
