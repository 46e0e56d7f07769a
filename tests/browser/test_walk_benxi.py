"""Benxi's manual, walked in a real browser: password login, 项目标段 with filters, 履约保证金 with
several insurers, the consents, the insurer's underwriting, transfer plus 上传支付凭证, issue,
下载保单, and after the bids open 申请发票. Screenshots of each main screen per region."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.api import bidder_api, png_bytes
from tests.browser.conftest import PageFactory, assert_clean, screenshot
from tests.browser.walk import (
    accessible,
    download,
    fits_phone,
    issuer_for,
    landing_themed,
    order_number,
    order_state,
    section_publish,
    themed,
)

REGION = "benxi"
FORM = {
    "construction_period_days": "365",
    "project_address": "本溪市平山区",
    "start_date": "2026-12-01",
    "coverage_days": "1000",
    "applicant_address": "本溪市平山区胜利路1号",
    "qualification_level": "施工总承包二级",
    "registered_address": "本溪市平山区胜利路1号",
    "contact_phone": "13912345678",
    "contact_person": "李联系",
    "insured_name": "本溪市某建设单位",
}


def test_benxi_walk(page_factory: PageFactory) -> None:
    section, centre = section_publish(REGION, project_type="housing", amount="10000.00", location="平山区")
    _, operator = bidder_api(REGION, password="Walk-2026-benxi")
    page = page_factory(REGION)

    landing_themed(page, REGION)
    screenshot(page, REGION, "landing")

    # 登录: phone and password.
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(operator.phone)
    page.locator("input[name=password]").fill("Walk-2026-benxi")
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    screenshot(page, REGION, "account")

    # 项目标段: search by name, filter by project type, status and location.
    page.get_by_role("link", name="项目标段").first.click()
    page.get_by_label("标段名称或编号").fill(section)
    page.get_by_label("项目类型").select_option(label="房屋建筑")
    page.get_by_label("项目属地").select_option("平山区")
    page.get_by_role("button", name="查询").click()
    expect(page.locator(f'tr[data-section="{section}"]')).to_be_visible()
    themed(page, REGION)
    screenshot(page, REGION, "sections")
    accessible(page)
    fits_phone(page, REGION, "sections")
    page.locator(f'tr[data-section="{section}"] a').first.click()
    screenshot(page, REGION, "section")
    page.get_by_role("link", name="履约保证金").click()

    # The wizard: 保险保函, both insurers, Benxi's labels; a required field left empty is named.
    expect(page.locator(".wizard-step.is-current")).to_contain_text("完善基本信息")
    page.get_by_label("紫金财产保险股份有限公司").check()
    page.get_by_label("永安财产保险股份有限公司").check()
    expect(page.locator("[data-issuer-count]")).to_have_text("您已选择 2 家出函机构")
    expect(page.locator('tr[data-issuer="zijin"]')).to_contain_text("400.00")
    for name, value in FORM.items():
        if name != "insured_name":
            page.locator(f"#f-{name}").fill(value)
    screenshot(page, REGION, "apply")
    accessible(page)
    fits_phone(page, REGION, "apply")
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#e-insured_name")).to_have_text("请填写名称")
    expect(page.locator(".wizard-step.is-current")).to_contain_text("完善基本信息")
    page.get_by_label("紫金财产保险股份有限公司").check()  # what was typed is kept; the choice is redone
    page.get_by_label("永安财产保险股份有限公司").check()
    expect(page.locator("#f-contact_person")).to_have_value("李联系")
    page.locator("#f-insured_name").fill(FORM["insured_name"])
    page.get_by_role("button", name="下一步").click()

    # 确认信息: the three consents, then 提交订单.
    expect(page.locator(".wizard-step.is-current")).to_contain_text("确认信息")
    expect(page.locator(".chosen-issuers")).to_contain_text("紫金财产保险股份有限公司、永安财产保险股份有限公司")
    for box in page.locator("input[name=consents]").all():
        box.check()
    screenshot(page, REGION, "confirm")
    page.get_by_role("button", name="提交订单").click()
    expect(page.locator(".state-badge")).to_have_text("待保险审核")
    screenshot(page, REGION, "submitted")
    page.get_by_role("link", name="查看订单").click()
    number = order_number(page)

    # 紫金 underwrites (the issuer's side, through the API).
    zijin = issuer_for(REGION, "zijin")
    status, body = zijin.post(f"/api/v1/issuer/orders/{number}/decision", {"approve": True})
    assert status == 200, body
    page.reload()
    expect(page.locator(".state-badge")).to_have_text("待支付订单")
    expect(page.locator("#payment")).to_contain_text("2100000000000000001")
    expect(page.locator(".payer-rule")).to_contain_text("需使用与投保人企业一致的企业账户支付")
    screenshot(page, REGION, "payment")
    accessible(page)
    fits_phone(page, REGION, "payment")

    # 上传支付凭证: an oversized or disguised file is refused beside the field; an image is taken.
    page.locator("#f-payment_voucher").set_input_files(
        {"name": "voucher.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00 not an image"}
    )
    page.get_by_role("button", name="提交凭证").click()
    expect(page.locator("#e-payment_voucher")).not_to_be_empty()
    assert order_state(REGION, number) == "awaiting_payment"
    page.locator("#f-payment_voucher").set_input_files(
        {"name": "voucher.png", "mimeType": "image/png", "buffer": png_bytes((40, 40))}
    )
    page.get_by_role("button", name="提交凭证").click()
    expect(page.locator(".paid-card")).to_contain_text("支付凭证已上传，等待审核")
    expect(page.locator(".state-badge")).to_have_text("缴纳审批中")
    page.get_by_role("link", name="查看订单详情").click()

    status, vouchers = zijin.get("/api/v1/issuer/vouchers/")
    voucher = next(v for v in vouchers["results"] if v["order"] == number)
    status, body = zijin.post(f"/api/v1/issuer/vouchers/{voucher['id']}/decision", {"approve": True})
    assert status == 200, body
    status, body = zijin.post(f"/api/v1/issuer/orders/{number}/issue", {})
    assert status == 200, body

    page.reload()
    expect(page.locator(".state-badge")).to_have_text("订单已完成")
    expect(page.locator(".progress-step.is-done")).to_have_count(5)
    expect(page.locator("#timeline")).to_contain_text("上传支付凭证")
    expect(page.locator("#timeline")).to_contain_text("保单已生成")
    content = download(page, "下载")
    assert content.startswith(b"%PDF-")
    expect(page.locator("#invoice")).to_contain_text("开标")  # invoices wait for the bids to open
    screenshot(page, REGION, "issued")

    # 开标, then 申请发票 with a saved title.
    status, body = centre.post(f"/api/v1/centre/sections/{section}/events", {"kind": "opened"})
    assert status in (200, 201), body
    page.reload()
    page.get_by_label("电子发票").check()
    page.locator("#f-invoice-email").fill("invoice@example.com")
    page.get_by_label("保存为常用发票抬头").check()
    screenshot(page, REGION, "invoice")
    accessible(page)
    fits_phone(page, REGION, "invoice")
    page.get_by_role("button", name="申请发票").click()
    expect(page.locator(".invoice-state")).to_have_text("已申请")

    page.get_by_role("link", name="我的投标保函").first.click()
    expect(page.locator(f'tr[data-order="{number}"]')).to_contain_text("订单已完成")
    screenshot(page, REGION, "orders")
    page.get_by_role("link", name="发票抬头").click()
    expect(page.locator("table")).to_contain_text(operator.enterprise.name)
    assert_clean(page, allow=[r"status of 400 \(Bad Request\)"])  # the refused forms above answer 400
