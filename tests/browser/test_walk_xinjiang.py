"""Xinjiang's manual, walked in a real browser: the hand-off from the trading platform, 立即申请 on a
section, one insurer picked, the basic account and 开户许可证, the operator's picture code and SMS
code, 投保审核, transfer with the 订单附言, the encrypted policy before opening and the decrypted
one after, then 申请发票."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from baohan.identity.services.logins import handoff_key_set, handoff_token_make
from baohan.payments.models import StatementLine
from tests.api import phone_make, png_bytes, tenant, uscc_make
from tests.browser.conftest import PageFactory, assert_clean, screenshot
from tests.browser.walk import (
    accessible,
    download,
    fits_phone,
    issuer_for,
    landing_themed,
    operator_check,
    order_number,
    order_state,
    section_publish,
    themed,
    unique,
)
from tests.money import statement_csv

REGION = "xinjiang"


def handoff_link() -> tuple[str, str]:
    """What the trading platform's 【电子保函登录】 sends: a signed, short-lived token."""
    n = 810000 + secrets.randbelow(89999)
    phone = phone_make(n)
    with tenant_context(tenant(REGION)):
        key_id, secret = f"walk-{n}", secrets.token_urlsafe(24)
        handoff_key_set(key_id=key_id, secret=secret)
        token = handoff_token_make(
            key_id=key_id,
            secret=secret,
            issuer="xjggzy",
            uscc=uscc_make(n),
            name=f"新疆走查建设有限公司{n}",
            operator={"name": "张经办", "phone": phone},
        )
    return f"/login/handoff?token={token}", phone


def test_xinjiang_walk(page_factory: PageFactory) -> None:
    section, centre = section_publish(REGION, project_type="construction", amount="1000000.00")
    link, phone = handoff_link()
    page = page_factory(REGION)

    landing_themed(page, REGION)
    screenshot(page, REGION, "landing")
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.locator(".enterprise-name")).to_contain_text("新疆走查建设有限公司")
    screenshot(page, REGION, "account")

    # 我的投标保函 → 立即申请 → the section.
    page.get_by_role("link", name="我的投标保函").first.click()
    expect(page.locator(".empty-state")).to_contain_text("您还没有申请过保函")
    screenshot(page, REGION, "orders-empty")
    page.get_by_role("link", name="立即申请").first.click()
    page.get_by_label("标段名称或编号").fill(section)
    page.get_by_role("button", name="查询").click()
    page.locator(f'tr[data-section="{section}"]').get_by_role("link", name="立即申请").click()
    screenshot(page, REGION, "section")
    page.get_by_role("link", name="投标保证金").click()

    # 完善基本信息: the insurer, the basic account, the permit, then the operator's checks.
    themed(page, REGION)
    page.get_by_label("国任财产保险股份有限公司").check()
    expect(page.locator('tr[data-issuer="guoren"]')).to_contain_text("1,000.00")
    expect(page.locator("#f-project_type")).to_have_value("construction")
    page.locator("#f-bid_validity_days").select_option("90")
    page.locator("#f-account_name").fill("新疆走查建设有限公司")
    page.locator("#f-bank_name").fill("中国建设银行乌鲁木齐分行")
    page.locator("#f-account_number").fill("6217000012345678")
    page.locator("#f-account_permit").set_input_files(
        {"name": "permit.png", "mimeType": "image/png", "buffer": png_bytes((60, 40))}
    )
    expect(page.locator("#f-operator_phone")).to_have_value(phone)
    page.locator("#f-sms_code").fill("000000")  # the picture code left out is named beside its field
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#e-captcha")).to_have_text("请填写验证码")
    # The page came back: the permit is kept (not uploaded again), the checks are asked again, the rest is kept.
    expect(page.locator("#f-account_name")).to_have_value("新疆走查建设有限公司")
    expect(page.locator('[data-field="account_permit"] .upload-kept')).to_contain_text("permit.png")
    expect(page.locator("#f-account_number")).to_have_value("")  # never echoed: typed again
    page.locator("#f-account_number").fill("6217000012345678")
    page.get_by_label("国任财产保险股份有限公司").check()
    operator_check(page, REGION, "form.apply-form", phone)
    screenshot(page, REGION, "apply")
    accessible(page)
    fits_phone(page, REGION, "apply")
    page.get_by_role("button", name="下一步").click()

    expect(page.locator(".wizard-step.is-current")).to_contain_text("确认信息")
    page.get_by_label("我已阅读《投保须知》与《保险条款》").check()
    screenshot(page, REGION, "confirm")
    expect(page.locator(".confirm-total")).to_contain_text("应付金额总计")
    page.get_by_role("button", name="确认并支付").click()
    page.get_by_role("link", name="查看订单").click()
    number = order_number(page)

    guoren = issuer_for(REGION, "guoren")
    status, body = guoren.post(f"/api/v1/issuer/orders/{number}/decision", {"approve": True})
    assert status == 200, body
    page.reload()
    # 支付信息: account, 订单附言 with copy buttons, the basic-account and 24 h warnings.
    remark = page.locator("#pay-remark").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4,}", remark), remark
    expect(page.locator(".payer-rule")).to_contain_text("企业基本户")
    expect(page.locator(".pay-before")).to_be_visible()
    expect(page.locator("#payment")).to_contain_text("3000000000000000001")
    page.locator("#payment").get_by_role("button", name="复制").first.click()
    expect(page.locator("#abandon")).to_contain_text("放弃购买保函")
    expect(page.locator("#after-sales")).to_contain_text("支付遇到问题请点击")
    screenshot(page, REGION, "payment")
    accessible(page)
    fits_phone(page, REGION, "payment")

    # The bidder transfers from the basic account with the 订单附言; the insurer's bank statement is
    # imported and matched by the remark code (the bank itself is the one thing not on this machine).
    transfer = StatementLine(
        row=1,
        reference=unique("SN"),
        booked_at=timezone.now().replace(microsecond=0) - timedelta(minutes=5),
        amount=Decimal("1000.00"),
        payer_name="新疆走查建设有限公司",
        payer_account="6217000012345678",
        payer_bank="中国建设银行乌鲁木齐分行",
        remark=f"投标保费 {remark}",
    )
    statement = SimpleUploadedFile("statement.csv", statement_csv([transfer]), "text/csv")
    response = guoren.client.post("/api/v1/issuer/statements", {"file": statement})
    assert response.status_code == 201, response.content
    assert order_state(REGION, number) == "awaiting_issue"
    status, body = guoren.post(f"/api/v1/issuer/orders/{number}/issue", {})
    assert status == 200, body
    page.reload()
    expect(page.locator(".progress-step.is-done")).to_have_count(4)
    # Before opening: the encrypted policy only.
    expect(page.locator('[data-document="policy"]')).to_contain_text("开标后可下载解密保单")
    sealed = download(page, "下载")
    assert sealed.startswith(b"%PDF-")
    assert b"/Encrypt" in sealed
    screenshot(page, REGION, "issued")

    status, body = centre.post(f"/api/v1/centre/sections/{section}/events", {"kind": "opened"})
    assert status in (200, 201), body
    page.reload()
    expect(page.locator('[data-document="policy_encrypted"]')).to_have_count(0)
    plain = download(page, "下载")
    assert plain.startswith(b"%PDF-")
    assert b"/Encrypt" not in plain

    # 申请发票: a special paper invoice without the registered address is refused beside that field.
    page.get_by_label("纸质发票").check()
    page.locator("#f-invoice-type").select_option("vat_special")
    page.locator("#f-invoice-recipient").fill("王收件")
    page.locator("#f-invoice-recipient_phone").fill("13700000000")
    page.locator("#f-invoice-recipient_address").fill("乌鲁木齐市天山区")
    page.get_by_role("button", name="申请发票").click()
    expect(page.locator("#e-invoice-registered_address")).not_to_be_empty()
    page.locator("#f-invoice-registered_address").fill("乌鲁木齐市天山区1号")
    page.locator("#f-invoice-registered_phone").fill("0991-1234567")
    page.locator("#f-invoice-bank_name").fill("中国建设银行乌鲁木齐分行")
    page.locator("#f-invoice-bank_account").fill("6217000012345678")
    screenshot(page, REGION, "invoice")
    page.get_by_role("button", name="申请发票").click()
    expect(page.locator(".invoice-state")).to_have_text("已申请")
    expect(page.locator('[data-document="invoice"]')).to_contain_text("纸质发票")
    assert_clean(page, allow=[r"status of 400 \(Bad Request\)"])
