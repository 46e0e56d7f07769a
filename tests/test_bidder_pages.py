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
from tests.api import bidder_api, centre_api, issuer_api, png_bytes, section_payload, tenant
from tests.test_scenario_benxi import benxi_form

pytestmark = pytest.mark.django_db


def page_client(code: str, user: object) -> Client:
    client = Client(HTTP_HOST=f"{code}.localhost", HTTP_USER_AGENT="pytest-pages/1.0")
    with tenant_context(tenant(code)):
        client.force_login(user)  # type: ignore[arg-type]
    return client


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
    assert "紫金财产保险股份有限公司、永安财产保险股份有限公司" in text(confirm)
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
