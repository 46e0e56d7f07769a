"""The bidder's pages through Django's test client: each renders in the centre's words, errors sit
beside their fields and change nothing, sending a step twice leads to the same order, and one
centre's bidder never reaches another centre's orders."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from baohan.guarantees.models import Order
from tests.api import bidder_api, centre_api, issuer_api, page_client, png_bytes, section_payload, sms_code, tenant
from tests.money import benxi_like_waiting, stripe_fake, xinjiang_waiting
from tests.test_scenario_benxi import benxi_form

pytestmark = pytest.mark.django_db


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined,no-any-return]


def new_section(code: str, section: str, **extra: object) -> None:
    status, body = centre_api(code).put(f"/api/v1/centre/sections/{section}", section_payload(**extra))  # type: ignore[arg-type]
    assert status == 201, body


def test_benxi_pages_apply_confirm_and_the_order_page() -> None:
    new_section("benxi", "BX-PAGE-001", project_type="housing", amount="10000.00", location="平山区")
    _, operator = bidder_api("benxi")
    client = page_client("benxi", operator.user)

    listing = client.get("/sections/", {"q": "BX-PAGE-001", "location": "平山区"})
    assert listing.status_code == 200
    assert 'data-section="BX-PAGE-001"' in text(listing)
    assert "房屋建筑" in text(listing)
    other_place = text(client.get("/sections/", {"q": "BX-PAGE-001", "location": "溪湖区"}))
    assert 'data-section="BX-PAGE-001"' not in other_place
    assert "没有符合条件的标段" in other_place

    start = client.get("/sections/BX-PAGE-001/apply", {"deposit_kind": "performance"})
    body = text(start)
    assert start.status_code == 200
    for label in ("工期", "保障天数", "施工资质等级", "紫金财产保险股份有限公司", "《反担保》", "400.00"):
        assert label in body, label

    # Required fields left empty: each error sits beside its own field, in Benxi's words; no order.
    form = {**benxi_form(), "deposit_kind": "performance", "issuer_kind": "insurer"}
    empty = {**form, "insured_name": "", "contact_person": ""}
    refused = client.post("/sections/BX-PAGE-001/apply", {**empty, "issuer_codes": ["zijin"]})
    assert refused.status_code == 400
    page = text(refused)
    assert re.search(r'data-field="insured_name".*?请填写名称', page, re.S)
    assert re.search(r'data-field="contact_person".*?请填写联系人', page, re.S)
    no_issuer = client.post("/sections/BX-PAGE-001/apply", form)
    assert "请至少选择一家出函机构" in text(no_issuer)
    with tenant_context(tenant("benxi")):
        assert not Order.objects.filter(enterprise=operator.enterprise).exists()

    done = client.post("/sections/BX-PAGE-001/apply", {**form, "issuer_codes": ["zijin", "yongan"]})
    assert done.status_code == 302
    number = done["Location"].split("/")[2]
    # Sent twice (a double click, a reload): the second leads to the same draft.
    again = client.post("/sections/BX-PAGE-001/apply", {**form, "issuer_codes": ["zijin", "yongan"]})
    assert again.status_code == 302
    assert again["Location"] == f"/orders/{number}/confirm"

    confirm = client.get(f"/orders/{number}/confirm")
    assert "紫金财产保险股份有限公司、永安财产保险股份有限公司" in re.sub(r"<[^>]+>", "", text(confirm))
    missing = client.post(f"/orders/{number}/confirm", {"consents": ["broker_notice"], "action": "submit"})
    assert missing.status_code == 400
    assert "请阅读并同意" in text(missing)
    consents = ["broker_notice", "clauses_read", "broker_documents_read"]
    submitted = client.post(f"/orders/{number}/confirm", {"consents": consents, "action": "submit"})
    assert submitted["Location"] == f"/orders/{number}/submitted"
    assert client.post(f"/orders/{number}/confirm", {"consents": consents})["Location"] == f"/orders/{number}/submitted"
    assert "待保险审核" in text(client.get(f"/orders/{number}/submitted"))

    status, _ = issuer_api("benxi", "zijin").post(f"/api/v1/issuer/orders/{number}/decision", {"approve": True})
    assert status == 200
    detail = text(client.get(f"/orders/{number}/"))
    for shown in (
        "待支付订单",
        "紫金财产保险股份有限公司辽宁分公司",
        "2100000000000000001",
        "上传凭证",
        "需使用与投保人企业一致的企业账户支付",
    ):
        assert shown in detail, shown

    # A disguised upload is refused beside the voucher field; a real image goes to review.
    fake = io.BytesIO(b"MZ\x90\x00 not an image")
    fake.name = "voucher.png"
    bad = client.post(f"/orders/{number}/voucher", {"payment_voucher": fake})
    assert bad.status_code == 400
    assert re.search(r'data-field="payment_voucher".*?field-error[^>]*>[^<]+<', text(bad), re.S)
    image = io.BytesIO(png_bytes())
    image.name = "voucher.png"
    ok = client.post(f"/orders/{number}/voucher", {"payment_voucher": image})
    assert ok.status_code == 302
    assert "缴纳审批中" in text(client.get(f"/orders/{number}/"))

    orders_page = text(client.get("/orders/", {"state": "payment_review"}))
    assert f'data-order="{number}"' in orders_page
    assert f'data-order="{number}"' not in text(client.get("/orders/", {"state": "issued"}))


def test_pages_of_one_centre_never_show_another_centres_order() -> None:
    new_section("benxi", "BX-PAGE-ISO", project_type="housing", amount="10000.00")
    bidder, operator = bidder_api("benxi")
    status, order = bidder.post(
        "/api/v1/orders/",
        {
            "section": "BX-PAGE-ISO",
            "deposit_kind": "bid",
            "issuer_kind": "insurer",
            "issuer_codes": ["zijin"],
            "form": benxi_form(),
        },
    )
    assert status == 201, order
    _, other = bidder_api("benxi")
    assert page_client("benxi", other.user).get(f"/orders/{order['number']}/").status_code == 404
    # The same person's session on another centre's host is not a session there.
    xinjiang = Client(HTTP_HOST="xinjiang.localhost")
    xinjiang.cookies = page_client("benxi", operator.user).cookies
    response = xinjiang.get(f"/orders/{order['number']}/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_pages_send_the_anonymous_to_login_and_list_sections_for_all() -> None:
    client = Client(HTTP_HOST="xuancheng.localhost")
    assert client.get("/sections/").status_code == 200
    response = client.get("/orders/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_xinjiang_abandon_asks_for_the_operator_check_and_ends_the_order() -> None:
    waiting = xinjiang_waiting()
    client = page_client("xinjiang", waiting.operator.user)
    page = text(client.get(f"/orders/{waiting.number}/"))
    assert "放弃购买保函" in page
    assert waiting.remark_code in page  # 订单附言 with its copy button
    assert "企业基本户" in page

    # Not confirmed, then a wrong SMS code: refused beside the field, the order still waits.
    unconfirmed = client.post(f"/orders/{waiting.number}/abandon", {"operator_phone": waiting.operator.phone})
    assert unconfirmed.status_code == 400
    assert re.search(r'id="e-confirm">请勾选确认放弃购买保函<', text(unconfirmed))
    code = sms_code(waiting.bidder, "xinjiang", waiting.operator.phone, "abandon")
    wrong = "000000" if code != "000000" else "111111"
    values = {"operator_phone": waiting.operator.phone, "captcha": "x", "confirm": "1"}
    refused = client.post(f"/orders/{waiting.number}/abandon", {**values, "sms_code": wrong})
    assert refused.status_code == 400
    assert "验证码" in text(refused)
    assert waiting.order().state == "awaiting_payment"

    done = client.post(f"/orders/{waiting.number}/abandon", {**values, "sms_code": code})
    assert done.status_code == 302
    assert done["Location"] == "/orders/"
    assert waiting.order().state == "abandoned"
    listing = text(client.get("/orders/"))
    assert f'data-order="{waiting.number}"' not in listing  # an abandoned order disappears from the list


def test_after_sales_from_the_order_page_and_in_the_user_centre() -> None:
    waiting = xinjiang_waiting()
    client = page_client("xinjiang", waiting.operator.user)
    empty = client.post(f"/orders/{waiting.number}/after-sales", {"category": "paid_not_issued", "description": " "})
    assert empty.status_code == 400
    assert re.search(r'id="e-description">请描述遇到的问题<', text(empty))
    sent = client.post(
        f"/orders/{waiting.number}/after-sales", {"category": "paid_not_issued", "description": "已付款两小时未出函"}
    )
    assert sent.status_code == 302
    records = text(client.get("/account/after-sales/"))
    assert "已支付，未出函" in records
    assert "已付款两小时未出函" in records


def test_online_payment_goes_to_the_checkout_where_the_centre_takes_it() -> None:
    waiting = benxi_like_waiting("paytest")
    client = page_client("paytest", waiting.operator.user)
    assert "在线支付" in text(client.get(f"/orders/{waiting.number}/"))
    with stripe_fake() as fake:
        response = client.post(f"/orders/{waiting.number}/checkout")
        assert response.status_code == 302
        assert response["Location"].startswith("https://checkout.stripe.com/")
        assert len(fake.sessions) == 1
    # Benxi itself takes no online payment: no button, and the action is refused with a reason.
    benxi = benxi_like_waiting("benxi")
    benxi_client = page_client("benxi", benxi.operator.user)
    assert "在线支付" not in text(benxi_client.get(f"/orders/{benxi.number}/"))
    refused = benxi_client.post(f"/orders/{benxi.number}/checkout")
    assert refused.status_code == 400
    assert "本中心不支持在线支付" in text(refused)


def test_saved_invoice_titles_and_addresses() -> None:
    _, operator = bidder_api("benxi")
    client = page_client("benxi", operator.user)
    assert "还没有保存的发票抬头" in text(client.get("/account/invoice-titles/"))
    bad = client.post("/account/invoice-titles/", {"title": operator.enterprise.name, "taxpayer_id": "123"})
    assert bad.status_code == 400
    assert re.search(r'id="e-taxpayer_id">[^<]+<', text(bad))
    ok = client.post(
        "/account/invoice-titles/", {"title": operator.enterprise.name, "taxpayer_id": operator.enterprise.uscc}
    )
    assert ok.status_code == 302
    assert operator.enterprise.uscc in text(client.get("/account/invoice-titles/"))
    bad = client.post(
        "/account/addresses/", {"recipient": "王收件", "recipient_phone": "12", "recipient_address": "本溪"}
    )
    assert bad.status_code == 400
    assert re.search(r'id="e-recipient_phone">[^<]+<', text(bad))
    ok = client.post(
        "/account/addresses/", {"recipient": "王收件", "recipient_phone": "13700000000", "recipient_address": "本溪市"}
    )
    assert ok.status_code == 302
    assert "王收件" in text(client.get("/account/addresses/"))


def test_a_refused_invoice_request_saves_no_title() -> None:
    waiting = benxi_like_waiting("benxi")  # not issued yet: no invoice
    client = page_client("benxi", waiting.operator.user)
    enterprise = waiting.operator.enterprise
    values = {"form": "electronic", "type": "vat_general", "title": enterprise.name, "taxpayer_id": enterprise.uscc}
    refused = client.post(f"/orders/{waiting.number}/invoice", {**values, "save_title": "1"})
    assert refused.status_code == 400
    with tenant_context(tenant("benxi")):
        assert not enterprise.invoice_titles.exists()
